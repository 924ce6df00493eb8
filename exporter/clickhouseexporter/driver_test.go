package clickhouseexporter

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
)

// dsnEnv names a live ClickHouse server (clickhouse://user:password@host:9000).
// No modern ClickHouse server runs on the project's machines, so the
// driver-path test runs only when it is set; see README.md for running it
// against a ClickHouse container.
const dsnEnv = "VIGIL_CLICKHOUSE_DSN"

// configFromDSN turns the DSN into exporter settings; the password goes to
// the password field, never into the endpoint.
func configFromDSN(t *testing.T, dsn, database string) *Config {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s is not a URL", dsnEnv)
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "tcp://" + u.Host
	if u.User != nil {
		cfg.Username = u.User.Username()
		p, _ := u.User.Password()
		cfg.Password = configopaque.String(p)
	}
	cfg.Database = database
	cfg.TTL = 0
	q := cfg.QueueConfig.Get()
	q.Batch.Get().FlushTimeout = 200 * time.Millisecond
	return cfg
}

// TestDriverPathAgainstLiveServer inserts through the real exporter (factory,
// migrations, exporterhelper queue, clickhouse-go native batches) and counts
// the rows of every table exactly.
func TestDriverPathAgainstLiveServer(t *testing.T) {
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skipf("%s is not set: no live ClickHouse server to insert into (the SQL itself is tested on chdb)", dsnEnv)
	}
	database := fmt.Sprintf("vigil_it_%d", time.Now().UnixNano())
	cfg := configFromDSN(t, dsn, database)
	ctx := context.Background()
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	traces, err := f.CreateTraces(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := f.CreateLogs(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := f.CreateMetrics(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := componenttest.NewNopHost()
	if err := traces.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := metrics.Start(ctx, host); err != nil {
		t.Fatal(err)
	}

	const bulkSpans = 50_000
	start := time.Now()
	if err := traces.ConsumeTraces(ctx, fixtureTraces()); err != nil {
		t.Fatal(err)
	}
	if err := traces.ConsumeTraces(ctx, genTraces(bulkSpans)); err != nil {
		t.Fatal(err)
	}
	if err := logs.ConsumeLogs(ctx, fixtureLogs()); err != nil {
		t.Fatal(err)
	}
	if err := metrics.ConsumeMetrics(ctx, fixtureMetrics()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []interface{ Shutdown(context.Context) error }{traces, logs, metrics} {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	t.Logf("end to end: %d spans in %s (%.0f rows/s)", bulkSpans+3, elapsed, float64(bulkSpans+3)/elapsed.Seconds())

	opts, err := clientOptions(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer func() {
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(database)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	}()
	want := map[string]uint64{
		"otel_traces": bulkSpans + 3, "otel_logs": 8, "vigil_alerts": 5,
		"otel_metrics_gauge": 2, "otel_metrics_sum": 1, "otel_metrics_histogram": 1,
		"otel_metrics_exponential_histogram": 1, "otel_metrics_summary": 1,
		"otel_traces_trace_id_ts": bulkSpans + 2,
	}
	for table, n := range want {
		var got uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+quoteIdent(database)+"."+quoteIdent(table)).Scan(&got); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if got != n {
			t.Errorf("%s has %d rows, want %d", table, got, n)
		}
	}
	var versions uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+quoteIdent(database)+".schema_migrations").Scan(&versions); err != nil || versions != 4 {
		t.Errorf("schema_migrations rows = %d (%v), want 4", versions, err)
	}
}
