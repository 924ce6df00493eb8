package anomalyconnector

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/conventions"
)

// opsMetrics is the cumulative calls and durations of n operations of one
// service after step intervals of 60 calls each: 4 series per operation.
func opsMetrics(n int, at time.Time, step int) pmetric.Metrics {
	calls := make([]callsPoint, n)
	hists := make([]histPoint, n)
	for i := range calls {
		op := "op" + string(rune('a'+i))
		calls[i] = callsPoint{service: "svc", op: op, start: t0, ts: at, value: int64(60 * step)}
		hists[i] = histPoint{service: "svc", op: op, start: t0, ts: at, bounds: []float64{10, 100}, counts: []uint64{uint64(50 * step), uint64(10 * step), 0}}
	}
	return spanMetrics(calls, hists)
}

func TestSeriesCap(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { _ = tel.Shutdown(context.Background()) }()
	set := defaultSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)

	// Each operation yields 4 series (rate, error ratio, p95, p99): room
	// for two operations.
	h := newHarness(t, func(c *Config) { c.MaxSeries = 9 }, set, nil)
	defer h.shutdown()
	at := t0.Add(time.Minute)
	h.feed(at, opsMetrics(3, at, 1))
	h.flushAt(at)

	h.core.mu.Lock()
	n := len(h.core.series)
	h.core.mu.Unlock()
	if n != 8 {
		t.Errorf("%d series watched, want 8 (two operations)", n)
	}
	// Still full: the next intervals' rejections are counted, but the
	// warning is not repeated until capLogEvery has passed.
	for i := 2; i <= 12; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		h.feed(at, opsMetrics(3, at, i))
		h.flushAt(at)
	}
	capLogs := logs.FilterMessage("Anomaly connector at max_series: new series are not watched")
	if got := capLogs.Len(); got != 2 {
		t.Errorf("%d max_series log lines over 12 minutes, want 2 (at the first rejection and 10 minutes later)", got)
	} else if n := capLogs.All()[1].ContextMap()["rejected"]; n != int64(40) {
		t.Errorf("second warning reports %v rejected, want 40 (10 intervals x 4)", n)
	}
	m, err := tel.GetMetric("otelcol_anomaly_series_rejected")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; got != 12*4 {
		t.Errorf("otelcol_anomaly_series_rejected = %d, want 48 (one operation's series, 12 intervals)", got)
	}
	m, err = tel.GetMetric("otelcol_anomaly_active_series")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value; got != 8 {
		t.Errorf("otelcol_anomaly_active_series = %d, want 8", got)
	}
	g := gaugePoints(h.metrics)[conventions.MetricAnomalyScore]
	if len(g) != 8 {
		t.Errorf("score gauge has %d series, want 8: %v", len(g), g)
	}
}

func TestIdleSeriesExpire(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.IdleTimeout = 10 * time.Minute
		c.ResendInterval = 2 * time.Minute
		c.Detector.WarmupPoints = 30
		c.Detector.ClearPoints = 1000
	}, defaultSettings(), nil)
	defer h.shutdown()
	d := newCallsDriver(h)
	d.normal(100)
	d.step(600, 6) // fires
	firing, _ := byState(events(h.logs), MetricRequestRate)
	if len(firing) != 1 {
		t.Fatalf("%d firing events, want 1", len(firing))
	}
	last := t0.Add(time.Duration(d.interval) * time.Minute)
	// No more data: the firing alert is re-sent while it waits, then
	// resolved when the series expires.
	for i := 1; i <= 10; i++ {
		h.flushAt(last.Add(time.Duration(i) * time.Minute))
	}
	firing, resolved := byState(events(h.logs), MetricRequestRate)
	if len(firing) != 1+4 { // re-sent at +2, +4, +6, +8 minutes
		t.Errorf("%d firing events, want 5 (onset and 4 re-sends)", len(firing))
	}
	if len(resolved) != 1 {
		t.Fatalf("%d resolved events, want 1 at expiry", len(resolved))
	}
	if _, ok := resolved[0].attrs[conventions.AttrAnomalyActual]; ok {
		t.Errorf("resolved-at-expiry event carries an actual value, but there was no data")
	}
	// The expired series' gauges are ended, once, rather than served by
	// the exporter until its metric_expiration.
	h.flushAt(last.Add(11 * time.Minute))
	checkEnded(t, h, []string{MetricErrorRatio + "|checkout|POST /pay", MetricRequestRate + "|checkout|POST /pay"})
	h.core.mu.Lock()
	defer h.core.mu.Unlock()
	if len(h.core.series) != 0 || h.core.deltas.Len() != 0 {
		t.Errorf("%d series and %d streams left after idle timeout, want none", len(h.core.series), h.core.deltas.Len())
	}
}

func TestInstancesShareOneCoreAndCountInputOnce(t *testing.T) {
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	if h.m2l.(*instance).core != h.core {
		t.Fatal("metrics and logs instances do not share a core")
	}
	at := t0.Add(time.Minute)
	// The collector hands the batch to both instances (feed does the same).
	h.feed(at, spanMetrics([]callsPoint{{service: "a", op: "GET", start: t0, ts: at, value: 60}}, nil))
	pts := h.drain()
	if got := pts[redKey(MetricRequestRate, "a", "GET")].value; got != 1 {
		t.Errorf("request rate %v, want 1: the batch was counted more than once", got)
	}
}

func TestLoopFlushesAtBoundaries(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Interval = time.Second
	sink := new(countingMetrics)
	c, err := f.CreateMetricsToMetrics(context.Background(), defaultSettings(), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	// Input every 600ms until the loop's output arrives: on a loaded
	// machine the loop may miss boundaries, so the test waits for the
	// output (a stopped loop never sends one), not for a set time.
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for i := 1; sink.n.Load() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no output in %v with a 1s interval (%d batches in)", time.Since(start).Round(time.Second), i-1)
		}
		at := time.Now()
		_ = c.ConsumeMetrics(context.Background(), spanMetrics([]callsPoint{{service: "a", op: "GET", start: start, ts: at, value: int64(10 * i)}}, nil))
		time.Sleep(600 * time.Millisecond) // the pace of the input
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDroppedPointsCounted: points the connector drops (out of order, a
// staleness marker) are counted in its telemetry by reason.
func TestDroppedPointsCounted(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { _ = tel.Shutdown(context.Background()) }()
	set := defaultSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	h := newHarness(t, nil, set, nil)
	defer h.shutdown()
	old := t0.Add(-time.Hour)
	first := callsPoint{service: "a", op: "GET", start: old, ts: t0.Add(20 * time.Second), value: 100}
	for _, ps := range [][]callsPoint{
		{first},
		{{service: "a", op: "GET", start: old, ts: t0.Add(10 * time.Second), value: 90}}, // out of order
		// A duplicate point, in a request with another (a request sent
		// again whole is a repeat, not taken at all: TestRetriedRequest).
		{first, {service: "b", op: "GET", start: old, ts: t0.Add(20 * time.Second), value: 5}},
		{{service: "a", op: "GET", start: old, ts: t0.Add(30 * time.Second), noValue: true}},
	} {
		h.feed(t0.Add(30*time.Second), spanMetrics(ps, nil))
	}
	m, err := tel.GetMetric("otelcol_anomaly_points_dropped")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		got[reason.AsString()] = dp.Value
	}
	want := map[string]int64{"out_of_order": 2, "no_recorded_value": 1, "invalid": 0}
	for reason, n := range want {
		if got[reason] != n {
			t.Errorf("points dropped as %s = %d, want %d (all: %v)", reason, got[reason], n, got)
		}
	}
}
