package dedup

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkTraces is what a consumer pays per traces request: the
// fingerprint of a request of 1,000 spans and a lookup in a full window.
//
//	go test -run '^$' -bench . -benchmem ./internal/dedup/
func BenchmarkTraces(b *testing.B) {
	const spans = 1000
	td := testTraces(0, spans)
	w := New(NewDefaultConfig())
	for i := range uint64(DefaultMaxRequests) {
		w.Record(fpOf(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		fp, _ := Traces(td)
		w.Seen(fp)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// BenchmarkLogs: the fingerprint of a request of 1,000 log records with
// a body and four attributes (one nested map, one bytes value).
func BenchmarkLogs(b *testing.B) {
	const records = 1000
	ld := testLogs(records)
	b.ReportAllocs()
	for b.Loop() {
		Logs(ld)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}

// BenchmarkMetrics: the fingerprint of a request of 1,000 gauge points
// with two attributes each.
func BenchmarkMetrics(b *testing.B) {
	const points = 1000
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("queue.depth")
	dps := g.SetEmptyGauge().DataPoints()
	for i := range points {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(1_700_000_000_000_000_000)
		dp.SetDoubleValue(float64(i))
		dp.Attributes().PutStr("queue", "orders")
		dp.Attributes().PutInt("partition", int64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		Metrics(md)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
}

// BenchmarkAccept: one new request recorded in a window that rotates.
func BenchmarkAccept(b *testing.B) {
	w := New(NewDefaultConfig())
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		w.Accept(fpOf(i))
		i++
	}
}
