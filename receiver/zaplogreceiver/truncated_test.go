package zaplogreceiver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestParseTruncatedJSON checks what is kept of a zap JSON line cut at
// max_log_size: every top-level pair whose value ended before the cut,
// read as in a whole line, and nothing of a value the cut shortened.
func TestParseTruncatedJSON(t *testing.T) {
	const head = `{"level":"error","ts":1795292399.5,"caller":"svc/main.go:140","msg":"query failed",` +
		`"service.name":"orders","trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef",`
	for _, tc := range []struct {
		name string
		cut  string
		// body "" means the cut text followed by the marker.
		body    string
		service string
		attrs   map[string]any
	}{
		{"cut in a field's string", head + `"n":7,"error":"pq: syntax error in zzzz`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140), "n": int64(7),
			AttrTruncatedText: `"error":"pq: syntax error in zzzz` + TruncationMarker,
		}},
		{"cut in a number", head + `"n":12`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140),
			AttrTruncatedText: `"n":12` + TruncationMarker,
		}},
		{"cut after a whole string", head + `"a":"x"`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140), "a": "x",
			AttrTruncatedText: TruncationMarker,
		}},
		{"cut in a key", head + `"err`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140),
			AttrTruncatedText: `"err` + TruncationMarker,
		}},
		{"cut in a nested object", head + `"obj":{"a":1,"b":[1,2`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140),
			AttrTruncatedText: `"obj":{"a":1,"b":[1,2` + TruncationMarker,
		}},
		{"cut in an escape", head + `"e":"a\u00`, "query failed", "orders", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140),
			AttrTruncatedText: `"e":"a\u00` + TruncationMarker,
		}},
		{"cut in the message", `{"level":"error","ts":1795292399.5,"caller":"svc/main.go:140","msg":"query failed zzz`, "", "", map[string]any{
			AttrCodeFilepath: "svc/main.go", AttrCodeLineno: int64(140),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			res := mustParser(t, nil).ParseTruncated([]byte(tc.cut), lr)
			require.NoError(t, res.Err)
			assert.Equal(t, tc.service, res.ServiceName)
			assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
			assert.Equal(t, "error", lr.SeverityText())
			assert.Equal(t, pcommon.Timestamp(1795292399500000000), lr.Timestamp())
			want := tc.body
			if want == "" {
				want = tc.cut + TruncationMarker
			}
			assert.Equal(t, want, lr.Body().Str())
			attrs := map[string]any{AttrTruncated: true}
			for k, v := range tc.attrs {
				attrs[k] = v
			}
			assert.Equal(t, attrs, lr.Attributes().AsRaw())
			if tc.service != "" {
				assert.Equal(t, "0123456789abcdef0123456789abcdef", lr.TraceID().String())
				assert.Equal(t, "0123456789abcdef", lr.SpanID().String())
			}
		})
	}
}

// TestParseTruncatedUnreadable checks cut lines that hold no complete zap
// record stay as they were read, cut and marked.
func TestParseTruncatedUnreadable(t *testing.T) {
	for _, tc := range []struct{ name, format, cut string }{
		{"no complete pair", FormatAuto, `{"msg":"zzzz`},
		{"no zap field complete", FormatAuto, `{"a":1,"b":"zzz`},
		{"not json", FormatAuto, "plain text zzzz"},
		{"invalid json before the cut", FormatAuto, `{"level":"info" "msg":"x","a":"zzz`},
		{"console format", FormatConsole, `{"level":"info","msg":"x","a":"zzz`},
		{"invalid utf-8", FormatAuto, "{\"level\":\"info\",\"msg\":\"\xff\",\"a\":\"zzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			res := mustParser(t, func(c *ParserConfig) { c.Format = tc.format }).ParseTruncated([]byte(tc.cut), lr)
			require.NoError(t, res.Err)
			assert.Empty(t, res.ServiceName)
			want := []byte(tc.cut + TruncationMarker)
			if lr.Body().Type() == pcommon.ValueTypeBytes {
				assert.Equal(t, want, lr.Body().Bytes().AsRaw())
			} else {
				assert.Equal(t, string(want), lr.Body().Str())
			}
			assert.Equal(t, map[string]any{AttrTruncated: true}, lr.Attributes().AsRaw())
			assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
		})
	}
}

// TestFileLongZapLine reads, through the file input and the default
// max_log_size (1 MiB), the lines of the user trial: a 1.1 MB error line
// keeps its level, service and message, a 2 MB line cut inside its message
// keeps its level, time and caller; both are counted as truncated.
func TestFileLongZapLine(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(dir)
	cfg.ServiceName = "" // the service must come from the line
	longError := `{"level":"error","ts":1796649575.023269,"caller":"svc/main.go:140","msg":"query failed malH","service.name":"orders","error":"pq: syntax error in ` +
		strings.Repeat("z", 1100*1000) + `"}`
	longMsg := `{"level":"info","ts":1796649556.219841,"caller":"svc/main.go:12","msg":"huge malE ` + strings.Repeat("y", 2<<20) + `","service.name":"orders"}`
	after := `{"level":"info","msg":"after huge malF","service.name":"orders"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.log"), []byte(longError+"\n"+longMsg+"\n"+after+"\n"), 0o600))
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 3 }, 20*time.Second, 10*time.Millisecond)
	time.Sleep(5 * cfg.PollInterval)

	var recs []plog.LogRecord
	var services []string // of each record
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			svc := ""
			if v, ok := rl.Resource().Attributes().Get(AttrServiceName); ok {
				svc = v.Str()
			}
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				services = append(services, svc)
				recs = append(recs, lrs.At(k))
			}
		}
	}
	require.Len(t, recs, 3)
	// Records are grouped by service: put them back in file order.
	order := func(lr plog.LogRecord) int {
		switch b := lr.Body().Str(); {
		case strings.HasPrefix(b, "query failed"):
			return 0
		case strings.HasPrefix(b, "after"):
			return 2
		}
		return 1
	}
	byOrder := make([]plog.LogRecord, 3)
	svcs := make([]string, 3)
	for i, lr := range recs {
		byOrder[order(lr)], svcs[order(lr)] = lr, services[i]
	}
	recs, services = byOrder, svcs

	e := recs[0]
	assert.Equal(t, "query failed malH", e.Body().Str())
	assert.Equal(t, plog.SeverityNumberError, e.SeverityNumber())
	assert.Equal(t, "orders", services[0])
	tr, _ := e.Attributes().Get(AttrTruncated)
	assert.True(t, tr.Bool())
	text, _ := e.Attributes().Get(AttrTruncatedText)
	assert.True(t, strings.HasPrefix(text.Str(), `"error":"pq: syntax error in zzz`), text.Str()[:40])
	assert.True(t, strings.HasSuffix(text.Str(), "zzz"+TruncationMarker))
	_, hasError := e.Attributes().Get("error")
	assert.False(t, hasError, "a value the cut shortened is not a field")

	m := recs[1]
	assert.Equal(t, plog.SeverityNumberInfo, m.SeverityNumber())
	assert.Equal(t, pcommon.Timestamp(1796649556219841000), m.Timestamp())
	fp, _ := m.Attributes().Get(AttrCodeFilepath)
	assert.Equal(t, "svc/main.go", fp.Str())
	assert.Equal(t, longMsg[:1<<20]+TruncationMarker, m.Body().Str())
	assert.Empty(t, services[1], "service.name came after the cut")

	assert.Equal(t, "after huge malF", recs[2].Body().Str())
	assert.Equal(t, map[string]int64{inputFile: 2}, r.counter(t, metricLinesTruncated))
	assert.Equal(t, map[string]int64{inputFile: 3}, r.counter(t, metricLinesReceived))
	assert.Empty(t, r.counter(t, metricParseErrors))
}
