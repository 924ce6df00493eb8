package tracker

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// BenchmarkActiveSeries100k reports the memory of 100k active series of a
// 30-day SLO (one SLO grouped by route, 100k routes) once every ring is
// full, as after 30 days of one event a second per series (1% bad): each
// bucket holds the counts that traffic leaves in a bucket of its
// resolution, with some spread. (Recording 30 days of events through
// Record would take the better part of an hour; the buckets end up the
// same.) It prints the process's resident set (the bound: 1 GiB),
// the heap the series take, and their bucket bytes. Run it on its own, as
// the resident set is the process's:
//
//	go test -run '^$' -bench ActiveSeries100k -benchtime 1x ./slo/tracker/
func BenchmarkActiveSeries100k(b *testing.B) {
	const (
		series  = 100_000
		perSec  = 1.0  // events per second per series
		badFrac = 0.01 // share of bad events
	)
	s := testSLO("routes", 99.9, rolling30d())
	s.GroupBy = []string{"http.route"}
	s.MaxGroups = series
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		before := heapInUse()
		tr := New([]slo.SLO{s}, Options{Clock: func() time.Time { return now }})
		rng := rand.New(rand.NewPCG(7, 8))
		for i := range series {
			group := []string{fmt.Sprintf("/api/v1/resource/%d", i)}
			if err := tr.Record(s.ID(), group, now, 1, 0); err != nil {
				b.Fatal(err)
			}
			ser := tr.slos[s.ID()].series[string(appendGroupKey(nil, group))]
			for r := range ser.rings {
				ring := &ser.rings[r]
				events := perSec * float64(ring.res) / float64(time.Second)
				for k := ring.head - int64(ring.n) + 1; k <= ring.head; k++ {
					// Counts vary around their mean; fractions add up
					// to whole events over time.
					ring.put(k, counts{
						good: uint64(events*(1-badFrac)*(0.8+0.4*rng.Float64()) + rng.Float64()),
						bad:  uint64(events*badFrac + rng.Float64()),
					})
				}
			}
		}
		after := heapInUse()
		st := tr.slos[s.ID()]
		if len(st.series) != series {
			b.Fatalf("%d series, want %d", len(st.series), series)
		}
		bucketBytes := 0
		for _, ser := range st.series {
			for i := range ser.rings {
				bucketBytes += ser.rings[i].bytes()
			}
		}
		b.ReportMetric(float64(rss())/(1<<20), "RSS-MiB")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(after-before)/series, "bytes/series")
		b.ReportMetric(float64(bucketBytes)/series, "bucket-bytes/series")
		b.ReportMetric(float64(SeriesBytes(s)), "max-bucket-bytes/series")
		runtime.KeepAlive(tr)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rss is the process's resident set size from /proc (Linux; 0 elsewhere).
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
