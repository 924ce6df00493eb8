package anomalyconnector

import (
	"hash/maphash"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Attributes the span_metrics connector puts on its output.
const (
	attrServiceName = "service.name"
	attrSpanName    = "span.name"
	attrStatusCode  = "status.code"
	statusError     = "STATUS_CODE_ERROR"
)

// redAccum gathers one interval of one (service, operation)'s RED data.
type redAccum struct {
	service, operation string
	calls, errors      float64
	callsSpan          span // time the counted calls cover
	hasCalls           bool
	bounds             []float64 // explicit bounds of the duration histogram
	buckets            []float64 // per-interval bucket deltas
	exp                *expAccum // or exponential bucket deltas
}

// span is the time an interval's deltas cover: from the earliest previous
// point to the latest point. Rates divide by it rather than by the interval,
// so a flush of the source landing just before or after a boundary does not
// make one interval look busier than the next.
type span struct{ from, to pcommon.Timestamp }

// add extends the span by one delta's; from is 0 when unknown (a delta
// point without a start time), and then only the end moves.
func (s *span) add(from, to pcommon.Timestamp) {
	if from != 0 && (s.from == 0 || from < s.from) {
		s.from = from
	}
	if to > s.to {
		s.to = to
	}
}

// duration is 0 when unknown; rates then divide by the interval.
func (s span) duration() time.Duration {
	if s.from == 0 || s.to <= s.from {
		return 0
	}
	return time.Duration(s.to - s.from)
}

// customAccum gathers one interval of one selected metric's series.
type customAccum struct {
	id      identity
	value   float64 // last value (gauges) or summed delta (rates)
	covered span
	rate    bool
}

// stream is the last point of one input stream (metric + resource +
// datapoint attributes), from which cumulative values become deltas.
type stream struct {
	start   pcommon.Timestamp
	last    pcommon.Timestamp
	value   float64
	buckets []uint64 // explicit buckets, or exponential positive buckets
	seen    time.Time
	// Exponential histograms: scale and offset of buckets, zero count.
	zero   uint64
	scale  int32
	offset int32
	exp    bool
}

// hashSeed makes stream hashes stable for the life of the process; they
// never leave it.
var hashSeed = maphash.MakeSeed()

// hashAttrs hashes a map independently of its iteration order, by adding
// the hashes of its pairs, so no sorting or allocation is needed per point.
func hashAttrs(m pcommon.Map) uint64 {
	var sum uint64
	m.Range(func(k string, v pcommon.Value) bool {
		var h maphash.Hash
		h.SetSeed(hashSeed)
		h.WriteString(k)
		h.WriteByte(0)
		if v.Type() == pcommon.ValueTypeStr {
			h.WriteString(v.Str())
		} else {
			h.WriteString(v.AsString())
		}
		sum += h.Sum64()
		return true
	})
	return sum
}

func streamKey(metric string, resHash uint64, attrs pcommon.Map) uint64 {
	h := maphash.String(hashSeed, metric)
	// Mix so that the same attributes under another resource or metric
	// land elsewhere.
	return h ^ (resHash * 0x9E3779B97F4A7C15) ^ (hashAttrs(attrs) * 0xC2B2AE3D27D4EB4F)
}

// consume turns one batch into interval accumulators.
func (c *core) consume(md pmetric.Metrics) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		resHash := uint64(0)
		hashed := false
		service := ""
		if v, ok := res.Get(attrServiceName); ok {
			service = v.AsString()
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				kind, sel := c.classify(m.Name())
				if kind == kindIgnored {
					continue
				}
				if !hashed {
					resHash, hashed = hashAttrs(res), true
				}
				switch kind {
				case kindCalls:
					c.consumeCalls(m, service, resHash, now)
				case kindDuration:
					c.consumeDuration(m, service, resHash, now)
				case kindCustom:
					c.consumeCustom(m, sel, res, service, resHash, now)
				}
			}
		}
	}
}

type metricKind uint8

const (
	kindIgnored metricKind = iota
	kindCalls
	kindDuration
	kindCustom
)

func (c *core) classify(name string) (metricKind, *selection) {
	if c.cfg.RED.Enabled {
		switch name {
		case c.cfg.RED.CallsMetric:
			return kindCalls, nil
		case c.cfg.RED.DurationMetric:
			return kindDuration, nil
		}
	}
	if sel, ok := c.selected[name]; ok {
		return kindCustom, sel
	}
	return kindIgnored, nil
}

// redGroup returns the accumulator of (service, operation) for this
// interval, or nil when the group would be a new set of series beyond
// MaxSeries.
func (c *core) redGroup(service, operation string) *redAccum {
	gk := service + "\xff" + operation
	if g, ok := c.red[gk]; ok {
		return g
	}
	perGroup := 2 + len(c.cfg.RED.Quantiles)
	if _, known := c.series[identity{metric: MetricRequestRate, service: service, operation: operation}.key()]; !known {
		if len(c.series)+c.pendingNew+perGroup > c.cfg.MaxSeries {
			c.rejectedNow += perGroup
			markRejected(c.red, gk)
			return nil
		}
		c.pendingNew += perGroup
	}
	g := &redAccum{service: service, operation: operation}
	c.red[gk] = g
	return g
}

// markRejected remembers for the rest of the interval that key was refused,
// so that its other datapoints are neither counted again nor re-examined.
// The markers are bounded, so a burst of new keys cannot grow the map
// without limit; past the bound a rejection may be counted more than once.
func markRejected[V any](m map[string]*V, key string) {
	if len(m) < rejectedMarkers {
		m[key] = nil
	}
}

// rejectedMarkers bounds the per-interval accumulator maps' entries.
const rejectedMarkers = 1 << 16

func dpService(service string, attrs pcommon.Map) string {
	if service != "" {
		return service
	}
	if v, ok := attrs.Get(attrServiceName); ok {
		return v.AsString()
	}
	return ""
}

func dpOperation(attrs pcommon.Map) string {
	if v, ok := attrs.Get(attrSpanName); ok {
		return v.AsString()
	}
	return ""
}

func (c *core) consumeCalls(m pmetric.Metric, service string, resHash uint64, now time.Time) {
	if m.Type() != pmetric.MetricTypeSum {
		return
	}
	sum := m.Sum()
	cumulative := sum.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	dps := sum.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		attrs := dp.Attributes()
		g := c.redGroup(dpService(service, attrs), dpOperation(attrs))
		if g == nil {
			continue
		}
		delta, from, ok := c.numberDelta(m.Name(), resHash, dp, cumulative, now)
		if !ok {
			continue
		}
		g.hasCalls = true
		g.calls += delta
		if v, ok := attrs.Get(attrStatusCode); ok && v.Str() == statusError {
			g.errors += delta
		}
		g.callsSpan.add(from, dp.Timestamp())
	}
}

func (c *core) consumeDuration(m pmetric.Metric, service string, resHash uint64, now time.Time) {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
	case pmetric.MetricTypeExponentialHistogram:
		c.consumeExponentialDuration(m, service, resHash, now)
		return
	default:
		return
	}
	h := m.Histogram()
	cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		attrs := dp.Attributes()
		g := c.redGroup(dpService(service, attrs), dpOperation(attrs))
		if g == nil || g.exp != nil {
			// Refused, or the operation has exponential buckets this
			// interval: the first layout seen wins.
			continue
		}
		bounds := dp.ExplicitBounds()
		if dp.BucketCounts().Len() != bounds.Len()+1 {
			continue
		}
		if g.bounds == nil {
			g.bounds = bounds.AsRaw()
			g.buckets = make([]float64, bounds.Len()+1)
		} else if !sameBounds(g.bounds, bounds) {
			// Streams of one operation with different buckets cannot be
			// added up; the first layout seen this interval wins.
			continue
		}
		c.histogramDelta(m.Name(), resHash, dp, cumulative, now, g.buckets)
	}
}

func sameBounds(a []float64, b pcommon.Float64Slice) bool {
	if len(a) != b.Len() {
		return false
	}
	for i, v := range a {
		if b.At(i) != v {
			return false
		}
	}
	return true
}

// numberDelta returns what a sum datapoint adds to this interval and the
// time from which it counts (0 when unknown). For a cumulative stream that
// is the difference from the previous point, or the whole value after a
// reset (a lower value or a new start time). The first point of a stream
// counts only if the stream began after the connector did; otherwise what
// it holds accumulated unseen.
func (c *core) numberDelta(metric string, resHash uint64, dp pmetric.NumberDataPoint, cumulative bool, now time.Time) (float64, pcommon.Timestamp, bool) {
	v := numberValue(dp)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, false
	}
	ts, start := dp.Timestamp(), dp.StartTimestamp()
	if !cumulative {
		if start >= ts {
			start = 0
		}
		return v, start, true
	}
	key := streamKey(metric, resHash, dp.Attributes())
	s, ok := c.streams[key]
	if !ok {
		c.streams[key] = &stream{start: start, last: ts, value: v, seen: now}
		if c.bornWhileWatching(start, ts) {
			return v, start, true
		}
		return 0, 0, false
	}
	if ts <= s.last {
		return 0, 0, false // a duplicate or out-of-order point
	}
	s.seen = now
	delta, from := v-s.value, s.last
	if v < s.value || (start != 0 && start != s.start) {
		delta = v
		if start != 0 && start > s.last && start < ts {
			from = start
		}
	}
	s.start, s.last, s.value = start, ts, v
	return delta, from, true
}

// histogramDelta adds a histogram datapoint's per-interval bucket counts to
// into, with the same rules as numberDelta.
func (c *core) histogramDelta(metric string, resHash uint64, dp pmetric.HistogramDataPoint, cumulative bool, now time.Time, into []float64) {
	counts := dp.BucketCounts()
	if !cumulative {
		for i := 0; i < counts.Len(); i++ {
			into[i] += float64(counts.At(i))
		}
		return
	}
	ts, start := dp.Timestamp(), dp.StartTimestamp()
	key := streamKey(metric, resHash, dp.Attributes())
	s, ok := c.streams[key]
	if !ok {
		c.streams[key] = &stream{start: start, last: ts, value: float64(dp.Count()), buckets: counts.AsRaw(), seen: now}
		if c.bornWhileWatching(start, ts) {
			for i := 0; i < counts.Len(); i++ {
				into[i] += float64(counts.At(i))
			}
		}
		return
	}
	if ts <= s.last {
		return
	}
	s.seen = now
	reset := s.exp || float64(dp.Count()) < s.value || (start != 0 && start != s.start) || len(s.buckets) != counts.Len()
	for i := 0; i < counts.Len(); i++ {
		cur := counts.At(i)
		switch {
		case reset:
			into[i] += float64(cur)
		case cur >= s.buckets[i]:
			into[i] += float64(cur - s.buckets[i])
		}
	}
	if len(s.buckets) != counts.Len() {
		s.buckets = make([]uint64, counts.Len())
	}
	for i := 0; i < counts.Len(); i++ {
		s.buckets[i] = counts.At(i)
	}
	s.start, s.last, s.value, s.exp = start, ts, float64(dp.Count()), false
}

// bornWhileWatching reports whether a cumulative stream seen for the first
// time started after the connector did, so that all it holds is new.
func (c *core) bornWhileWatching(start, ts pcommon.Timestamp) bool {
	return start != 0 && start < ts && !start.AsTime().Before(c.startTime)
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}
