package zaplogreceiver

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// productionLines writes n typical request-log lines (about 200 bytes)
// through zap's production encoder config.
func productionLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zapcore.InfoLevel), zap.AddCaller()).Named("api")
	for i := range n {
		logger.Info("request completed",
			zap.String("method", "GET"),
			zap.String("path", "/api/v1/orders"),
			zap.Int("status", 200+i%5),
			zap.Duration("duration", time.Duration(i)*time.Microsecond),
			zap.String("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
		)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(tb, lines, n)
	return lines
}

// BenchmarkParseProductionLine measures parse plus conversion into pdata
// of one production line, appending records to a LogRecordSlice the way a
// batch does.
func BenchmarkParseProductionLine(b *testing.B) {
	lines := productionLines(b, 1024)
	p := mustParser(b, nil)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	records := plog.NewLogRecordSlice()
	records.EnsureCapacity(len(lines))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		k := i % len(lines)
		if k == 0 {
			records = plog.NewLogRecordSlice()
			records.EnsureCapacity(len(lines))
		}
		if res := p.Parse(lines[k], records.AppendEmpty()); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.StopTimer()
	reportLineRate(b, b.N, cpuTime()-cpu0)
}

// reportLineRate reports wall-clock and per-CPU-second line rates. The
// build machines are shared, so wall time overstates the cost of a line;
// the process's CPU time (all threads, GC included) per line is what one
// core's worth of work buys.
func reportLineRate(b *testing.B, lines int, cpu time.Duration) {
	perLine := float64(b.Elapsed().Nanoseconds()) / float64(lines)
	b.ReportMetric(perLine, "ns/line")
	b.ReportMetric(1e9/perLine, "lines/s")
	if cpu > 0 {
		b.ReportMetric(float64(lines)/cpu.Seconds(), "lines/cpu-s")
	}
}

// cpuTime is the user plus system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
