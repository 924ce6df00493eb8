package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"context"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/dedup"
)

// Where the dedup check sits, and why there (package internal/dedup has
// the mechanism).
//
// A sender's retry reaches the exporter's ConsumeTraces (ConsumeLogs,
// ConsumeMetrics) again: exporterhelper's entry point, in front of its
// sending queue. The check sits there, so that a request the queue took
// once is not queued, and inserted, a second time. Behind it nothing
// changes: the queue batches requests (merging and splitting them, so
// its batches are not the requests senders send, and a check at the
// push function could not recognise a retry) and retries a failed insert
// itself, from the queue, never through ConsumeTraces: exporterhelper's
// retries are neither seen nor stopped here.
//
// A request is recorded once ConsumeTraces returned nil: the queue took
// it (without a queue: it was inserted). A request the exporter refused
// (its queue was full) is not recorded, and is taken when the sender
// sends it again. Recorded after the fact, not before as the connectors
// do: the exporter can fail, and a try that arrived while the first was
// still in ConsumeTraces (blocked on a full queue, with
// block_on_overflow) would be answered as done though the first then
// failed, and be lost. Both are taken instead: at least once.

// guard is the dedup window of one exporter (one per signal) and the
// telemetry that counts its repeats.
type guard struct {
	seen *dedup.Window
	tel  *metadata.TelemetryBuilder
}

func newGuard(set exporter.Settings, cfg dedup.Config) (*guard, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	g := &guard{seen: dedup.New(cfg), tel: tel}
	if err := tel.RegisterClickhouseRepeatedRequestsCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(g.seen.Repeats())
		return nil
	}); err != nil {
		tel.Shutdown()
		return nil, err
	}
	return g, nil
}

// shutdown unregisters the telemetry callback, so the meter no longer
// reads (or keeps alive) a stopped exporter's window.
func (g *guard) shutdown() { g.tel.Shutdown() }

// tracesGuard is the traces exporter behind its dedup window.
type tracesGuard struct {
	exporter.Traces
	guard *guard
}

func (t *tracesGuard) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	w := t.guard.seen
	if !w.Enabled() {
		return t.Traces.ConsumeTraces(ctx, td)
	}
	fp, ok := dedup.Traces(td)
	_, err := w.Consume(fp, ok, func() error { return t.Traces.ConsumeTraces(ctx, td) })
	return err
}

func (t *tracesGuard) Shutdown(ctx context.Context) error {
	err := t.Traces.Shutdown(ctx)
	t.guard.shutdown()
	return err
}

// logsGuard is the logs exporter behind its dedup window.
type logsGuard struct {
	exporter.Logs
	guard *guard
}

func (l *logsGuard) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	w := l.guard.seen
	if !w.Enabled() {
		return l.Logs.ConsumeLogs(ctx, ld)
	}
	fp, ok := dedup.Logs(ld)
	_, err := w.Consume(fp, ok, func() error { return l.Logs.ConsumeLogs(ctx, ld) })
	return err
}

func (l *logsGuard) Shutdown(ctx context.Context) error {
	err := l.Logs.Shutdown(ctx)
	l.guard.shutdown()
	return err
}

// metricsGuard is the metrics exporter behind its dedup window.
type metricsGuard struct {
	exporter.Metrics
	guard *guard
}

func (m *metricsGuard) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	w := m.guard.seen
	if !w.Enabled() {
		return m.Metrics.ConsumeMetrics(ctx, md)
	}
	fp, ok := dedup.Metrics(md)
	_, err := w.Consume(fp, ok, func() error { return m.Metrics.ConsumeMetrics(ctx, md) })
	return err
}

func (m *metricsGuard) Shutdown(ctx context.Context) error {
	err := m.Metrics.Shutdown(ctx)
	m.guard.shutdown()
	return err
}
