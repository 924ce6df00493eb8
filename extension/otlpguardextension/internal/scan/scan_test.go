package scan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// defaultMaxDepth is the extension's default limit.
const defaultMaxDepth = 64

// rootFor is the scan's root for a place's signal.
func rootFor(p deepotlp.Place) Message {
	return map[string]Message{
		"traces": msgExportTraces, "metrics": msgExportMetrics,
		"logs": msgExportLogs, "profiles": msgExportProfiles,
	}[p.Signal()]
}

// scan runs the scan of the encoding on fresh scratch space.
func scan(body []byte, root Message, isJSON bool, maxDepth int) *Refusal {
	if isJSON {
		return scanJSON(body, maxDepth, make([]uint64, jsonWords(maxDepth)))
	}
	return scanProto(body, root, maxDepth, make([]frame, 0, protoFrames(maxDepth)))
}

func reasonOf(r *Refusal) Reason {
	if r == nil {
		return ""
	}
	return r.Reason
}

// TestNestingAtTheLimit: in every place a value may sit, nested either
// way, in both encodings, a value exactly max_depth deep passes and one a
// level deeper is refused, for the default limit and a small one.
func TestNestingAtTheLimit(t *testing.T) {
	for _, maxDepth := range []int{1, 5, defaultMaxDepth} {
		for _, p := range deepotlp.Places {
			for _, n := range []deepotlp.Nesting{deepotlp.KVList, deepotlp.Array} {
				for _, isJSON := range []bool{false, true} {
					name := fmt.Sprintf("max%d/%s/%s/json=%v", maxDepth, p, n, isJSON)
					t.Run(name, func(t *testing.T) {
						build := deepotlp.Proto
						if isJSON {
							build = deepotlp.JSON
						}
						if err := scan(build(p, n, maxDepth), rootFor(p), isJSON, maxDepth); err != nil {
							t.Errorf("depth %d refused: %v", maxDepth, err)
						}
						err := scan(build(p, n, maxDepth+1), rootFor(p), isJSON, maxDepth)
						if reasonOf(err) != ReasonTooDeep {
							t.Errorf("depth %d: got %v, want a %s refusal", maxDepth+1, err, ReasonTooDeep)
						}
					})
				}
			}
		}
	}
}

// TestRefusalSaysWhere: the message names the record holding the value,
// the limit and the byte.
func TestRefusalSaysWhere(t *testing.T) {
	for _, tc := range []struct {
		place deepotlp.Place
		want  string
	}{
		{deepotlp.LogBody, "a value in a LogRecord is nested deeper than 4 levels (at byte "},
		{deepotlp.SpanAttribute, "a value in a Span is nested deeper than 4 levels"},
		{deepotlp.GaugeAttribute, "a value in a NumberDataPoint is nested deeper than 4 levels"},
		{deepotlp.ProfilesDictionaryAttribute, "a value in a KeyValueAndUnit is nested deeper than 4 levels"},
	} {
		err := scan(deepotlp.Proto(tc.place, deepotlp.KVList, 1000), rootFor(tc.place), false, 4)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to contain %q", tc.place, err, tc.want)
		}
	}
}

// TestStringsAreNotMessages: bytes that would nest a million deep if read
// as messages pass when they are a string or bytes value, a span name, or
// a JSON string.
func TestStringsAreNotMessages(t *testing.T) {
	deep := deepotlp.Proto(deepotlp.LogBody, deepotlp.KVList, 10_000)
	deepJSON := deepotlp.JSON(deepotlp.LogBody, deepotlp.KVList, 10_000)

	logs := plog.NewLogs()
	lr := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(string(deep))
	lr.Attributes().PutEmptyBytes("raw").FromRaw(deep)
	lr.Attributes().PutStr("json", string(deepJSON))
	traces := ptrace.NewTraces()
	span := traces.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(string(deep))
	span.Status().SetMessage(string(deep))

	logsProto, err := (&plog.ProtoMarshaler{}).MarshalLogs(logs)
	if err != nil {
		t.Fatal(err)
	}
	logsJSON, err := (&plog.JSONMarshaler{}).MarshalLogs(logs)
	if err != nil {
		t.Fatal(err)
	}
	tracesProto, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(traces)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]*Refusal{
		"logs/proto":   scan(logsProto, msgExportLogs, false, 1),
		"logs/json":    scan(logsJSON, msgNone, true, 1),
		"traces/proto": scan(tracesProto, msgExportTraces, false, 1),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestJSONCountsWhatTheDecoderReads: key spellings the decoder accepts
// (proto names, escaped letters) count; look-alikes do not; null is an
// empty container; whitespace changes nothing.
func TestJSONCountsWhatTheDecoderReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want Reason // at max_depth 1
	}{
		{"two levels", `{"arrayValue":{"values":[{"arrayValue":{"values":[]}}]}}`, ReasonTooDeep},
		{"proto names", `{"array_value":{"values":[{"kvlist_value":{"values":[]}}]}}`, ReasonTooDeep},
		{"escaped key", `{"arrayValue":{"values":[{"arr\u0061yValue":{}}]}}`, ReasonTooDeep},
		{"escaped key, capital hex", `{"arrayValue":{"values":[{"\u006BvlistValue":{}}]}}`, ReasonTooDeep},
		{"null as the inner container", `{"arrayValue":{"values":[{"arrayValue":null}]}}`, ReasonTooDeep},
		{"whitespace", "{ \"arrayValue\" :\n\t{\"values\":[{\"kvlistValue\" : \r\n{}}]}}", ReasonTooDeep},
		{"one level", `{"arrayValue":{"values":[{"stringValue":"arrayValue"}]}}`, ""},
		{"key look-alike", `{"arrayValue":{"values":[{"arrayValues":{"arrayValue":{}}}]}}`, ReasonTooDeep},
		{"key as a value", `{"arrayValue":{"values":["kvlistValue",{"k":"kvlistValue"}]}}`, ""},
		{"quotes and backslashes in strings", `{"arrayValue":{"values":[{"stringValue":"\\\"{[{[{["}]}}`, ""},
		{"unbalanced", `{"arrayValue":{"values":[]}}}`, ReasonMalformed},
		{"unterminated string", `{"arrayValue":{"values":["x}]}}`, ReasonMalformed},
		{"left open", `{"arrayValue":{"values":[`, ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reasonOf(scan([]byte(tc.body), msgNone, true, 1)); got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

// TestJSONBracketsAreBounded: brackets no OTLP key explains (unknown
// fields the decoder skips, recursively) are bounded too.
func TestJSONBracketsAreBounded(t *testing.T) {
	const maxDepth = 2
	limit := jsonBrackets(maxDepth)
	ok := `{"x":` + strings.Repeat("[", limit-1) + strings.Repeat("]", limit-1) + `}`
	if err := scan([]byte(ok), msgNone, true, maxDepth); err != nil {
		t.Errorf("%d brackets: %v", limit, err)
	}
	deep := `{"x":` + strings.Repeat("[", limit) + strings.Repeat("]", limit) + `}`
	if got := reasonOf(scan([]byte(deep), msgNone, true, maxDepth)); got != ReasonTooDeep {
		t.Errorf("%d brackets: reason %q, want %q", limit+1, got, ReasonTooDeep)
	}
}

// TestProtoWireFormat: what the scan skips and what it refuses as
// malformed, on hand-made bytes.
func TestProtoWireFormat(t *testing.T) {
	kvlist := func(inner string) string { return "\x32" + string(rune(len(inner))) + inner } // AnyValue.kvlist_value, short
	body := func(anyValue string) []byte {
		// ExportLogsServiceRequest → ResourceLogs → ScopeLogs → LogRecord.body
		lr := "\x2a" + string(rune(len(anyValue))) + anyValue
		sl := "\x12" + string(rune(len(lr))) + lr
		rl := "\x12" + string(rune(len(sl))) + sl
		return []byte("\x0a" + string(rune(len(rl))) + rl)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want Reason // at max_depth 1
	}{
		{"empty request", nil, ""},
		{"one empty kvlist", body(kvlist("")), ""},
		{"kvlist holding an empty kvlist", body(kvlist("\x0a\x04\x12\x02" + kvlist(""))), ReasonTooDeep},
		{"unknown fields of every wire type", body("\x78\x01\x79" + strings.Repeat("\x00", 8) + "\x7d\x00\x00\x00\x00\x7a\x00"), ""},
		{"an unknown group holding a deep kvlist's bytes", body("\x7b" + "\x0a\x04\x12\x02" + kvlist("\x0a\x00") + "\x7c"), ""},
		{"nested groups", body("\x7b\x7b\x7c\x7c"), ""},
		{"unterminated group", body("\x7b\x78\x01"), ReasonMalformed},
		{"end group alone", body("\x7c"), ReasonMalformed},
		{"wire type 6", body("\x7e"), ReasonMalformed},
		{"field number 0", body("\x02\x00"), ReasonMalformed},
		{"field number 0 once cut to int32, as pdata reads it", []byte("\x82\x80\x80\x80\x80\x01\x00"), ReasonMalformed},
		// Field 2^32+1 is field 1 to pdata: ResourceLogs, holding the rest.
		{"field number aliasing resource_logs", []byte("\x8a\x80\x80\x80\x80\x01" + string(body(kvlist("\x0a\x04\x12\x02" + kvlist("")))[1:])), ReasonTooDeep},
		{"length beyond the message", []byte("\x0a\x05\x12\x09"), ReasonMalformed},
		{"truncated varint", []byte("\x08\x80"), ReasonMalformed},
		{"truncated fixed64", []byte("\x09\x00"), ReasonMalformed},
		{"varint of eleven bytes", []byte("\x08" + strings.Repeat("\xff", 10) + "\x01"), ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reasonOf(scan(tc.body, msgExportLogs, false, 1)); got != tc.want {
				t.Errorf("reason %q (%v), want %q", got, scan(tc.body, msgExportLogs, false, 1), tc.want)
			}
		})
	}
}

// TestScansAllocateNothing: the scans use only the scratch space they are
// given, whatever the request.
func TestScansAllocateNothing(t *testing.T) {
	frames := make([]frame, 0, protoFrames(defaultMaxDepth))
	bits := make([]uint64, jsonWords(defaultMaxDepth))
	bodies := [][]byte{
		deepotlp.Proto(deepotlp.GaugeAttribute, deepotlp.KVList, defaultMaxDepth),
		deepotlp.Proto(deepotlp.SpanAttribute, deepotlp.Array, 100_000),
	}
	jsonBodies := [][]byte{
		deepotlp.JSON(deepotlp.GaugeAttribute, deepotlp.KVList, defaultMaxDepth),
		deepotlp.JSON(deepotlp.SpanAttribute, deepotlp.Array, 100_000),
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, b := range bodies {
			_ = scanProto(b, msgExportMetrics, defaultMaxDepth, frames)
		}
		_ = scanJSON(jsonBodies[0], defaultMaxDepth, bits)
	})
	// A refusal allocates its message; the accepted scans must not.
	accepted := testing.AllocsPerRun(20, func() {
		_ = scanProto(bodies[0], msgExportMetrics, defaultMaxDepth, frames)
		_ = scanJSON(jsonBodies[0], defaultMaxDepth, bits)
	})
	if accepted != 0 {
		t.Errorf("accepted scans allocate %v times", accepted)
	}
	if allocs > 8 {
		t.Errorf("a refused scan allocates %v times", allocs)
	}
}

// decoded is a request decoded by pdata, with its canonical encodings.
type decoded struct {
	proto func() ([]byte, error)
	json  func() ([]byte, error)
}

// decodeWithPdata decodes a request as the otlp receiver would. The
// *Data messages pdata's plog, ptrace, pmetric and pprofile read are the
// export requests' wire twins (same fields, same numbers).
func decodeWithPdata(body []byte, root Message, isJSON bool) (decoded, bool) {
	var (
		d   decoded
		err error
	)
	switch root {
	case msgExportTraces:
		var v ptrace.Traces
		if isJSON {
			v, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
		} else {
			v, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
		}
		d = decoded{func() ([]byte, error) { return (&ptrace.ProtoMarshaler{}).MarshalTraces(v) }, func() ([]byte, error) { return (&ptrace.JSONMarshaler{}).MarshalTraces(v) }}
	case msgExportMetrics:
		var v pmetric.Metrics
		if isJSON {
			v, err = (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(body)
		} else {
			v, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(body)
		}
		d = decoded{func() ([]byte, error) { return (&pmetric.ProtoMarshaler{}).MarshalMetrics(v) }, func() ([]byte, error) { return (&pmetric.JSONMarshaler{}).MarshalMetrics(v) }}
	case msgExportLogs:
		var v plog.Logs
		if isJSON {
			v, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(body)
		} else {
			v, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(body)
		}
		d = decoded{func() ([]byte, error) { return (&plog.ProtoMarshaler{}).MarshalLogs(v) }, func() ([]byte, error) { return (&plog.JSONMarshaler{}).MarshalLogs(v) }}
	case msgExportProfiles:
		var v pprofile.Profiles
		if isJSON {
			v, err = (&pprofile.JSONUnmarshaler{}).UnmarshalProfiles(body)
		} else {
			v, err = (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles(body)
		}
		d = decoded{func() ([]byte, error) { return (&pprofile.ProtoMarshaler{}).MarshalProfiles(v) }, func() ([]byte, error) { return (&pprofile.JSONMarshaler{}).MarshalProfiles(v) }}
	}
	return d, err == nil
}

// pdataDepth decodes a request with pdata and returns how deep its values
// nest, measured independently of the scan: pdata's canonical JSON,
// walked by encoding/json. ok is false when pdata refuses the request.
func pdataDepth(body []byte, root Message, isJSON bool) (depth int, ok bool) {
	r, ok := decodeWithPdata(body, root, isJSON)
	if !ok {
		return 0, false
	}
	canonical, err := r.json()
	if err != nil {
		return 0, false
	}
	var tree any
	if err := json.Unmarshal(canonical, &tree); err != nil {
		panic(fmt.Sprintf("pdata wrote JSON encoding/json cannot read: %v", err))
	}
	return valueDepth(tree), true
}

// reencode returns pdata's canonical encoding of a request it decodes.
func reencode(t *testing.T, body []byte, root Message, isJSON bool) []byte {
	t.Helper()
	r, ok := decodeWithPdata(body, root, isJSON)
	if !ok {
		t.Fatalf("pdata no longer decodes %q", body)
	}
	encode := r.proto
	if isJSON {
		encode = r.json
	}
	out, err := encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// valueDepth is the deepest chain of arrayValue/kvlistValue objects in a
// decoded OTLP/JSON tree.
func valueDepth(v any) int {
	deepest := 0
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			d := valueDepth(child)
			if k == "arrayValue" || k == "kvlistValue" {
				d++
			}
			deepest = max(deepest, d)
		}
	case []any:
		for _, child := range v {
			deepest = max(deepest, valueDepth(child))
		}
	}
	return deepest
}

// TestDifferentialSeeds runs the fuzz property on the seeds, so plain
// `go test` checks it too.
func TestDifferentialSeeds(t *testing.T) {
	for _, seed := range protoSeeds() {
		checkProtoAgainstPdata(t, seed.body, seed.root)
	}
	for _, seed := range jsonSeeds() {
		checkJSONAgainstPdata(t, seed.body, seed.root)
	}
}
