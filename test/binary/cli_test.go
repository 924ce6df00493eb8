package binary

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestSubcommandsThroughBinary runs Vigil's own subcommands and the
// collector's standard ones as a user would.
func TestSubcommandsThroughBinary(t *testing.T) {
	bin := vigiltest.Binary(t)
	root := vigiltest.RepoRoot()
	nab := filepath.Join(root, "..", "shared", "nab", "data", "realTraffic", "speed_6005.csv")
	// The example checkout spec with an objective of 120 on line 5, for
	// the default configuration's VIGIL_SLO_DIR (a file or a folder).
	checkout, err := os.ReadFile(filepath.Join(root, "slo/examples/checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	brokenDir := t.TempDir()
	broken := filepath.Join(brokenDir, "checkout.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(checkout), "objective: 99.9", "objective: 120", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	// Routing files for the default configuration's alertrouter, whose
	// one receiver is "default": a bad group_wait on line 4 (column 15),
	// and a receiver "tickets" on line 3 (column 11) that no pipeline takes.
	badRouting := filepath.Join(brokenDir, "routing.yml")
	if err := os.WriteFile(badRouting, []byte("receivers:\n  - name: default\nroute:\n  group_wait: 5x\n  receiver: default\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unmappedRouting := filepath.Join(brokenDir, "unmapped.yml")
	if err := os.WriteFile(unmappedRouting, []byte("receivers:\n  - name: default\n  - name: tickets\nroute: {receiver: default}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCSV := filepath.Join(brokenDir, "bad.csv")
	if err := os.WriteFile(badCSV, []byte("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout+stderr
		env      []string
	}{
		{"components", []string{"components"}, 0, "module: go.opentelemetry.io/collector/receiver/otlpreceiver v0.159.0", nil},
		// Feature gates Vigil turns on (collector/featuregates.go).
		{"feature gate: health check from component status", []string{"featuregate", "extension.healthcheck.useComponentStatus"}, 0, "Enabled: true", nil},
		{"feature gate: remote write retries 429", []string{"featuregate", "exporter.prometheusremotewritexporter.RetryOn429"}, 0, "Enabled: true", nil},
		{"validate the embedded default", []string{"validate"}, 0, "", nil},
		{"validate with --set over the default", []string{"validate", "--set=processors::batch::timeout=2s"}, 0, "", nil},
		{"validate full.yaml", []string{"validate", "--config", filepath.Join(root, "collector/config/full.yaml")}, 0, "", nil},
		{"validate a bad --set", []string{"validate", "--set=processors::batch::no_such_key=1"}, 1, "no_such_key", nil},
		{"validate the example specs", []string{"validate"}, 0, "", []string{"VIGIL_SLO_DIR=" + filepath.Join(root, "slo/examples")}},
		{"validate a broken spec file", []string{"validate"}, 1, "slo specs: " + broken + ":5:16: objective 120 must be", []string{"VIGIL_SLO_DIR=" + broken}},
		{"validate a folder with a broken spec", []string{"validate"}, 1, "slo specs: " + broken + ":5:16: objective 120 must be", []string{"VIGIL_SLO_DIR=" + brokenDir}},
		{"validate a broken spec in full.yaml", []string{"validate", "--config", filepath.Join(root, "collector/config/full.yaml")}, 1, broken + ":5:16: ", []string{"VIGIL_SLO_DIR=" + broken}},
		{"validate a spec folder that does not exist", []string{"validate"}, 1, "slo specs: stat " + missing + ": no such file or directory", []string{"VIGIL_SLO_DIR=" + missing}},
		{"validate a broken routing file", []string{"validate", "--set=connectors::alertrouter::routing=" + badRouting}, 1,
			"loading alert routing: " + badRouting + `:4:15: bad duration "5x" for group_wait`, nil},
		{"validate a routing file with a receiver no pipeline takes", []string{"validate", "--set=connectors::alertrouter::routing=" + unmappedRouting}, 1,
			"loading alert routing: " + unmappedRouting + `:3:11: receiver "tickets" of the routing file has no pipelines`, nil},
		{"validate a routing file that does not exist", []string{"validate", "--set=connectors::alertrouter::routing=" + missing}, 1,
			"loading alert routing: open " + missing + ": no such file or directory", nil},
		{"slo validate examples", []string{"slo", "validate", filepath.Join(root, "slo/examples/checkout.yaml")}, 0, "valid", nil},
		{"slo validate bad spec", []string{"slo", "validate", filepath.Join(root, "slo/testdata/duplicate.bad.yaml")}, 1, "duplicate.bad.yaml:7:5: duplicate SLO", nil},
		{"slo validate one problem", []string{"slo", "validate", broken}, 1, "Error: 1 problem in SLO specs\n", nil},
		{"slo rules", []string{"slo", "rules", filepath.Join(root, "slo/examples/checkout.yaml")}, 0, "alert: SLOBurnRate", nil},
		{"anomaly detect", []string{"anomaly", "detect", "--input", nab}, 0, "timestamp,value,anomaly_score,label", nil},
		{"anomaly detect a bad row", []string{"anomaly", "detect", "--input", badCSV}, 1, `line 3: value "abc" is not a number`, nil},
		{"slo validate a file that does not exist", []string{"slo", "validate", missing}, 2, "stat " + missing + ": no such file or directory", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			if !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("output lacks %q:\n%.2000s", tt.wantOut, out)
			}
			// An error is said once: not by cobra and again by main.
			if tt.wantCode != 0 && tt.wantOut != "" && strings.Count(string(out), tt.wantOut) > 1 {
				t.Errorf("%q said more than once:\n%.2000s", tt.wantOut, out)
			}
		})
	}
}

// TestRulesPassPromtool checks the binary's rule output with promtool, the
// way a team evaluating in Prometheus would.
func TestRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run scripts/install-test-deps.sh (Debian package prometheus)")
	}
	out, err := exec.Command(vigiltest.Binary(t), "slo", "rules", filepath.Join(vigiltest.RepoRoot(), "slo/examples")).Output()
	if err != nil {
		t.Fatalf("slo rules: %v", err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, res)
	}
}
