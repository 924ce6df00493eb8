package sloconnector

import (
	"sync"
	"time"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/slo"
)

// PromQL SLIs in the stream.
//
// A PromQL SLI that is exactly a count of events (slo.SLO.Evaluation: a
// ratio of counter rates, or a histogram's count and bucket) is evaluated
// like a metric SLI, on the metrics the collector receives over OTLP. Its
// selectors name metrics and labels as Prometheus sees them, so incoming
// metrics are matched under the names the prometheus exporter gives them
// by default (otlptranslator, UnderscoreEscapingWithSuffixes:
// http.server.request.duration in seconds is
// http_server_request_duration_seconds, a monotonic sum gets _total), with
// data point attributes as label names and job and instance from the
// resource, as Prometheus's OpenTelemetry translation sets them. A
// histogram's _count reads as a counter of its observations.

// streamed keeps the SLOs the collector evaluates: every span and metric
// SLI, and the PromQL SLIs that run in the stream, grouped as their
// queries sum. The others have no events here; their series would only
// show an untouched budget, so the rules alone report them.
func streamed(slos []slo.SLO) []slo.SLO {
	out := make([]slo.SLO, 0, len(slos))
	for _, s := range slos {
		if s.SLI.PromQL != nil {
			ev := s.Evaluation()
			if !ev.InStream {
				continue
			}
			s.GroupBy = ev.GroupBy
		}
		out = append(out, s)
	}
	return out
}

// compilePromQLRule compiles the metric SLI an in-stream PromQL SLI
// amounts to.
func compilePromQLRule(def *slo.SLO) (*metricRule, error) {
	ev := def.Evaluation()
	as := *def
	as.SLI = slo.SLI{Metrics: ev.Metrics}
	r, err := compileMetricRule(&as)
	if err != nil {
		return nil, err
	}
	r.def, r.prom = def, true
	return r, nil
}

func (rs *ruleset) addMetricRule(r *metricRule) {
	rs.metricRules = append(rs.metricRules, r)
	index := rs.metrics
	if r.prom {
		if rs.promMetrics == nil {
			rs.promMetrics = map[string][]metricRef{}
		}
		index = rs.promMetrics
	}
	for _, ref := range r.refs() {
		index[ref.sel.metric] = append(index[ref.sel.metric], ref)
	}
}

var (
	promMetricNamer = otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)
	promLabelNamer  = otlptranslator.LabelNamer{}
)

// promNameKey identifies what a Prometheus name is built from.
type promNameKey struct {
	name, unit string
	typ        otlptranslator.MetricType
}

// promNames caches Prometheus names of OTLP metrics: the same few
// metrics arrive in every batch.
var promNames sync.Map // promNameKey → string

// promName is the Prometheus name of m ("" when it has none), the base
// name for histograms.
func promName(m pmetric.Metric) string {
	var typ otlptranslator.MetricType
	switch m.Type() {
	case pmetric.MetricTypeSum:
		if !m.Sum().IsMonotonic() {
			return ""
		}
		typ = otlptranslator.MetricTypeMonotonicCounter
	case pmetric.MetricTypeHistogram:
		typ = otlptranslator.MetricTypeHistogram
	case pmetric.MetricTypeExponentialHistogram:
		typ = otlptranslator.MetricTypeExponentialHistogram
	default:
		return ""
	}
	key := promNameKey{m.Name(), m.Unit(), typ}
	if n, ok := promNames.Load(key); ok {
		return n.(string)
	}
	n, err := promMetricNamer.Build(otlptranslator.Metric{Name: m.Name(), Unit: m.Unit(), Type: typ})
	if err != nil {
		n = ""
	}
	promNames.Store(key, n)
	return n
}

// recordProm accounts the points of m that in-stream PromQL SLIs select:
// the metric is rewritten under its Prometheus names and labels and goes
// through the metric SLI path.
func (a *metricAccounting) recordProm(rs *ruleset, m pmetric.Metric, res pcommon.Map, service string, ref refusals, now time.Time, touched []*sliSums) []*sliSums {
	name := promName(m)
	if name == "" {
		return touched
	}
	labels := promResourceLabels(res)
	// Streams keep the identity of the resource they came from: two
	// resources of one job are two streams, as they are two targets.
	resID := cumdelta.ResourceOf(res)
	var deltas *cumdelta.Tracker
	if len(rs.promMetrics[name]) > 0 || len(rs.promMetrics[name+"_count"]) > 0 {
		deltas = a.tracker(service)
	}
	if refs := rs.promMetrics[name]; len(refs) > 0 {
		touched = a.metric(promRewrite(m, name, labels, false), refs, "", pcommon.NewMap(), resID, deltas, ref, now, touched)
	}
	if m.Type() == pmetric.MetricTypeHistogram {
		if refs := rs.promMetrics[name+"_count"]; len(refs) > 0 {
			touched = a.metric(promRewrite(m, name+"_count", labels, true), refs, "", pcommon.NewMap(), resID, deltas, ref, now, touched)
		}
	}
	return touched
}

// promResourceLabels are the labels Prometheus's OpenTelemetry translation
// takes from the resource: job and instance.
func promResourceLabels(res pcommon.Map) map[string]string {
	out := map[string]string{}
	job := ""
	if v, ok := res.Get(attrServiceName); ok {
		job = v.AsString()
	}
	if v, ok := res.Get("service.namespace"); ok && job != "" {
		job = v.AsString() + "/" + job
	}
	if job != "" {
		out["job"] = job
	}
	if v, ok := res.Get("service.instance.id"); ok {
		out["instance"] = v.AsString()
	}
	return out
}

// promRewrite copies m under name with its points' attributes as label
// names and the resource's labels; asCount turns a histogram into the
// counter of its observations (Prometheus's _count).
func promRewrite(m pmetric.Metric, name string, resLabels map[string]string, asCount bool) pmetric.Metric {
	out := pmetric.NewMetric()
	out.SetName(name)
	relabel := func(dst, src pcommon.Map) {
		src.Range(func(k string, v pcommon.Value) bool {
			l, err := promLabelNamer.Build(k)
			if err == nil {
				dst.PutStr(l, v.AsString())
			}
			return true
		})
		for k, v := range resLabels {
			dst.PutStr(k, v)
		}
	}
	switch {
	case asCount:
		h := m.Histogram()
		sum := out.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(h.AggregationTemporality())
		for i := 0; i < h.DataPoints().Len(); i++ {
			src := h.DataPoints().At(i)
			dp := sum.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(src.StartTimestamp())
			dp.SetTimestamp(src.Timestamp())
			dp.SetIntValue(int64(src.Count()))
			relabel(dp.Attributes(), src.Attributes())
		}
	default:
		m.CopyTo(out)
		out.SetName(name)
		var attrs []pcommon.Map
		switch out.Type() {
		case pmetric.MetricTypeSum:
			for i := 0; i < out.Sum().DataPoints().Len(); i++ {
				attrs = append(attrs, out.Sum().DataPoints().At(i).Attributes())
			}
		case pmetric.MetricTypeHistogram:
			for i := 0; i < out.Histogram().DataPoints().Len(); i++ {
				attrs = append(attrs, out.Histogram().DataPoints().At(i).Attributes())
			}
		case pmetric.MetricTypeExponentialHistogram:
			for i := 0; i < out.ExponentialHistogram().DataPoints().Len(); i++ {
				attrs = append(attrs, out.ExponentialHistogram().DataPoints().At(i).Attributes())
			}
		}
		for _, a := range attrs {
			src := pcommon.NewMap()
			a.MoveTo(src)
			relabel(a, src)
		}
	}
	return out
}
