package anomalyconnector

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/anomaly"
)

// redBatch is span_metrics-shaped output for ops operations of one service:
// per operation an OK and an error calls stream and a duration histogram.
func redBatch(ops int) pmetric.Metrics {
	bounds := []float64{5, 10, 25, 50, 100, 250, 300, 500, 1000, 2500, 5000, 10000}
	calls := make([]callsPoint, 0, 2*ops)
	hists := make([]histPoint, 0, ops)
	for i := 0; i < ops; i++ {
		op := "op" + strconv.Itoa(i)
		calls = append(calls,
			callsPoint{service: "svc" + strconv.Itoa(i%50), op: op, start: t0, ts: t0, value: 0},
			callsPoint{service: "svc" + strconv.Itoa(i%50), op: op, status: "STATUS_CODE_ERROR", start: t0, ts: t0, value: 0})
		hists = append(hists, histPoint{service: "svc" + strconv.Itoa(i%50), op: op, start: t0, ts: t0, bounds: bounds, counts: make([]uint64, len(bounds)+1)})
	}
	return spanMetrics(calls, hists)
}

// advance moves every datapoint of a redBatch one interval on, with new
// calls and latencies, as the next cumulative flush of span_metrics would.
func advance(md pmetric.Metrics, at time.Time, step int) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		m := rms.At(i).ScopeMetrics().At(0).Metrics().At(0)
		switch m.Type() {
		case pmetric.MetricTypeSum:
			dp := m.Sum().DataPoints().At(0)
			dp.SetTimestamp(ts(at))
			dp.SetIntValue(dp.IntValue() + 100 + int64(step%7))
		case pmetric.MetricTypeHistogram:
			dp := m.Histogram().DataPoints().At(0)
			dp.SetTimestamp(ts(at))
			bc := dp.BucketCounts()
			for j := 2; j < 6; j++ {
				bc.SetAt(j, bc.At(j)+uint64(10+(step+j)%5))
			}
		}
	}
}

// BenchmarkConnectorPoint measures the connector's cost per observed point:
// consuming one cumulative span_metrics flush for 1000 operations and
// closing the interval, which feeds 4000 detectors (rate, error ratio, p95,
// p99). Run: go test -run '^$' -bench ConnectorPoint -benchtime 200x ./connector/anomalyconnector/
func BenchmarkConnectorPoint(b *testing.B) {
	const ops = 1000
	h := newHarness(b, func(c *Config) { c.MaxSeries = 100000 }, defaultSettings(), nil)
	defer h.shutdown()
	h.metrics.Reset()
	md := redBatch(ops)
	h.feed(t0, md)
	h.flushAt(t0)
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		b.StopTimer()
		advance(md, at.Add(-time.Second), i)
		h.metrics.Reset()
		h.logs.Reset()
		b.StartTimer()
		h.feed(at.Add(-time.Second), md)
		h.flushAt(at)
	}
	// The machine is shared, so wall time overstates the cost: CPU time
	// (including the untimed batch preparation, hence an upper bound) is
	// reported too.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ops*4), "ns/point")
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*ops*4), "cpu-ns/point")
}

// BenchmarkActiveSeries100k measures the heap and RSS of 100k watched
// series (25k operations x 4 RED series), detectors, identities and input
// stream state included, and the connector's overhead per series beyond
// the detector. Run: go test -run '^$' -bench ActiveSeries100k -benchtime 1x ./connector/anomalyconnector/
func BenchmarkActiveSeries100k(b *testing.B) {
	const ops = 25000
	h := newHarness(b, func(c *Config) { c.MaxSeries = 100000 }, defaultSettings(), nil)
	defer h.shutdown()
	before := heapInUse() // before the input batch, which is freed again below
	md := redBatch(ops)
	for step := 0; step < 2; step++ {
		at := t0.Add(time.Duration(step+1) * time.Minute)
		advance(md, at.Add(-time.Second), step)
		h.feed(at.Add(-time.Second), md)
		h.flushAt(at)
		h.metrics.Reset()
		h.logs.Reset()
	}
	md = pmetric.Metrics{}
	runtime.KeepAlive(md)
	after := heapInUse()
	h.core.mu.Lock()
	n := len(h.core.series)
	h.core.mu.Unlock()
	if n != 4*ops {
		b.Fatalf("%d series, want %d", n, 4*ops)
	}
	perSeries := float64(after-before) / float64(n)
	b.ReportMetric(perSeries, "B/series")
	b.ReportMetric(perSeries-detectorBytes(), "overhead-B/series")
	b.ReportMetric(float64(rss())/(1<<20), "RSS-MiB")
	runtime.KeepAlive(h)
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// detectorBytes is the heap size of one detector on its own.
func detectorBytes() float64 {
	const n = 1000
	h := newHarnessless()
	before := heapInUse()
	for i := 0; i < n; i++ {
		h = append(h, newDetector())
	}
	after := heapInUse()
	runtime.KeepAlive(h)
	return float64(after-before) / n
}

// rss is the process's resident set size from /proc (Linux).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func newHarnessless() []any { return make([]any, 0, 1000) }

func newDetector() any { return anomaly.New(anomaly.DefaultConfig()) }
