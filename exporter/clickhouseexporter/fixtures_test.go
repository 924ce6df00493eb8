package clickhouseexporter

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/conventions"
)

// t0 is the fixtures' base time: 2026-03-14 09:26:53.589793238 UTC (nanosecond
// digits so that precision loss anywhere shows).
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

func ts(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t0.Add(d)) }

var (
	traceA = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	traceB = pcommon.TraceID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74, 0x0d, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanA1 = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73}
	spanA2 = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	spanB1 = pcommon.SpanID{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
)

const (
	traceAHex = "5b8efff798038103d269b633813fc60c"
	traceBHex = "eee19b7ec3c1b1740d69b633813fc60c"
	spanA1Hex = "eee19b7ec3c1b173"
	spanA2Hex = "eee19b7ec3c1b174"
	spanB1Hex = "0102030405060708"
)

// putAllTypes sets one attribute of every pdata value type, and the string
// each must become (see AttributeValue).
func putAllTypes(m pcommon.Map) map[string]string {
	m.PutStr("str", "GET /cart?x=<1>&y=\"q\"")
	m.PutInt("int", -42)
	m.PutDouble("double", 0.25)
	m.PutDouble("double_big", 1e21)
	m.PutBool("bool", true)
	m.PutEmptyBytes("bytes").FromRaw([]byte{0x00, 0x01, 0x02, 0xff})
	arr := m.PutEmptySlice("array")
	arr.AppendEmpty().SetStr("a")
	arr.AppendEmpty().SetInt(1)
	arr.AppendEmpty().SetBool(false)
	arr.AppendEmpty().SetDouble(1.5)
	mm := m.PutEmptyMap("map")
	mm.PutStr("name", "x<y")
	mm.PutInt("id", 7)
	mm.PutEmptyBytes("raw").FromRaw([]byte("hi"))
	m.PutEmpty("empty")
	return map[string]string{
		"str":        "GET /cart?x=<1>&y=\"q\"",
		"int":        "-42",
		"double":     "0.25",
		"double_big": "1e+21",
		"bool":       "true",
		"bytes":      "AAEC/w==",
		"array":      `["a",1,false,1.5]`,
		"map":        `{"id":7,"name":"x<y","raw":"aGk="}`,
		"empty":      "",
	}
}

func setResource(res pcommon.Resource, service string) {
	res.Attributes().PutStr(conventions.AttrServiceName, service)
	res.Attributes().PutStr("deployment.environment", "prod")
}

// fixtureTraces: trace A (checkout: a failing server span with a client
// child) and trace B (payments: one successful span).
func fixtureTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	setResource(rs.Resource(), "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout-tracer")
	ss.Scope().SetVersion("1.2.3")

	s := ss.Spans().AppendEmpty()
	s.SetTraceID(traceA)
	s.SetSpanID(spanA1)
	s.TraceState().FromRaw("vendor=a")
	s.SetName("GET /cart")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(ts(0))
	s.SetEndTimestamp(ts(250 * time.Millisecond))
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("boom")
	putAllTypes(s.Attributes())
	s.Attributes().PutInt("http.status_code", 500)
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(200 * time.Millisecond))
	ev.Attributes().PutStr("exception.message", "boom")
	link := s.Links().AppendEmpty()
	link.SetTraceID(traceB)
	link.SetSpanID(spanB1)
	link.TraceState().FromRaw("vendor=b")
	link.Attributes().PutBool("follows", true)

	c := ss.Spans().AppendEmpty()
	c.SetTraceID(traceA)
	c.SetSpanID(spanA2)
	c.SetParentSpanID(spanA1)
	c.SetName("SELECT cart")
	c.SetKind(ptrace.SpanKindClient)
	c.SetStartTimestamp(ts(10 * time.Millisecond))
	// Ends 1.2s after the trace starts: the trace spans a second boundary,
	// which the trace view's time bounds must still include.
	c.SetEndTimestamp(ts(1200 * time.Millisecond))
	c.Attributes().PutStr("db.system", "postgresql")

	rs2 := td.ResourceSpans().AppendEmpty()
	setResource(rs2.Resource(), "payments")
	b := rs2.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	b.SetTraceID(traceB)
	b.SetSpanID(spanB1)
	b.SetName("charge")
	b.SetKind(ptrace.SpanKindServer)
	b.SetStartTimestamp(ts(2 * time.Second))
	b.SetEndTimestamp(ts(2*time.Second + 50*time.Millisecond))
	b.Status().SetCode(ptrace.StatusCodeOk)
	return td
}

// alertEvent appends an alert event as the SLO connector emits it.
func alertEvent(sl plog.ScopeLogs, at time.Duration, fingerprint, name, state, service string) {
	r := sl.LogRecords().AppendEmpty()
	r.SetTimestamp(ts(at))
	r.SetSeverityText("WARN")
	r.SetSeverityNumber(plog.SeverityNumberWarn)
	r.Body().SetStr(name + " " + state + " for " + service)
	a := r.Attributes()
	a.PutStr(conventions.AttrAlertName, name)
	a.PutStr(conventions.AttrAlertState, state)
	a.PutStr(conventions.AttrAlertSeverity, conventions.SeverityPage)
	a.PutStr(conventions.AttrAlertFingerprint, fingerprint)
	a.PutStr(conventions.AttrAlertSource, conventions.SourceSLO)
	a.PutStr(conventions.AttrServiceName, service)
	a.PutStr(conventions.AttrSLOName, name)
	a.PutDouble(conventions.AttrSLOBurnRateLong, 14.4)
}

// fixtureLogs: three application records and five alert events. The
// checkout alert fires twice (two episodes: 5m and 10m to resolve); the
// payments alert fires the next day and never resolves.
func fixtureLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	setResource(rl.Resource(), "checkout")
	rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl("https://opentelemetry.io/schemas/1.25.0")
	sl.Scope().SetName("zap")
	sl.Scope().SetVersion("1.28.0")
	sl.Scope().Attributes().PutStr("logger", "cart")

	info := sl.LogRecords().AppendEmpty()
	info.SetTimestamp(ts(0))
	info.SetSeverityText("INFO")
	info.SetSeverityNumber(plog.SeverityNumberInfo)
	info.Body().SetStr("cart loaded")
	info.SetEventName("cart.loaded")

	errRec := sl.LogRecords().AppendEmpty()
	errRec.SetTimestamp(ts(100 * time.Millisecond))
	errRec.SetSeverityText("ERROR")
	errRec.SetSeverityNumber(plog.SeverityNumberError)
	errRec.Body().SetStr("payment failed: card declined")
	errRec.SetTraceID(traceA)
	errRec.SetSpanID(spanA1)
	errRec.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	putAllTypes(errRec.Attributes())

	// No event time: stored at the observed time.
	observed := sl.LogRecords().AppendEmpty()
	observed.SetObservedTimestamp(ts(3 * time.Second))
	observed.SetSeverityText("DEBUG")
	observed.SetSeverityNumber(plog.SeverityNumberDebug)
	observed.Body().SetEmptyMap().PutStr("msg", "structured body")

	rl2 := ld.ResourceLogs().AppendEmpty()
	setResource(rl2.Resource(), "vigil")
	al := rl2.ScopeLogs().AppendEmpty()
	alertEvent(al, 0, "fp-checkout", "checkout-availability", conventions.StateFiring, "checkout")
	alertEvent(al, 5*time.Minute, "fp-checkout", "checkout-availability", conventions.StateResolved, "checkout")
	alertEvent(al, time.Hour, "fp-checkout", "checkout-availability", conventions.StateFiring, "checkout")
	alertEvent(al, time.Hour+10*time.Minute, "fp-checkout", "checkout-availability", conventions.StateResolved, "checkout")
	alertEvent(al, 24*time.Hour, "fp-payments", "payments-latency", conventions.StateFiring, "payments")
	return ld
}

// fixtureMetrics: one metric of every kind, with an exemplar where the kind
// has them.
func fixtureMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	setResource(rm.Resource(), "checkout")
	rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("otelhttp")
	sm.Scope().SetVersion("0.70.0")
	sm.Scope().SetDroppedAttributesCount(2)

	g := sm.Metrics().AppendEmpty()
	g.SetName("process.memory.usage")
	g.SetUnit("By")
	g.SetDescription("resident memory")
	gdp := g.SetEmptyGauge().DataPoints()
	p := gdp.AppendEmpty()
	p.SetTimestamp(ts(0))
	p.SetIntValue(1 << 40)
	putAllTypes(p.Attributes())
	ex := p.Exemplars().AppendEmpty()
	ex.SetTimestamp(ts(-time.Second))
	ex.SetDoubleValue(3.5)
	ex.SetTraceID(traceA)
	ex.SetSpanID(spanA1)
	ex.FilteredAttributes().PutStr("user", "u1")
	p2 := gdp.AppendEmpty()
	p2.SetTimestamp(ts(time.Minute))
	p2.SetDoubleValue(0.5)

	s := sm.Metrics().AppendEmpty()
	s.SetName("http.server.requests")
	sum := s.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sp := sum.DataPoints().AppendEmpty()
	sp.SetStartTimestamp(ts(-time.Hour))
	sp.SetTimestamp(ts(0))
	sp.SetIntValue(1234)
	sp.Attributes().PutInt("http.status_code", 200)

	h := sm.Metrics().AppendEmpty()
	h.SetName("http.server.duration")
	h.SetUnit("ms")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	hp := hist.DataPoints().AppendEmpty()
	hp.SetStartTimestamp(ts(-time.Minute))
	hp.SetTimestamp(ts(0))
	hp.SetCount(10)
	hp.SetSum(1234.5)
	hp.SetMin(1)
	hp.SetMax(900)
	hp.ExplicitBounds().FromRaw([]float64{10, 100, 1000})
	hp.BucketCounts().FromRaw([]uint64{3, 4, 2, 1})
	hex := hp.Exemplars().AppendEmpty()
	hex.SetTimestamp(ts(0))
	hex.SetIntValue(900)

	e := sm.Metrics().AppendEmpty()
	e.SetName("rpc.duration")
	eh := e.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	ep := eh.DataPoints().AppendEmpty()
	ep.SetTimestamp(ts(0))
	ep.SetCount(7)
	ep.SetSum(70)
	ep.SetScale(3)
	ep.SetZeroCount(1)
	ep.Positive().SetOffset(-2)
	ep.Positive().BucketCounts().FromRaw([]uint64{1, 2, 3})
	ep.Negative().SetOffset(1)
	ep.Negative().BucketCounts().FromRaw([]uint64{0})
	ep.SetMin(0)
	ep.SetMax(20)

	su := sm.Metrics().AppendEmpty()
	su.SetName("gc.pause")
	sdp := su.SetEmptySummary().DataPoints().AppendEmpty()
	sdp.SetTimestamp(ts(0))
	sdp.SetCount(4)
	sdp.SetSum(2.5)
	q := sdp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.5)
	q.SetValue(0.5)
	q = sdp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.99)
	q.SetValue(1.25)
	return md
}
