package clickhouseexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/internal/testutil/configtest"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		check   func(t *testing.T, cfg *Config)
		wantErr []string
	}{
		{
			name: "",
			check: func(t *testing.T, cfg *Config) {
				def := createDefaultConfig().(*Config)
				if cfg.Endpoint != def.Endpoint || cfg.Database != "otel" || cfg.TracesTableName != "otel_traces" ||
					cfg.LogsTableName != "otel_logs" || cfg.MetricsTablePrefix != "otel_metrics" || cfg.AlertsTableName != "vigil_alerts" || !cfg.CreateSchema {
					t.Errorf("defaults not applied: %+v", cfg)
				}
				q := cfg.QueueConfig.Get()
				if q == nil || !q.BlockOnOverflow || q.Sizer != exporterhelper.RequestSizerTypeItems {
					t.Fatalf("default queue must block on overflow and size by items: %+v", q)
				}
				b := q.Batch.Get()
				if b == nil || b.FlushTimeout != time.Second || b.MinSize != defaultBatchMinItems || b.MaxSize != defaultBatchMaxItems {
					t.Errorf("default batch = %+v", b)
				}
				if cfg.Dedup != dedup.NewDefaultConfig() {
					t.Errorf("default dedup = %+v", cfg.Dedup)
				}
			},
		},
		{
			name: "full",
			check: func(t *testing.T, cfg *Config) {
				if cfg.Endpoint != "tcp://ch1:9000,clickhouse://ch2:9000" || cfg.Username != "vigil" || string(cfg.Password) != "s3cret-pass" {
					t.Errorf("connection fields: %+v", cfg)
				}
				if cfg.Database != "telemetry" || cfg.TracesTableName != "traces" || cfg.LogsTableName != "logs" ||
					cfg.MetricsTablePrefix != "metrics" || cfg.AlertsTableName != "alerts" {
					t.Errorf("names: %+v", cfg)
				}
				if cfg.CreateSchema || cfg.TTL != 72*time.Hour || cfg.AlertsTTL != 8760*time.Hour || cfg.ClusterName != "prod" || !cfg.AsyncInsert || cfg.DialTimeout != 5*time.Second {
					t.Errorf("schema fields: %+v", cfg)
				}
				if cfg.Timeout != 20*time.Second || cfg.BackOffConfig.MaxElapsedTime != 10*time.Minute {
					t.Errorf("timeout/retry: %+v %+v", cfg.TimeoutConfig, cfg.BackOffConfig)
				}
				q := cfg.QueueConfig.Get()
				if q.QueueSize != 500000 || q.NumConsumers != 4 || !q.BlockOnOverflow {
					t.Errorf("queue: %+v", q)
				}
				if b := q.Batch.Get(); b.FlushTimeout != 2*time.Second || b.MinSize != 20000 || b.MaxSize != 200000 {
					t.Errorf("batch: %+v", b)
				}
				if cfg.Dedup.Window != 10*time.Minute || cfg.Dedup.MaxRequests != 1000 {
					t.Errorf("dedup: %+v", cfg.Dedup)
				}
			},
		},
		{name: "bad_table", wantErr: []string{"traces_table_name", "not a valid identifier"}},
		{name: "password_in_endpoint", wantErr: []string{"endpoint: must not contain a password"}},
		{name: "bad_ttl", wantErr: []string{"ttl: must be zero or at least 1s"}},
		{name: "bad_dedup", wantErr: []string{"dedup: window must not be negative"}},
		{
			name: "contrib_readme",
			check: func(t *testing.T, cfg *Config) {
				if cfg.Endpoint != "tcp://127.0.0.1:9000" || cfg.DialTimeout != 10*time.Second {
					t.Errorf("endpoint %q, dial_timeout %v; want the query's dial_timeout read and the query gone", cfg.Endpoint, cfg.DialTimeout)
				}
				if cfg.MetricsTablePrefix != "otel_metrics" || cfg.Compress != "lz4" || !cfg.AsyncInsert || cfg.TTL != 72*time.Hour || cfg.Timeout != 5*time.Second {
					t.Errorf("cfg = %+v", cfg)
				}
			},
		},
		{
			name: "contrib_cluster",
			check: func(t *testing.T, cfg *Config) {
				if cfg.Endpoint != "clickhouse://ch1:9440,ch2:9440" || cfg.Database != "telemetry" || !cfg.TLS.HasValue() {
					t.Errorf("endpoint %q, database %q, tls %v; want the path as database and secure=true as tls", cfg.Endpoint, cfg.Database, cfg.TLS.HasValue())
				}
				if cfg.DialTimeout != 3*time.Second || cfg.Compress != "zstd" || cfg.MetricsTablePrefix != "metrics" {
					t.Errorf("connection_params or metrics_table_name not read: %+v", cfg)
				}
				if q := cfg.QueueConfig.Get(); q.NumConsumers != 10 {
					t.Errorf("queue: %+v", q)
				}
				if _, err := clientOptions(context.Background(), cfg); err != nil {
					t.Errorf("client options: %v", err)
				}
			},
		},
		{name: "contrib_refused", wantErr: []string{
			`connection parameter "max_execution_time" (endpoint query or connection_params): not read by Vigil, whose keys are dial_timeout, tls, compress, async_insert and database`,
			"table_engine: Vigil creates MergeTree tables, and Replicated ones ON CLUSTER with cluster_name",
			"json: Vigil's tables keep attributes in Map columns",
			"metrics_tables: Vigil names the metric tables <metrics_table_prefix>_gauge",
			"auth: Vigil authenticates with username and password",
			"profiles_table_name: Vigil's clickhouse exporter stores no profiles",
			`compress: "gzip" compresses ClickHouse's HTTP protocol; Vigil speaks the native one: lz4, zstd or none`,
		}},
		{name: "contrib_http", wantErr: []string{`endpoint: scheme "https" is not the native protocol (want tcp:// or clickhouse://)`}},
		{name: "contrib_conflict", wantErr: []string{"metrics_table_name: contrib's key for what metrics_table_prefix sets; set one of them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			err := configtest.Load(t, component.NewIDWithName(metadata.Type, tt.name), cfg)
			if configtest.Rejected(t, err, tt.wantErr, "s3cret-pass") {
				return
			}
			tt.check(t, cfg.(*Config))
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = ""
	cfg.Database = "a-b"
	cfg.LogsTableName = "1logs"
	cfg.ClusterName = "prod cluster"
	cfg.TTL = -time.Hour
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{"endpoint: must be set", "database:", "logs_table_name:", "cluster_name:", "ttl:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, missing %q", err, want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		want     []string
		wantErr  string
	}{
		{endpoint: "localhost:9000", want: []string{"localhost:9000"}},
		{endpoint: "tcp://a:9000, clickhouse://b:9440", want: []string{"a:9000", "b:9440"}},
		{endpoint: "clickhouse://user@a:9000", want: []string{"a:9000"}},
		{endpoint: "http://a:8123", wantErr: "not the native protocol"},
		{endpoint: "a", wantErr: "host:port"},
		{endpoint: "user:pw@a:9000", wantErr: "must not contain credentials"},
		{endpoint: "tcp://user:pw@a:9000", wantErr: "must not contain a password"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			got, err := parseEndpoint(tt.endpoint)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseEndpoint() error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error quotes the endpoint's secret: %q", err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("parseEndpoint() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
