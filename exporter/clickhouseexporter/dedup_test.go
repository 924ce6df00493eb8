package clickhouseexporter

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// shipped builds the traces, logs and metrics exporters as the factory
// does (the dedup window in front of exporterhelper), inserting into f,
// with their telemetry in tel.
type shipped struct {
	traces  exporter.Traces
	logs    exporter.Logs
	metrics exporter.Metrics
	tel     *componenttest.Telemetry
}

func newShipped(t *testing.T, cfg *Config, f *fakeInserter) *shipped {
	t.Helper()
	s := &shipped{tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { _ = s.tel.Shutdown(context.Background()) })
	set := testSettings(nil)
	set.TelemetrySettings = s.tel.NewTelemetrySettings()
	ctx := context.Background()
	var err error
	if s.traces, err = newTraces(ctx, set, cfg, newExporter(cfg, set.Logger, openFake(f), nil)); err != nil {
		t.Fatal(err)
	}
	if s.logs, err = newLogs(ctx, set, cfg, newExporter(cfg, set.Logger, openFake(f), nil)); err != nil {
		t.Fatal(err)
	}
	if s.metrics, err = newMetrics(ctx, set, cfg, newExporter(cfg, set.Logger, openFake(f), nil)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []component.Component{s.traces, s.logs, s.metrics} {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *shipped) shutdown(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{s.traces.Shutdown(ctx), s.logs.Shutdown(ctx), s.metrics.Shutdown(ctx)} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// repeated is otelcol_clickhouse_repeated_requests summed over the
// exporters, read before they shut down (which unregisters it).
func (s *shipped) repeated(t *testing.T) int64 {
	t.Helper()
	m, err := s.tel.GetMetric("otelcol_clickhouse_repeated_requests")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		n += dp.Value
	}
	return n
}

// syncConfig has no queue: an insert's outcome is ConsumeTraces'.
func syncConfig() *Config {
	cfg := testConfig()
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	return cfg
}

// Copies of a request, as a receiver decodes each try of a retry anew.
func copyTraces(td ptrace.Traces) ptrace.Traces {
	cp := ptrace.NewTraces()
	td.CopyTo(cp)
	return cp
}

func copyLogs(ld plog.Logs) plog.Logs {
	cp := plog.NewLogs()
	ld.CopyTo(cp)
	return cp
}

func copyMetrics(md pmetric.Metrics) pmetric.Metrics {
	cp := pmetric.NewMetrics()
	md.CopyTo(cp)
	return cp
}

// TestRetriedRequestStoredOnce: a request a sender sends again after the
// exporter took it (another consumer of the fan-out refused it) is
// accepted and not stored again, for every signal; each repeat is
// counted. ClickHouse would keep every copy.
func TestRetriedRequestStoredOnce(t *testing.T) {
	f := newFakeInserter()
	s := newShipped(t, syncConfig(), f)
	ctx := context.Background()
	td, ld, md := genTraces(10), fixtureLogs(), fixtureMetrics()
	for range 3 {
		if err := s.traces.ConsumeTraces(ctx, copyTraces(td)); err != nil {
			t.Fatal(err)
		}
		if err := s.logs.ConsumeLogs(ctx, copyLogs(ld)); err != nil {
			t.Fatal(err)
		}
		if err := s.metrics.ConsumeMetrics(ctx, copyMetrics(md)); err != nil {
			t.Fatal(err)
		}
	}
	if r := s.repeated(t); r != 6 {
		t.Errorf("otelcol_clickhouse_repeated_requests = %d, want 6 (two repeats per signal)", r)
	}
	s.shutdown(t)

	once := newFakeInserter()
	one := newShipped(t, syncConfig(), once)
	_ = one.traces.ConsumeTraces(ctx, copyTraces(td))
	_ = one.logs.ConsumeLogs(ctx, copyLogs(ld))
	_ = one.metrics.ConsumeMetrics(ctx, copyMetrics(md))
	one.shutdown(t)

	got, _, _ := f.snapshot()
	want, _, _ := once.snapshot()
	if len(want) < 5 {
		t.Fatalf("the fixtures fill %v; the test needs spans, logs, alerts and metrics", want)
	}
	for table, n := range want {
		if got[table] != n {
			t.Errorf("%s: %d rows after three tries, want %d, as after one", table, got[table], n)
		}
	}
}

// TestRetriedRequestStoredAgainWithoutDedup is the defect, with dedup
// off: every try is stored.
func TestRetriedRequestStoredAgainWithoutDedup(t *testing.T) {
	f := newFakeInserter()
	cfg := syncConfig()
	cfg.Dedup.Window = 0
	s := newShipped(t, cfg, f)
	for range 3 {
		if err := s.traces.ConsumeTraces(context.Background(), copyTraces(genTraces(10))); err != nil {
			t.Fatal(err)
		}
	}
	s.shutdown(t)
	if rows, _, _ := f.snapshot(); rows["otel_traces"] != 30 {
		t.Errorf("%d rows, want 30", rows["otel_traces"])
	}
}

// TestRefusedRequestTakenWhenRetried: a request the exporter's own queue
// refused (full, block_on_overflow false as the shipped configurations
// set it) is not remembered: the sender's retry is queued and stored,
// once, and a retry after that is a repeat.
func TestRefusedRequestTakenWhenRetried(t *testing.T) {
	f := newFakeInserter()
	f.block = make(chan struct{})
	f.entered = make(chan struct{}, 1)
	cfg := testConfig()
	q := cfg.QueueConfig.Get()
	q.QueueSize = 20
	q.NumConsumers = 1
	q.BlockOnOverflow = false
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	s := newShipped(t, cfg, f)
	ctx := context.Background()

	// The consumer takes the first request and hangs in the server; the
	// second fills the queue (20 spans); the third is refused.
	if err := s.traces.ConsumeTraces(ctx, genTraces(10)); err != nil {
		t.Fatal(err)
	}
	<-f.entered
	second := genTraces(10)
	offsetIDs(second, 100)
	if err := s.traces.ConsumeTraces(ctx, second); err != nil {
		t.Fatal(err)
	}
	third := genTraces(10)
	offsetIDs(third, 200)
	if err := s.traces.ConsumeTraces(ctx, copyTraces(third)); !errors.Is(err, exporterhelper.ErrQueueIsFull) {
		t.Fatalf("the third request = %v, want ErrQueueIsFull", err)
	}
	close(f.block) // the server catches up
	waitFor(t, func() bool { rows, _, _ := f.snapshot(); return rows["otel_traces"] == 20 })
	if err := s.traces.ConsumeTraces(ctx, copyTraces(third)); err != nil {
		t.Fatalf("the retry of the refused request, with room in the queue: %v", err)
	}
	if err := s.traces.ConsumeTraces(ctx, copyTraces(third)); err != nil {
		t.Fatalf("a retry after it was queued: %v", err)
	}
	if r := s.repeated(t); r != 1 {
		t.Errorf("otelcol_clickhouse_repeated_requests = %d, want 1", r)
	}
	s.shutdown(t)
	if rows, _, _ := f.snapshot(); rows["otel_traces"] != 30 {
		t.Errorf("%d rows, want 30: each request once, the refused one when retried", rows["otel_traces"])
	}
}

// TestExporterhelperRetriesStillInsert: exporterhelper's own retries of
// a failed insert run behind the window and go on as before; the
// request is stored once, and a sender's retry of it is not stored
// again.
func TestExporterhelperRetriesStillInsert(t *testing.T) {
	for _, queued := range []bool{true, false} {
		name := "no queue"
		if queued {
			name = "queue"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeInserter()
			f.failures = []error{errors.New("read: connection reset by peer"), errors.New("i/o timeout")}
			cfg := testConfig()
			if !queued {
				cfg = syncConfig()
			}
			s := newShipped(t, cfg, f)
			ctx := context.Background()
			td := genTraces(5)
			if err := s.traces.ConsumeTraces(ctx, copyTraces(td)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { rows, _, _ := f.snapshot(); return rows["otel_traces"] == 5 })
			if err := s.traces.ConsumeTraces(ctx, copyTraces(td)); err != nil {
				t.Fatal(err)
			}
			s.shutdown(t)
			rows, _, calls := f.snapshot()
			if rows["otel_traces"] != 5 || calls != 3 {
				t.Errorf("%d rows in %d inserts, want 5 rows, the third insert (two failed) and no other", rows["otel_traces"], calls)
			}
		})
	}
}

// TestPermanentFailureNotRemembered: a request the exporter refused for
// good (without a queue, the error reaches the sender) is not
// remembered either; the sender does not retry it, but if it sends it
// again it is tried again.
func TestPermanentFailureNotRemembered(t *testing.T) {
	f := newFakeInserter()
	f.failures = []error{consumererror.NewPermanent(errors.New("no such table"))}
	s := newShipped(t, syncConfig(), f)
	td := genTraces(3)
	if err := s.traces.ConsumeTraces(context.Background(), copyTraces(td)); err == nil {
		t.Fatal("the permanent failure did not reach the sender")
	}
	if err := s.traces.ConsumeTraces(context.Background(), copyTraces(td)); err != nil {
		t.Fatal(err)
	}
	s.shutdown(t)
	if rows, _, _ := f.snapshot(); rows["otel_traces"] != 3 {
		t.Errorf("%d rows, want 3", rows["otel_traces"])
	}
}

// TestOverlappingRequestStoredWhole: a request with the spans of an
// earlier one and new ones is another request, stored whole (dedup
// remembers requests, not rows: internal/dedup says why).
func TestOverlappingRequestStoredWhole(t *testing.T) {
	f := newFakeInserter()
	s := newShipped(t, syncConfig(), f)
	ctx := context.Background()
	if err := s.traces.ConsumeTraces(ctx, genTraces(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.traces.ConsumeTraces(ctx, genTraces(15)); err != nil { // spans 0-9 again, 10-14 new
		t.Fatal(err)
	}
	s.shutdown(t)
	if rows, _, _ := f.snapshot(); rows["otel_traces"] != 25 {
		t.Errorf("%d rows, want 25", rows["otel_traces"])
	}
}

// offsetIDs gives td's spans IDs no other genTraces request has.
func offsetIDs(td ptrace.Traces, by byte) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		sid := spans.At(i).SpanID()
		sid[7] = by
		spans.At(i).SetSpanID(sid)
	}
}
