package anomalyconnector

import (
	"math"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// consumeCustom accumulates the datapoints of a metric selected in config.
// Gauges and non-monotonic sums keep their last value of the interval;
// monotonic sums become a per-second rate, as a raw counter only ever grows.
func (c *core) consumeCustom(m pmetric.Metric, sel *selection, res pcommon.Map, service string, resID cumdelta.ResourceID, now time.Time) {
	var (
		dps         pmetric.NumberDataPointSlice
		rate        bool
		temporality pmetric.AggregationTemporality
	)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
		rate = m.Sum().IsMonotonic()
		temporality = m.Sum().AggregationTemporality()
	default:
		return
	}
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		attrs := dp.Attributes()
		if !matches(sel.MatchAttributes, attrs, res) || !matchesRegexp(sel.regexps, attrs, res) {
			continue
		}
		svc := dpService(service, attrs)
		if !c.owns(svc, attrs) {
			if rate {
				c.deltas.Sum(cumdelta.StreamKey(resID, m.Name(), attrs), temporality, dp, now)
			}
			continue
		}
		if !rate && dp.Flags().NoRecordedValue() {
			// A gauge's series ended (a staleness marker): no value, and
			// no series to make for it. A sum's goes to cumdelta, which
			// counts it and forgets the stream's baseline.
			continue
		}
		id := customIdentity(m.Name(), svc, attrs)
		key := id.key()
		acc, ok := c.custom[key]
		if ok && acc == nil {
			continue // refused earlier this interval
		}
		if !ok {
			if _, known := c.series[key]; !known {
				if len(c.series)+c.pendingNew+1 > c.cfg.MaxSeries {
					c.rejectedNow++
					markRejected(c.custom, key)
					continue
				}
				c.pendingNew++
			}
			acc = &customAccum{id: id, rate: rate, value: math.NaN()}
			c.custom[key] = acc
		}
		if !rate {
			v := numberValue(dp)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				acc.value = v
			}
			continue
		}
		delta, r := c.deltas.Sum(cumdelta.StreamKey(resID, m.Name(), attrs), temporality, dp, now)
		if !r.Outcome.Counts() {
			continue
		}
		if math.IsNaN(acc.value) {
			acc.value = 0
		}
		acc.value += delta
		acc.covered.add(r.From, dp.Timestamp())
	}
}

// matches reports whether every matcher equals the datapoint attribute of
// its key or, when the datapoint lacks it, the resource attribute.
func matches(want map[string]string, attrs, res pcommon.Map) bool {
	for k, v := range want {
		got, ok := attrs.Get(k)
		if !ok {
			got, ok = res.Get(k)
		}
		if !ok || got.AsString() != v {
			return false
		}
	}
	return true
}

// selection is a selected metric with its attribute expressions compiled.
type selection struct {
	*MetricConfig
	regexps map[string]*regexp.Regexp // anchored match_attributes_regexp
}

// matchesRegexp reports whether every expression matches the datapoint
// attribute of its key or, when the datapoint lacks it, the resource
// attribute, as matches does for exact values.
func matchesRegexp(want map[string]*regexp.Regexp, attrs, res pcommon.Map) bool {
	for k, re := range want {
		got, ok := attrs.Get(k)
		if !ok {
			got, ok = res.Get(k)
		}
		if !ok || !re.MatchString(got.AsString()) {
			return false
		}
	}
	return true
}

// customIdentity is a selected metric's series identity: its name, its
// service and every datapoint attribute but service.name.
func customIdentity(metric, service string, attrs pcommon.Map) identity {
	id := identity{metric: metric, service: service}
	if n := attrs.Len(); n > 0 {
		id.attrs = make([]attr, 0, n)
		attrs.Range(func(k string, v pcommon.Value) bool {
			if k != attrServiceName {
				id.attrs = append(id.attrs, attr{key: k, value: v.AsString()})
			}
			return true
		})
		sortAttrs(id.attrs)
	}
	return id
}
