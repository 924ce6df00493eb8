package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The line encoders append to a caller's buffer so one buffer serves a whole
// batch; they never fail (every pdata value has a rendering).

// appendJSONLine appends {"body":<body>,"attributes":{...}}, leaving out
// attributes for which skip is true (those promoted to labels).
func appendJSONLine(b []byte, body pcommon.Value, attrs pcommon.Map, skip func(string) bool) []byte {
	b = append(b, `{"body":`...)
	b = appendJSONValue(b, body)
	first := true
	for k, v := range attrs.All() {
		if skip(k) {
			continue
		}
		if first {
			b = append(b, `,"attributes":{`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONValue(b, v)
	}
	if !first {
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSONValue appends v as JSON. Bytes become base64 strings (as in
// OTLP/JSON); NaN and infinities, which JSON cannot hold, become strings.
func appendJSONValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendJSONString(b, base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()))
	case pcommon.ValueTypeMap:
		b = append(b, '{')
		i := 0
		for k, e := range v.Map().All() {
			if i > 0 {
				b = append(b, ',')
			}
			i++
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONValue(b, e)
		}
		return append(b, '}')
	case pcommon.ValueTypeSlice:
		b = append(b, '[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, e)
		}
		return append(b, ']')
	default:
		return append(b, "null"...)
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD
// so the line always parses.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendLogfmtLine appends msg=<body> (or, for a map body, its entries) and
// then the attributes not skipped, as key=value pairs.
func appendLogfmtLine(b []byte, body pcommon.Value, attrs pcommon.Map, skip func(string) bool) []byte {
	first := true
	pair := func(k string, v pcommon.Value) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = appendLogfmtKey(b, k)
		b = append(b, '=')
		b = appendLogfmtValue(b, v.AsString())
	}
	switch body.Type() {
	case pcommon.ValueTypeEmpty:
	case pcommon.ValueTypeMap:
		for k, v := range body.Map().All() {
			pair(k, v)
		}
	default:
		pair("msg", body)
	}
	for k, v := range attrs.All() {
		if !skip(k) {
			pair(k, v)
		}
	}
	return b
}

// appendLogfmtKey appends k with the bytes logfmt cannot hold in a key
// (space, '=', '"', control characters) replaced by '_'.
func appendLogfmtKey(b []byte, k string) []byte {
	if k == "" {
		return append(b, '_')
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendLogfmtValue appends v, quoted (with JSON-style escapes, as go-logfmt
// does) when it is empty or holds a space, '=', '"' or a control character.
func appendLogfmtValue(b []byte, v string) []byte {
	needsQuote := v == ""
	for i := 0; i < len(v) && !needsQuote; i++ {
		c := v[i]
		needsQuote = c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f
	}
	if !needsQuote && utf8.ValidString(v) {
		return append(b, v...)
	}
	return appendJSONString(b, v)
}
