package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/internal/queuelog"
)

// Batching defaults, from ClickHouse's guidance for inserts: rows in
// batches of thousands to a hundred thousand, about one insert per second
// per table (every insert creates a part that the server must merge later).
// See https://clickhouse.com/docs/best-practices/selecting-an-insert-strategy
const (
	defaultFlushInterval = time.Second
	defaultBatchMinItems = 10_000
	defaultBatchMaxItems = 100_000
	// defaultQueueItems holds about a minute of a busy service's spans in
	// memory before the queue blocks the pipeline.
	defaultQueueItems = 1_000_000
	// defaultConsumers: two concurrent inserts per signal keep one insert in
	// flight while the next batch fills, without flooding the server.
	defaultConsumers = 2
	// defaultExportTimeout bounds one export (all its inserts). Generous
	// because a 100k-row insert into a busy server can take seconds, and a
	// timeout is retried, so too short a value only multiplies load.
	defaultExportTimeout = 30 * time.Second
	defaultDialTimeout   = 10 * time.Second
)

// NewFactory returns the factory of the clickhouse exporter.
func NewFactory() exporter.Factory {
	f := &factory{schema: newSchemaOnce()}
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(f.createTraces, metadata.TracesStability),
		exporter.WithLogs(f.createLogs, metadata.LogsStability),
		exporter.WithMetrics(f.createMetrics, metadata.MetricsStability),
	)
}

// factory holds what the exporters it creates share.
type factory struct {
	schema *schemaOnce
}

// defaultQueueConfig batches by items (rows) and blocks when full: a full
// queue slows the pipeline down instead of dropping data.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = defaultQueueItems
	q.BlockOnOverflow = true
	q.NumConsumers = defaultConsumers
	q.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: defaultFlushInterval,
		Sizer:        exporterhelper.RequestSizerTypeItems,
		MinSize:      defaultBatchMinItems,
		MaxSize:      defaultBatchMaxItems,
	})
	return q
}

func createDefaultConfig() component.Config {
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = defaultExportTimeout
	return &Config{
		TimeoutConfig:      timeout,
		BackOffConfig:      configretry.NewDefaultBackOffConfig(),
		QueueConfig:        configoptional.Some(defaultQueueConfig()),
		Dedup:              dedup.NewDefaultConfig(),
		Endpoint:           "tcp://127.0.0.1:9000",
		DialTimeout:        defaultDialTimeout,
		Database:           "otel",
		TracesTableName:    "otel_traces",
		LogsTableName:      "otel_logs",
		MetricsTablePrefix: "otel_metrics",
		AlertsTableName:    "vigil_alerts",
		CreateSchema:       true,
		TTL:                0,
		AlertsTTL:          0,
	}
}

func (f *factory) createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	return newTraces(ctx, set, c, newExporter(c, set.Logger, newNativeClient, f.schema))
}

func (f *factory) createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	return newLogs(ctx, set, c, newExporter(c, set.Logger, newNativeClient, f.schema))
}

func (f *factory) createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	return newMetrics(ctx, set, c, newExporter(c, set.Logger, newNativeClient, f.schema))
}

// newTraces, newLogs and newMetrics build an exporter of e as the
// factory does: exporterhelper's queue, batching and retries around e's
// push, and in front of them the dedup window (dedup.go).
func newTraces(ctx context.Context, set exporter.Settings, c *Config, e *chExporter) (exporter.Traces, error) {
	exp, err := exporterhelper.NewTraces(ctx, queuelog.Settings(set, c.QueueConfig), c, e.pushTraces, e.options(c)...)
	if err != nil {
		return nil, err
	}
	g, err := newGuard(set, c.Dedup)
	if err != nil {
		return nil, err
	}
	return &tracesGuard{Traces: exp, guard: g}, nil
}

func newLogs(ctx context.Context, set exporter.Settings, c *Config, e *chExporter) (exporter.Logs, error) {
	exp, err := exporterhelper.NewLogs(ctx, queuelog.Settings(set, c.QueueConfig), c, e.pushLogs, e.options(c)...)
	if err != nil {
		return nil, err
	}
	g, err := newGuard(set, c.Dedup)
	if err != nil {
		return nil, err
	}
	return &logsGuard{Logs: exp, guard: g}, nil
}

func newMetrics(ctx context.Context, set exporter.Settings, c *Config, e *chExporter) (exporter.Metrics, error) {
	exp, err := exporterhelper.NewMetrics(ctx, queuelog.Settings(set, c.QueueConfig), c, e.pushMetrics, e.options(c)...)
	if err != nil {
		return nil, err
	}
	g, err := newGuard(set, c.Dedup)
	if err != nil {
		return nil, err
	}
	return &metricsGuard{Metrics: exp, guard: g}, nil
}
