package alerts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// routingExamples are the routing files Vigil ships or documents: every
// file of examples/alerting and of testdata that is not a bad case or a
// silences file, and the routing files of the shipped configurations.
func routingExamples(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{exampleDir + "/*.yml", "testdata/*.yml", "../collector/config/*routing*.y*ml"} {
		matched, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, matched...)
	}
	var out []string
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".bad.yml") || strings.HasPrefix(base, "silences") {
			continue
		}
		out = append(out, f)
	}
	require.NotEmpty(t, out)
	return out
}

// TestRoutingExamplesPassAmtool: Vigil's routing file is Alertmanager's
// configuration format trimmed to what Vigil does, so every example Vigil
// accepts must also pass Alertmanager's own checker unchanged. This is
// what keeps the two from drifting (a wrap-around weekday range once
// passed here and failed there).
func TestRoutingExamplesPassAmtool(t *testing.T) {
	for _, file := range routingExamples(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := LoadConfig(file)
			require.NoError(t, err, "Vigil refuses its own example")
			out := amtool(t, "check-config", file)
			assert.Contains(t, out, "SUCCESS")
		})
	}
}

// TestRoutingAgreesWithAmtool routes the same alerts through Vigil's
// routing tree and through `amtool config routes test` on the same file:
// the receivers must be the same, in the same order.
func TestRoutingAgreesWithAmtool(t *testing.T) {
	const file = exampleRouting
	cfg, err := LoadConfig(file)
	require.NoError(t, err)
	tests := [][]string{
		{"alertname=X", "vigil_severity=page", "service_name=payments", "source=slo"},
		{"alertname=X", "vigil_severity=page", "service_name=checkout", "source=slo"},
		{"alertname=X", "vigil_severity=page", "service_name=checkout"},
		{"alertname=X", "vigil_severity=ticket", "service_name=checkout", "source=anomaly"},
		{"alertname=X", "vigil_severity=ticket"},
		{"alertname=X", "source=other"},
		{"alertname=X"},
	}
	for _, labels := range tests {
		t.Run(strings.Join(labels, ","), func(t *testing.T) {
			set := map[string]string{}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				set[k] = v
			}
			var vigil []string
			for _, r := range cfg.Route.Match(set) {
				vigil = append(vigil, r.Receiver)
			}
			args := append([]string{"config", "routes", "test", "--config.file=" + file}, labels...)
			var am []string
			for _, line := range strings.Split(amtool(t, args...), "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "Warning:") {
					am = append(am, strings.Split(line, ",")...)
				}
			}
			assert.Equal(t, am, vigil)
		})
	}
}

// TestRoutingExamplesCoverFeatures keeps the amtool check meaningful: the
// examples together use every part of the format Vigil reads.
func TestRoutingExamplesCoverFeatures(t *testing.T) {
	var all strings.Builder
	for _, file := range routingExamples(t) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		all.Write(data)
	}
	for _, key := range []string{"global:", "resolve_timeout:", "receivers:", "group_by:", "group_wait:", "repeat_interval:",
		"matchers:", "continue:", "mute_time_intervals:", "active_time_intervals:", "inhibit_rules:", "equal:",
		"weekdays:", "times:", "days_of_month:", "months:", "years:", "location:"} {
		assert.Contains(t, all.String(), key, "no routing example uses %s", key)
	}
}
