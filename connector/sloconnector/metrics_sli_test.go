package sloconnector

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const ratioSpec = `version: vigil/v1
service: payments
slos:
  - name: auth
    objective: 99
    window: 7d
    sli:
      metrics:
        total: {metric: payments.authorizations}
        bad:
          metric: payments.authorizations
          attributes:
            - {key: outcome, op: "=~", value: "error|timeout"}
`

const goodRatioSpec = `version: vigil/v1
service: payments
slos:
  - name: auth
    objective: 99
    window: 7d
    group_by: [region]
    sli:
      metrics:
        total: {metric: requests}
        good: {metric: requests.ok}
`

const histogramSpec = `version: vigil/v1
service: payments
slos:
  - name: latency
    objective: 99
    window: 7d
    sli:
      metrics:
        histogram:
          metric: charge.duration
          latency_above: 500ms
`

// counterPoint is one point of a sum metric in a test batch.
type counterPoint struct {
	metric     string
	attrs      map[string]any
	value      int64
	cumulative bool
	start      time.Time
	ts         time.Time // zero: now
	noValue    bool      // flagged NoRecordedValue (a staleness marker)
}

func counterBatch(service string, points ...counterPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	if service != "" {
		rm.Resource().Attributes().PutStr("service.name", service)
	}
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	for _, p := range points {
		m := ms.AppendEmpty()
		m.SetName(p.metric)
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		if p.cumulative {
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		} else {
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		}
		dp := sum.DataPoints().AppendEmpty()
		_ = dp.Attributes().FromRaw(p.attrs)
		dp.SetIntValue(p.value)
		if !p.start.IsZero() {
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(p.start))
		}
		ts := p.ts
		if ts.IsZero() {
			ts = time.Now()
		}
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(p.noValue))
	}
	return md
}

// histogramBatch is one cumulative (or delta) point of charge.duration in
// seconds with bounds 0.1, 0.5, 1.
func histogramBatch(cumulative bool, start time.Time, counts []uint64, unit string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "payments")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("charge.duration")
	m.SetUnit(unit)
	h := m.SetEmptyHistogram()
	if cumulative {
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	} else {
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	}
	dp := h.DataPoints().AppendEmpty()
	bounds := []float64{0.1, 0.5, 1}
	if unit == "ms" {
		bounds = []float64{100, 500, 1000}
	}
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(counts)
	var total uint64
	for _, c := range counts {
		total += c
	}
	dp.SetCount(total)
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return md
}

// totals sums what a fake recorder saw per SLO series.
func totals(rec *fakeRecorder) map[string][2]uint64 {
	out := map[string][2]uint64{}
	for _, c := range rec.calls {
		k := c.id + "|" + c.group
		v := out[k]
		v[0] += c.good
		v[1] += c.bad
		out[k] = v
	}
	return out
}

func TestMetricSLIs(t *testing.T) {
	// before is a start time earlier than the connector's: such a stream's
	// first point is a baseline. after is later, and earlier than the
	// points' timestamps (now).
	started := time.Now().Add(-time.Minute)
	before := started.Add(-time.Hour)
	after := started.Add(time.Second)
	errAttrs := map[string]any{"outcome": "error"}
	okAttrs := map[string]any{"outcome": "ok"}
	tests := []struct {
		name    string
		spec    string
		batches []pmetric.Metrics
		// want maps "sloID|group" to good and bad events.
		want    map[string][2]uint64
		refused map[string]uint64
	}{
		{
			name: "delta counters, total and bad in one batch",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 95}, counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 5}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 10}),
			},
			want: map[string][2]uint64{"payments/auth|": {105, 5}},
		},
		{
			name: "cumulative: first point of an older stream is a baseline, then increases",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 1000, cumulative: true, start: before}, counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 50, cumulative: true, start: before}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 1090, cumulative: true, start: before}, counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 60, cumulative: true, start: before}),
			},
			want: map[string][2]uint64{"payments/auth|": {90, 10}},
		},
		{
			name: "cumulative: a stream that started after the connector counts whole",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 3, cumulative: true, start: after}),
			},
			want: map[string][2]uint64{"payments/auth|": {0, 3}},
		},
		{
			name: "cumulative: a drop is a reset and the new value counts",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 500, cumulative: true, start: before}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 520, cumulative: true, start: before}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 7, cumulative: true, start: before}),
			},
			want: map[string][2]uint64{"payments/auth|": {27, 0}},
		},
		{
			// The late point's lower value was taken for a reset and
			// counted whole: 100 + 550 + 60 events instead of 100 + 10.
			name: "cumulative: an out-of-order point is dropped, not counted again",
			spec: ratioSpec,
			batches: func() []pmetric.Metrics {
				p := func(v int64, sec int) pmetric.Metrics {
					return counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: v,
						cumulative: true, start: before, ts: started.Add(time.Duration(sec) * time.Second)})
				}
				return []pmetric.Metrics{p(500, 10), p(600, 30), p(550, 20), p(610, 40)}
			}(),
			want: map[string][2]uint64{"payments/auth|": {110, 0}},
		},
		{
			// A staleness marker (value 0, flagged) read as a reset made
			// the next point count whole: 530 events instead of 30.
			name: "cumulative: a staleness marker is no reset",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 500, cumulative: true, start: before, ts: started.Add(10 * time.Second)}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, noValue: true, cumulative: true, start: before, ts: started.Add(20 * time.Second)}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 530, cumulative: true, start: before, ts: started.Add(30 * time.Second)}),
			},
			want: map[string][2]uint64{"payments/auth|": {30, 0}},
		},
		{
			name: "cumulative: a new start time is a reset",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 500, cumulative: true, start: before}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 600, cumulative: true, start: before.Add(time.Minute)}),
			},
			want: map[string][2]uint64{"payments/auth|": {600, 0}},
		},
		{
			name: "total and its part in different batches settle once both arrived",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: okAttrs, value: 100}),
				counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 4}),
			},
			want: map[string][2]uint64{"payments/auth|": {100, 4}},
		},
		{
			name: "good/total with group_by from the resource",
			spec: goodRatioSpec,
			batches: func() []pmetric.Metrics {
				md := counterBatch("payments", counterPoint{metric: "requests", value: 10}, counterPoint{metric: "requests.ok", value: 8})
				md.ResourceMetrics().At(0).Resource().Attributes().PutStr("region", "eu")
				return []pmetric.Metrics{md}
			}(),
			want: map[string][2]uint64{"payments/auth|eu": {8, 2}},
		},
		{
			name: "another service's metric is ignored",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("cart", counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 5}),
			},
			want: map[string][2]uint64{},
		},
		{
			name: "a resource without service.name is read",
			spec: ratioSpec,
			batches: []pmetric.Metrics{
				counterBatch("", counterPoint{metric: "payments.authorizations", attrs: errAttrs, value: 5}),
			},
			want: map[string][2]uint64{"payments/auth|": {0, 5}},
		},
		{
			name: "delta histogram: observations above the boundary are bad",
			spec: histogramSpec,
			batches: []pmetric.Metrics{
				histogramBatch(false, before, []uint64{50, 40, 7, 3}, "s"),
			},
			want: map[string][2]uint64{"payments/latency|": {90, 10}},
		},
		{
			name: "cumulative histogram in ms: increases by stream",
			spec: histogramSpec,
			batches: []pmetric.Metrics{
				histogramBatch(true, before, []uint64{50, 40, 7, 3}, "ms"),
				histogramBatch(true, before, []uint64{60, 45, 9, 4}, "ms"),
			},
			want: map[string][2]uint64{"payments/latency|": {15, 3}},
		},
		{
			name: "cumulative histogram reset",
			spec: histogramSpec,
			batches: []pmetric.Metrics{
				histogramBatch(true, before, []uint64{50, 40, 7, 3}, "s"),
				histogramBatch(true, before, []uint64{1, 1, 1, 0}, "s"),
			},
			want: map[string][2]uint64{"payments/latency|": {2, 1}},
		},
		{
			name: "threshold that is not a boundary is refused",
			spec: histogramSpec,
			batches: func() []pmetric.Metrics {
				md := histogramBatch(false, before, []uint64{50, 40, 7, 3}, "s")
				md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0).ExplicitBounds().FromRaw([]float64{0.1, 0.25, 1})
				return []pmetric.Metrics{md}
			}(),
			want:    map[string][2]uint64{},
			refused: map[string]uint64{reasonNotABoundary: 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compile(parseSLOs(t, tt.spec), componenttest.NewNopTelemetrySettings())
			require.NoError(t, err)
			acc := newMetricAccounting(started)
			rec := &fakeRecorder{}
			for _, md := range tt.batches {
				acc.record(rs, md, rec, rec, time.Now())
			}
			assert.Equal(t, tt.want, totals(rec))
			assert.Equal(t, tt.refused, rec.refused)
		})
	}
}

// exponentialBatch is one delta point of charge.duration in seconds at
// scale 0 (base 2): positive bucket i covers (2^i, 2^(i+1)].
func exponentialBatch(offset int32, counts []uint64, zero uint64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "payments")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("charge.duration")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := eh.DataPoints().AppendEmpty()
	dp.SetScale(0)
	dp.SetZeroCount(zero)
	dp.Positive().SetOffset(offset)
	dp.Positive().BucketCounts().FromRaw(counts)
	total := zero
	for _, c := range counts {
		total += c
	}
	dp.SetCount(total)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return md
}

func TestExponentialHistogramSLI(t *testing.T) {
	// 500ms is 2^-1: the upper boundary of bucket -2, (0.25, 0.5].
	rs, err := compile(parseSLOs(t, histogramSpec), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	rec := &fakeRecorder{}
	acc := newMetricAccounting(time.Now())
	// Buckets from index -4: (1/16,1/8] 10, (1/8,1/4] 20, (1/4,1/2] 30, (1/2,1] 4, (1,2] 1.
	acc.record(rs, exponentialBatch(-4, []uint64{10, 20, 30, 4, 1}, 2), rec, rec, time.Now())
	assert.Equal(t, map[string][2]uint64{"payments/latency|": {62, 5}}, totals(rec))

	// 300ms is no boundary of a base-2 histogram.
	rs, err = compile(parseSLOs(t, strings.Replace(histogramSpec, "500ms", "300ms", 1)), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	rec = &fakeRecorder{}
	acc.record(rs, exponentialBatch(-4, []uint64{10, 20, 30, 4, 1}, 2), rec, rec, time.Now())
	assert.Empty(t, rec.calls)
	assert.Equal(t, map[string]uint64{reasonNotABoundary: 67}, rec.refused)
}

func TestMetricStreamsExpire(t *testing.T) {
	rs, err := compile(parseSLOs(t, ratioSpec), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	now := time.Now()
	acc := newMetricAccounting(now)
	acc.record(rs, counterBatch("payments", counterPoint{metric: "payments.authorizations", value: 5, cumulative: true, start: now.Add(-time.Hour)}), nopRecorder{}, nopRecorder{}, now)
	streams := func() int {
		acc.mu.Lock()
		defer acc.mu.Unlock()
		n := 0
		for _, tr := range acc.deltas {
			n += tr.Len()
		}
		return n
	}
	require.Equal(t, 1, streams())
	acc.expire(now.Add(streamTTL / 2))
	assert.Equal(t, 1, streams())
	acc.expire(now.Add(2 * streamTTL))
	assert.Equal(t, 0, streams())
	assert.Empty(t, acc.deltas, "a service without streams keeps no tracker")
}
