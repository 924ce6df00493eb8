// Package staleness ends the metric series a component stops reporting.
//
// A component that emits gauges and cumulative sums through the
// collector's metrics pipeline has no way to say that a series it reported
// will not be reported again: the Prometheus exporter keeps serving the
// last value until its metric_expiration, and Prometheus keeps the series
// until it stops appearing in scrapes. When an evaluator of a fleet hands
// a service to another, when a reload removes an SLO, or when a series
// goes idle, the old values would stand beside the new owner's (a sum over
// evaluators counts them twice) or outlive what they describe.
//
// OpenTelemetry's answer is a data point flagged "no recorded value": the
// Prometheus exporter deletes the series it names at once, and the
// Prometheus remote-write exporter turns it into a staleness marker (the
// NaN with which Prometheus itself ends a series that left a scrape).
// Markers builds such points from the points a component last emitted.
package staleness

import (
	"time"

	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// After is when markers ending series last written at last may be stamped:
// now, or just after last where now is not later. Prometheus refuses a
// marker at the time of a value of its series (a duplicate sample), and a
// series written back in time.
func After(last, now time.Time) time.Time {
	if now.After(last) {
		return now
	}
	return last.Add(time.Millisecond)
}

// Markers returns a "no recorded value" point, stamped ts, for every gauge,
// sum and histogram point of src that keep accepts (nil keeps all), under
// the same resource, scope, metric name, description, unit, type and
// attributes, so that an exporter identifies the same series. Summaries
// and exponential histograms are not marked: the components that use this
// package emit none.
//
// Every marker is the only point of its own metric. The Prometheus
// exporter (contrib v0.159.0, accumulator.go) returns from a metric at its
// first "no recorded value" point, so a second marker in the same metric,
// and any point after it, would be ignored.
func Markers(src pmetric.Metrics, keep func(name string, attrs pcommon.Map) bool, ts pcommon.Timestamp) pmetric.Metrics {
	out := pmetric.NewMetrics()
	for _, rm := range src.ResourceMetrics().All() {
		var dstRM pmetric.ResourceMetrics
		haveRM := false
		for _, sm := range rm.ScopeMetrics().All() {
			var dstSM pmetric.ScopeMetrics
			haveSM := false
			// next is the metric the next marker goes in.
			next := func() pmetric.Metric {
				if !haveRM {
					dstRM, haveRM = out.ResourceMetrics().AppendEmpty(), true
					rm.Resource().CopyTo(dstRM.Resource())
					dstRM.SetSchemaUrl(rm.SchemaUrl())
				}
				if !haveSM {
					dstSM, haveSM = dstRM.ScopeMetrics().AppendEmpty(), true
					sm.Scope().CopyTo(dstSM.Scope())
					dstSM.SetSchemaUrl(sm.SchemaUrl())
				}
				return dstSM.Metrics().AppendEmpty()
			}
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeGauge, pmetric.MetricTypeSum:
					var dps pmetric.NumberDataPointSlice
					if m.Type() == pmetric.MetricTypeSum {
						dps = m.Sum().DataPoints()
					} else {
						dps = m.Gauge().DataPoints()
					}
					for _, dp := range dps.All() {
						if keep == nil || keep(m.Name(), dp.Attributes()) {
							marker(next(), m, dp, ts)
						}
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						if keep == nil || keep(m.Name(), dp.Attributes()) {
							histogramMarker(next(), m, dp, ts)
						}
					}
				}
			}
		}
	}
	return out
}

// marker makes dst a metric like m with one "no recorded value" point for
// the series of dp.
func marker(dst, m pmetric.Metric, dp pmetric.NumberDataPoint, ts pcommon.Timestamp) {
	dst.SetName(m.Name())
	dst.SetDescription(m.Description())
	dst.SetUnit(m.Unit())
	var p pmetric.NumberDataPoint
	if m.Type() == pmetric.MetricTypeSum {
		sum := dst.SetEmptySum()
		sum.SetAggregationTemporality(m.Sum().AggregationTemporality())
		sum.SetIsMonotonic(m.Sum().IsMonotonic())
		p = sum.DataPoints().AppendEmpty()
		p.SetStartTimestamp(dp.StartTimestamp())
	} else {
		p = dst.SetEmptyGauge().DataPoints().AppendEmpty()
	}
	dp.Attributes().CopyTo(p.Attributes())
	p.SetTimestamp(ts)
	// NaN as well as the flag, as contrib's receivers write a staleness
	// marker: a consumer that reads the value without the flag gets no
	// number rather than a 0.
	p.SetDoubleValue(math.NaN())
	p.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
}

// histogramMarker is marker for a histogram's point.
func histogramMarker(dst, m pmetric.Metric, dp pmetric.HistogramDataPoint, ts pcommon.Timestamp) {
	dst.SetName(m.Name())
	dst.SetDescription(m.Description())
	dst.SetUnit(m.Unit())
	h := dst.SetEmptyHistogram()
	h.SetAggregationTemporality(m.Histogram().AggregationTemporality())
	p := h.DataPoints().AppendEmpty()
	dp.Attributes().CopyTo(p.Attributes())
	p.SetStartTimestamp(dp.StartTimestamp())
	p.SetTimestamp(ts)
	p.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
}
