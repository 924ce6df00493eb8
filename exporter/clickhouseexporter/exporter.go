package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"context"
	"errors"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/internal/exporthealth"
)

// chExporter turns pdata into column inserts. One is created per signal;
// queueing, batching and retries around it belong to exporterhelper.
type chExporter struct {
	cfg    *Config
	logger *zap.Logger
	open   newInserterFunc
	redact redactor
	schema *schemaOnce
	health exporthealth.Reporter

	mu  sync.Mutex
	ins inserter
}

func newExporter(cfg *Config, logger *zap.Logger, open newInserterFunc, schema *schemaOnce) *chExporter {
	return &chExporter{cfg: cfg, logger: logger, open: open, redact: redactor{secret: string(cfg.Password)}, schema: schema}
}

// schemaOnce lets the traces, logs and metrics exporters of one factory
// apply the migrations of a given schema once, and one at a time, instead of
// three times concurrently at start.
type schemaOnce struct {
	mu   sync.Mutex
	done map[string]bool
}

func newSchemaOnce() *schemaOnce { return &schemaOnce{done: map[string]bool{}} }

// schemaKey identifies the schema a configuration creates.
func schemaKey(cfg *Config) string {
	return strings.Join([]string{cfg.Endpoint, cfg.Database, cfg.ClusterName, cfg.TracesTableName, cfg.LogsTableName,
		cfg.MetricsTablePrefix, cfg.AlertsTableName, cfg.TTL.String(), cfg.AlertsTTL.String()}, "|")
}

// run calls migrate unless it already succeeded for key. A nil schemaOnce
// always migrates.
func (s *schemaOnce) run(key string, migrate func() error) error {
	if s == nil {
		return migrate()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done[key] {
		return nil
	}
	if err := migrate(); err != nil {
		return err
	}
	s.done[key] = true
	return nil
}

// options are the exporterhelper options every signal uses.
func (e *chExporter) options(cfg *Config) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(cfg.TimeoutConfig),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.QueueConfig),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
	}
}

// start opens the connection pool, which does not reach the server. The
// schema is created before the first insert instead (ready), so a
// ClickHouse that is down keeps neither the collector nor what does not
// depend on ClickHouse (SLO evaluation, paging) from starting: its data
// waits in the queue until the server appears.
func (e *chExporter) start(ctx context.Context, host component.Host) error {
	ins, err := e.open(ctx, e.cfg, host)
	if err != nil {
		return e.redact.error(err)
	}
	e.health.Start(host, e.logger)
	e.mu.Lock()
	e.ins = ins
	e.mu.Unlock()
	return nil
}

// ready applies the pending migrations, with create_schema, before the
// first insert; once they succeeded it does nothing. A failure is
// retryable: the request stays queued and the next try migrates again.
func (e *chExporter) ready(ctx context.Context, ins inserter) error {
	if !e.cfg.CreateSchema {
		return nil
	}
	if err := e.schema.run(schemaKey(e.cfg), func() error { return ins.Migrate(ctx, e.cfg) }); err != nil {
		return e.redact.wrap(err, "create schema")
	}
	return nil
}

// shutdown runs after exporterhelper drained its queue, so closing the
// connection here loses nothing.
func (e *chExporter) shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ins == nil {
		return nil
	}
	err := e.ins.Close()
	e.ins = nil
	return e.redact.error(err)
}

var errNotStarted = errors.New("clickhouse exporter is not started")

func (e *chExporter) inserter() (inserter, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ins == nil {
		return nil, errNotStarted
	}
	return e.ins, nil
}

// insert writes one table and classifies the failure.
func (e *chExporter) insert(ctx context.Context, ins inserter, table string, cols []Column, rows int) error {
	if rows == 0 {
		return nil
	}
	err := ins.Insert(ctx, table, cols, rows)
	if err == nil {
		return nil
	}
	err = classify(e.redact.error(err))
	if consumererror.IsPermanent(err) {
		// exporterhelper drops permanent failures; say which table and
		// how many rows so the loss is visible and the schema can be fixed.
		e.logger.Error("ClickHouse rejected rows; dropping them",
			zap.String("table", table), zap.Int("rows", rows), zap.Error(err))
	}
	return err
}

func (e *chExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	ins, err := e.inserter()
	if err == nil {
		err = e.ready(ctx, ins)
	}
	if err != nil {
		return e.health.Observe(err)
	}
	cols := TracesToColumns(td)
	return e.health.Observe(e.insert(ctx, ins, e.cfg.TracesTableName, cols.Columns(), cols.Len()))
}

// pushLogs writes the records to the logs table and the alert events among
// them to the alerts table. A retry after a partial failure inserts the
// logs again (at-least-once); ClickHouse's insert deduplication
// (replicated tables, or non_replicated_deduplication_window) drops the
// identical block.
func (e *chExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	ins, err := e.inserter()
	if err == nil {
		err = e.ready(ctx, ins)
	}
	if err != nil {
		return e.health.Observe(err)
	}
	logs, alerts := LogsToColumns(ld)
	return e.health.Observe(joinInserts(
		e.insert(ctx, ins, e.cfg.LogsTableName, logs.Columns(), logs.Len()),
		e.insert(ctx, ins, e.cfg.AlertsTableName, alerts.Columns(), alerts.Len()),
	))
}

func (e *chExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	ins, err := e.inserter()
	if err == nil {
		err = e.ready(ctx, ins)
	}
	if err != nil {
		return e.health.Observe(err)
	}
	c := MetricsToColumns(md)
	p := e.cfg.MetricsTablePrefix
	return e.health.Observe(joinInserts(
		e.insert(ctx, ins, p+"_gauge", c.Gauge.Columns(), c.Gauge.Len()),
		e.insert(ctx, ins, p+"_sum", c.Sum.Columns(), c.Sum.Len()),
		e.insert(ctx, ins, p+"_histogram", c.Histogram.Columns(), c.Histogram.Len()),
		e.insert(ctx, ins, p+"_exponential_histogram", c.ExpHistogram.Columns(), c.ExpHistogram.Len()),
		e.insert(ctx, ins, p+"_summary", c.Summary.Columns(), c.Summary.Len()),
	))
}

// joinInserts combines the results of the inserts of one request. Only when
// every failure is permanent is the request dropped; if any failed
// transiently the whole request is retried, because exporterhelper retries
// requests, not tables, and a permanent marker anywhere in a joined error
// would stop the retry of the table that can still succeed.
func joinInserts(results ...error) error {
	var failed []error
	transient := false
	for _, err := range results {
		if err == nil {
			continue
		}
		failed = append(failed, err)
		if !consumererror.IsPermanent(err) {
			transient = true
		}
	}
	if !transient {
		return errors.Join(failed...)
	}
	for i, err := range failed {
		if consumererror.IsPermanent(err) {
			failed[i] = errors.New(err.Error())
		}
	}
	return errors.Join(failed...)
}
