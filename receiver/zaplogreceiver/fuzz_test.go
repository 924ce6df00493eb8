package zaplogreceiver

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FuzzParse feeds arbitrary bytes through the record splitter and the
// parser in every format. Properties: no panic; every non-blank token
// becomes a record; a record that failed to parse holds the token exactly
// (string, or bytes when not UTF-8) with the reason attached. The corpus
// found while fuzzing is kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, l := range productionLines(f, 3) {
		f.Add(l)
	}
	for _, seed := range []string{
		`{"level":"info","ts":1795292399.1234567,"msg":"x","n":1,"f":1.5e3,"a":[1,{"b":null}],"o":{"k":true}}`,
		`{"L":"INFO","T":"2026-11-21T20:12:39.123Z","M":"dev","C":"x.go:1","S":"stack"}`,
		"2026-11-21T20:12:39.123Z\tERROR\tapi\tmain.go:10\tboom\t{\"k\": 1}\nmain.main\n\t/src/main.go:10",
		"1.7952923991234567e+09\tinfo\tmsg",
		`{"msg":"\ud83d\ude00 \u0041\n"}`,
		"\x00\xff\xfe garbage",
		`{"level":"info","msg":"unterminated`,
		"\t\t\t",
		// Nesting far beyond maxNestingDepth, as an attacker would send it
		// to the tcp or http input: kept raw with the reason, never a crash.
		`{"level":"info","msg":"deep","x":` + strings.Repeat(`[`, 1000) + strings.Repeat(`]`, 1000) + `}`,
		`{"level":"info","msg":"deep","x":` + strings.Repeat(`{"k":`, 1000) + `1` + strings.Repeat(`}`, 1000) + `}`,
		"2026-11-21T20:12:39.123Z\tINFO\tdeep\t" + strings.Repeat(`{"k":`, 1000) + `1` + strings.Repeat(`}`, 1000),
		// Go crash reports among zap lines.
		`{"level":"info","msg":"x"}` + "\npanic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.f(...)\n\t/src/main.go:14\nmain.main()\n\t/src/main.go:27 +0x41d\nexit status 2\n",
		"runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x1?})\n\t/go/src/runtime/panic.go:1 +0x48\n",
		"SIGQUIT: quit\nPC=0x40866e m=0 sigcode=0\n\ngoroutine 0 [idle]:\nrax    0x0\n",
		"panic: main.Name(\"x\") [recovered]\n\tpanic: (*main.T) 0xc000012345\n[signal SIGSEGV: x]\n",
	} {
		f.Add([]byte(seed))
	}
	parsers := make([]*Parser, 0, 3)
	for _, format := range []string{FormatAuto, FormatJSON, FormatConsole} {
		parsers = append(parsers, mustParser(f, func(c *ParserConfig) { c.Format = format }))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range parsers {
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 0, 4096), 1<<20)
			sc.Split(splitRecords(p.format, true))
			for sc.Scan() {
				tok := sc.Bytes()
				if len(bytes.TrimSpace(tok)) == 0 {
					continue
				}
				// The same token cut short, as at max_log_size: read
				// without a panic, always marked.
				cut := tok[:len(tok)/2]
				for len(cut) > 0 && !utf8.RuneStart(tok[len(cut)]) {
					cut = cut[:len(cut)-1]
				}
				tlr := plog.NewLogRecord()
				p.ParseTruncated(cut, tlr)
				if v, ok := tlr.Attributes().Get(AttrTruncated); !ok || !v.Bool() {
					t.Fatalf("format %s: cut token not marked: %v", p.format, tlr.Attributes().AsRaw())
				}

				lr := plog.NewLogRecord()
				res := p.Parse(tok, lr)
				if res.Err == nil {
					continue
				}
				msg, ok := lr.Attributes().Get(AttrParseError)
				if !ok || msg.Str() != res.Err.Error() {
					t.Fatalf("format %s: parse error %v not recorded: %v", p.format, res.Err, lr.Attributes().AsRaw())
				}
				body := lr.Body()
				switch {
				case utf8.Valid(tok) && (body.Type() != pcommon.ValueTypeStr || body.Str() != string(tok)):
					t.Fatalf("format %s: body %q, want %q", p.format, body.AsString(), tok)
				case !utf8.Valid(tok) && (body.Type() != pcommon.ValueTypeBytes || !bytes.Equal(body.Bytes().AsRaw(), tok)):
					t.Fatalf("format %s: body %v, want bytes %q", p.format, body.AsRaw(), tok)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("split: %v", err)
			}
		}
	})
}
