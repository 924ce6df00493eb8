package anomaly

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// memoryBudget is the per-series target for a detector with weekly
// seasonality.
const memoryBudget = 4096

func TestDetectorFitsMemoryBudget(t *testing.T) {
	if size := unsafe.Sizeof(Detector{}); size > memoryBudget {
		t.Fatalf("Detector is %d bytes, budget %d", size, memoryBudget)
	}
}

// BenchmarkObserve reports the cost of one point on a seasonal series with
// both profiles enabled.
//
//	go test ./anomaly -run '^$' -bench BenchmarkObserve -benchmem
func BenchmarkObserve(b *testing.B) {
	ts, vs := series{n: 4096, step: time.Minute, base: 100, amplitude: 40, noise: 4, seed: 1}.points()
	d := New(DefaultConfig())
	// Timestamps keep advancing across laps so the detector sees one long
	// series, not the same day replayed out of order.
	lap := ts[len(ts)-1].Sub(ts[0]) + time.Minute
	b.ReportAllocs()
	// ns/op is wall time, which on a shared machine measures the other
	// processes too; cpu-ns/op is this thread's CPU time per point.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	n := 0
	for i := 0; b.Loop(); i++ {
		k := i % len(ts)
		d.Observe(ts[k].Add(time.Duration(i/len(ts))*lap), vs[k])
		n++
	}
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(n), "cpu-ns/op")
}

// threadCPU is the calling OS thread's CPU time (user and system) in
// nanoseconds.
func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSeriesMemory reports the heap used per series with weekly
// seasonality enabled, measured over many detectors fed a full week, and the
// size of a checkpoint.
//
//	go test ./anomaly -run '^$' -bench BenchmarkSeriesMemory -benchtime 1x
func BenchmarkSeriesMemory(b *testing.B) {
	const n = 2000
	for b.Loop() {
		before := heapAlloc()
		dets := make([]*Detector, n)
		for i := range dets {
			dets[i] = New(DefaultConfig())
		}
		// One week hourly: every weekly slot and every hour of the daily
		// profile is written, so nothing is lazily absent.
		for h := range 7 * 24 * 4 {
			at := t0.Add(time.Duration(h) * 15 * time.Minute)
			for i, d := range dets {
				d.Observe(at, 100+float64(i%7)+10*math.Sin(float64(h)/10))
			}
		}
		after := heapAlloc()
		cp, _ := dets[0].MarshalBinary()
		b.ReportMetric(float64(after-before)/n, "bytes/series")
		b.ReportMetric(float64(unsafe.Sizeof(Detector{})), "struct-bytes")
		b.ReportMetric(float64(len(cp)), "checkpoint-bytes")
		runtime.KeepAlive(dets)
	}
}

// Benchmark100kSeries reports heap and resident memory with 100k active
// series, each fed a few points.
//
//	go test ./anomaly -run '^$' -bench Benchmark100kSeries -benchtime 1x
func Benchmark100kSeries(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		before := heapAlloc()
		r := rand.New(rand.NewPCG(1, 2))
		dets := make([]*Detector, n)
		for i := range dets {
			dets[i] = New(DefaultConfig())
		}
		for p := range 5 {
			at := t0.Add(time.Duration(p) * time.Minute)
			for _, d := range dets {
				d.Observe(at, 50+r.NormFloat64())
			}
		}
		after := heapAlloc()
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
		runtime.KeepAlive(dets)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// rssBytes reads the process's resident set size (Linux); 0 elsewhere.
func rssBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
