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
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout+stderr
	}{
		{"components", []string{"components"}, 0, "module: go.opentelemetry.io/collector/receiver/otlpreceiver v0.159.0"},
		{"validate the embedded default", []string{"validate"}, 0, ""},
		{"validate with --set over the default", []string{"validate", "--set=processors::batch::timeout=2s"}, 0, ""},
		{"validate full.yaml", []string{"validate", "--config", filepath.Join(root, "collector/config/full.yaml")}, 0, ""},
		{"validate a bad --set", []string{"validate", "--set=processors::batch::no_such_key=1"}, 1, "no_such_key"},
		{"slo validate examples", []string{"slo", "validate", filepath.Join(root, "slo/examples/checkout.yaml")}, 0, "valid"},
		{"slo validate bad spec", []string{"slo", "validate", filepath.Join(root, "slo/testdata/duplicate.bad.yaml")}, 1, "duplicate.bad.yaml:7:5: duplicate SLO"},
		{"slo rules", []string{"slo", "rules", filepath.Join(root, "slo/examples/checkout.yaml")}, 0, "alert: SLOBurnRate"},
		{"anomaly detect", []string{"anomaly", "detect", "--input", nab}, 0, "timestamp,value,anomaly_score,label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = t.TempDir()
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
