package anomalyconnector

import (
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

func redKey(metric, service, op string) string {
	return identity{metric: metric, service: service, operation: op}.key()
}

func TestREDDerivation(t *testing.T) {
	old := t0.Add(-time.Hour) // a stream older than the connector
	bounds := []float64{10, 20, 50, 100}
	type batch struct {
		calls []callsPoint
		hists []histPoint
	}
	tests := []struct {
		name   string
		before []batch // consumed and drained first: seeds stream state
		during []batch
		want   map[string]point
	}{
		{
			name:   "cumulative counter becomes a rate over the time it spans",
			before: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0, value: 100}}}},
			during: []batch{
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(30 * time.Second), value: 160}}},
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), value: 220}}},
			},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 120},
			},
		},
		{
			name: "error ratio counts STATUS_CODE_ERROR calls over all calls",
			before: []batch{{calls: []callsPoint{
				{service: "a", op: "GET", start: old, ts: t0, value: 100},
				{service: "a", op: "GET", status: "STATUS_CODE_ERROR", start: old, ts: t0, value: 10},
			}}},
			during: []batch{{calls: []callsPoint{
				{service: "a", op: "GET", start: old, ts: t0.Add(50 * time.Second), value: 190},
				{service: "a", op: "GET", status: "STATUS_CODE_ERROR", start: old, ts: t0.Add(50 * time.Second), value: 20},
			}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0.1, total: 100},
			},
		},
		{
			name:   "a reset (new start, lower value) counts the new value over its own span",
			before: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0, value: 1000}}}},
			during: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: t0.Add(30 * time.Second), ts: t0.Add(60 * time.Second), value: 30}}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 1, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 30},
			},
		},
		{
			name:   "a lower value with the same start is a reset too",
			before: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0, value: 1000}}}},
			during: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), value: 120}}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 120},
			},
		},
		{
			// Dropped rather than taken for a reset (which would count its
			// whole 1090 calls): the interval holds the 120 calls between
			// the points in order.
			name:   "an out-of-order point is dropped",
			before: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0, value: 1000}}}},
			during: []batch{
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(40 * time.Second), value: 1100}}},
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(20 * time.Second), value: 1090}}},
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), value: 1120}}},
			},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 120},
			},
		},
		{
			// A staleness marker read as a value of 0 would have made the
			// next point a reset counting all 1120 calls.
			name:   "a staleness marker is no reset",
			before: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0, value: 1000}}}},
			during: []batch{
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(30 * time.Second), noValue: true}}},
				{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), value: 1120}}},
			},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 120},
			},
		},
		{
			name:   "a stream born after the connector started counts from zero",
			during: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: t0, ts: t0.Add(60 * time.Second), value: 60}}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 1, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 60},
			},
		},
		{
			name:   "the first point of an older stream only sets the baseline",
			during: []batch{{calls: []callsPoint{{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), value: 5000}}}},
			want:   map[string]point{},
		},
		{
			name: "delta temporality is counted as is",
			during: []batch{{calls: []callsPoint{
				{service: "a", op: "GET", start: t0, ts: t0.Add(30 * time.Second), value: 60, delta: true},
				{service: "a", op: "GET", start: t0.Add(30 * time.Second), ts: t0.Add(60 * time.Second), value: 90, delta: true},
			}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 2.5, total: -1}, // 150 calls over the 60s the batches span
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 150},
			},
		},
		{
			name:   "delta points without a start time are spread over the interval",
			during: []batch{{calls: []callsPoint{{service: "a", op: "GET", ts: t0.Add(60 * time.Second), value: 90, delta: true}}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"): {value: 1.5, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):  {value: 0, total: 90},
			},
		},
		{
			name: "latency quantiles interpolate within the interval's bucket deltas",
			before: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: old, ts: t0, bounds: bounds, counts: []uint64{1000, 1000, 1000, 1000, 1000}},
			}}},
			during: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), bounds: bounds, counts: []uint64{1000, 1050, 1040, 1010, 1000}},
			}}},
			want: map[string]point{
				redKey("latency_p95", "a", "GET"): {value: 75, total: -1}, // rank 95 of 100: 5 of the 10 in (50,100]
				redKey("latency_p99", "a", "GET"): {value: 95, total: -1},
			},
		},
		{
			name: "a histogram reset counts its new buckets",
			before: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: old, ts: t0, bounds: bounds, counts: []uint64{500, 500, 500, 500, 500}},
			}}},
			during: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: t0.Add(10 * time.Second), ts: t0.Add(60 * time.Second), bounds: bounds, counts: []uint64{100, 0, 0, 0, 0}},
			}}},
			want: map[string]point{
				redKey("latency_p95", "a", "GET"): {value: 9.5, total: -1},
				redKey("latency_p99", "a", "GET"): {value: 9.9, total: -1},
			},
		},
		{
			name: "too few requests for a latency quantile",
			before: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: old, ts: t0, bounds: bounds, counts: []uint64{5, 5, 5, 5, 5}},
			}}},
			during: []batch{{hists: []histPoint{
				{service: "a", op: "GET", start: old, ts: t0.Add(60 * time.Second), bounds: bounds, counts: []uint64{5, 8, 6, 5, 5}},
			}}},
			want: map[string]point{},
		},
		{
			name: "operations and services are separate series",
			during: []batch{{calls: []callsPoint{
				{service: "a", op: "GET", start: t0, ts: t0.Add(60 * time.Second), value: 60},
				{service: "a", op: "POST", start: t0, ts: t0.Add(60 * time.Second), value: 120},
				{service: "b", op: "GET", start: t0, ts: t0.Add(60 * time.Second), value: 180},
			}}},
			want: map[string]point{
				redKey(MetricRequestRate, "a", "GET"):  {value: 1, total: -1},
				redKey(MetricErrorRatio, "a", "GET"):   {value: 0, total: 60},
				redKey(MetricRequestRate, "a", "POST"): {value: 2, total: -1},
				redKey(MetricErrorRatio, "a", "POST"):  {value: 0, total: 120},
				redKey(MetricRequestRate, "b", "GET"):  {value: 3, total: -1},
				redKey(MetricErrorRatio, "b", "GET"):   {value: 0, total: 180},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, defaultSettings(), nil)
			defer h.shutdown()
			for _, b := range tt.before {
				h.feed(t0, spanMetrics(b.calls, b.hists))
			}
			h.drain()
			for _, b := range tt.during {
				h.feed(t0.Add(time.Minute), spanMetrics(b.calls, b.hists))
			}
			checkPoints(t, h.drain(), tt.want)
		})
	}
}

func checkPoints(t *testing.T, got, want map[string]point) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d points, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing point %q", k)
			continue
		}
		if math.Abs(g.value-w.value) > 1e-9 || g.total != w.total {
			t.Errorf("%q = %v (total %v), want %v (total %v)", k, g.value, g.total, w.value, w.total)
		}
	}
}

// customMetrics builds one resource with the given metrics.
func customMetrics(service string, build func(ms pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	rm.Resource().Attributes().PutStr("deployment.environment", "prod")
	build(rm.ScopeMetrics().AppendEmpty().Metrics())
	return md
}

func gaugeMetric(ms pmetric.MetricSlice, name string, at time.Time, v float64, attrs map[string]any) {
	m := ms.AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts(at))
	dp.SetDoubleValue(v)
	_ = dp.Attributes().FromRaw(attrs)
}

func sumMetric(ms pmetric.MetricSlice, name string, monotonic bool, start, at time.Time, v int64, attrs map[string]any) {
	m := ms.AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetIsMonotonic(monotonic)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := s.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(ts(start))
	dp.SetTimestamp(ts(at))
	dp.SetIntValue(v)
	_ = dp.Attributes().FromRaw(attrs)
}

func TestCustomMetricSelection(t *testing.T) {
	at := t0.Add(time.Minute)
	old := t0.Add(-time.Hour)
	customKey := func(metric, service string, attrs ...attr) string {
		return identity{metric: metric, service: service, attrs: attrs}.key()
	}
	tests := []struct {
		name    string
		metrics []MetricConfig
		before  pmetric.Metrics
		during  []pmetric.Metrics
		want    map[string]point
	}{
		{
			name:    "gauge: last value of the interval, matchers filter datapoints",
			metrics: []MetricConfig{{Name: "queue.depth", MatchAttributes: map[string]string{"queue": "orders"}}},
			during: []pmetric.Metrics{
				customMetrics("shop", func(ms pmetric.MetricSlice) {
					gaugeMetric(ms, "queue.depth", at, 5, map[string]any{"queue": "orders"})
					gaugeMetric(ms, "queue.depth", at, 900, map[string]any{"queue": "emails"})
				}),
				customMetrics("shop", func(ms pmetric.MetricSlice) {
					gaugeMetric(ms, "queue.depth", at, 7, map[string]any{"queue": "orders"})
				}),
			},
			want: map[string]point{customKey("queue.depth", "shop", attr{"queue", "orders"}): {value: 7, total: -1}},
		},
		{
			name:    "a gauge's staleness marker is no value and makes no series",
			metrics: []MetricConfig{{Name: "queue.depth"}},
			during: []pmetric.Metrics{
				customMetrics("shop", func(ms pmetric.MetricSlice) {
					gaugeMetric(ms, "queue.depth", at, 5, map[string]any{"queue": "orders"})
				}),
				customMetrics("shop", func(ms pmetric.MetricSlice) {
					// Flagged with a value of 0, not NaN: the flag decides.
					gaugeMetric(ms, "queue.depth", at, 0, map[string]any{"queue": "orders"})
					gaugeMetric(ms, "queue.depth", at, 0, map[string]any{"queue": "emails"})
					for _, m := range ms.All() {
						m.Gauge().DataPoints().At(0).SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
					}
				}),
			},
			want: map[string]point{customKey("queue.depth", "shop", attr{"queue", "orders"}): {value: 5, total: -1}},
		},
		{
			name:    "matchers fall back to resource attributes",
			metrics: []MetricConfig{{Name: "queue.depth", MatchAttributes: map[string]string{"deployment.environment": "prod"}}},
			during: []pmetric.Metrics{customMetrics("shop", func(ms pmetric.MetricSlice) {
				gaugeMetric(ms, "queue.depth", at, 3, map[string]any{"queue": "orders"})
			})},
			want: map[string]point{customKey("queue.depth", "shop", attr{"queue", "orders"}): {value: 3, total: -1}},
		},
		{
			name:    "a resource attribute that does not match excludes the datapoint",
			metrics: []MetricConfig{{Name: "queue.depth", MatchAttributes: map[string]string{"deployment.environment": "staging"}}},
			during: []pmetric.Metrics{customMetrics("shop", func(ms pmetric.MetricSlice) {
				gaugeMetric(ms, "queue.depth", at, 3, nil)
			})},
			want: map[string]point{},
		},
		{
			name:    "monotonic cumulative sum: a per-second rate",
			metrics: []MetricConfig{{Name: "jobs.done"}},
			before: customMetrics("worker", func(ms pmetric.MetricSlice) {
				sumMetric(ms, "jobs.done", true, old, t0, 1000, map[string]any{"kind": "email"})
			}),
			during: []pmetric.Metrics{customMetrics("worker", func(ms pmetric.MetricSlice) {
				sumMetric(ms, "jobs.done", true, old, t0.Add(30*time.Second), 1150, map[string]any{"kind": "email"})
			})},
			want: map[string]point{customKey("jobs.done", "worker", attr{"kind", "email"}): {value: 5, total: -1}},
		},
		{
			name:    "non-monotonic sum: last value, like a gauge",
			metrics: []MetricConfig{{Name: "pool.in_use"}},
			during: []pmetric.Metrics{customMetrics("db", func(ms pmetric.MetricSlice) {
				sumMetric(ms, "pool.in_use", false, old, at, 12, nil)
			})},
			want: map[string]point{customKey("pool.in_use", "db"): {value: 12, total: -1}},
		},
		{
			name:    "metrics not selected are ignored",
			metrics: []MetricConfig{{Name: "queue.depth"}},
			during: []pmetric.Metrics{customMetrics("shop", func(ms pmetric.MetricSlice) {
				gaugeMetric(ms, "cpu.usage", at, 0.5, nil)
			})},
			want: map[string]point{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Metrics = tt.metrics }, defaultSettings(), nil)
			defer h.shutdown()
			if tt.before != (pmetric.Metrics{}) {
				h.feed(t0, tt.before)
			}
			h.drain()
			for _, md := range tt.during {
				h.feed(at, md)
			}
			checkPoints(t, h.drain(), tt.want)
		})
	}
}

func TestHistogramQuantile(t *testing.T) {
	tests := []struct {
		name   string
		q      float64
		bounds []float64
		counts []float64
		want   float64
	}{
		{"first bucket starts at zero", 0.5, []float64{10, 20}, []float64{10, 0, 0}, 5},
		{"interpolates in the middle bucket", 0.75, []float64{10, 20}, []float64{5, 10, 0}, 16.25},
		{"overflow bucket reports the highest bound", 0.99, []float64{10, 20}, []float64{1, 1, 98}, 20},
		{"skips empty buckets", 0.5, []float64{10, 20, 30}, []float64{0, 0, 4, 0}, 25},
		{"no observations", 0.5, []float64{10}, []float64{0, 0}, math.NaN()},
		{"mismatched layout", 0.5, []float64{10}, []float64{1}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := histogramQuantile(tt.q, tt.bounds, tt.counts)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
