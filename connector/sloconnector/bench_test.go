package sloconnector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// benchSpec returns a spec of n SLOs of service bench that all select
// server spans: availability and latency SLOs by turns, every fourth with
// an attribute matcher.
func benchSpec(n int) string {
	var b strings.Builder
	b.WriteString("version: vigil/v1\nservice: bench\nslos:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: slo-%d\n    objective: 99.9\n    window: 30d\n    sli:\n      spans:\n        match:\n          span_kind: server\n", i)
		if i%4 == 3 {
			b.WriteString("          attributes:\n            - {key: http.route, op: \"=~\", value: \"/api/.*\"}\n")
		}
		if i%2 == 0 {
			b.WriteString("        bad: {status: error, http_status_min: 500}\n")
		} else {
			b.WriteString("        bad: {latency_above: 300ms}\n")
		}
	}
	return b.String()
}

// benchTraces is a batch of n server spans of service bench, one in ten
// an error.
func benchTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	end := time.Now()
	for i := range n {
		s := spans.AppendEmpty()
		s.SetKind(ptrace.SpanKindServer)
		s.SetName("GET /api/items")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Duration(i%500) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		s.Attributes().PutStr("http.route", "/api/items")
		s.Attributes().PutInt("http.response.status_code", 200)
		if i%10 == 0 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// BenchmarkRecordSpans measures classification and accounting (the
// tracker's Record) per span with 1, 10 and 100 SLOs matching every span.
//
//	go test -run '^$' -bench BenchmarkRecordSpans -benchtime 2x ./connector/sloconnector/
func BenchmarkRecordSpans(b *testing.B) {
	const batch = 1000
	td := benchTraces(batch)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("slos=%d", n), func(b *testing.B) {
			rs, err := compile(parseSLOs(b, benchSpec(n)), componenttest.NewNopTelemetrySettings())
			if err != nil {
				b.Fatal(err)
			}
			tr := tracker.New(rs.slos, tracker.Options{})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rs.recordSpans(ctx, td, tr, nopRecorder{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
		})
	}
}

// BenchmarkRecordSpansGrouped is BenchmarkRecordSpans for 10 SLOs with
// group_by http.route over spans of 20 routes.
//
//	go test -run '^$' -bench BenchmarkRecordSpansGrouped -benchtime 20x ./connector/sloconnector/
func BenchmarkRecordSpansGrouped(b *testing.B) {
	const batch = 1000
	td := benchTraces(batch)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).Attributes().PutStr("http.route", fmt.Sprintf("/api/items/%d", i%20))
	}
	spec := strings.ReplaceAll(benchSpec(10), "    window: 30d\n", "    window: 30d\n    group_by: [http.route]\n")
	rs, err := compile(parseSLOs(b, spec), componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	tr := tracker.New(rs.slos, tracker.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rs.recordSpans(ctx, td, tr, nopRecorder{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
}

// BenchmarkClassifySpans is BenchmarkRecordSpans without accounting: the
// cost of classification alone.
func BenchmarkClassifySpans(b *testing.B) {
	const batch = 1000
	td := benchTraces(batch)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("slos=%d", n), func(b *testing.B) {
			rs, err := compile(parseSLOs(b, benchSpec(n)), componenttest.NewNopTelemetrySettings())
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rs.recordSpans(ctx, td, nopRecorder{}, nopRecorder{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
		})
	}
}

// BenchmarkStart measures start-up with 1,000 SLOs: loading and
// validating the spec files, compiling the rules and building the tracker.
//
//	go test -run '^$' -bench BenchmarkStart -benchtime 5x ./connector/sloconnector/
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	for f := range 10 {
		spec := strings.Replace(benchSpec(100), "service: bench", fmt.Sprintf("service: bench-%d", f), 1)
		writeSpecTB(b, dir, fmt.Sprintf("spec-%d.yaml", f), spec)
	}
	for b.Loop() {
		specs, err := loadSpecs([]string{dir})
		if err != nil {
			b.Fatal(err)
		}
		rs, err := compile(flatten(specs), componenttest.NewNopTelemetrySettings())
		if err != nil {
			b.Fatal(err)
		}
		if len(rs.slos) != 1000 {
			b.Fatalf("%d SLOs", len(rs.slos))
		}
		_ = tracker.New(rs.slos, tracker.Options{})
	}
}

// TestBenchSpecLoads keeps the benchmark's spec generator honest.
func TestBenchSpecLoads(t *testing.T) {
	slos := parseSLOs(t, benchSpec(8))
	if len(slos) != 8 {
		t.Fatalf("got %d SLOs", len(slos))
	}
}

// BenchmarkEndSeries is what ending series (endSeries) adds to an
// evaluation of 10,000 SLO series: a comparison while the same series
// stay (also after a reload that kept the SLO as it was), a map of them
// when one leaves, and the series of both definitions compared after a
// reload that changed the SLO's labels.
//
//	go test -run '^$' -bench EndSeries ./connector/sloconnector/
func BenchmarkEndSeries(b *testing.B) {
	def := parseSLOs(b, pageOnlySpec)[0]
	statuses := make([]tracker.Status, 10_000)
	for i := range statuses {
		statuses[i] = tracker.Status{SLOID: "checkout/availability", SLO: &def, Group: []string{fmt.Sprintf("/route/%d", i)},
			Windows: []tracker.WindowStatus{{Window: time.Hour}}, Alerts: []tracker.AlertStatus{{Severity: "page"}}}
	}
	at := time.Unix(1_700_000_000, 0)
	b.Run("same series", func(b *testing.B) {
		c := &sloConnector{shown: statuses}
		md := pmetric.NewMetrics()
		b.ReportAllocs()
		for b.Loop() {
			c.endSeries(md, statuses, at)
		}
	})
	b.Run("one series left", func(b *testing.B) {
		c := &sloConnector{}
		b.ReportAllocs()
		for b.Loop() {
			c.shown = statuses
			c.endSeries(pmetric.NewMetrics(), statuses[1:], at)
		}
	})
	reload := func(change func(*slo.SLO)) []tracker.Status {
		reloaded := def
		change(&reloaded)
		replaced := slices.Clone(statuses)
		for i := range replaced {
			replaced[i].SLO = &reloaded
		}
		return replaced
	}
	for _, r := range []struct {
		name   string
		change func(*slo.SLO)
	}{
		{"a reload kept the definition", func(*slo.SLO) {}},
		{"a reload changed the labels", func(d *slo.SLO) { d.Labels = map[string]string{"team": "payments"} }},
	} {
		replaced := reload(r.change)
		b.Run(r.name, func(b *testing.B) {
			c := &sloConnector{}
			b.ReportAllocs()
			for b.Loop() {
				c.shown = statuses
				c.endSeries(pmetric.NewMetrics(), replaced, at)
			}
		})
	}
}
