package anomalyconnector

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// Attributes the span_metrics connector puts on its output.
const (
	attrServiceName = "service.name"
	attrSpanName    = "span.name"
	attrStatusCode  = "status.code"
	statusError     = "STATUS_CODE_ERROR"
	// attrCollectorInstanceID is the instance ID of the collector whose
	// span_metrics (or slo connector) made the series.
	attrCollectorInstanceID = "collector.instance.id"
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

// consume turns one batch into interval accumulators.
func (c *core) consume(md pmetric.Metrics) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		var resID cumdelta.ResourceID
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
					resID, hashed = cumdelta.ResourceOf(res), true
				}
				switch kind {
				case kindCalls:
					c.consumeCalls(m, service, resID, now)
				case kindDuration:
					c.consumeDuration(m, service, resID, now)
				case kindCustom:
					c.consumeCustom(m, sel, res, service, resID, now)
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

func (c *core) consumeCalls(m pmetric.Metric, service string, resID cumdelta.ResourceID, now time.Time) {
	if m.Type() != pmetric.MetricTypeSum {
		return
	}
	sum := m.Sum()
	dps := sum.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		attrs := dp.Attributes()
		key := cumdelta.StreamKey(resID, m.Name(), attrs)
		svc := dpService(service, attrs)
		if !c.owns(svc, attrs) {
			// Another evaluator's service: only the stream's baseline is
			// kept, so the first interval after a takeover counts its
			// own increase, not the stream's whole past.
			c.deltas.Sum(key, sum.AggregationTemporality(), dp, now)
			continue
		}
		g := c.redGroup(svc, dpOperation(attrs))
		if g == nil {
			continue
		}
		delta, r := c.deltas.Sum(key, sum.AggregationTemporality(), dp, now)
		if !r.Outcome.Counts() {
			continue
		}
		from := r.From
		g.hasCalls = true
		g.calls += delta
		if v, ok := attrs.Get(attrStatusCode); ok && v.Str() == statusError {
			g.errors += delta
		}
		g.callsSpan.add(from, dp.Timestamp())
	}
}

func (c *core) consumeDuration(m pmetric.Metric, service string, resID cumdelta.ResourceID, now time.Time) {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
	case pmetric.MetricTypeExponentialHistogram:
		c.consumeExponentialDuration(m, service, resID, now)
		return
	default:
		return
	}
	h := m.Histogram()
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		attrs := dp.Attributes()
		svc := dpService(service, attrs)
		if !c.owns(svc, attrs) {
			c.deltas.Histogram(cumdelta.StreamKey(resID, m.Name(), attrs), h.AggregationTemporality(), dp, now)
			continue
		}
		g := c.redGroup(svc, dpOperation(attrs))
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
		d, r := c.deltas.Histogram(cumdelta.StreamKey(resID, m.Name(), attrs), h.AggregationTemporality(), dp, now)
		if !r.Outcome.Counts() {
			continue
		}
		for i, n := range d.Counts {
			g.buckets[i] += float64(n)
		}
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

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}
