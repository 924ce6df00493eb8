package lokiexporter

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchLogs is a realistic batch: 4 services, records with a ~120-byte
// message, trace context and five attributes, severities mixed.
func benchLogs(records int) plog.Logs {
	ld := plog.NewLogs()
	sevs := []plog.SeverityNumber{plog.SeverityNumberInfo, plog.SeverityNumberInfo, plog.SeverityNumberDebug, plog.SeverityNumberWarn, plog.SeverityNumberError}
	const services = 4
	for s := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		ra := rl.Resource().Attributes()
		ra.PutStr("service.name", fmt.Sprintf("service-%d", s))
		ra.PutStr("service.namespace", "shop")
		ra.PutStr("deployment.environment.name", "prod")
		ra.PutStr("service.instance.id", fmt.Sprintf("pod-%d-7f9c6d", s))
		ra.PutStr("host.name", "node-1")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range records / services {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Millisecond)))
			lr.SetSeverityNumber(sevs[i%len(sevs)])
			lr.Body().SetStr(fmt.Sprintf("handled request %d: GET /api/v1/orders/%d returned 200 in 12.5ms for customer c-%d via gateway eu-west-1", i, i*7, i%1000))
			lr.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(s)})
			lr.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 3, 4, 5, 6, 7, 8})
			a := lr.Attributes()
			a.PutStr("http.method", "GET")
			a.PutStr("http.route", "/api/v1/orders/{id}")
			a.PutInt("http.status_code", 200)
			a.PutDouble("duration_ms", 12.5)
			a.PutStr("user.id", fmt.Sprintf("u-%d", i%5000))
		}
	}
	return ld
}

// BenchmarkPush measures what one push costs the collector per entry:
// conversion to streams (labels, metadata, line, per-stream sort), protobuf
// marshalling and snappy compression, single-threaded, so entries/s is the
// rate one core sustains. Run:
//
//	go test -run '^$' -bench BenchmarkPush -benchmem ./exporter/lokiexporter/
func BenchmarkPush(b *testing.B) {
	const records = 10_000
	for _, format := range []LineFormat{LineFormatBody, LineFormatJSON, LineFormatLogfmt} {
		b.Run(string(format), func(b *testing.B) {
			c := mustConverter(b, func(c *Config) { c.LineFormat = format })
			ld := benchLogs(records)
			var pool sync.Pool
			var raw, compressed int
			b.ReportAllocs()
			for b.Loop() {
				batch := c.convert(ld)
				out, err := encodePushRequest(&batch.req, &pool)
				if err != nil {
					b.Fatal(err)
				}
				raw, compressed = batch.req.Size(), len(out)
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(compressed)/float64(records), "wire-bytes/entry")
			b.ReportMetric(float64(raw)/float64(compressed), "snappy-ratio")
		})
	}
}
