package clickhouseexporter

import (
	"io"
	"syscall"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/dedup"
)

// Benchmarks report rows per second on one goroutine, i.e. per core, under
// the GC setting the binary runs with (GOGC=400, collector/memory.go). Run:
//
//	GOGC=400 go test -run '^$' -bench . -benchtime 2s -cpu 1 ./exporter/clickhouseexporter/

const benchRows = 10_000

// reportRate reports rows per wall-clock second and per CPU second of the
// process. On a shared machine the wall-clock rate drops with other load;
// the CPU-second rate is the per-core cost.
func reportRate(b *testing.B, cpuStart time.Duration, rows int, unit string) {
	total := float64(rows) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), unit)
	if cpu := cpuTime() - cpuStart; cpu > 0 {
		b.ReportMetric(total/cpu.Seconds(), unit[:len(unit)-2]+"/cpu-s")
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func genLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "bench")
	rl.Resource().Attributes().PutStr("host.name", "node-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("zap")
	for i := 0; i < n; i++ {
		r := sl.LogRecords().AppendEmpty()
		r.SetTimestamp(ts(time.Duration(i) * time.Millisecond))
		r.SetSeverityText("INFO")
		r.SetSeverityNumber(plog.SeverityNumberInfo)
		r.Body().SetStr("request served in 3ms for /api/items")
		r.Attributes().PutStr("logger", "http")
		r.Attributes().PutInt("status", 200)
		r.Attributes().PutStr("caller", "server/handler.go:42")
	}
	return ld
}

func genGaugePoints(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "bench")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.active_requests")
	dps := m.SetEmptyGauge().DataPoints()
	for i := 0; i < n; i++ {
		p := dps.AppendEmpty()
		p.SetTimestamp(ts(time.Duration(i) * time.Second))
		p.SetDoubleValue(float64(i))
		p.Attributes().PutStr("http.route", "/api/items")
		p.Attributes().PutStr("http.method", "GET")
	}
	return md
}

func BenchmarkTracesToColumns(b *testing.B) {
	td := genTraces(benchRows)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if TracesToColumns(td).Len() != benchRows {
			b.Fatal("wrong row count")
		}
	}
	reportRate(b, cpu0, benchRows, "spans/s")
}

func BenchmarkLogsToColumns(b *testing.B) {
	ld := genLogs(benchRows)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if l, _ := LogsToColumns(ld); l.Len() != benchRows {
			b.Fatal("wrong row count")
		}
	}
	reportRate(b, cpu0, benchRows, "records/s")
}

func BenchmarkMetricsToColumns(b *testing.B) {
	md := genGaugePoints(benchRows)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if MetricsToColumns(md).Len() != benchRows {
			b.Fatal("wrong row count")
		}
	}
	reportRate(b, cpu0, benchRows, "points/s")
}

// BenchmarkTracesToNativeBlock adds what the driver does with the columns:
// clickhouse-go's column appends and the Native block encoding sent on the
// wire (compression and the network excluded).
func BenchmarkTracesToNativeBlock(b *testing.B) {
	td := genTraces(benchRows)
	var buf chproto.Buffer
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		block, err := nativeBlock(typesOf(traceColumnTypes), TracesToColumns(td).Columns(), true)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := block.Encode(&buf, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu0, benchRows, "spans/s")
}

func BenchmarkTracesToJSONEachRow(b *testing.B) {
	td := genTraces(benchRows)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := EncodeJSONEachRow(io.Discard, TracesToColumns(td).Columns()); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu0, benchRows, "spans/s")
}

// BenchmarkFingerprint is what the dedup window (dedup.go) adds in front of
// the queue for each request, on the same rows as the *ToColumns
// benchmarks: the fingerprint of a request of benchRows spans, log records
// or gauge points, in rows per second to set beside theirs.
func BenchmarkFingerprint(b *testing.B) {
	td, ld, md := genTraces(benchRows), genLogs(benchRows), genGaugePoints(benchRows)
	for _, c := range []struct {
		name, unit string
		fp         func() bool
	}{
		{"traces", "spans/s", func() bool { _, ok := dedup.Traces(td); return ok }},
		{"logs", "records/s", func() bool { _, ok := dedup.Logs(ld); return ok }},
		{"metrics", "points/s", func() bool { _, ok := dedup.Metrics(md); return ok }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if !c.fp() {
					b.Fatal("no fingerprint")
				}
			}
			reportRate(b, cpu0, benchRows, c.unit)
		})
	}
}
