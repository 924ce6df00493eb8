package sentryexporter

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkEventsPerCore measures the exporter's hot path on one goroutine:
// pdata to Sentry events (including stack parsing of a Go panic or a zap
// stacktrace) and envelope encoding, without the network. It reports
// events/s of wall time and events/cpu_s: events per second of the
// process's CPU time (user+system, garbage collection included), which is
// the per-core figure even on a machine shared with other work.
//
//	go test -run '^$' -bench EventsPerCore -benchtime 3s -cpu 1 ./exporter/sentryexporter/
func BenchmarkEventsPerCore(b *testing.B) {
	const batch = 100
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	newResource(rs.Resource().Attributes(), "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < batch; i++ {
		s := errorSpan(spans, "GET /checkout/{id}", "runtime.Error", "index out of range", panicText)
		s.SetSpanID(pcommon.SpanID{byte(i), 1, 2, 3, 4, 5, 6, 7})
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	newResource(rl.Resource().Attributes(), "payments")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < batch; i++ {
		lr := records.AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime.Add(time.Duration(i))))
		lr.Body().SetStr("charge failed")
		lr.Attributes().PutStr("exception.stacktrace", zapText)
		lr.Attributes().PutStr("error", "card declined")
	}
	s := testSettings()
	for _, bc := range []struct {
		name    string
		convert func() []ServiceEvent
	}{
		{"spans_go_panic", func() []ServiceEvent { return TracesToEvents(td, s) }},
		{"logs_zap_stack", func() []ServiceEvent { return LogsToEvents(ld, s) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			events := 0
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, se := range bc.convert() {
					buf.Reset()
					if err := EncodeEnvelope(&buf, se.Event, "https://k@h/1", testTime); err != nil {
						b.Fatal(err)
					}
					events++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(events)/(cpuTime(b)-cpu0).Seconds(), "events/cpu_s")
			b.ReportMetric(float64(buf.Len()), "envelope_bytes")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
