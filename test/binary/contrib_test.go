package binary

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// contribConfig is a collector configuration written for contrib's
// clickhouse (v0.159.0) and loki (v0.130.0, its last) exporters, as their
// READMEs document them. clickhouseExtra is appended to the clickhouse
// section; lokiLabels is loki's default_labels_enabled.
func contribConfig(clickhouseExtra, lokiLabels string) string {
	if lokiLabels == "" {
		lokiLabels = "{exporter: false, job: false}"
	}
	return `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  clickhouse:
    endpoint: tcp://127.0.0.1:9000?dial_timeout=10s
    database: otel
    async_insert: true
    ttl: 72h
    compress: lz4
    create_schema: true
    logs_table_name: otel_logs
    traces_table_name: otel_traces
    timeout: 5s
    metrics_tables:
      gauge: {name: otel_metrics_gauge}
      sum: {name: otel_metrics_sum}
      summary: {name: otel_metrics_summary}
      histogram: {name: otel_metrics_histogram}
      exponential_histogram: {name: otel_metrics_exponential_histogram}
    retry_on_failure: {enabled: true, initial_interval: 5s, max_interval: 30s, max_elapsed_time: 300s}
` + clickhouseExtra + `
  loki:
    endpoint: https://loki.example.com:3100/loki/api/v1/push
    default_labels_enabled: ` + lokiLabels + `
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [clickhouse, loki]
`
}

// TestContribConfigsThroughBinary: `vigil validate` accepts configurations
// written for contrib's exporters of the same type names, and refuses the
// keys it cannot honour with the key that does the same here.
func TestContribConfigsThroughBinary(t *testing.T) {
	bin := vigiltest.Binary(t)
	tests := []struct {
		name             string
		clickhouse, loki string
		wantCode         int
		wantOut          []string
	}{
		{name: "as contrib documents them", wantCode: 0},
		{
			name:       "keys without an equivalent",
			clickhouse: "    table_engine: {name: ReplicatedMergeTree}\n    connection_params: {max_execution_time: '60'}",
			loki:       "{exporter: false, instance: true}",
			wantCode:   1,
			wantOut: []string{
				`exporters::clickhouse: connection parameter "max_execution_time"`,
				"table_engine: Vigil creates MergeTree tables, and Replicated ones ON CLUSTER with cluster_name",
				"exporters::loki: default_labels_enabled::instance: true is contrib's setting; Vigil sets no instance label; add service.instance.id with labels::resource_attributes",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := vigiltest.WriteFile(t, dir, "contrib.yaml", contribConfig(tt.clickhouse, tt.loki))
			out, err := exec.Command(bin, "validate", "--config", cfg).CombinedOutput()
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
			for _, w := range tt.wantOut {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%.3000s", w, out)
				}
			}
		})
	}
}
