package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/otelcol"
)

func TestRedactURLCredentials(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:pw123@mimir.example/api/v1/push", "https://[REDACTED]@mimir.example/api/v1/push"},
		{"https://token@sentry.example/42", "https://[REDACTED]@sentry.example/42"},
		{"https://push.example/api?api_key=k1&tenant=a%20b&Token=t", "https://push.example/api?api_key=[REDACTED]&tenant=a%20b&Token=[REDACTED]"},
		{"tcp://default:chpw@clickhouse:9000", "tcp://[REDACTED]@clickhouse:9000"},
		// Nothing to hide, or no URL: as written.
		{"http://prometheus:9090/api/v1/write", "http://prometheus:9090/api/v1/write"},
		{"https://x.example/a?tenant=a%20b", "https://x.example/a?tenant=a%20b"},
		{"0.0.0.0:4317", "0.0.0.0:4317"},
		{"user@host", "user@host"},
		{"[REDACTED]", "[REDACTED]"},
	} {
		if got := redactURLCredentials(tc.in); got != tc.want {
			t.Errorf("redactURLCredentials(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// printConfig runs print-config of cmd on config with args and returns
// what it printed.
func printConfig(t *testing.T, cmd *cobra.Command, config string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"print-config", "--config", config}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("print-config %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// TestPrintConfigHidesCredentialsInURLs: print-config (the collector's own
// command) hides what its configopaque fields hide and, through Vigil's
// wrapper, the userinfo and token-named query parameters of any URL and
// the whole path of a webhook exporter's endpoint (its token), in YAML
// and JSON; it prints everything else exactly as the collector does, and
// --mode=unredacted still prints everything.
func TestPrintConfigHidesCredentialsInURLs(t *testing.T) {
	const (
		webhookToken = "T0B0SECRETTOKEN"
		rwPassword   = "pw123secret"
		rwKey        = "k1secret"
	)
	t.Setenv("VIGIL_WEBHOOK_URL", "https://hooks.example/services/"+webhookToken+"?token="+webhookToken)
	t.Setenv("PROMETHEUS_REMOTE_WRITE_URL", "https://vigil:"+rwPassword+"@mimir.example/api/v1/push?api_key="+rwKey)
	t.Setenv("SENTRY_DSN", "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.example/42")
	t.Setenv("VIGIL_STORAGE_DIR", t.TempDir())
	// As main does: the shipped configs need the health check's gate.
	if err := enableFeatureGates(featuregate.GlobalRegistry()); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join("config", "full.yaml")
	secrets := []string{webhookToken, rwPassword, rwKey, "0123456789abcdef0123456789abcdef"}

	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			got := printConfig(t, newCommand(), config, "--format="+format)
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("print-config shows %q:\n%s", s, lineWith(got, s))
				}
			}
			for _, want := range []string{"https://hooks.example/[REDACTED]", "https://[REDACTED]@mimir.example/api/v1/push?api_key=[REDACTED]"} {
				if !strings.Contains(got, want) {
					t.Errorf("print-config does not show %s", want)
				}
			}
			// The rest as the collector prints it: the unwrapped command's
			// output differs only in the lines of the URLs.
			plain := otelcol.NewCommand(settings())
			plain.PersistentPreRunE = useDefaultConfig
			upstream := printConfig(t, plain, config, "--format="+format)
			gotLines, upLines := strings.Split(got, "\n"), strings.Split(upstream, "\n")
			if len(gotLines) != len(upLines) {
				t.Fatalf("%d lines, the collector's print-config %d", len(gotLines), len(upLines))
			}
			differ := 0
			for i := range gotLines {
				if gotLines[i] != upLines[i] {
					differ++
					if !strings.Contains(gotLines[i], "[REDACTED]") {
						t.Errorf("line %d changed: %q, the collector's %q", i+1, gotLines[i], upLines[i])
					}
				}
			}
			if differ != 2 {
				t.Errorf("%d lines differ from the collector's print-config, want 2 (remote write's and the webhook's endpoints)", differ)
			}
		})
	}

	unredacted := printConfig(t, newCommand(), config, "--mode=unredacted")
	for _, s := range secrets {
		if !strings.Contains(unredacted, s) {
			t.Errorf("--mode=unredacted hides %q", s)
		}
	}
}

func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
