package sloconnector

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// redTraces are spans of two services and a resource without
// service.name, of every kind and status, with durations on and around
// the bucket bounds, integer and string dimensions, a dimension only on
// the resource, and an end before the start.
func redTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	base := pcommon.NewTimestampFromTime(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	durations := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 2*time.Millisecond + 1, 7 * time.Millisecond,
		50 * time.Millisecond, 999 * time.Millisecond, 15 * time.Second, 16 * time.Second}
	for r, service := range []string{"checkout", "payments", ""} {
		rs := td.ResourceSpans().AppendEmpty()
		if service != "" {
			rs.Resource().Attributes().PutStr("service.name", service)
		}
		rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
		if r == 1 {
			rs.Resource().Attributes().PutStr("rpc.grpc.status_code", "from-resource")
		}
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 60 {
			s := spans.AppendEmpty()
			s.SetName(fmt.Sprintf("op-%d", i%4))
			s.SetKind(ptrace.SpanKind(i % 6))
			s.Status().SetCode(ptrace.StatusCode(i % 3))
			d := durations[i%len(durations)]
			s.SetStartTimestamp(base)
			s.SetEndTimestamp(base + pcommon.Timestamp(d))
			if i%11 == 0 {
				s.SetEndTimestamp(base - 5) // before the start: counts as 0
			}
			switch i % 4 {
			case 0:
				s.Attributes().PutInt("http.response.status_code", 200)
			case 1:
				s.Attributes().PutInt("http.response.status_code", 503)
				s.Attributes().PutStr("rpc.grpc.status_code", "14")
			case 2:
				s.Attributes().PutStr("http.response.status_code", "404")
			}
		}
	}
	return td
}

// TestREDMatchesSpanMetrics: the RED metrics are contrib's span_metrics
// output for the same spans and settings: resources, scope, metric names,
// units, temporality, attributes (values and types), bounds, bucket
// counts, counts and sums, first emission of calls at 0 included.
// Timestamps and point order are not compared.
func TestREDMatchesSpanMetrics(t *testing.T) {
	buckets := []time.Duration{2 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, time.Second, 15 * time.Second}
	dims := []string{"http.response.status_code", "rpc.grpc.status_code"}

	// span_metrics, as collector/config/default.yaml configured it.
	factory := spanmetricsconnector.NewFactory()
	cfg := factory.CreateDefaultConfig()
	raw := map[string]any{
		"histogram":              map[string]any{"explicit": map[string]any{"buckets": buckets}},
		"dimensions":             []any{map[string]any{"name": dims[0]}, map[string]any{"name": dims[1]}},
		"metrics_flush_interval": "20ms",
	}
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	set := connectortest.NewNopSettings(factory.Type())
	set.Resource.Attributes().PutStr(redAttrInstanceID, "instance-1")
	sink := new(consumertest.MetricsSink)
	sm, err := factory.CreateTracesToMetrics(context.Background(), set, cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	red := newREDAccounting(REDConfig{Enabled: true, Buckets: buckets, Dimensions: dims}, "instance-1")
	observe := func(td ptrace.Traces) {
		rs := &ruleset{}
		rs.observeSpans(context.Background(), td, nopRecorder{}, nopRecorder{}, red)
	}
	var want, got []string
	var counted uint64 // spans span_metrics has counted so far
	for round := range 2 {
		td := redTraces()
		counted += spansWithService(td)
		from := len(sink.AllMetrics())
		if err := sm.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
		observe(td)
		// Compare with the first flush built after this round's spans:
		// the one where span_metrics emits new series at 0. Flushes run
		// on span_metrics' own ticker, so one may have been built before
		// ConsumeTraces and reach the sink only now (it holds fewer
		// spans), and later ones may have arrived too (they hold this
		// round again, but no longer at 0): the flush that counts all
		// spans so far, first, is the one.
		flush, ok := firstFlushCounting(sink, from, counted, 5*time.Second)
		if !ok {
			t.Fatalf("round %d: no span_metrics flush counted %d spans in 5s", round, counted)
		}
		want = describeMetrics(flush)
		md := pmetric.NewMetrics()
		red.build(md, pcommon.NewTimestampFromTime(time.Now()))
		got = describeMetrics(md)
		if !slices.Equal(got, want) {
			t.Errorf("round %d: RED output differs from span_metrics'\ngot:\n%s\nwant:\n%s", round, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if err := sm.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(want) < 40 {
		t.Errorf("only %d points compared", len(want))
	}
}

// spansWithService counts the spans of resources with a service.name:
// span_metrics, and the RED metrics, skip the others.
func spansWithService(td ptrace.Traces) uint64 {
	var n uint64
	for _, rs := range td.ResourceSpans().All() {
		if _, ok := rs.Resource().Attributes().Get("service.name"); !ok {
			continue
		}
		for _, ss := range rs.ScopeSpans().All() {
			n += uint64(ss.Spans().Len())
		}
	}
	return n
}

// firstFlushCounting waits for a flush, at index from or later in the
// sink, whose duration histograms count spans in all, and returns the
// first such flush. The sink receives flushes in the order span_metrics
// built them, and the count only grows, so the first flush with the full
// count is the first one built after the last batch.
func firstFlushCounting(sink *consumertest.MetricsSink, from int, spans uint64, wait time.Duration) (pmetric.Metrics, bool) {
	deadline := time.Now().Add(wait)
	for {
		all := sink.AllMetrics()
		for _, md := range all[from:] {
			if histogramCount(md) == spans {
				return md, true
			}
		}
		from = len(all)
		if time.Now().After(deadline) {
			return pmetric.Metrics{}, false
		}
		time.Sleep(5 * time.Millisecond) // span_metrics flushes every 20ms
	}
}

// histogramCount adds up the counts of every histogram point of md.
func histogramCount(md pmetric.Metrics) uint64 {
	var n uint64
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() == pmetric.MetricTypeHistogram {
					for _, p := range m.Histogram().DataPoints().All() {
						n += p.Count()
					}
				}
			}
		}
	}
	return n
}

// describeMetrics prints every point with what identifies and measures
// it, sorted.
func describeMetrics(md pmetric.Metrics) []string {
	var out []string
	attrs := func(m pcommon.Map) string {
		var kv []string
		for k, v := range m.All() {
			kv = append(kv, fmt.Sprintf("%s=%s(%s)", k, v.AsString(), v.Type()))
		}
		slices.Sort(kv)
		return strings.Join(kv, ",")
	}
	for _, rm := range md.ResourceMetrics().All() {
		res := attrs(rm.Resource().Attributes())
		for _, sm := range rm.ScopeMetrics().All() {
			scope := sm.Scope().Name() + "@" + sm.Scope().Version()
			for _, m := range sm.Metrics().All() {
				head := fmt.Sprintf("%s|%s|%s %s unit=%q", res, scope, m.Name(), m.Type(), m.Unit())
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for _, p := range m.Sum().DataPoints().All() {
						out = append(out, fmt.Sprintf("%s mono=%v temp=%s {%s} = %d", head, m.Sum().IsMonotonic(),
							m.Sum().AggregationTemporality(), attrs(p.Attributes()), p.IntValue()))
					}
				case pmetric.MetricTypeHistogram:
					for _, p := range m.Histogram().DataPoints().All() {
						out = append(out, fmt.Sprintf("%s temp=%s {%s} count=%d sum=%v bounds=%v buckets=%v", head,
							m.Histogram().AggregationTemporality(), attrs(p.Attributes()), p.Count(), p.Sum(),
							p.ExplicitBounds().AsRaw(), p.BucketCounts().AsRaw()))
					}
				default:
					out = append(out, head+" unexpected type")
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestREDAllocatesNothingPerSpan: once its series exist, a batch costs a
// few allocations per resource (hashing its attributes), none per span.
func TestREDAllocatesNothingPerSpan(t *testing.T) {
	red := newREDAccounting(REDConfig{Enabled: true, Dimensions: []string{"http.response.status_code", "rpc.grpc.status_code"}}, "i")
	td := redTraces()
	rs := &ruleset{}
	rs.observeSpans(context.Background(), td, nopRecorder{}, nopRecorder{}, red)
	allocs := testing.AllocsPerRun(50, func() {
		rs.observeSpans(context.Background(), td, nopRecorder{}, nopRecorder{}, red)
	})
	if perResource := allocs / float64(td.ResourceSpans().Len()); perResource > 2 {
		t.Errorf("%.1f allocations per batch of %d spans in %d resources", allocs, td.SpanCount(), td.ResourceSpans().Len())
	}
}

// BenchmarkREDObserve counts batches of 1,000 spans (5 services, 5
// operations, 1% errors) in the RED metrics alone: ns/span.
//
//	go test -run '^$' -bench REDObserve ./connector/sloconnector/
func BenchmarkREDObserve(b *testing.B) {
	td := ptrace.NewTraces()
	routes := []string{"GET /products", "GET /products/{id}", "POST /cart", "POST /checkout", "GET /healthz"}
	for svc := range 5 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", svc))
		rs.Resource().Attributes().PutStr("deployment.environment.name", "bench")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 200 {
			s := spans.AppendEmpty()
			s.SetName(routes[i%len(routes)])
			s.SetKind(ptrace.SpanKindServer)
			s.SetStartTimestamp(1)
			s.SetEndTimestamp(pcommon.Timestamp(1 + (i%97)*int(time.Millisecond)))
			status := int64(200)
			if i%100 == 0 {
				status = 503
				s.Status().SetCode(ptrace.StatusCodeError)
			}
			s.Attributes().PutStr("http.request.method", "GET")
			s.Attributes().PutInt("http.response.status_code", status)
			s.Attributes().PutStr("server.address", "shop.internal")
		}
	}
	red := newREDAccounting(REDConfig{Enabled: true, Dimensions: []string{"http.response.status_code", "rpc.grpc.status_code"}}, "i")
	rs := &ruleset{}
	b.ReportAllocs()
	for b.Loop() {
		rs.observeSpans(context.Background(), td, nopRecorder{}, nopRecorder{}, red)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*td.SpanCount()), "ns/span")
}

// TestREDSeriesExpire: with red::expiration, a series that saw no span
// for that long is no longer emitted and a resource left without series
// is forgotten; a span after that starts its series again from zero,
// with a new start time (a counter reset). Without it, series stay.
func TestREDSeriesExpire(t *testing.T) {
	// ended counts, by service, the series the last build ended
	// (staleness markers), by metric name.
	var ended map[string]map[string]int
	emitted := func(red *redAccounting, at time.Time) map[string]int64 {
		md := pmetric.NewMetrics()
		red.build(md, pcommon.NewTimestampFromTime(at))
		calls := map[string]int64{}
		ended = map[string]map[string]int{}
		end := func(service, metric string) {
			if ended[service] == nil {
				ended[service] = map[string]int{}
			}
			ended[service][metric]++
		}
		for _, rm := range md.ResourceMetrics().All() {
			service, _ := rm.Resource().Attributes().Get("service.name")
			for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
				if m.Type() == pmetric.MetricTypeHistogram {
					for _, p := range m.Histogram().DataPoints().All() {
						if p.Flags().NoRecordedValue() {
							end(service.Str(), m.Name())
						}
					}
					continue
				}
				for _, p := range m.Sum().DataPoints().All() {
					if p.Flags().NoRecordedValue() {
						end(service.Str(), m.Name())
						continue
					}
					calls[service.Str()] += p.IntValue()
				}
			}
		}
		return calls
	}
	observe := func(red *redAccounting) {
		(&ruleset{}).observeSpans(context.Background(), redTraces(), nopRecorder{}, nopRecorder{}, red)
	}

	red := newREDAccounting(REDConfig{Enabled: true, Expiration: time.Minute}, "i")
	observe(red)
	emitted(red, time.Now()) // the first emission is 0 calls
	if got := emitted(red, time.Now()); got["checkout"] != 60 || got["payments"] != 60 {
		t.Fatalf("calls before expiry %v, want 60 of each service", got)
	}
	// payments saw its last span two minutes ago; checkout just now.
	for _, r := range red.resources {
		if r.service == "payments" {
			for _, s := range r.allSeries() {
				s.last -= pcommon.Timestamp(2 * time.Minute)
			}
		}
	}
	payments := 0
	for _, r := range red.resources {
		if r.service == "payments" {
			payments = r.n
		}
	}
	got := emitted(red, time.Now())
	if _, ok := got["payments"]; ok || got["checkout"] != 60 {
		t.Fatalf("calls after payments expired %v, want checkout's 60 only", got)
	}
	// Its series are ended (not only no longer emitted), each once.
	if want := map[string]map[string]int{"payments": {redCallsMetric: payments, redDurationMetric: payments}}; !reflect.DeepEqual(ended, want) {
		t.Fatalf("series ended when payments expired: %v, want %v", ended, want)
	}
	emitted(red, time.Now())
	if len(ended) != 0 {
		t.Fatalf("series ended again: %v", ended)
	}
	if len(red.resources) != 1 || len(red.order) != 1 {
		t.Fatalf("%d resources (%d in order) kept, want checkout's alone", len(red.resources), len(red.order))
	}
	if got := emitted(red, time.Now().Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("calls after every series expired %v, want none", got)
	}
	if len(red.resources) != 0 || len(red.order) != 0 {
		t.Fatalf("%d resources (%d in order) kept after every series expired", len(red.resources), len(red.order))
	}
	restart := time.Now()
	observe(red)
	if got := emitted(red, time.Now()); len(got) != 2 || got["checkout"] != 0 || got["payments"] != 0 {
		t.Fatalf("first emission after coming back %v, want 0 calls of each service", got)
	}
	if got := emitted(red, time.Now()); got["checkout"] != 60 || got["payments"] != 60 {
		t.Fatalf("calls after coming back %v, want 60 of each service, counted from zero", got)
	}
	for _, r := range red.resources {
		for _, s := range r.allSeries() {
			if s.start.AsTime().Before(restart) {
				t.Fatalf("series %q kept its old start %v", s.key.name, s.start.AsTime())
			}
		}
	}

	keep := newREDAccounting(REDConfig{Enabled: true}, "i")
	observe(keep)
	if got := emitted(keep, time.Now().Add(24*time.Hour)); len(got) != 2 {
		t.Fatalf("without expiration, a day later %v, want both services", got)
	}
}
