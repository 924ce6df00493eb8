package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"encoding/hex"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	vigilalerts "github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

// AttributeValue renders one attribute value as the String stored in a
// Map(LowCardinality(String), String) column. The mapping (documented in
// README.md) is pcommon's canonical string form, so a value reads the same in
// ClickHouse as in every other OpenTelemetry backend:
//
//	string  as is
//	int     decimal ("-42")
//	double  shortest round-trip form, ES6 style ("3.25", "1e+21"; "NaN", "Infinity")
//	bool    "true" / "false"
//	bytes   standard base64 with padding
//	array   JSON array; map: JSON object (bytes inside are base64 strings)
//	empty   ""
func AttributeValue(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// AttributesOf renders attributes as the value of a Map column.
func AttributesOf(attrs pcommon.Map) Attributes {
	s := newAttributeSlab(attrs.Len())
	return s.add(attrs)
}

// attributeSlab holds the keys and values of every Attributes of one
// batch in two slices: a batch costs a few allocations for all its
// attributes, not a map per row.
type attributeSlab struct {
	keys, values []string
}

// newAttributeSlab makes a slab for about n pairs (it grows past them).
func newAttributeSlab(n int) *attributeSlab {
	return &attributeSlab{keys: make([]string, 0, n), values: make([]string, 0, n)}
}

// add renders m's attributes into the slab. The result keeps pointing at
// the pairs it was given even when a later add grows the slab.
func (s *attributeSlab) add(m pcommon.Map) Attributes {
	start := len(s.keys)
	for k, v := range m.All() {
		s.keys = append(s.keys, k)
		s.values = append(s.values, AttributeValue(v))
	}
	end := len(s.keys)
	return Attributes{Keys: s.keys[start:end:end], Values: s.values[start:end:end]}
}

// serviceName is the resource's service.name, the ServiceName column every
// Grafana view filters on.
func serviceName(res pcommon.Map) string {
	if v, ok := res.Get(conventions.AttrServiceName); ok {
		return AttributeValue(v)
	}
	return ""
}

func traceIDString(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func spanIDString(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

// timeOf keeps nanosecond precision in UTC, which DateTime64(9) stores
// exactly.
func timeOf(ts pcommon.Timestamp) time.Time { return time.Unix(0, int64(ts)).UTC() }

// spanIDs renders a span's trace, span and parent span IDs as hex, all
// three in one allocation; an empty ID is "".
func spanIDs(trace pcommon.TraceID, span, parent pcommon.SpanID) (string, string, string) {
	var buf [2 * (16 + 8 + 8)]byte
	hex.Encode(buf[0:32], trace[:])
	hex.Encode(buf[32:48], span[:])
	hex.Encode(buf[48:64], parent[:])
	all := string(buf[:])
	t, s, p := all[0:32], all[32:48], all[48:64]
	if trace.IsEmpty() {
		t = ""
	}
	if span.IsEmpty() {
		s = ""
	}
	if parent.IsEmpty() {
		p = ""
	}
	return t, s, p
}

// TracesToColumns maps spans to otel_traces columns, one row per span.
func TracesToColumns(td ptrace.Traces) *SpanColumns {
	n, pairs := 0, 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			n += spans.Len()
			for k := 0; k < spans.Len(); k++ {
				pairs += spans.At(k).Attributes().Len()
			}
		}
	}
	attrs := newAttributeSlab(pairs)
	c := &SpanColumns{
		Timestamp:          make([]time.Time, 0, n),
		TraceID:            make([]string, 0, n),
		SpanID:             make([]string, 0, n),
		ParentSpanID:       make([]string, 0, n),
		TraceState:         make([]string, 0, n),
		SpanName:           make([]string, 0, n),
		SpanKind:           make([]string, 0, n),
		ServiceName:        make([]string, 0, n),
		ResourceAttributes: make([]Attributes, 0, n),
		ScopeName:          make([]string, 0, n),
		ScopeVersion:       make([]string, 0, n),
		SpanAttributes:     make([]Attributes, 0, n),
		Duration:           make([]uint64, 0, n),
		StatusCode:         make([]string, 0, n),
		StatusMessage:      make([]string, 0, n),
		EventsTimestamp:    make([][]time.Time, 0, n),
		EventsName:         make([][]string, 0, n),
		EventsAttributes:   make([][]Attributes, 0, n),
		LinksTraceID:       make([][]string, 0, n),
		LinksSpanID:        make([][]string, 0, n),
		LinksTraceState:    make([][]string, 0, n),
		LinksAttributes:    make([][]Attributes, 0, n),
	}
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		// One value per resource, shared by its rows: the driver only
		// reads it.
		resAttrs := AttributesOf(rs.Resource().Attributes())
		service := serviceName(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scopeName, scopeVersion := ss.Scope().Name(), ss.Scope().Version()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				start, end := s.StartTimestamp(), s.EndTimestamp()
				var duration uint64
				if end > start {
					duration = uint64(end - start)
				}
				traceID, spanID, parentID := spanIDs(s.TraceID(), s.SpanID(), s.ParentSpanID())
				c.Timestamp = append(c.Timestamp, timeOf(start))
				c.TraceID = append(c.TraceID, traceID)
				c.SpanID = append(c.SpanID, spanID)
				c.ParentSpanID = append(c.ParentSpanID, parentID)
				c.TraceState = append(c.TraceState, s.TraceState().AsRaw())
				c.SpanName = append(c.SpanName, s.Name())
				c.SpanKind = append(c.SpanKind, s.Kind().String())
				c.ServiceName = append(c.ServiceName, service)
				c.ResourceAttributes = append(c.ResourceAttributes, resAttrs)
				c.ScopeName = append(c.ScopeName, scopeName)
				c.ScopeVersion = append(c.ScopeVersion, scopeVersion)
				c.SpanAttributes = append(c.SpanAttributes, attrs.add(s.Attributes()))
				c.Duration = append(c.Duration, duration)
				c.StatusCode = append(c.StatusCode, s.Status().Code().String())
				c.StatusMessage = append(c.StatusMessage, s.Status().Message())

				// Most spans have neither events nor links: their rows
				// are nil slices, which allocate nothing.
				var (
					evTS    []time.Time
					evName  []string
					evAttrs []Attributes
				)
				if events := s.Events(); events.Len() > 0 {
					evTS = make([]time.Time, events.Len())
					evName = make([]string, events.Len())
					evAttrs = make([]Attributes, events.Len())
					for e := 0; e < events.Len(); e++ {
						ev := events.At(e)
						evTS[e] = timeOf(ev.Timestamp())
						evName[e] = ev.Name()
						evAttrs[e] = attrs.add(ev.Attributes())
					}
				}
				c.EventsTimestamp = append(c.EventsTimestamp, evTS)
				c.EventsName = append(c.EventsName, evName)
				c.EventsAttributes = append(c.EventsAttributes, evAttrs)

				var (
					lTrace, lSpan, lState []string
					lAttrs                []Attributes
				)
				if links := s.Links(); links.Len() > 0 {
					lTrace = make([]string, links.Len())
					lSpan = make([]string, links.Len())
					lState = make([]string, links.Len())
					lAttrs = make([]Attributes, links.Len())
					for l := 0; l < links.Len(); l++ {
						link := links.At(l)
						lTrace[l] = traceIDString(link.TraceID())
						lSpan[l] = spanIDString(link.SpanID())
						lState[l] = link.TraceState().AsRaw()
						lAttrs[l] = attrs.add(link.Attributes())
					}
				}
				c.LinksTraceID = append(c.LinksTraceID, lTrace)
				c.LinksSpanID = append(c.LinksSpanID, lSpan)
				c.LinksTraceState = append(c.LinksTraceState, lState)
				c.LinksAttributes = append(c.LinksAttributes, lAttrs)
			}
		}
	}
	return c
}

// LogsToColumns maps log records to otel_logs columns, one row per record,
// and the alert events among them, as the alert-event codec reads them
// (records with alert.name and a valid alert.state), additionally to
// vigil_alerts columns.
func LogsToColumns(ld plog.Logs) (*LogColumns, *AlertColumns) {
	n := ld.LogRecordCount()
	c := &LogColumns{
		Timestamp:          make([]time.Time, 0, n),
		TimestampTime:      make([]time.Time, 0, n),
		TraceID:            make([]string, 0, n),
		SpanID:             make([]string, 0, n),
		TraceFlags:         make([]uint8, 0, n),
		SeverityText:       make([]string, 0, n),
		SeverityNumber:     make([]uint8, 0, n),
		ServiceName:        make([]string, 0, n),
		Body:               make([]string, 0, n),
		ResourceSchemaURL:  make([]string, 0, n),
		ResourceAttributes: make([]Attributes, 0, n),
		ScopeSchemaURL:     make([]string, 0, n),
		ScopeName:          make([]string, 0, n),
		ScopeVersion:       make([]string, 0, n),
		ScopeAttributes:    make([]Attributes, 0, n),
		LogAttributes:      make([]Attributes, 0, n),
		EventName:          make([]string, 0, n),
	}
	a := &AlertColumns{}
	attrs := newAttributeSlab(n * 4)
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		resAttrs := AttributesOf(rl.Resource().Attributes())
		service := serviceName(rl.Resource().Attributes())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scopeAttrs := AttributesOf(sl.Scope().Attributes())
			records := sl.LogRecords()
			for k := 0; k < records.Len(); k++ {
				r := records.At(k)
				ts := r.Timestamp()
				if ts == 0 {
					// Records without an event time (common in zap and
					// file logs) are placed at the time they were observed,
					// so they land in a sensible partition.
					ts = r.ObservedTimestamp()
				}
				t := timeOf(ts)
				logAttrs := attrs.add(r.Attributes())
				body := AttributeValue(r.Body())
				traceID := traceIDString(r.TraceID())
				c.Timestamp = append(c.Timestamp, t)
				c.TimestampTime = append(c.TimestampTime, t.Truncate(time.Second))
				c.TraceID = append(c.TraceID, traceID)
				c.SpanID = append(c.SpanID, spanIDString(r.SpanID()))
				c.TraceFlags = append(c.TraceFlags, uint8(r.Flags()))
				c.SeverityText = append(c.SeverityText, r.SeverityText())
				c.SeverityNumber = append(c.SeverityNumber, uint8(r.SeverityNumber()))
				c.ServiceName = append(c.ServiceName, service)
				c.Body = append(c.Body, body)
				c.ResourceSchemaURL = append(c.ResourceSchemaURL, rl.SchemaUrl())
				c.ResourceAttributes = append(c.ResourceAttributes, resAttrs)
				c.ScopeSchemaURL = append(c.ScopeSchemaURL, sl.SchemaUrl())
				c.ScopeName = append(c.ScopeName, sl.Scope().Name())
				c.ScopeVersion = append(c.ScopeVersion, sl.Scope().Version())
				c.ScopeAttributes = append(c.ScopeAttributes, scopeAttrs)
				c.LogAttributes = append(c.LogAttributes, logAttrs)
				c.EventName = append(c.EventName, r.EventName())

				// A malformed alert event stays in otel_logs only; one
				// whose alert.starts_at is malformed is history all the
				// same (its start, which the episodes read, is in
				// Attributes as sent).
				ev, err := alertevent.Decode(r, rl.Resource(), t)
				if err != nil && !errors.Is(err, alertevent.ErrBadStart) {
					continue
				}
				a.Timestamp = append(a.Timestamp, t)
				a.Fingerprint = append(a.Fingerprint, ev.Fingerprint)
				a.AlertName = append(a.AlertName, ev.Labels[vigilalerts.LabelAlertName])
				a.State = append(a.State, string(ev.State))
				a.Severity = append(a.Severity, ev.Labels[vigilalerts.LabelSeverity])
				a.Source = append(a.Source, ev.Labels[vigilalerts.LabelSource])
				a.ServiceName = append(a.ServiceName, ev.Labels[vigilalerts.LabelService])
				a.SLOName = append(a.SLOName, ev.Labels[vigilalerts.LabelSLO])
				a.TraceID = append(a.TraceID, traceID)
				a.Attributes = append(a.Attributes, logAttrs)
				a.ResourceAttributes = append(a.ResourceAttributes, resAttrs)
				a.Body = append(a.Body, body)
			}
		}
	}
	return c, a
}

// metricContext is what every point of one metric shares.
type metricContext struct {
	resAttrs, scopeAttrs             Attributes
	attrs                            *attributeSlab // the batch's pairs
	resSchema, scopeSchema           string
	scopeName, scopeVersion, service string
	scopeDropped                     uint32
	name, description, unit          string
}

// grow sizes the head columns for n more rows.
func (h *MetricHeadColumns) grow(n int) {
	h.ResourceAttributes = make([]Attributes, 0, n)
	h.ResourceSchemaURL = make([]string, 0, n)
	h.ScopeName = make([]string, 0, n)
	h.ScopeVersion = make([]string, 0, n)
	h.ScopeAttributes = make([]Attributes, 0, n)
	h.ScopeDroppedAttrCount = make([]uint32, 0, n)
	h.ScopeSchemaURL = make([]string, 0, n)
	h.ServiceName = make([]string, 0, n)
	h.MetricName = make([]string, 0, n)
	h.MetricDescription = make([]string, 0, n)
	h.MetricUnit = make([]string, 0, n)
	h.Attributes = make([]Attributes, 0, n)
	h.StartTimeUnix = make([]time.Time, 0, n)
	h.TimeUnix = make([]time.Time, 0, n)
	h.Flags = make([]uint32, 0, n)
}

func (e *ExemplarColumns) grow(n int) {
	e.FilteredAttributes = make([][]Attributes, 0, n)
	e.TimeUnix = make([][]time.Time, 0, n)
	e.Value = make([][]float64, 0, n)
	e.SpanID = make([][]string, 0, n)
	e.TraceID = make([][]string, 0, n)
}

func (h *MetricHeadColumns) add(m *metricContext, attrs pcommon.Map, start, ts pcommon.Timestamp, flags uint32) {
	h.ResourceAttributes = append(h.ResourceAttributes, m.resAttrs)
	h.ResourceSchemaURL = append(h.ResourceSchemaURL, m.resSchema)
	h.ScopeName = append(h.ScopeName, m.scopeName)
	h.ScopeVersion = append(h.ScopeVersion, m.scopeVersion)
	h.ScopeAttributes = append(h.ScopeAttributes, m.scopeAttrs)
	h.ScopeDroppedAttrCount = append(h.ScopeDroppedAttrCount, m.scopeDropped)
	h.ScopeSchemaURL = append(h.ScopeSchemaURL, m.scopeSchema)
	h.ServiceName = append(h.ServiceName, m.service)
	h.MetricName = append(h.MetricName, m.name)
	h.MetricDescription = append(h.MetricDescription, m.description)
	h.MetricUnit = append(h.MetricUnit, m.unit)
	h.Attributes = append(h.Attributes, m.attrs.add(attrs))
	h.StartTimeUnix = append(h.StartTimeUnix, timeOf(start))
	h.TimeUnix = append(h.TimeUnix, timeOf(ts))
	h.Flags = append(h.Flags, flags)
}

func (e *ExemplarColumns) add(m *metricContext, exemplars pmetric.ExemplarSlice) {
	n := exemplars.Len()
	if n == 0 {
		// Most points have none: nil rows allocate nothing.
		e.FilteredAttributes = append(e.FilteredAttributes, nil)
		e.TimeUnix = append(e.TimeUnix, nil)
		e.Value = append(e.Value, nil)
		e.SpanID = append(e.SpanID, nil)
		e.TraceID = append(e.TraceID, nil)
		return
	}
	attrs := make([]Attributes, n)
	times := make([]time.Time, n)
	values := make([]float64, n)
	spanIDs := make([]string, n)
	traceIDs := make([]string, n)
	for i := 0; i < n; i++ {
		ex := exemplars.At(i)
		attrs[i] = m.attrs.add(ex.FilteredAttributes())
		times[i] = timeOf(ex.Timestamp())
		values[i] = numberValue(ex.ValueType() == pmetric.ExemplarValueTypeInt, ex.IntValue(), ex.DoubleValue())
		spanIDs[i] = spanIDString(ex.SpanID())
		traceIDs[i] = traceIDString(ex.TraceID())
	}
	e.FilteredAttributes = append(e.FilteredAttributes, attrs)
	e.TimeUnix = append(e.TimeUnix, times)
	e.Value = append(e.Value, values)
	e.SpanID = append(e.SpanID, spanIDs)
	e.TraceID = append(e.TraceID, traceIDs)
}

// numberValue stores integer points as Float64, like the OpenTelemetry
// schema Grafana reads: exact up to 2^53.
func numberValue(isInt bool, i int64, d float64) float64 {
	if isInt {
		return float64(i)
	}
	return d
}

func pointValue(dp pmetric.NumberDataPoint) float64 {
	return numberValue(dp.ValueType() == pmetric.NumberDataPointValueTypeInt, dp.IntValue(), dp.DoubleValue())
}

// MetricsToColumns maps metric points to the metric tables' columns, one row
// per data point, in the table of the point's kind.
func MetricsToColumns(md pmetric.Metrics) *MetricColumns {
	c := &MetricColumns{}
	// Sizing every column up front saves the repeated growth of some twenty
	// slices per table, most of the mapping's cost.
	var n [5]int
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				switch m := ms.At(k); m.Type() {
				case pmetric.MetricTypeGauge:
					n[0] += m.Gauge().DataPoints().Len()
				case pmetric.MetricTypeSum:
					n[1] += m.Sum().DataPoints().Len()
				case pmetric.MetricTypeHistogram:
					n[2] += m.Histogram().DataPoints().Len()
				case pmetric.MetricTypeExponentialHistogram:
					n[3] += m.ExponentialHistogram().DataPoints().Len()
				case pmetric.MetricTypeSummary:
					n[4] += m.Summary().DataPoints().Len()
				}
			}
		}
	}
	c.Gauge.grow(n[0])
	c.Gauge.Value = make([]float64, 0, n[0])
	c.Gauge.Exemplars.grow(n[0])
	c.Sum.grow(n[1])
	c.Sum.Value = make([]float64, 0, n[1])
	c.Sum.Exemplars.grow(n[1])
	c.Sum.AggregationTemporality = make([]int32, 0, n[1])
	c.Sum.IsMonotonic = make([]bool, 0, n[1])
	c.Histogram.grow(n[2])
	c.Histogram.Exemplars.grow(n[2])
	c.ExpHistogram.grow(n[3])
	c.ExpHistogram.Exemplars.grow(n[3])
	c.Summary.grow(n[4])
	attrs := newAttributeSlab(4 * (n[0] + n[1] + n[2] + n[3] + n[4]))
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		resAttrs := AttributesOf(rm.Resource().Attributes())
		service := serviceName(rm.Resource().Attributes())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			mc := metricContext{
				resAttrs:     resAttrs,
				scopeAttrs:   AttributesOf(sm.Scope().Attributes()),
				attrs:        attrs,
				resSchema:    rm.SchemaUrl(),
				scopeSchema:  sm.SchemaUrl(),
				scopeName:    sm.Scope().Name(),
				scopeVersion: sm.Scope().Version(),
				scopeDropped: sm.Scope().DroppedAttributesCount(),
				service:      service,
			}
			metrics := sm.Metrics()
			for k := 0; k < metrics.Len(); k++ {
				m := metrics.At(k)
				mc.name, mc.description, mc.unit = m.Name(), m.Description(), m.Unit()
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					c.Gauge.addPoints(&mc, m.Gauge().DataPoints())
				case pmetric.MetricTypeSum:
					c.Sum.addPoints(&mc, m.Sum())
				case pmetric.MetricTypeHistogram:
					c.Histogram.addPoints(&mc, m.Histogram())
				case pmetric.MetricTypeExponentialHistogram:
					c.ExpHistogram.addPoints(&mc, m.ExponentialHistogram())
				case pmetric.MetricTypeSummary:
					c.Summary.addPoints(&mc, m.Summary().DataPoints())
				}
			}
		}
	}
	return c
}

func (c *GaugeColumns) addPoints(mc *metricContext, dps pmetric.NumberDataPointSlice) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		c.add(mc, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags()))
		c.Value = append(c.Value, pointValue(dp))
		c.Exemplars.add(mc, dp.Exemplars())
	}
}

func (c *SumColumns) addPoints(mc *metricContext, sum pmetric.Sum) {
	dps := sum.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		c.add(mc, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags()))
		c.Value = append(c.Value, pointValue(dp))
		c.Exemplars.add(mc, dp.Exemplars())
		c.AggregationTemporality = append(c.AggregationTemporality, int32(sum.AggregationTemporality()))
		c.IsMonotonic = append(c.IsMonotonic, sum.IsMonotonic())
	}
}

func (c *HistogramColumns) addPoints(mc *metricContext, h pmetric.Histogram) {
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		c.add(mc, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags()))
		c.Count = append(c.Count, dp.Count())
		c.Sum = append(c.Sum, dp.Sum())
		c.BucketCounts = append(c.BucketCounts, dp.BucketCounts().AsRaw())
		c.ExplicitBounds = append(c.ExplicitBounds, dp.ExplicitBounds().AsRaw())
		c.Exemplars.add(mc, dp.Exemplars())
		c.Min = append(c.Min, dp.Min())
		c.Max = append(c.Max, dp.Max())
		c.AggregationTemporality = append(c.AggregationTemporality, int32(h.AggregationTemporality()))
	}
}

func (c *ExpHistogramColumns) addPoints(mc *metricContext, h pmetric.ExponentialHistogram) {
	dps := h.DataPoints()
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		c.add(mc, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags()))
		c.Count = append(c.Count, dp.Count())
		c.Sum = append(c.Sum, dp.Sum())
		c.Scale = append(c.Scale, dp.Scale())
		c.ZeroCount = append(c.ZeroCount, dp.ZeroCount())
		c.PositiveOffset = append(c.PositiveOffset, dp.Positive().Offset())
		c.PositiveBucketCounts = append(c.PositiveBucketCounts, dp.Positive().BucketCounts().AsRaw())
		c.NegativeOffset = append(c.NegativeOffset, dp.Negative().Offset())
		c.NegativeBucketCounts = append(c.NegativeBucketCounts, dp.Negative().BucketCounts().AsRaw())
		c.Exemplars.add(mc, dp.Exemplars())
		c.Min = append(c.Min, dp.Min())
		c.Max = append(c.Max, dp.Max())
		c.AggregationTemporality = append(c.AggregationTemporality, int32(h.AggregationTemporality()))
	}
}

func (c *SummaryColumns) addPoints(mc *metricContext, dps pmetric.SummaryDataPointSlice) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		c.add(mc, dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags()))
		c.Count = append(c.Count, dp.Count())
		c.Sum = append(c.Sum, dp.Sum())
		qs := dp.QuantileValues()
		quantiles := make([]float64, qs.Len())
		values := make([]float64, qs.Len())
		for q := 0; q < qs.Len(); q++ {
			quantiles[q] = qs.At(q).Quantile()
			values[q] = qs.At(q).Value()
		}
		c.Quantiles = append(c.Quantiles, quantiles)
		c.Values = append(c.Values, values)
	}
}
