// Package deepotlp builds OTLP export requests whose AnyValue nests to any
// depth, in protobuf and in JSON, for the tests and fuzz seeds of the
// nesting guard (extension/otlpguardextension) and the whole-binary
// reliability tests (rawotlp sends them).
//
// The requests are written byte by byte, not through pdata: pdata's
// marshalers recurse once per level, which is the very thing under test, so
// they cannot build a request a million levels deep.
package deepotlp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Place says where in a request the nested value sits.
type Place int

const (
	// LogBody is the body of a log record (an ExportLogsServiceRequest).
	LogBody Place = iota
	// LogAttribute is an attribute of a log record.
	LogAttribute
	// SpanAttribute is an attribute of a span (an ExportTraceServiceRequest).
	SpanAttribute
	// GaugeAttribute is an attribute of a gauge's data point (an
	// ExportMetricsServiceRequest).
	GaugeAttribute
	// ProfilesDictionaryAttribute is an entry of the profiles dictionary's
	// attribute table (an ExportProfilesServiceRequest).
	ProfilesDictionaryAttribute
)

// Places lists every Place, for table tests.
var Places = []Place{LogBody, LogAttribute, SpanAttribute, GaugeAttribute, ProfilesDictionaryAttribute}

func (p Place) String() string {
	switch p {
	case LogBody:
		return "log body"
	case LogAttribute:
		return "log attribute"
	case SpanAttribute:
		return "span attribute"
	case GaugeAttribute:
		return "gauge attribute"
	case ProfilesDictionaryAttribute:
		return "profiles dictionary attribute"
	}
	return fmt.Sprintf("Place(%d)", int(p))
}

// Signal is the OTLP signal of requests carrying the place: "logs",
// "traces", "metrics" or "profiles".
func (p Place) Signal() string {
	switch p {
	case LogBody, LogAttribute:
		return "logs"
	case SpanAttribute:
		return "traces"
	case GaugeAttribute:
		return "metrics"
	}
	return "profiles"
}

// HTTPPath is the OTLP/HTTP receiver's default path for the place's signal.
func (p Place) HTTPPath() string {
	if p == ProfilesDictionaryAttribute {
		return "/v1development/profiles"
	}
	return "/v1/" + p.Signal()
}

// Nesting says how the value nests.
type Nesting int

const (
	// KVList nests key-value lists: {"k": {"k": ... "x"}}.
	KVList Nesting = iota
	// Array nests arrays: [[[... "x"]]].
	Array
)

func (n Nesting) String() string {
	if n == Array {
		return "array"
	}
	return "kvlist"
}

// step is one length-delimited field that holds the next step: pre (other
// fields of the same message, written first), then the field's tag, the
// varint length of what follows, and the rest.
type step struct {
	pre string
	tag byte
}

// Protobuf tags (field number << 3 | wire type 2) of the messages used.
const (
	tagField1 = 1<<3 | 2
	tagField2 = 2<<3 | 2
	tagField5 = 5<<3 | 2
	tagField6 = 6<<3 | 2
	tagField7 = 7<<3 | 2
	tagField9 = 9<<3 | 2
)

// keyK is KeyValue.key = "k".
const keyK = "\x0a\x01k"

// envelope returns the steps from the request down to the first AnyValue.
func envelope(p Place) []step {
	switch p {
	case LogBody, LogAttribute:
		s := []step{
			{tag: tagField1}, // ExportLogsServiceRequest.resource_logs
			{tag: tagField2}, // ResourceLogs.scope_logs
			{tag: tagField2}, // ScopeLogs.log_records
		}
		if p == LogBody {
			return append(s, step{tag: tagField5}) // LogRecord.body
		}
		return append(s, step{tag: tagField6}, step{pre: keyK, tag: tagField2}) // LogRecord.attributes, KeyValue.value
	case SpanAttribute:
		traceID := "\x0a\x10" + string(bytes.Repeat([]byte{1}, 16)) // Span.trace_id
		spanID := "\x12\x08" + string(bytes.Repeat([]byte{2}, 8))   // Span.span_id
		name := "\x2a\x04deep"                                      // Span.name
		return []step{
			{tag: tagField1}, // ExportTraceServiceRequest.resource_spans
			{tag: tagField2}, // ResourceSpans.scope_spans
			{tag: tagField2}, // ScopeSpans.spans
			{pre: traceID + spanID + name, tag: tagField9}, // Span.attributes
			{pre: keyK, tag: tagField2},                    // KeyValue.value
		}
	case GaugeAttribute:
		var point [18]byte
		point[0] = 3<<3 | 1 // NumberDataPoint.time_unix_nano (fixed64)
		binary.LittleEndian.PutUint64(point[1:], 1)
		point[9] = 4<<3 | 1                                           // NumberDataPoint.as_double
		binary.LittleEndian.PutUint64(point[10:], 0x3ff0000000000000) // 1.0
		return []step{
			{tag: tagField1},                        // ExportMetricsServiceRequest.resource_metrics
			{tag: tagField2},                        // ResourceMetrics.scope_metrics
			{tag: tagField2},                        // ScopeMetrics.metrics
			{pre: "\x0a\x04deep", tag: tagField5},   // Metric.name, Metric.gauge
			{tag: tagField1},                        // Gauge.data_points
			{pre: string(point[:]), tag: tagField7}, // NumberDataPoint.attributes
			{pre: keyK, tag: tagField2},             // KeyValue.value
		}
	case ProfilesDictionaryAttribute:
		return []step{
			{tag: tagField2}, // ExportProfilesServiceRequest.dictionary
			{tag: tagField6}, // ProfilesDictionary.attribute_table
			{tag: tagField2}, // KeyValueAndUnit.value
		}
	}
	panic(fmt.Sprintf("deepotlp: unknown place %d", p))
}

// level returns the steps of one level of nesting, from an AnyValue to the
// next.
func level(n Nesting) []step {
	if n == Array {
		return []step{
			{tag: tagField5}, // AnyValue.array_value
			{tag: tagField1}, // ArrayValue.values
		}
	}
	return []step{
		{tag: tagField6},            // AnyValue.kvlist_value
		{tag: tagField1},            // KeyValueList.values
		{pre: keyK, tag: tagField2}, // KeyValue.value
	}
}

// leaf is the innermost AnyValue: string_value "x".
const leaf = "\x0a\x01x"

// Proto returns an OTLP protobuf export request holding, at place p, a
// value nested depth levels deep (depth 0 is the string "x"; depth 1 is
// {"k": "x"} or ["x"]).
func Proto(p Place, n Nesting, depth int) []byte {
	env, lvl := envelope(p), level(n)
	count := len(env) + depth*len(lvl)
	at := func(i int) step {
		if i < len(env) {
			return env[i]
		}
		return lvl[(i-len(env))%len(lvl)]
	}
	// Lengths from the inside out, then the bytes from the outside in: one
	// pass each, so a million levels take milliseconds.
	size := make([]int, count+1)
	size[count] = len(leaf)
	for i := count - 1; i >= 0; i-- {
		s := at(i)
		size[i] = len(s.pre) + 1 + varintLen(uint64(size[i+1])) + size[i+1]
	}
	out := make([]byte, 0, size[0])
	for i := 0; i < count; i++ {
		s := at(i)
		out = append(out, s.pre...)
		out = append(out, s.tag)
		out = binary.AppendUvarint(out, uint64(size[i+1]))
	}
	return append(out, leaf...)
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// JSON returns the OTLP/JSON form of Proto(p, n, depth).
func JSON(p Place, n Nesting, depth int) []byte {
	var open, close string
	switch p {
	case LogBody:
		open, close = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":`, `}]}]}]}`
	case LogAttribute:
		open, close = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":`, `}]}]}]}]}`
	case SpanAttribute:
		open = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","name":"deep","attributes":[{"key":"k","value":`
		close = `}]}]}]}]}`
	case GaugeAttribute:
		open = `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"deep","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1,"attributes":[{"key":"k","value":`
		close = `}]}]}}]}]}]}`
	case ProfilesDictionaryAttribute:
		open, close = `{"dictionary":{"attributeTable":[{"value":`, `}]}}`
	}
	lvlOpen, lvlClose := `{"kvlistValue":{"values":[{"key":"k","value":`, `}]}}`
	if n == Array {
		lvlOpen, lvlClose = `{"arrayValue":{"values":[`, `]}}`
	}
	var b bytes.Buffer
	b.Grow(len(open) + len(close) + depth*(len(lvlOpen)+len(lvlClose)) + 32)
	b.WriteString(open)
	for range depth {
		b.WriteString(lvlOpen)
	}
	b.WriteString(`{"stringValue":"x"}`)
	for range depth {
		b.WriteString(lvlClose)
	}
	b.WriteString(close)
	return b.Bytes()
}

// Transport is how a request travels.
type Transport string

// The OTLP transports.
const (
	HTTPProtobuf Transport = "http/protobuf"
	HTTPJSON     Transport = "http/json"
	GRPC         Transport = "grpc"
)

// Transports lists every Transport, for table tests.
var Transports = []Transport{HTTPProtobuf, HTTPJSON, GRPC}

// Build returns the request in the transport's encoding.
func Build(t Transport, p Place, n Nesting, depth int) []byte {
	if t == HTTPJSON {
		return JSON(p, n, depth)
	}
	return Proto(p, n, depth)
}
