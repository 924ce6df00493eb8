package anomalyconnector

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/connector/anomalyconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// t0 is a Monday midnight, so seasonal slots are predictable.
var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}

// harness is a connector built by the factory with both outputs wired to
// sinks, its loop off and its clock fake.
type harness struct {
	t        testing.TB
	cfg      *Config
	core     *core
	m2m, m2l connector.Metrics
	metrics  *consumertest.MetricsSink
	logs     *consumertest.LogsSink
	clock    *fakeClock
}

func newHarness(t testing.TB, mutate func(*Config), set connector.Settings, host component.Host) *harness {
	t.Helper()
	return newHarnessAt(t, mutate, set, host, t0)
}

// newHarnessAt is newHarness started with its clock at now: a restart.
func newHarnessAt(t testing.TB, mutate func(*Config), set connector.Settings, host component.Host, now time.Time) *harness {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{t: t, cfg: cfg, metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink), clock: &fakeClock{t: now}}
	ctx := context.Background()
	var err error
	if h.m2m, err = f.CreateMetricsToMetrics(ctx, set, cfg, h.metrics); err != nil {
		t.Fatal(err)
	}
	if h.m2l, err = f.CreateMetricsToLogs(ctx, set, cfg, h.logs); err != nil {
		t.Fatal(err)
	}
	h.core = h.m2m.(*instance).core
	h.core.autoFlush = false
	h.core.now = h.clock.Now
	h.core.deltas = cumdelta.New(cumdelta.Settings{Started: t0.Add(-time.Minute), MaxIdle: cfg.IdleTimeout})
	if host == nil {
		host = componenttest.NewNopHost()
	}
	for _, c := range []connector.Metrics{h.m2m, h.m2l} {
		if err := c.Start(ctx, host); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func defaultSettings() connector.Settings { return connectortest.NewNopSettings(metadata.Type) }

func (h *harness) shutdown() {
	h.t.Helper()
	for _, c := range []connector.Metrics{h.m2m, h.m2l} {
		if err := c.Shutdown(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
}

// crash stops the harness as a process killed would: its storage client
// is closed (so the next run can open the storage) without the shutdown
// checkpoint. It waits for the interval in flight first, its write after
// the alert events included: the events go out before that write, so a
// test that saw them and crashed at once would test a crash between the
// two writes (the race that made the slo connector's
// TestFleetCheckpointAtTransition flaky). The harness's flushes are
// synchronous, but writeMu is held from the first write to the second
// whoever drives the flush.
func (h *harness) crash() {
	h.t.Helper()
	c := h.core
	c.StopSending() // a running loop's interval in flight ends
	c.writeMu.Lock()
	client := c.client
	c.client = nil
	c.writeMu.Unlock()
	if client != nil {
		if err := client.Close(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	h.shutdown()
}

func (h *harness) seriesCount() int {
	h.core.mu.Lock()
	defer h.core.mu.Unlock()
	return len(h.core.series)
}

// feed sends md to both instances, as the collector does, at clock time at.
func (h *harness) feed(at time.Time, md pmetric.Metrics) {
	h.t.Helper()
	h.clock.Set(at)
	for _, c := range []connector.Metrics{h.m2m, h.m2l} {
		if err := c.ConsumeMetrics(context.Background(), md); err != nil {
			h.t.Fatal(err)
		}
	}
}

// flushAt closes the interval ending at t.
func (h *harness) flushAt(t time.Time) {
	h.clock.Set(t)
	h.core.flushAndSend(context.Background(), t)
}

// drain returns the interval's points by series key and resets the
// accumulators, without feeding detectors.
func (h *harness) drain() map[string]point {
	c := h.core
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]point{}
	for _, p := range c.intervalPoints() {
		out[p.id.key()] = p
	}
	clear(c.red)
	clear(c.custom)
	c.pendingNew, c.rejectedNow = 0, 0
	return out
}

// callsPoint is one datapoint of the span_metrics calls counter.
type callsPoint struct {
	service, op, status string
	start, ts           time.Time
	value               int64
	delta               bool
	noValue             bool // flagged NoRecordedValue (a staleness marker)
}

// histPoint is one datapoint of the span_metrics duration histogram.
type histPoint struct {
	service, op string
	start, ts   time.Time
	bounds      []float64
	counts      []uint64
}

func ts(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// spanMetrics builds metrics shaped like the span_metrics connector's
// output: service.name on the resource; span.name, span.kind and
// status.code on the datapoints.
func spanMetrics(calls []callsPoint, hists []histPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, c := range calls {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", c.service)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(defaultCallsMetric)
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		if c.delta {
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		}
		dp := sum.DataPoints().AppendEmpty()
		if !c.start.IsZero() {
			dp.SetStartTimestamp(ts(c.start))
		}
		dp.SetTimestamp(ts(c.ts))
		dp.SetIntValue(c.value)
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(c.noValue))
		dp.Attributes().PutStr("span.name", c.op)
		dp.Attributes().PutStr("span.kind", "SPAN_KIND_SERVER")
		status := c.status
		if status == "" {
			status = "STATUS_CODE_UNSET"
		}
		dp.Attributes().PutStr("status.code", status)
	}
	for _, hp := range hists {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", hp.service)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(defaultDurationMetric)
		m.SetUnit("ms")
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(ts(hp.start))
		dp.SetTimestamp(ts(hp.ts))
		dp.ExplicitBounds().FromRaw(hp.bounds)
		dp.BucketCounts().FromRaw(hp.counts)
		var n uint64
		for _, c := range hp.counts {
			n += c
		}
		dp.SetCount(n)
		dp.Attributes().PutStr("span.name", hp.op)
		dp.Attributes().PutStr("span.kind", "SPAN_KIND_SERVER")
		dp.Attributes().PutStr("status.code", "STATUS_CODE_UNSET")
	}
	return md
}

// alertEvent is a sent log record in plain form.
type alertEvent struct {
	body  string
	attrs map[string]any
	ts    time.Time // the record's timestamp
}

// startOf is the event's alert.starts_at, "" without one.
func (e alertEvent) startOf() string {
	s, _ := e.attrs[conventions.AttrAlertStartsAt].(string)
	return s
}

// rfc3339 is t as alert.starts_at writes it.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func events(sink *consumertest.LogsSink) []alertEvent {
	var out []alertEvent
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					out = append(out, alertEvent{body: lr.Body().Str(), attrs: lr.Attributes().AsRaw(), ts: lr.Timestamp().AsTime()})
				}
			}
		}
	}
	return out
}

// gaugePoints returns the last value of each gauge datapoint sent, by
// metric name and then by series (the `metric` label plus service and
// operation).
func gaugePoints(sink *consumertest.MetricsSink) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	eachGaugePoint(sink, func(name, key string, dp pmetric.NumberDataPoint) {
		if dp.Flags().NoRecordedValue() {
			return // a marker ending the series (see endedGauges)
		}
		if out[name] == nil {
			out[name] = map[string]float64{}
		}
		out[name][key] = dp.DoubleValue()
	})
	return out
}

// endedGauges returns, by gauge name, the series ended by a marker
// (staleness.Markers), once per marker, sorted.
func endedGauges(sink *consumertest.MetricsSink) map[string][]string {
	out := map[string][]string{}
	eachGaugePoint(sink, func(name, key string, dp pmetric.NumberDataPoint) {
		if dp.Flags().NoRecordedValue() {
			out[name] = append(out[name], key)
		}
	})
	for _, keys := range out {
		slices.Sort(keys)
	}
	return out
}

// checkEnded fails the test unless the harness ended exactly the four
// gauges of each of the series keyed want, once each.
func checkEnded(t *testing.T, h *harness, want []string) {
	t.Helper()
	ended := endedGauges(h.metrics)
	for _, g := range []string{conventions.MetricAnomalyScore, conventions.MetricAnomalyExpected, conventions.MetricAnomalyLower, conventions.MetricAnomalyUpper} {
		if !slices.Equal(ended[g], want) {
			t.Errorf("%s ended %v, want %v", g, ended[g], want)
		}
	}
	if len(ended) != 4 {
		t.Errorf("ended gauges %v, want the four of %v", ended, want)
	}
}

// eachGaugePoint calls f with every gauge point the sink received, its
// series keyed metric|service_name|span_name.
func eachGaugePoint(sink *consumertest.MetricsSink, f func(name, key string, dp pmetric.NumberDataPoint)) {
	for _, md := range sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					for _, dp := range m.Gauge().DataPoints().All() {
						a := dp.Attributes()
						f(m.Name(), label(a, conventions.LabelMetric)+"|"+label(a, conventions.LabelServiceName)+"|"+label(a, conventions.LabelSpanName), dp)
					}
				}
			}
		}
	}
}

func label(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

// countingMetrics counts the batches it receives.
type countingMetrics struct {
	n atomic.Int64
}

func (c *countingMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *countingMetrics) ConsumeMetrics(context.Context, pmetric.Metrics) error {
	c.n.Add(1)
	return nil
}
