package clickhouseexporter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
)

const testPassword = "pa55-w0rd-secret"

// fakeInserter records inserts. failures[i] is returned by the i-th insert
// (then nil); block, when set, holds every insert until it is closed.
type fakeInserter struct {
	mu         sync.Mutex
	calls      int
	rows       map[string]int
	inserts    []int
	failures   []error
	block      chan struct{}
	entered    chan struct{}
	closed     bool
	afterStop  int // inserts that arrived after Close
	migrations int
	// migrateFailures fail the first migrations, as a server that is not
	// up yet would.
	migrateFailures int
}

func newFakeInserter() *fakeInserter { return &fakeInserter{rows: map[string]int{}} }

func (f *fakeInserter) Insert(ctx context.Context, table string, cols []Column, rows int) error {
	if f.entered != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.afterStop++
	}
	i := f.calls
	f.calls++
	if i < len(f.failures) && f.failures[i] != nil {
		return f.failures[i]
	}
	for _, c := range cols {
		if n, err := columnLen(c.Values); err != nil || n != rows {
			return fmt.Errorf("column %s has %d rows, want %d (%v)", c.Name, n, rows, err)
		}
	}
	f.rows[table] += rows
	f.inserts = append(f.inserts, rows)
	return nil
}

func (f *fakeInserter) Migrate(context.Context, *Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.migrations++
	if f.migrations <= f.migrateFailures {
		return fmt.Errorf("dial tcp 127.0.0.1:9000: connect: connection refused (password %s)", testPassword)
	}
	return nil
}

func (f *fakeInserter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeInserter) snapshot() (rows map[string]int, inserts []int, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows = map[string]int{}
	for k, v := range f.rows {
		rows[k] = v
	}
	return rows, append([]int(nil), f.inserts...), f.calls
}

// testConfig has no batching delay and fast retries unless a test sets
// them.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Password = testPassword
	cfg.BackOffConfig.InitialInterval = time.Millisecond
	cfg.BackOffConfig.MaxInterval = 5 * time.Millisecond
	cfg.BackOffConfig.MaxElapsedTime = 5 * time.Second
	q := cfg.QueueConfig.Get()
	q.Batch.Get().FlushTimeout = 10 * time.Millisecond
	q.Batch.Get().MinSize = 1
	return cfg
}

func testSettings(logger *zap.Logger) exporter.Settings {
	set := exportertest.NewNopSettings(metadata.Type)
	if logger != nil {
		set.Logger = logger
	}
	return set
}

func openFake(f *fakeInserter) newInserterFunc {
	return func(context.Context, *Config, component.Host) (inserter, error) { return f, nil }
}

func newTracesExporter(t *testing.T, cfg *Config, f *fakeInserter, logger *zap.Logger) exporter.Traces {
	t.Helper()
	set := testSettings(logger)
	e := newExporter(cfg, set.Logger, openFake(f), nil)
	exp, err := exporterhelper.NewTraces(context.Background(), set, cfg, e.pushTraces, e.options(cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return exp
}

// genTraces makes n spans of one service.
func genTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("tracer")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), byte(i >> 16), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
		s.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 1, 2, 3, 4, 5, 6})
		s.SetParentSpanID(pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, byte(i)})
		s.SetName("GET /api/items")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(ts(time.Duration(i) * time.Millisecond))
		s.SetEndTimestamp(ts(time.Duration(i)*time.Millisecond + 3*time.Millisecond))
		s.Attributes().PutStr("http.method", "GET")
		s.Attributes().PutInt("http.status_code", 200)
		s.Attributes().PutStr("http.route", "/api/items")
		s.Attributes().PutDouble("sample.ratio", 0.5)
		s.Attributes().PutBool("cache.hit", i%2 == 0)
	}
	return td
}

func TestExportWritesEveryTable(t *testing.T) {
	f := newFakeInserter()
	cfg := testConfig()
	set := testSettings(nil)
	// One exporter per signal, as the factory creates them, sharing the
	// factory's schemaOnce.
	once := newSchemaOnce()
	te := newExporter(cfg, set.Logger, openFake(f), once)
	traces, err := exporterhelper.NewTraces(context.Background(), set, cfg, te.pushTraces, te.options(cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	le := newExporter(cfg, set.Logger, openFake(f), once)
	logs, err := exporterhelper.NewLogs(context.Background(), set, cfg, le.pushLogs, le.options(cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	me := newExporter(cfg, set.Logger, openFake(f), once)
	metrics, err := exporterhelper.NewMetrics(context.Background(), set, cfg, me.pushMetrics, me.options(cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []component.Component{traces, logs, metrics} {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
	}
	if err := traces.ConsumeTraces(ctx, fixtureTraces()); err != nil {
		t.Fatal(err)
	}
	if err := logs.ConsumeLogs(ctx, fixtureLogs()); err != nil {
		t.Fatal(err)
	}
	if err := metrics.ConsumeMetrics(ctx, fixtureMetrics()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []component.Component{traces, logs, metrics} {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rows, _, _ := f.snapshot()
	want := map[string]int{
		"otel_traces": 3, "otel_logs": 8, "vigil_alerts": 5,
		"otel_metrics_gauge": 2, "otel_metrics_sum": 1, "otel_metrics_histogram": 1,
		"otel_metrics_exponential_histogram": 1, "otel_metrics_summary": 1,
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows per table = %v, want %v", rows, want)
	}
	if f.migrations != 1 {
		t.Errorf("migrations ran %d times for three exporters of one schema, want once", f.migrations)
	}
}

// TestBatching: the queue's batcher merges small requests into inserts of
// the configured size, so ClickHouse sees few large inserts.
func TestBatching(t *testing.T) {
	tests := []struct {
		name        string
		requests    int
		spansPerReq int
		minSize     int64
		maxSize     int64
		wantInserts []int
	}{
		{name: "merges small requests", requests: 10, spansPerReq: 30, minSize: 100, maxSize: 100, wantInserts: []int{100, 100, 100}},
		{name: "splits a large request", requests: 1, spansPerReq: 250, minSize: 100, maxSize: 100, wantInserts: []int{100, 100, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeInserter()
			cfg := testConfig()
			q := cfg.QueueConfig.Get()
			q.NumConsumers = 1
			b := q.Batch.Get()
			b.FlushTimeout = time.Hour // only size triggers a flush, or shutdown
			b.MinSize, b.MaxSize = tt.minSize, tt.maxSize
			exp := newTracesExporter(t, cfg, f, nil)
			for i := 0; i < tt.requests; i++ {
				if err := exp.ConsumeTraces(context.Background(), genTraces(tt.spansPerReq)); err != nil {
					t.Fatal(err)
				}
			}
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, inserts, _ := f.snapshot()
			if fmt.Sprint(inserts) != fmt.Sprint(tt.wantInserts) {
				t.Errorf("insert sizes = %v, want %v", inserts, tt.wantInserts)
			}
		})
	}
}

// TestShutdownDrainsQueue: a clean stop inserts everything still queued or
// waiting in a partial batch before the connection closes.
func TestShutdownDrainsQueue(t *testing.T) {
	f := newFakeInserter()
	cfg := testConfig()
	b := cfg.QueueConfig.Get().Batch.Get()
	b.FlushTimeout = time.Hour
	b.MinSize = 1_000_000 // never reached: only shutdown flushes
	b.MaxSize = 0
	exp := newTracesExporter(t, cfg, f, nil)
	total := 0
	for i := 1; i <= 7; i++ {
		if err := exp.ConsumeTraces(context.Background(), genTraces(i*11)); err != nil {
			t.Fatal(err)
		}
		total += i * 11
	}
	if rows, _, _ := f.snapshot(); rows["otel_traces"] != 0 {
		t.Fatalf("inserted %d rows before shutdown; the test needs them held in the batcher", rows["otel_traces"])
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, _, _ := f.snapshot()
	if rows["otel_traces"] != total {
		t.Errorf("after shutdown %d rows inserted, want all %d", rows["otel_traces"], total)
	}
	if !f.closed || f.afterStop != 0 {
		t.Errorf("connection closed=%v, inserts after close=%d; want closed after the last insert", f.closed, f.afterStop)
	}
}

// TestBackPressure: with the default block_on_overflow a full queue makes
// ConsumeTraces wait instead of dropping; nothing is lost once the server
// catches up. Without it the pipeline gets ErrQueueIsFull (and the
// receiver can push back), still nothing silently dropped.
func TestBackPressure(t *testing.T) {
	tests := []struct {
		name            string
		blockOnOverflow bool
	}{
		{name: "blocks when full", blockOnOverflow: true},
		{name: "refuses when full", blockOnOverflow: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeInserter()
			f.block = make(chan struct{})
			f.entered = make(chan struct{}, 1)
			cfg := testConfig()
			q := cfg.QueueConfig.Get()
			q.QueueSize = 20
			q.NumConsumers = 1
			q.BlockOnOverflow = tt.blockOnOverflow
			q.Batch = configoptional.None[exporterhelper.BatchConfig]()
			exp := newTracesExporter(t, cfg, f, nil)
			ctx := context.Background()

			// The consumer takes the first request and hangs in the
			// server; the second fills the queue, whose size counts
			// in-flight requests too (20 spans).
			if err := exp.ConsumeTraces(ctx, genTraces(10)); err != nil {
				t.Fatal(err)
			}
			<-f.entered
			if err := exp.ConsumeTraces(ctx, genTraces(10)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- exp.ConsumeTraces(ctx, genTraces(10)) }()
			var accepted int
			if tt.blockOnOverflow {
				select {
				case err := <-done:
					t.Fatalf("ConsumeTraces returned %v while the queue was full; want it to block", err)
				case <-time.After(200 * time.Millisecond):
				}
				close(f.block)
				if err := <-done; err != nil {
					t.Fatalf("blocked ConsumeTraces returned %v once there was room", err)
				}
				accepted = 30
			} else {
				err := <-done
				if !errors.Is(err, exporterhelper.ErrQueueIsFull) {
					t.Fatalf("ConsumeTraces on a full queue = %v, want ErrQueueIsFull", err)
				}
				close(f.block)
				accepted = 20
			}
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			rows, _, _ := f.snapshot()
			if rows["otel_traces"] != accepted {
				t.Errorf("inserted %d rows, want every accepted one (%d)", rows["otel_traces"], accepted)
			}
		})
	}
}

// TestRetries: transient failures are retried until the insert succeeds;
// permanent ones are not retried, and are logged with table and row count.
func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  []error
		wantCalls int
		wantRows  int
		wantLog   bool
	}{
		{name: "success", wantCalls: 1, wantRows: 5},
		{
			name:      "too many parts, then network error, then success",
			failures:  []error{&clickhouse.Exception{Code: 252, Message: "Too many parts"}, fmt.Errorf("write: %w", errors.New("connection reset by peer"))},
			wantCalls: 3, wantRows: 5,
		},
		{
			name:      "unknown column is permanent",
			failures:  []error{&clickhouse.Exception{Code: 16, Message: "No such column Foo in table"}},
			wantCalls: 1, wantRows: 0, wantLog: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			f := newFakeInserter()
			f.failures = tt.failures
			cfg := testConfig()
			exp := newTracesExporter(t, cfg, f, zap.New(core))
			if err := exp.ConsumeTraces(context.Background(), genTraces(5)); err != nil {
				t.Fatal(err)
			}
			// Shutdown stops exporterhelper's retries, so wait for the
			// attempts before stopping.
			waitFor(t, func() bool { _, _, calls := f.snapshot(); return calls >= tt.wantCalls })
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			rows, _, calls := f.snapshot()
			if calls != tt.wantCalls || rows["otel_traces"] != tt.wantRows {
				t.Errorf("calls=%d rows=%d, want calls=%d rows=%d", calls, rows["otel_traces"], tt.wantCalls, tt.wantRows)
			}
			got := logs.FilterMessage("ClickHouse rejected rows; dropping them").All()
			if tt.wantLog != (len(got) == 1) {
				t.Fatalf("permanent-failure log entries = %d, want logged=%v", len(got), tt.wantLog)
			}
			if tt.wantLog {
				fields := got[0].ContextMap()
				if fields["table"] != "otel_traces" || fields["rows"] != int64(5) {
					t.Errorf("log fields = %v", fields)
				}
			}
		})
	}
}

// TestCredentialsNeverLeak: an error that quotes the password (as a driver
// or dial error might) reaches neither the pipeline's error nor the logs.
func TestCredentialsNeverLeak(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	leak := fmt.Errorf("dial tcp clickhouse://vigil:%s@db:9000: %w", testPassword, &clickhouse.Exception{Code: 60, Message: "Unknown table " + testPassword})

	f := newFakeInserter()
	f.failures = []error{leak}
	cfg := testConfig()
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // errors come back synchronously
	exp := newTracesExporter(t, cfg, f, logger)
	err := exp.ConsumeTraces(context.Background(), genTraces(1))
	if err == nil {
		t.Fatal("want the permanent error back")
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error leaks the password: %q", err)
	}
	if !strings.Contains(err.Error(), redacted) {
		t.Errorf("error %q does not show it was redacted", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Start failures are redacted too.
	set := testSettings(logger)
	e := newExporter(cfg, set.Logger, func(context.Context, *Config, component.Host) (inserter, error) {
		return nil, fmt.Errorf("auth failed for password %s", testPassword)
	}, nil)
	startErr := e.start(context.Background(), componenttest.NewNopHost())
	if startErr == nil || strings.Contains(startErr.Error(), testPassword) {
		t.Errorf("start error = %v, want an error without the password", startErr)
	}

	for _, entry := range logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, testPassword) {
			t.Errorf("log entry leaks the password: %s", line)
		}
	}
	if logs.Len() == 0 {
		t.Error("expected the permanent failure to be logged")
	}
}

func TestPushBeforeStart(t *testing.T) {
	e := newExporter(testConfig(), zap.NewNop(), openFake(newFakeInserter()), nil)
	if err := e.pushTraces(context.Background(), genTraces(1)); !errors.Is(err, errNotStarted) {
		t.Fatalf("push before start = %v, want errNotStarted", err)
	}
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSchemaOnce(t *testing.T) {
	once := newSchemaOnce()
	a, b := testConfig(), testConfig()
	b.Database = "other"
	calls := 0
	fail := true
	migrate := func() error {
		calls++
		if fail {
			fail = false
			return errors.New("server down")
		}
		return nil
	}
	if err := once.run(schemaKey(a), migrate); err == nil {
		t.Fatal("first run must report the failure")
	}
	for i := 0; i < 3; i++ {
		if err := once.run(schemaKey(a), migrate); err != nil {
			t.Fatal(err)
		}
	}
	if err := once.run(schemaKey(b), migrate); err != nil {
		t.Fatal(err)
	}
	// failed + first success for a + one for b.
	if calls != 3 {
		t.Errorf("migrate called %d times, want 3 (a failure is retried, a success is not repeated)", calls)
	}
	var none *schemaOnce
	if err := none.run("k", func() error { calls++; return nil }); err != nil || calls != 4 {
		t.Error("a nil schemaOnce must always migrate")
	}
}
