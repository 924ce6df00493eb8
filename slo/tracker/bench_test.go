package tracker

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

func benchSLOs(n int) []slo.SLO {
	out := make([]slo.SLO, n)
	for i := range out {
		out[i] = testSLO(fmt.Sprintf("slo-%d", i), 99.9, rolling30d())
		out[i].Alerting = alerting(0)
	}
	return out
}

// BenchmarkRecord records one event into 1, 10 and 100 SLOs, as the
// connector does for a span that matches that many: ns/op is per event.
func BenchmarkRecord(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("slos=%d", n), func(b *testing.B) {
			slos := benchSLOs(n)
			ids := make([]string, n)
			for i := range slos {
				ids[i] = slos[i].ID()
			}
			now := time.Now()
			tr := New(slos, Options{Clock: func() time.Time { return now }})
			for _, id := range ids { // allocate the buckets before timing
				if err := tr.Record(id, nil, now, 1, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, id := range ids {
					if err := tr.Record(id, nil, now, 1, 0); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/slo")
		})
	}
}

// BenchmarkRecordGrouped records into an SLO split by two attributes,
// the path with a group key lookup.
func BenchmarkRecordGrouped(b *testing.B) {
	s := testSLO("routes", 99.9, rolling30d())
	s.GroupBy = []string{"http.route", "http.request.method"}
	now := time.Now()
	tr := New([]slo.SLO{s}, Options{Clock: func() time.Time { return now }})
	groups := make([][]string, 100)
	for i := range groups {
		groups[i] = []string{fmt.Sprintf("/api/v1/resource/%d", i), "GET"}
		if err := tr.Record(s.ID(), groups[i], now, 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := tr.Record(s.ID(), groups[i%len(groups)], now, 1, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRecordParallel records into 10 SLOs from GOMAXPROCS goroutines,
// to measure contention on the per-SLO locks.
func BenchmarkRecordParallel(b *testing.B) {
	slos := benchSLOs(10)
	now := time.Now()
	tr := New(slos, Options{Clock: func() time.Time { return now }})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := tr.Record(slos[i%len(slos)].ID(), nil, now, 1, 0); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkSeriesBytes measures the heap one series of a 30-day SLO takes,
// over 1,000 GroupBy series.
func BenchmarkSeriesBytes(b *testing.B) {
	const series = 1000
	s := testSLO("routes", 99.9, rolling30d())
	s.GroupBy = []string{"route"}
	s.Alerting = alerting(0)
	now := time.Now()
	groups := make([][]string, series)
	for i := range groups {
		groups[i] = []string{fmt.Sprintf("/route/%d", i)}
	}
	var perSeries float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tr := New([]slo.SLO{s}, Options{Clock: func() time.Time { return now }})
		for _, g := range groups {
			if err := tr.Record(s.ID(), g, now, 1, 0); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / series
		runtime.KeepAlive(tr)
	}
	b.ReportMetric(perSeries, "bytes/series")
	b.ReportMetric(float64(SeriesBytes(s)), "bucket-bytes/series")
}

// BenchmarkNew1000SLOs is the start-up time of a tracker of 1,000 SLOs.
func BenchmarkNew1000SLOs(b *testing.B) {
	slos := benchSLOs(1000)
	b.ReportAllocs()
	for b.Loop() {
		New(slos, Options{})
	}
}

// BenchmarkEvaluate evaluates 100 SLO series (burn rates, budget, alerts).
func BenchmarkEvaluate(b *testing.B) {
	slos := benchSLOs(100)
	now := time.Now()
	tr := New(slos, Options{Clock: func() time.Time { return now }})
	for _, s := range slos {
		if err := tr.Record(s.ID(), nil, now, 100, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Evaluate(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(slos)), "ns/series")
}

// BenchmarkSnapshot is the cost of one checkpoint of 1,000 series (100
// SLOs of 10 groups) after 30 days of traffic every 5 minutes, every
// bucket of every ring holding events: the time and size of Snapshot,
// which the connector writes at every alert transition and on its
// checkpoint interval.
//
//	go test -run '^$' -bench BenchmarkSnapshot -benchtime 20x ./slo/tracker/
func BenchmarkSnapshot(b *testing.B) {
	slos := benchSLOs(100)
	for i := range slos {
		slos[i].GroupBy = []string{"route"}
	}
	start := time.Now().Add(-30 * 24 * time.Hour)
	now := start
	tr := New(slos, Options{Clock: func() time.Time { return now }})
	for ; now.Before(start.Add(30 * 24 * time.Hour)); now = now.Add(5 * time.Minute) {
		for _, s := range slos {
			for g := range 10 {
				if err := tr.Record(s.ID(), []string{fmt.Sprintf("/route/%d", g)}, now, 100, 1); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		data, err := tr.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "bytes/snapshot")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/snapshot")
}

// BenchmarkEvaluateSparse evaluates 100 SLO series whose only events are
// 3 days and 2 hours old: older than every burn-rate window and recent in
// the budget window, the longest search for Status.DataSince (the budget
// ring's empty buckets from the window's start).
func BenchmarkEvaluateSparse(b *testing.B) {
	slos := benchSLOs(100)
	now := time.Now().Add(-74 * time.Hour)
	tr := New(slos, Options{Clock: func() time.Time { return now }})
	for _, s := range slos {
		if err := tr.Record(s.ID(), nil, now, 100, 1); err != nil {
			b.Fatal(err)
		}
	}
	now = now.Add(74 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		tr.Evaluate(now)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(slos)), "ns/series")
}
