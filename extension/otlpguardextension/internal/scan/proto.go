package scan

import (
	"fmt"
)

// This file holds the protobuf half of the guard: a scan of an OTLP export
// request's wire bytes that measures how deep AnyValue nests, before any
// decoder allocates. It is written by hand because no protobuf library
// offers a bounded, allocation-free walk: pdata's generated decoders, and
// google.golang.org/protobuf's, recurse once per nested message, which is
// the very thing an attacker controls.
//
// The scan is schema-aware: it descends only into the fields that can lead
// to an AnyValue (as pdata v1.65's generated decoders define them) and skips
// every other field by its wire type, so a string or bytes field is never
// read as a message. It is iterative (an explicit stack, sized for the limit
// before the scan starts), allocates nothing, and reads each byte once.

// Message names a protobuf message type of the OTLP schema that the scan
// walks: those on the paths from an export request to an AnyValue.
type Message uint8

const (
	msgNone Message = iota // a field the scan skips
	msgExportTraces
	msgExportMetrics
	msgExportLogs
	msgExportProfiles
	msgResourceSpans
	msgResourceMetrics
	msgResourceLogs
	msgResourceProfiles
	msgResource
	msgScope
	msgScopeSpans
	msgScopeMetrics
	msgScopeLogs
	msgScopeProfiles
	msgSpan
	msgSpanEvent
	msgSpanLink
	msgMetric
	msgGauge
	msgSum
	msgHistogram
	msgExpHistogram
	msgSummary
	msgNumberDataPoint
	msgHistogramDataPoint
	msgExpHistogramDataPoint
	msgSummaryDataPoint
	msgExemplar
	msgLogRecord
	msgProfilesDictionary
	msgKeyValueAndUnit
	msgKeyValue
	msgAnyValue
	msgArrayValue
	msgKeyValueList
	numMessages
)

// The export requests: the roots of a protobuf scan.
const (
	TracesRequest   = msgExportTraces
	MetricsRequest  = msgExportMetrics
	LogsRequest     = msgExportLogs
	ProfilesRequest = msgExportProfiles
	// None is no export request.
	None = msgNone
)

// Signal names the signal of an export request: "traces", "metrics",
// "logs", "profiles", or "" for any other message.
func (m Message) Signal() string {
	switch m {
	case msgExportTraces:
		return "traces"
	case msgExportMetrics:
		return "metrics"
	case msgExportLogs:
		return "logs"
	case msgExportProfiles:
		return "profiles"
	}
	return ""
}

// names are the messages' names in the OTLP protos, for refusal messages.
var names = [numMessages]string{
	msgExportTraces:          "ExportTraceServiceRequest",
	msgExportMetrics:         "ExportMetricsServiceRequest",
	msgExportLogs:            "ExportLogsServiceRequest",
	msgExportProfiles:        "ExportProfilesServiceRequest",
	msgResourceSpans:         "ResourceSpans",
	msgResourceMetrics:       "ResourceMetrics",
	msgResourceLogs:          "ResourceLogs",
	msgResourceProfiles:      "ResourceProfiles",
	msgResource:              "Resource",
	msgScope:                 "InstrumentationScope",
	msgScopeSpans:            "ScopeSpans",
	msgScopeMetrics:          "ScopeMetrics",
	msgScopeLogs:             "ScopeLogs",
	msgScopeProfiles:         "ScopeProfiles",
	msgSpan:                  "Span",
	msgSpanEvent:             "Span.Event",
	msgSpanLink:              "Span.Link",
	msgMetric:                "Metric",
	msgGauge:                 "Gauge",
	msgSum:                   "Sum",
	msgHistogram:             "Histogram",
	msgExpHistogram:          "ExponentialHistogram",
	msgSummary:               "Summary",
	msgNumberDataPoint:       "NumberDataPoint",
	msgHistogramDataPoint:    "HistogramDataPoint",
	msgExpHistogramDataPoint: "ExponentialHistogramDataPoint",
	msgSummaryDataPoint:      "SummaryDataPoint",
	msgExemplar:              "Exemplar",
	msgLogRecord:             "LogRecord",
	msgProfilesDictionary:    "ProfilesDictionary",
	msgKeyValueAndUnit:       "KeyValueAndUnit",
	msgKeyValue:              "KeyValue",
	msgAnyValue:              "AnyValue",
	msgArrayValue:            "ArrayValue",
	msgKeyValueList:          "KeyValueList",
}

// field is a message-typed field the scan descends into.
type field struct {
	num  uint64
	kind Message
}

// schema lists, per message, the fields that lead to an AnyValue, with
// the OTLP protos' field numbers (opentelemetry-proto v1.9, as pdata v1.65
// decodes them; 1000 is the deprecated instrumentation_library_* field
// pdata still reads). Fields not listed are skipped unread.
var schema = [numMessages][]field{
	msgExportTraces:   {{1, msgResourceSpans}},
	msgExportMetrics:  {{1, msgResourceMetrics}},
	msgExportLogs:     {{1, msgResourceLogs}},
	msgExportProfiles: {{1, msgResourceProfiles}, {2, msgProfilesDictionary}},

	msgResourceSpans:    {{1, msgResource}, {2, msgScopeSpans}, {1000, msgScopeSpans}},
	msgResourceMetrics:  {{1, msgResource}, {2, msgScopeMetrics}, {1000, msgScopeMetrics}},
	msgResourceLogs:     {{1, msgResource}, {2, msgScopeLogs}, {1000, msgScopeLogs}},
	msgResourceProfiles: {{1, msgResource}, {2, msgScopeProfiles}},
	msgResource:         {{1, msgKeyValue}},
	msgScope:            {{3, msgKeyValue}},
	msgScopeSpans:       {{1, msgScope}, {2, msgSpan}},
	msgScopeMetrics:     {{1, msgScope}, {2, msgMetric}},
	msgScopeLogs:        {{1, msgScope}, {2, msgLogRecord}},
	msgScopeProfiles:    {{1, msgScope}},

	msgSpan:      {{9, msgKeyValue}, {11, msgSpanEvent}, {13, msgSpanLink}},
	msgSpanEvent: {{3, msgKeyValue}},
	msgSpanLink:  {{4, msgKeyValue}},

	msgMetric: {
		{5, msgGauge}, {7, msgSum}, {9, msgHistogram}, {10, msgExpHistogram}, {11, msgSummary},
		{12, msgKeyValue}, // metadata
	},
	msgGauge:                 {{1, msgNumberDataPoint}},
	msgSum:                   {{1, msgNumberDataPoint}},
	msgHistogram:             {{1, msgHistogramDataPoint}},
	msgExpHistogram:          {{1, msgExpHistogramDataPoint}},
	msgSummary:               {{1, msgSummaryDataPoint}},
	msgNumberDataPoint:       {{5, msgExemplar}, {7, msgKeyValue}},
	msgHistogramDataPoint:    {{8, msgExemplar}, {9, msgKeyValue}},
	msgExpHistogramDataPoint: {{1, msgKeyValue}, {11, msgExemplar}},
	msgSummaryDataPoint:      {{7, msgKeyValue}},
	msgExemplar:              {{7, msgKeyValue}}, // filtered_attributes

	msgLogRecord: {{5, msgAnyValue}, {6, msgKeyValue}}, // body, attributes

	msgProfilesDictionary: {{6, msgKeyValueAndUnit}}, // attribute_table
	msgKeyValueAndUnit:    {{2, msgAnyValue}},

	msgKeyValue:     {{2, msgAnyValue}},
	msgAnyValue:     {{5, msgArrayValue}, {6, msgKeyValueList}},
	msgArrayValue:   {{1, msgAnyValue}},
	msgKeyValueList: {{1, msgKeyValue}},
}

// child returns the message type of field num of m, or msgNone.
func child(m Message, num uint64) Message {
	for _, f := range schema[m] {
		if f.num == num {
			return f.kind
		}
	}
	return msgNone
}

// frame is an open message on the scan's stack: its type and where it ends.
type frame struct {
	end  int
	kind Message
}

// protoFrames is the stack the scan needs for maxDepth: the deepest path
// of the schema above the first AnyValue (nine messages, in metrics), then
// AnyValue, KeyValueList and KeyValue per level.
func protoFrames(maxDepth int) int { return 16 + 3*(maxDepth+1) }

// Wire types (https://protobuf.dev/programming-guides/encoding/#structure).
const (
	wireVarint     = 0
	wireI64        = 1
	wireLen        = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireI32        = 5
)

// scanProto checks an OTLP export request of type root, encoded in
// protobuf, against maxDepth. stack is scratch space with capacity of at
// least protoFrames(maxDepth); it is not kept.
func scanProto(buf []byte, root Message, maxDepth int, stack []frame) *Refusal {
	stack = append(stack[:0], frame{end: len(buf), kind: root})
	depth, pos := 0, 0 // depth counts the open ArrayValue and KeyValueList messages
	for {
		top := &stack[len(stack)-1]
		if pos == top.end {
			if top.kind == msgArrayValue || top.kind == msgKeyValueList {
				depth--
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			continue
		}
		tag, next, ok := varint(buf, pos, top.end)
		num := fieldNumber(tag)
		if !ok || num <= 0 {
			return malformed(pos, "invalid field tag")
		}
		pos = next
		switch tag & 7 {
		case wireVarint:
			if _, pos, ok = varint(buf, pos, top.end); !ok {
				return malformed(pos, "truncated varint")
			}
		case wireI64:
			if pos += 8; pos > top.end {
				return malformed(top.end, "truncated fixed64")
			}
		case wireI32:
			if pos += 4; pos > top.end {
				return malformed(top.end, "truncated fixed32")
			}
		case wireLen:
			n, start, ok := varint(buf, pos, top.end)
			if !ok || n > uint64(top.end-start) {
				return malformed(pos, "length beyond the enclosing message")
			}
			end := start + int(n)
			kind := child(top.kind, uint64(num))
			if kind == msgNone {
				pos = end
				continue
			}
			if kind == msgArrayValue || kind == msgKeyValueList {
				if depth++; depth > maxDepth {
					return tooDeep(stack, start, maxDepth)
				}
			}
			pos = start
			stack = append(stack, frame{end: end, kind: kind})
		case wireStartGroup:
			// Groups are obsolete and no OTLP field is one; decoders skip
			// them as unknown fields, counting nesting (pdata's
			// proto.ConsumeUnknown does), so the skip needs no stack.
			if pos, ok = skipGroup(buf, pos, top.end); !ok {
				return malformed(pos, "unterminated group")
			}
		default: // an end-group without its start, or wire types 6 and 7
			return malformed(pos, fmt.Sprintf("unexpected wire type %d", tag&7))
		}
	}
}

// skipGroup skips the fields of a group whose start tag has been read, up
// to and including its end tag, and returns the position after it.
func skipGroup(buf []byte, pos, end int) (int, bool) {
	open := 1
	for open > 0 {
		tag, next, ok := varint(buf, pos, end)
		if !ok || fieldNumber(tag) <= 0 {
			return pos, false
		}
		pos = next
		switch tag & 7 {
		case wireVarint:
			if _, pos, ok = varint(buf, pos, end); !ok {
				return pos, false
			}
		case wireI64:
			if pos += 8; pos > end {
				return end, false
			}
		case wireI32:
			if pos += 4; pos > end {
				return end, false
			}
		case wireLen:
			n, start, ok := varint(buf, pos, end)
			if !ok || n > uint64(end-start) {
				return pos, false
			}
			pos = start + int(n)
		case wireStartGroup:
			open++
		case wireEndGroup:
			open--
		default:
			return pos, false
		}
	}
	return pos, true
}

// fieldNumber is a tag's field number as pdata's decoders read it: cut to
// int32, so that a tag beyond the protobuf range aliases a small field
// number there, and must here too; zero and negative numbers are refused
// by both.
func fieldNumber(tag uint64) int32 { return int32(tag >> 3) }

// varint reads a base-128 varint at buf[pos:end].
func varint(buf []byte, pos, end int) (v uint64, next int, ok bool) {
	for shift := uint(0); shift < 64; shift += 7 {
		if pos >= end {
			return 0, pos, false
		}
		b := buf[pos]
		pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, pos, true
		}
	}
	return 0, pos, false
}

// tooDeep describes a refusal for nesting: which record holds the value
// (the innermost message on the stack that is not part of a value) and
// where.
func tooDeep(stack []frame, offset, maxDepth int) *Refusal {
	owner := msgNone
	for i := len(stack) - 1; i >= 0; i-- {
		switch stack[i].kind {
		case msgAnyValue, msgArrayValue, msgKeyValueList, msgKeyValue:
			continue
		}
		owner = stack[i].kind
		break
	}
	return &Refusal{
		Reason: ReasonTooDeep,
		Detail: fmt.Sprintf("a value in a %s is nested deeper than %d levels (at byte %d)", names[owner], maxDepth, offset),
	}
}

func malformed(offset int, what string) *Refusal {
	return &Refusal{Reason: ReasonMalformed, Detail: fmt.Sprintf("malformed protobuf at byte %d: %s", offset, what)}
}
