package dedup

import (
	"encoding/binary"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// testTraces is a request of n spans of two services, numbered from
// first: span i has IDs derived from i and ends at second i.
func testTraces(first, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	for s, service := range []string{"checkout", "cart"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := first + s; i < first+n; i += 2 {
			sp := spans.AppendEmpty()
			var tid [16]byte
			var sid [8]byte
			binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
			binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
			sp.SetTraceID(tid)
			sp.SetSpanID(sid)
			sp.SetName("GET /cart")
			sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1e9))
			sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1e9 + 2e7))
			sp.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td
}

func testLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("zap")
	for i := range n {
		r := sl.LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)))
		r.SetObservedTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i) + 5))
		r.SetSeverityNumber(plog.SeverityNumberInfo)
		r.SetSeverityText("INFO")
		r.Body().SetStr(fmt.Sprintf("order %d placed", i))
		r.Attributes().PutInt("order_id", int64(i))
		nested := r.Attributes().PutEmptyMap("http")
		nested.PutStr("route", "/checkout")
		nested.PutEmptySlice("tags").AppendEmpty().SetBool(true)
		r.Attributes().PutEmptyBytes("raw").FromRaw([]byte{1, 2, byte(i)})
	}
	return ld
}

// testMetrics has a point of every kind.
func testMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	ts := pcommon.Timestamp(1_700_000_000_000_000_000)

	g := ms.AppendEmpty()
	g.SetName("queue.depth")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(3.5)
	dp.Attributes().PutStr("queue", "orders")

	s := ms.AppendEmpty()
	s.SetName("requests")
	sum := s.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sum.SetIsMonotonic(true)
	sdp := sum.DataPoints().AppendEmpty()
	sdp.SetStartTimestamp(ts - 1e10)
	sdp.SetTimestamp(ts)
	sdp.SetIntValue(42)

	h := ms.AppendEmpty()
	h.SetName("duration")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hdp := hist.DataPoints().AppendEmpty()
	hdp.SetTimestamp(ts)
	hdp.SetCount(10)
	hdp.SetSum(1.5)
	hdp.ExplicitBounds().FromRaw([]float64{0.1, 1})
	hdp.BucketCounts().FromRaw([]uint64{5, 4, 1})

	e := ms.AppendEmpty()
	e.SetName("duration.exp")
	edp := e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	edp.SetTimestamp(ts)
	edp.SetScale(3)
	edp.SetCount(7)
	edp.Positive().SetOffset(2)
	edp.Positive().BucketCounts().FromRaw([]uint64{3, 4})

	q := ms.AppendEmpty()
	q.SetName("latency.summary")
	qdp := q.SetEmptySummary().DataPoints().AppendEmpty()
	qdp.SetTimestamp(ts)
	qdp.SetCount(9)
	qv := qdp.QuantileValues().AppendEmpty()
	qv.SetQuantile(0.99)
	qv.SetValue(0.3)
	return md
}

// TestTracesFingerprint: a retry (the same spans, decoded anew) has the
// request's fingerprint; a request that differs in what identifies a
// span, or in which spans it has, has another.
func TestTracesFingerprint(t *testing.T) {
	base, ok := Traces(testTraces(0, 10))
	if !ok {
		t.Fatal("a request of spans with IDs has no fingerprint")
	}
	clone := ptrace.NewTraces()
	testTraces(0, 10).CopyTo(clone)
	if fp, _ := Traces(clone); fp != base {
		t.Error("a copy of the request has another fingerprint")
	}
	// Names and attributes are not read (IDs make a span unique): the
	// cost stays 56 bytes a span.
	attrs := testTraces(0, 10)
	attrs.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutInt("http.response.status_code", 500)
	attrs.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("POST /cart")
	attrs.ResourceSpans().At(1).Resource().Attributes().PutStr("host.name", "b")
	if fp, _ := Traces(attrs); fp != base {
		t.Error("a name or attributes change the fingerprint; what identifies a span does")
	}

	differ := map[string]func(ptrace.Traces){
		"a span ID": func(td ptrace.Traces) {
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID([8]byte{9, 9, 9})
		},
		"a trace ID": func(td ptrace.Traces) {
			td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).SetTraceID([16]byte{9, 9, 9})
		},
		"an end time": func(td ptrace.Traces) {
			sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2)
			sp.SetEndTimestamp(sp.EndTimestamp() + 1)
		},
		"a start time": func(td ptrace.Traces) {
			sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2)
			sp.SetStartTimestamp(sp.StartTimestamp() - 1)
		},
		// A sender that numbers spans from 1 in every request sends
		// another request when its spans differ in what SLOs read first.
		"a status": func(td ptrace.Traces) {
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(3).Status().SetCode(ptrace.StatusCodeError)
		},
		"a kind": func(td ptrace.Traces) {
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(3).SetKind(ptrace.SpanKindServer)
		},
		"a parent": func(td ptrace.Traces) {
			td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).SetParentSpanID([8]byte{7})
		},
		"one span fewer": func(td ptrace.Traces) {
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool {
				return s.SpanID() == pcommon.SpanID([8]byte{0, 0, 0, 0, 0, 0, 0, 1})
			})
		},
		"one span more": func(td ptrace.Traces) {
			testTraces(10, 1).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(
				td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty())
		},
	}
	for name, change := range differ {
		td := testTraces(0, 10)
		change(td)
		fp, ok := Traces(td)
		if !ok || fp == base {
			t.Errorf("a request that differs by %s has the same fingerprint (ok %v)", name, ok)
		}
	}
	if fp, _ := Traces(testTraces(10, 10)); fp == base {
		t.Error("the next request of new spans has the same fingerprint")
	}
}

func TestTracesWithoutFingerprint(t *testing.T) {
	if _, ok := Traces(ptrace.NewTraces()); ok {
		t.Error("an empty request has a fingerprint")
	}
	noIDs := testTraces(0, 4)
	noIDs.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(1).SetSpanID(pcommon.NewSpanIDEmpty())
	if _, ok := Traces(noIDs); ok {
		t.Error("a request with a span without a span ID has a fingerprint")
	}
	noTrace := testTraces(0, 4)
	noTrace.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.NewTraceIDEmpty())
	if _, ok := Traces(noTrace); ok {
		t.Error("a request with a span without a trace ID has a fingerprint")
	}
}

func TestLogsFingerprint(t *testing.T) {
	base, ok := Logs(testLogs(5))
	if !ok {
		t.Fatal("a request of timed records has no fingerprint")
	}
	if fp, _ := Logs(testLogs(5)); fp != base {
		t.Error("the same records have another fingerprint")
	}
	record := func(ld plog.Logs, i int) plog.LogRecord {
		return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i)
	}
	differ := map[string]func(plog.Logs){
		"the body":           func(ld plog.Logs) { record(ld, 1).Body().SetStr("order 1 cancelled") },
		"an attribute":       func(ld plog.Logs) { record(ld, 2).Attributes().PutInt("order_id", 7) },
		"a nested attribute": func(ld plog.Logs) { v, _ := record(ld, 2).Attributes().Get("http"); v.Map().PutStr("route", "/") },
		"a bytes attribute":  func(ld plog.Logs) { v, _ := record(ld, 2).Attributes().Get("raw"); v.Bytes().Append(0) },
		"the time":           func(ld plog.Logs) { record(ld, 3).SetTimestamp(record(ld, 3).Timestamp() + 1) },
		"the observed time":  func(ld plog.Logs) { record(ld, 3).SetObservedTimestamp(1) },
		"the severity":       func(ld plog.Logs) { record(ld, 0).SetSeverityNumber(plog.SeverityNumberError) },
		"the trace":          func(ld plog.Logs) { record(ld, 0).SetTraceID([16]byte{1}) },
		"the event name":     func(ld plog.Logs) { record(ld, 0).SetEventName("order.placed") },
		"the resource":       func(ld plog.Logs) { ld.ResourceLogs().At(0).Resource().Attributes().PutStr("service.name", "cart") },
		"the scope":          func(ld plog.Logs) { ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetVersion("1.2") },
		"one record more": func(ld plog.Logs) {
			record(ld, 0).CopyTo(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty())
		},
		"the records' order": func(ld plog.Logs) {
			a, b := record(ld, 0), record(ld, 1)
			tmp := plog.NewLogRecord()
			a.CopyTo(tmp)
			b.CopyTo(a)
			tmp.CopyTo(b)
		},
		"a string's boundary": func(ld plog.Logs) {
			record(ld, 0).SetSeverityText("INFOo")
			record(ld, 0).Body().SetStr("rder 0 placed")
		},
	}
	for name, change := range differ {
		ld := testLogs(5)
		change(ld)
		if fp, ok := Logs(ld); !ok || fp == base {
			t.Errorf("a request that differs by %s has the same fingerprint (ok %v)", name, ok)
		}
	}
}

// TestLogsWithoutFingerprint: a record without a time cannot be told
// from the same line logged again.
func TestLogsWithoutFingerprint(t *testing.T) {
	if _, ok := Logs(plog.NewLogs()); ok {
		t.Error("an empty request has a fingerprint")
	}
	ld := testLogs(3)
	r := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(2)
	r.SetTimestamp(0)
	if _, ok := Logs(ld); !ok {
		t.Error("a record with only an observed time makes the request unidentified")
	}
	r.SetObservedTimestamp(0)
	if _, ok := Logs(ld); ok {
		t.Error("a request with a record without any time has a fingerprint")
	}
}

func TestMetricsFingerprint(t *testing.T) {
	base, ok := Metrics(testMetrics())
	if !ok {
		t.Fatal("a request of timed points has no fingerprint")
	}
	if fp, _ := Metrics(testMetrics()); fp != base {
		t.Error("the same points have another fingerprint")
	}
	metric := func(md pmetric.Metrics, i int) pmetric.Metric {
		return md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(i)
	}
	differ := map[string]func(pmetric.Metrics){
		"a gauge's value": func(md pmetric.Metrics) { metric(md, 0).Gauge().DataPoints().At(0).SetDoubleValue(3.6) },
		"a gauge's attribute": func(md pmetric.Metrics) {
			metric(md, 0).Gauge().DataPoints().At(0).Attributes().PutStr("queue", "refunds")
		},
		"a gauge's time": func(md pmetric.Metrics) {
			dp := metric(md, 0).Gauge().DataPoints().At(0)
			dp.SetTimestamp(dp.Timestamp() + 1)
		},
		"a sum's value":      func(md pmetric.Metrics) { metric(md, 1).Sum().DataPoints().At(0).SetIntValue(43) },
		"a sum's value type": func(md pmetric.Metrics) { metric(md, 1).Sum().DataPoints().At(0).SetDoubleValue(42) },
		"a sum's start":      func(md pmetric.Metrics) { metric(md, 1).Sum().DataPoints().At(0).SetStartTimestamp(1) },
		"a sum's temporality": func(md pmetric.Metrics) {
			metric(md, 1).Sum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		},
		"a metric's name":      func(md pmetric.Metrics) { metric(md, 1).SetName("requests.total") },
		"a histogram's bucket": func(md pmetric.Metrics) { metric(md, 2).Histogram().DataPoints().At(0).BucketCounts().SetAt(1, 5) },
		"a histogram's bound":  func(md pmetric.Metrics) { metric(md, 2).Histogram().DataPoints().At(0).ExplicitBounds().SetAt(0, 0.2) },
		"an exponential bucket": func(md pmetric.Metrics) {
			metric(md, 3).ExponentialHistogram().DataPoints().At(0).Positive().BucketCounts().SetAt(0, 4)
		},
		"an exponential offset": func(md pmetric.Metrics) {
			metric(md, 3).ExponentialHistogram().DataPoints().At(0).Positive().SetOffset(1)
		},
		"a summary's quantile": func(md pmetric.Metrics) {
			metric(md, 4).Summary().DataPoints().At(0).QuantileValues().At(0).SetValue(0.4)
		},
		"the resource": func(md pmetric.Metrics) { md.ResourceMetrics().At(0).Resource().Attributes().PutStr("host.name", "b") },
		"a point's no-value flag": func(md pmetric.Metrics) {
			metric(md, 0).Gauge().DataPoints().At(0).SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
		},
	}
	for name, change := range differ {
		md := testMetrics()
		change(md)
		if fp, ok := Metrics(md); !ok || fp == base {
			t.Errorf("a request that differs by %s has the same fingerprint (ok %v)", name, ok)
		}
	}
}

func TestMetricsWithoutFingerprint(t *testing.T) {
	if _, ok := Metrics(pmetric.NewMetrics()); ok {
		t.Error("an empty request has a fingerprint")
	}
	md := testMetrics()
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(2).Histogram().DataPoints().At(0).SetTimestamp(0)
	if _, ok := Metrics(md); ok {
		t.Error("a request with a point without a time has a fingerprint")
	}
}

// TestSignalsApart: requests of different signals never share a
// fingerprint, should one window ever hold them all.
func TestSignalsApart(t *testing.T) {
	tf, _ := Traces(testTraces(0, 2))
	lf, _ := Logs(testLogs(2))
	mf, _ := Metrics(testMetrics())
	if tf == lf || lf == mf || tf == mf {
		t.Error("two signals' requests share a fingerprint")
	}
}

// TestResourceOrderDoesNotMatter: a logs or metrics request whose
// resources come in another order has the same fingerprint, since the
// gateway merges the services of an evaluator's part in map order and a
// retry may list them differently; a resource left out, added twice, or
// changed still makes another request.
func TestResourceOrderDoesNotMatter(t *testing.T) {
	two := func(services ...string) (plog.Logs, pmetric.Metrics) {
		ld, md := plog.NewLogs(), pmetric.NewMetrics()
		for _, s := range services {
			one := testLogs(2)
			one.ResourceLogs().At(0).Resource().Attributes().PutStr("service.name", s)
			one.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
			m := testMetrics()
			m.ResourceMetrics().At(0).Resource().Attributes().PutStr("service.name", s)
			m.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		}
		return ld, md
	}
	fps := func(services ...string) (Fingerprint, Fingerprint) {
		ld, md := two(services...)
		l, ok1 := Logs(ld)
		m, ok2 := Metrics(md)
		if !ok1 || !ok2 {
			t.Fatalf("%v: no fingerprint", services)
		}
		return l, m
	}
	l, m := fps("checkout", "cart")
	if l2, m2 := fps("cart", "checkout"); l2 != l || m2 != m {
		t.Error("the same resources in another order have another fingerprint")
	}
	for _, other := range [][]string{{"checkout"}, {"checkout", "cart", "cart"}, {"checkout", "payments"}} {
		if l2, m2 := fps(other...); l2 == l || m2 == m {
			t.Errorf("%v has the fingerprint of [checkout cart]", other)
		}
	}
}
