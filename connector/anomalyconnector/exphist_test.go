package anomalyconnector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// expHistPoint is one datapoint of the span_metrics duration metric as an
// exponential histogram.
type expHistPoint struct {
	service, op, status string
	start, ts           time.Time
	delta               bool
	scale               int32
	offset              int32
	counts              []uint64 // positive buckets from offset
	zero                uint64
	negative            []uint64
}

// expSpanMetrics is spanMetrics with exponential duration histograms.
func expSpanMetrics(points []expHistPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, p := range points {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", p.service)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(defaultDurationMetric)
		m.SetUnit("ms")
		h := m.SetEmptyExponentialHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		if p.delta {
			h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		}
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(ts(p.start))
		dp.SetTimestamp(ts(p.ts))
		dp.SetScale(p.scale)
		dp.SetZeroCount(p.zero)
		dp.Positive().SetOffset(p.offset)
		dp.Positive().BucketCounts().FromRaw(p.counts)
		dp.Negative().SetOffset(-3)
		dp.Negative().BucketCounts().FromRaw(p.negative)
		n := p.zero
		for _, c := range p.counts {
			n += c
		}
		for _, c := range p.negative {
			n += c
		}
		dp.SetCount(n)
		status := p.status
		if status == "" {
			status = "STATUS_CODE_UNSET"
		}
		dp.Attributes().PutStr("span.name", p.op)
		dp.Attributes().PutStr("span.kind", "SPAN_KIND_SERVER")
		dp.Attributes().PutStr("status.code", status)
	}
	return md
}

// boundary is base^i at scale, base = 2^(2^-scale), computed as the data
// model defines it, independently of the connector's code.
func boundary(scale int32, i int) float64 {
	return math.Pow(math.Pow(2, math.Pow(2, -float64(scale))), float64(i))
}

// expIndex is the bucket holding v > 0: the i with base^i < v <= base^(i+1).
func expIndex(scale int32, v float64) int {
	i := int(math.Ceil(math.Log2(v)*math.Pow(2, float64(scale)))) - 1
	for v <= boundary(scale, i) {
		i--
	}
	for v > boundary(scale, i+1) {
		i++
	}
	return i
}

// binExponential fills the positive and zero buckets of an exponential
// histogram at scale with values (0 goes to the zero bucket).
func binExponential(scale int32, values []float64) (offset int32, counts []uint64, zero uint64) {
	lo, hi := math.MaxInt, math.MinInt
	for _, v := range values {
		if v == 0 {
			continue
		}
		i := expIndex(scale, v)
		lo, hi = min(lo, i), max(hi, i)
	}
	if lo > hi {
		return 0, nil, uint64(len(values))
	}
	counts = make([]uint64, hi-lo+1)
	for _, v := range values {
		if v == 0 {
			zero++
			continue
		}
		counts[expIndex(scale, v)-lo]++
	}
	return int32(lo), counts, zero
}

// expBoundaries are the bucket boundaries base^lo .. base^hi at scale.
func expBoundaries(scale int32, lo, hi int) []float64 {
	var out []float64
	for i := lo; i <= hi; i++ {
		out = append(out, boundary(scale, i))
	}
	return out
}

// binExplicit fills explicit buckets (upper bounds inclusive, and an
// overflow bucket) with values.
func binExplicit(bounds, values []float64) []uint64 {
	counts := make([]uint64, len(bounds)+1)
	for _, v := range values {
		counts[sort.SearchFloat64s(bounds, v)]++
	}
	return counts
}

// latencies are n request durations in ms, log-normal around 50ms.
func latencies(seed uint64, n int, median float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(0.6*r.NormFloat64())
	}
	return out
}

// exactQuantile is the q-th sample quantile (nearest rank).
func exactQuantile(q float64, values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

func latencyPoints(t *testing.T, got map[string]point) (p95, p99 float64) {
	t.Helper()
	a, ok1 := got[redKey("latency_p95", "a", "GET")]
	b, ok2 := got[redKey("latency_p99", "a", "GET")]
	if !ok1 || !ok2 {
		t.Fatalf("no latency points: %+v", got)
	}
	return a.value, b.value
}

// TestExponentialLatencyMatchesExplicit feeds the same 1000 durations, as
// two cumulative points, once as an exponential histogram and once as an
// explicit histogram whose bounds are the exponential boundaries: the
// interval's p95 and p99 must be the same, and within one bucket of the
// exact sample quantiles.
func TestExponentialLatencyMatchesExplicit(t *testing.T) {
	old := t0.Add(-time.Hour)
	values := latencies(7, 1000, 50)
	before, during := values[:300], values // cumulative: the second point holds all
	for _, scale := range []int32{0, 3, 5} {
		t.Run(fmt.Sprintf("scale %d", scale), func(t *testing.T) {
			offset1, counts1, _ := binExponential(scale, before)
			offset2, counts2, _ := binExponential(scale, during)

			he := newHarness(t, nil, defaultSettings(), nil)
			defer he.shutdown()
			he.feed(t0, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0, scale: scale, offset: offset1, counts: counts1}}))
			he.drain()
			he.feed(t0.Add(time.Minute), expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0.Add(time.Minute), scale: scale, offset: offset2, counts: counts2}}))
			e95, e99 := latencyPoints(t, he.drain())

			bounds := expBoundaries(scale, int(offset2), int(offset2)+len(counts2))
			hx := newHarness(t, nil, defaultSettings(), nil)
			defer hx.shutdown()
			hx.feed(t0, spanMetrics(nil, []histPoint{{service: "a", op: "GET", start: old, ts: t0, bounds: bounds, counts: binExplicit(bounds, before)}}))
			hx.drain()
			hx.feed(t0.Add(time.Minute), spanMetrics(nil, []histPoint{{service: "a", op: "GET", start: old, ts: t0.Add(time.Minute), bounds: bounds, counts: binExplicit(bounds, during)}}))
			x95, x99 := latencyPoints(t, hx.drain())

			if math.Abs(e95-x95) > 1e-9*x95 || math.Abs(e99-x99) > 1e-9*x99 {
				t.Errorf("exponential p95, p99 = %v, %v; explicit with the same boundaries = %v, %v", e95, e99, x95, x99)
			}
			// Within the bucket resolution of the exact quantiles of the
			// interval's 700 durations.
			base := math.Pow(2, math.Pow(2, -float64(scale)))
			interval := values[300:]
			for _, c := range []struct {
				q, got float64
			}{{0.95, e95}, {0.99, e99}} {
				want := exactQuantile(c.q, interval)
				if c.got < want/base || c.got > want*base {
					t.Errorf("p%v = %v, exact %v: not within a factor %v", c.q*100, c.got, want, base)
				}
			}
		})
	}
}

// TestExponentialCumulativeScaleDecrease: a cumulative stream whose scale
// drops between points (an SDK merging buckets as the range widens). The
// interval's delta is the second point minus the first merged down to the
// new scale; subtracting bucket by bucket at the old indexes would be
// wrong.
func TestExponentialCumulativeScaleDecrease(t *testing.T) {
	old := t0.Add(-time.Hour)
	first := latencies(1, 400, 30)
	later := append(latencies(2, 600, 120), latencies(3, 50, 3)...) // wider range: lower offset, more buckets
	all := append(slices.Clone(first), later...)
	o1, c1, _ := binExponential(4, first)
	o2, c2, _ := binExponential(1, all)
	if int(o2) >= int(o1)>>3 {
		t.Fatal("test data does not widen the range downwards")
	}
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	h.feed(t0, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0, scale: 4, offset: o1, counts: c1}}))
	h.drain()
	h.feed(t0.Add(time.Minute), expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0.Add(time.Minute), scale: 1, offset: o2, counts: c2}}))
	p95, p99 := latencyPoints(t, h.drain())

	// What the interval holds: the later durations, at scale 1.
	bounds := expBoundaries(1, int(o2), int(o2)+len(c2))
	counts := binExplicit(bounds, later)
	fcounts := make([]float64, len(counts))
	for i, c := range counts {
		fcounts[i] = float64(c)
	}
	w95, w99 := histogramQuantile(0.95, bounds, fcounts), histogramQuantile(0.99, bounds, fcounts)
	if math.Abs(p95-w95) > 1e-9*w95 || math.Abs(p99-w99) > 1e-9*w99 {
		t.Errorf("p95, p99 = %v, %v; want %v, %v (the later durations alone at scale 1)", p95, p99, w95, w99)
	}

	// A third point at the same scale subtracts normally.
	more := latencies(4, 200, 10)
	all = append(all, more...)
	o3, c3, _ := binExponential(1, all)
	h.feed(t0.Add(2*time.Minute), expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0.Add(2 * time.Minute), scale: 1, offset: o3, counts: c3}}))
	p95, _ = latencyPoints(t, h.drain())
	bounds = expBoundaries(1, int(o3), int(o3)+len(c3))
	counts = binExplicit(bounds, more)
	fcounts = fcounts[:0]
	for _, c := range counts {
		fcounts = append(fcounts, float64(c))
	}
	if w := histogramQuantile(0.95, bounds, fcounts); math.Abs(p95-w) > 1e-9*w {
		t.Errorf("third interval p95 = %v, want %v", p95, w)
	}
}

// TestExponentialDelta: delta points are counted as they are; streams of
// one operation at different scales (an OK and an error stream) are added
// up at the lower scale; the zero bucket counts as zero durations;
// negative buckets are ignored.
func TestExponentialDelta(t *testing.T) {
	ok := latencies(5, 800, 40)
	failed := latencies(6, 200, 400)
	zeros := make([]float64, 10)
	oOK, cOK, _ := binExponential(3, ok)
	oErr, cErr, _ := binExponential(1, failed)
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	at := t0.Add(time.Minute)
	h.feed(at, expSpanMetrics([]expHistPoint{
		// The lower scale first: the OK stream's buckets are merged into it.
		{service: "a", op: "GET", status: "STATUS_CODE_ERROR", start: t0, ts: at, delta: true, scale: 1, offset: oErr, counts: cErr},
		{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 3, offset: oOK, counts: cOK, zero: uint64(len(zeros)), negative: []uint64{7, 7}},
	}))
	p95, p99 := latencyPoints(t, h.drain())

	all := append(append(slices.Clone(ok), failed...), zeros...)
	lo, hi := expIndex(1, slices.Min(ok)), expIndex(1, slices.Max(failed))+1
	bounds := append([]float64{0}, expBoundaries(1, min(lo, int(oErr)), hi)...)
	var fcounts []float64
	for _, c := range binExplicit(bounds, all) {
		fcounts = append(fcounts, float64(c))
	}
	w95, w99 := histogramQuantile(0.95, bounds, fcounts), histogramQuantile(0.99, bounds, fcounts)
	if math.Abs(p95-w95) > 1e-9*w95 || math.Abs(p99-w99) > 1e-9*w99 {
		t.Errorf("p95, p99 = %v, %v; want %v, %v (both streams at scale 1)", p95, p99, w95, w99)
	}
	// The error stream's slow requests are in the p99, not only the OK
	// stream's.
	if p99 < 300 {
		t.Errorf("p99 = %v: the error stream was not added", p99)
	}

	// The next interval's delta points count only themselves.
	next := latencies(8, 100, 5)
	o, c, _ := binExponential(3, next)
	h.feed(at.Add(time.Minute), expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: at, ts: at.Add(time.Minute), delta: true, scale: 3, offset: o, counts: c}}))
	p95, _ = latencyPoints(t, h.drain())
	if want := exactQuantile(0.95, next); p95 < want/math.Pow(2, 1.0/8) || p95 > want*math.Pow(2, 1.0/8) {
		t.Errorf("next interval p95 = %v, want about %v", p95, want)
	}
}

// TestExponentialEdgeCases: only zeros, only negative buckets, too few
// samples, a reset, a stream first seen from its second point and an
// invalid scale.
func TestExponentialEdgeCases(t *testing.T) {
	old := t0.Add(-time.Hour)
	at := t0.Add(time.Minute)
	t.Run("only the zero bucket gives 0", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 2, zero: 50}}))
		checkPoints(t, h.drain(), map[string]point{
			redKey("latency_p95", "a", "GET"): {value: 0, total: -1},
			redKey("latency_p99", "a", "GET"): {value: 0, total: -1},
		})
	})
	t.Run("negative buckets only: no latency, no crash", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 2, negative: []uint64{40, 40}}}))
		checkPoints(t, h.drain(), map[string]point{})
	})
	t.Run("too few requests", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 2, offset: 10, counts: []uint64{3, 4}}}))
		checkPoints(t, h.drain(), map[string]point{})
	})
	t.Run("the first point of an older stream only sets the baseline", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: at, scale: 2, offset: 10, counts: []uint64{300, 400}}}))
		checkPoints(t, h.drain(), map[string]point{})
	})
	t.Run("a reset counts its new buckets", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(t0, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: old, ts: t0, scale: 0, offset: 3, counts: []uint64{500, 500}}}))
		h.drain()
		// Restarted: 100 requests in (4, 8] at scale 0.
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0.Add(10 * time.Second), ts: at, scale: 0, offset: 2, counts: []uint64{100}}}))
		checkPoints(t, h.drain(), map[string]point{
			redKey("latency_p95", "a", "GET"): {value: 4 + 4*0.95, total: -1},
			redKey("latency_p99", "a", "GET"): {value: 4 + 4*0.99, total: -1},
		})
	})
	t.Run("a scale outside the data model is ignored", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		h.feed(at, expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 40, offset: 10, counts: []uint64{300}}}))
		checkPoints(t, h.drain(), map[string]point{})
	})
	t.Run("explicit and exponential streams of one operation: the first layout wins", func(t *testing.T) {
		h := newHarness(t, nil, defaultSettings(), nil)
		defer h.shutdown()
		md := expSpanMetrics([]expHistPoint{{service: "a", op: "GET", start: t0, ts: at, delta: true, scale: 0, offset: 2, counts: []uint64{100}}})
		spanMetrics(nil, []histPoint{{service: "a", op: "GET", start: t0, ts: at, bounds: []float64{1000}, counts: []uint64{0, 100}}}).
			ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		h.feed(at, md)
		checkPoints(t, h.drain(), map[string]point{
			redKey("latency_p95", "a", "GET"): {value: 4 + 4*0.95, total: -1},
			redKey("latency_p99", "a", "GET"): {value: 4 + 4*0.99, total: -1},
		})
	})
}

// TestExpAccumBounded: streams of one operation whose buckets lie far
// apart are merged at a lower scale rather than spread over millions of
// buckets, and no count is lost.
func TestExpAccumBounded(t *testing.T) {
	a := newExpAccum(20)
	a.addDelta(cumdelta.ExponentialDelta{Scale: 20, Positive: cumdelta.Buckets{Offset: 0, Counts: []uint64{1, 2, 3}}})
	a.addDelta(cumdelta.ExponentialDelta{Scale: 20, Positive: cumdelta.Buckets{Offset: 10 << 20, Counts: []uint64{4}}}) // 2^10 times larger
	if len(a.counts) > maxExpBuckets {
		t.Fatalf("%d buckets, want at most %d", len(a.counts), maxExpBuckets)
	}
	var n float64
	for _, c := range a.counts {
		n += c
	}
	if n != 10 {
		t.Errorf("counts sum to %v, want 10", n)
	}
	// The largest observation's bucket still bounds 2^10 from above.
	bounds, counts := a.explicit()
	if got := histogramQuantile(1, bounds, counts); got <= 1024 || got > 1024*math.Pow(2, math.Pow(2, -float64(a.scale)))*(1+1e-12) {
		t.Errorf("max = %v at scale %d, want just above 1024", got, a.scale)
	}
}
