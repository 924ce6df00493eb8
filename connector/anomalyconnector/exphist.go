package anomalyconnector

import (
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// Exponential histograms. Positive bucket index i at scale s covers
// (base^i, base^(i+1)], base = 2^(2^-s); the zero bucket holds observations
// at or under the zero threshold. Negative buckets are ignored: durations
// are not negative.

// Scales the OpenTelemetry data model allows.
const (
	minExpScale = -10
	maxExpScale = 20
)

// maxExpBuckets bounds the buckets of an interval's exponential
// accumulator. Streams of one operation may cover ranges far apart; past
// the bound the accumulator is downscaled, as an SDK would, rather than
// grown without limit. It is twice span_metrics' default max_size.
const maxExpBuckets = 320

// expAccum gathers one interval's exponential bucket deltas of one
// operation, possibly from several streams at several scales, at the
// lowest scale among them.
type expAccum struct {
	scale         int32
	offset        int64     // index of counts[0]
	counts        []float64 // positive bucket deltas from offset
	zero          float64   // zero bucket delta
	zeroThreshold float64   // largest zero threshold seen
}

func newExpAccum(scale int32) *expAccum { return &expAccum{scale: scale} }

// cover makes room for indexes lo..hi at scale, downscaling the
// accumulator when scale is lower than its own or the range would exceed
// maxExpBuckets.
func (a *expAccum) cover(scale int32, lo, hi int64) {
	if scale < a.scale {
		a.downscale(a.scale - scale)
	}
	for {
		shift := uint(scale - a.scale)
		l, h := lo>>shift, hi>>shift
		if len(a.counts) > 0 {
			l = min(l, a.offset)
			h = max(h, a.offset+int64(len(a.counts))-1)
		}
		if h-l+1 <= maxExpBuckets || a.scale <= minExpScale {
			a.grow(l, h)
			return
		}
		a.downscale(1)
	}
}

// grow extends counts to indexes l..h, which include the current ones.
func (a *expAccum) grow(l, h int64) {
	if len(a.counts) == 0 {
		a.offset, a.counts = l, make([]float64, h-l+1)
		return
	}
	if l == a.offset && h == a.offset+int64(len(a.counts))-1 {
		return
	}
	counts := make([]float64, h-l+1)
	copy(counts[a.offset-l:], a.counts)
	a.offset, a.counts = l, counts
}

// downscale lowers the accumulator's scale by by, merging buckets.
func (a *expAccum) downscale(by int32) {
	if by <= 0 {
		return
	}
	a.scale -= by
	if len(a.counts) == 0 {
		return
	}
	shift := uint(by)
	l := a.offset >> shift
	h := (a.offset + int64(len(a.counts)) - 1) >> shift
	counts := make([]float64, h-l+1)
	for j, v := range a.counts {
		counts[((a.offset+int64(j))>>shift)-l] += v
	}
	a.offset, a.counts = l, counts
}

// add adds v to bucket index at scale, which cover has made room for.
func (a *expAccum) add(scale int32, index int64, v float64) {
	a.counts[(index>>uint(scale-a.scale))-a.offset] += v
}

// explicit turns the accumulator into the explicit layout histogramQuantile
// reads: the zero bucket up to the zero threshold, then each positive
// bucket with its upper bound. Bounds too large for a float64 end the
// layout; their counts go to the overflow bucket.
func (a *expAccum) explicit() (bounds, counts []float64) {
	first := expBound(a.scale, a.offset)
	zt := math.Min(a.zeroThreshold, first)
	bounds = make([]float64, 0, len(a.counts)+2)
	counts = make([]float64, 0, len(a.counts)+3)
	// (0, zt] holds the zero bucket, (zt, base^offset] nothing.
	bounds = append(bounds, zt, first)
	counts = append(counts, a.zero, 0)
	var overflow float64
	for j, c := range a.counts {
		b := expBound(a.scale, a.offset+int64(j)+1)
		if overflow > 0 || math.IsInf(b, 0) || math.IsInf(first, 0) {
			overflow += c
			continue
		}
		bounds = append(bounds, b)
		counts = append(counts, c)
	}
	counts = append(counts, overflow)
	if math.IsInf(first, 0) {
		// Nothing finite above the zero bucket.
		return bounds[:1], []float64{a.zero, overflow}
	}
	return bounds, counts
}

// expBound is base^index at scale: the lower bound of bucket index, the
// upper bound of bucket index-1.
func expBound(scale int32, index int64) float64 {
	return math.Exp2(float64(index) * math.Exp2(-float64(scale)))
}

func (g *redAccum) latencyLayout() (bounds, counts []float64) {
	if g.exp != nil {
		return g.exp.explicit()
	}
	return g.bounds, g.buckets
}

func (c *core) consumeExponentialDuration(m pmetric.Metric, service string, resID cumdelta.ResourceID, now time.Time) {
	h := m.ExponentialHistogram()
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if dp.Scale() < minExpScale || dp.Scale() > maxExpScale {
			continue
		}
		attrs := dp.Attributes()
		svc := dpService(service, attrs)
		if !c.owns(svc, attrs) {
			c.deltas.ExponentialHistogram(cumdelta.StreamKey(resID, m.Name(), attrs), h.AggregationTemporality(), dp, now)
			continue
		}
		g := c.redGroup(svc, dpOperation(attrs))
		if g == nil || g.bounds != nil {
			// Refused, or the operation has explicit buckets this
			// interval: the first layout seen wins.
			continue
		}
		d, r := c.deltas.ExponentialHistogram(cumdelta.StreamKey(resID, m.Name(), attrs), h.AggregationTemporality(), dp, now)
		if !r.Outcome.Counts() {
			continue
		}
		if g.exp == nil {
			g.exp = newExpAccum(d.Scale)
		}
		g.exp.addDelta(d)
	}
}

// addDelta adds the zero and positive buckets of an increase.
func (a *expAccum) addDelta(d cumdelta.ExponentialDelta) {
	if zt := d.ZeroThreshold; zt > a.zeroThreshold && !math.IsInf(zt, 0) {
		a.zeroThreshold = zt
	}
	a.zero += float64(d.ZeroCount)
	counts := d.Positive.Counts
	if len(counts) == 0 {
		return
	}
	lo := int64(d.Positive.Offset)
	a.cover(d.Scale, lo, lo+int64(len(counts))-1)
	for j, n := range counts {
		if n > 0 {
			a.add(d.Scale, lo+int64(j), float64(n))
		}
	}
}
