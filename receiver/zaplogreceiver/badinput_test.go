package zaplogreceiver

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestParseBadInput checks that a line that is not a zap record is kept
// whole as the body, with the reason, and nothing else.
func TestParseBadInput(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxNestingDepth+2) + "1" + strings.Repeat("}", maxNestingDepth+2)
	for _, tc := range []struct {
		name   string
		format string
		line   string
		reason string // substring of zaplog.parse_error
	}{
		{"truncated JSON", FormatAuto, `{"level":"info","msg":"hel`, "unexpected end"},
		{"missing colon", FormatAuto, `{"level" "info"}`, `expected ':'`},
		{"bad literal", FormatAuto, `{"level":"info","ok":tru}`, "invalid literal"},
		{"bad escape", FormatAuto, `{"level":"info","msg":"\q"}`, "invalid escape"},
		{"bad unicode escape", FormatAuto, `{"level":"info","msg":"\u12G4"}`, `invalid \u escape`},
		{"trailing data", FormatAuto, `{"level":"info","msg":"x"} {"level":"info"}`, "data after the closing brace"},
		{"not a zap record", FormatAuto, `{"hello":"world","n":1}`, "no level or message field"},
		{"empty object", FormatAuto, `{}`, "no level or message field"},
		{"array", FormatJSON, `[1,2,3]`, "not a JSON object"},
		{"plain text as json", FormatJSON, `hello world`, "not a JSON object"},
		{"plain text auto", FormatAuto, `listening on :8080`, "neither JSON nor a console line"},
		{"console without level", FormatAuto, "2026-01-01T00:00:00Z\tnotalevel\tmsg", "neither JSON nor a console line"},
		{"json-looking console", FormatConsole, `{"level":"info","msg":"x"}`, "neither JSON nor a console line"},
		{"too deep", FormatAuto, `{"level":"info","x":` + deep + `}`, "nested deeper"},
		{"bad number", FormatAuto, `{"level":"info","n":1.}`, "expected digit after decimal point"},
		{"bad exponent", FormatAuto, `{"level":"info","n":1e}`, "expected digit in exponent"},
		{"invalid utf8", FormatAuto, "{\"level\":\"info\",\"msg\":\"\xff\xfe\"}", "not valid UTF-8"},
		{"binary garbage", FormatAuto, "\x00\x01\x02\xc3\x28\x9f", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, func(c *ParserConfig) { c.Format = tc.format })
			lr := plog.NewLogRecord()
			res := p.Parse([]byte(tc.line), lr)
			require.Error(t, res.Err)
			assert.Contains(t, res.Err.Error(), tc.reason)
			assert.Empty(t, res.ServiceName)
			if lr.Body().Type() == pcommon.ValueTypeBytes {
				assert.Equal(t, []byte(tc.line), lr.Body().Bytes().AsRaw())
			} else {
				assert.Equal(t, tc.line, lr.Body().Str())
			}
			assert.Equal(t, map[string]any{AttrParseError: res.Err.Error()}, lr.Attributes().AsRaw())
			assert.Zero(t, lr.Timestamp())
			assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
			assert.Empty(t, lr.SeverityText())
			assert.True(t, lr.TraceID().IsEmpty())
			assert.True(t, lr.SpanID().IsEmpty())
		})
	}
}

// TestParseOddButValid checks values of zap keys that are not in the form
// zap writes: they stay attributes rather than being dropped.
func TestParseOddButValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  string
		check func(t *testing.T, lr plog.LogRecord)
	}{
		{"numeric message and unknown level", `{"level":"trace","msg":42}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "trace", lr.SeverityText())
			assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
			assert.Equal(t, map[string]any{"msg": int64(42)}, lr.Attributes().AsRaw())
		}},
		{"bad trace id kept", `{"level":"info","trace_id":"xyz","span_id":"00f067aa0ba902b7"}`, func(t *testing.T, lr plog.LogRecord) {
			assert.True(t, lr.TraceID().IsEmpty())
			assert.Equal(t, pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, lr.SpanID())
			assert.Equal(t, map[string]any{"trace_id": "xyz"}, lr.Attributes().AsRaw())
		}},
		{"unreadable time kept", `{"level":"info","ts":"yesterday"}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Zero(t, lr.Timestamp())
			assert.Equal(t, map[string]any{"ts": "yesterday"}, lr.Attributes().AsRaw())
		}},
		{"duplicate zap key from a field", `{"level":"info","msg":"real","msg":"field"}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "real", lr.Body().Str())
			assert.Equal(t, map[string]any{"msg": "field"}, lr.Attributes().AsRaw())
		}},
		{"surrogate pair and lone surrogate", `{"msg":"\ud83d\ude00 \ud800x"}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "😀 \ufffdx", lr.Body().Str())
		}},
		{"otel spellings and trace flags", `{"level":"info","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"00f067aa0ba902b7","trace_flags":1}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
			assert.Equal(t, "00f067aa0ba902b7", lr.SpanID().String())
			assert.Equal(t, plog.LogRecordFlags(1), lr.Flags())
			assert.Empty(t, lr.Attributes().AsRaw())
		}},
		{"epoch in the 1970s stays seconds", `{"level":"info","ts":12.5}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, pcommon.Timestamp(12_500_000_000), lr.Timestamp())
		}},
		{"epoch microseconds", `{"level":"info","ts":1795292399123456}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, pcommon.Timestamp(1795292399123456000), lr.Timestamp())
		}},
		{"caller without line", `{"level":"info","caller":"main"}`, func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, map[string]any{AttrCodeFilepath: "main"}, lr.Attributes().AsRaw())
		}},
		{"spaces everywhere", " { \"level\" : \"INFO\" , \"msg\" : \"x\" } ", func(t *testing.T, lr plog.LogRecord) {
			assert.Equal(t, "x", lr.Body().Str())
			assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			res := mustParser(t, nil).Parse([]byte(tc.line), lr)
			require.NoError(t, res.Err)
			tc.check(t, lr)
		})
	}
}

// TestSplitRecords checks how inputs cut a stream into records: JSON per
// line, console records with their continuation lines, CRLF, and a last
// line without its newline (held back until EOF).
func TestSplitRecords(t *testing.T) {
	console := "2026-01-01T00:00:00.000Z\tERROR\tmain.go:10\tboom\nmain.main\n\t/src/main.go:10\n"
	for _, tc := range []struct {
		name   string
		format string
		input  string
		want   []string
	}{
		{"json lines", FormatAuto, "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"crlf", FormatAuto, "{\"a\":1}\r\n{\"b\":2}\r\n", []string{`{"a":1}`, `{"b":2}`}},
		{"no final newline", FormatAuto, "{\"a\":1}\n{\"b\":2}", []string{`{"a":1}`, `{"b":2}`}},
		{"blank lines", FormatAuto, "\n{\"a\":1}\n\n", []string{"", `{"a":1}`, ""}},
		{"console with stack", FormatAuto, console + console, []string{strings.TrimSuffix(console, "\n"), strings.TrimSuffix(console, "\n")}},
		{"console then json", FormatAuto, console + "{\"a\":1}\n", []string{strings.TrimSuffix(console, "\n"), `{"a":1}`}},
		{"stack at eof without newline", FormatAuto, strings.TrimSuffix(console, "\n"), []string{strings.TrimSuffix(console, "\n")}},
		{"json format never joins", FormatJSON, "x\tINFO\tm\n\tcontinued\n", []string{"x\tINFO\tm", "\tcontinued"}},
		{"plain text not joined", FormatAuto, "hello\nworld\n", []string{"hello", "world"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := bufio.NewScanner(bytes.NewReader([]byte(tc.input)))
			sc.Split(splitRecords(tc.format, true))
			var got []string
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			require.NoError(t, sc.Err())
			assert.Equal(t, tc.want, got)
		})
	}

	// A console record is held until the next record or EOF decides
	// whether more stack trace lines follow.
	split := splitRecords(FormatAuto, true)
	adv, tok, err := split([]byte("ts\tINFO\tmsg\n"), false)
	require.NoError(t, err)
	assert.Zero(t, adv)
	assert.Nil(t, tok)
	adv, tok, err = split([]byte("ts\tINFO\tmsg\n"), true)
	require.NoError(t, err)
	assert.Equal(t, 12, adv)
	assert.Equal(t, "ts\tINFO\tmsg", string(tok))
}
