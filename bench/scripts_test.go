// Package bench holds the load scripts (run.sh, compare.sh, fleet.sh) and
// bench/loadgen; this test keeps the scripts runnable next to a Vigil that
// already runs on the default addresses (`make run`).
package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// vigilRun matches a start of the collector (bin/vigil, or the
	// anchor's build) with the configs it names; none is the embedded
	// default.
	vigilRun = regexp.MustCompile(`(?m)(bin/vigil|"\$anchor_bin")((?:\s+--config\s+\S+)*)`)
	config   = regexp.MustCompile(`--config\s+(\S+)`)
	// addressVar matches the environment variables a config listens on.
	addressVar = regexp.MustCompile(`\$\{env:(VIGIL_[A-Z_]+_(?:ENDPOINT|PORT|HOST))\b`)
)

// TestScriptsMoveEveryAddress: every address a config a script starts
// listens on (from its ${env:VIGIL_..._ENDPOINT|PORT|HOST} references) is
// set by the script, so the script does not bind the defaults a running
// Vigil holds (bench/run.sh left the console on 127.0.0.1:9094: a clash
// with `make run`, and with each other for fleet.sh's evaluators), and a
// PagerDuty routing key in the caller's environment is unset, so a bench
// never pages anyone.
func TestScriptsMoveEveryAddress(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, script := range []string{"bench/run.sh", "bench/compare.sh", "bench/fleet.sh"} {
		t.Run(filepath.Base(script), func(t *testing.T) {
			text := read(script)
			var configs []string
			for _, m := range vigilRun.FindAllStringSubmatch(text, -1) {
				named := config.FindAllStringSubmatch(m[2], -1)
				if len(named) == 0 && m[1] == "bin/vigil" {
					configs = append(configs, "collector/config/default.yaml")
				}
				for _, c := range named {
					configs = append(configs, c[1])
				}
			}
			slices.Sort(configs)
			configs = slices.Compact(configs)
			if len(configs) == 0 {
				t.Fatal("starts no collector")
			}
			for _, c := range configs {
				cfg := read(c)
				for _, m := range addressVar.FindAllStringSubmatch(cfg, -1) {
					if !strings.Contains(text, m[1]+"=") {
						t.Errorf("%s listens on %s, which the script does not set: it binds the default, which a running Vigil holds", c, m[1])
					}
				}
				if strings.Contains(cfg, "${env:PAGERDUTY_ROUTING_KEY") && !strings.Contains(text, "unset PAGERDUTY_ROUTING_KEY") {
					t.Errorf("%s pages with PAGERDUTY_ROUTING_KEY, which the script leaves set", c)
				}
			}
		})
	}
}
