package deepotlp

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// HostileSize is the size of PutHostile's long string and bytes values.
const HostileSize = 1 << 20

// PutHostile sets on m the values a request may carry once past the guard
// (nesting at most maxDepth) that are hardest to render: nested to the
// limit both ways, very wide, very long, not valid UTF-8, not finite, and
// keys no label format allows. Renderers (exporters, alert summaries) must
// stay within their backends' limits on every one.
func PutHostile(m pcommon.Map, maxDepth int) {
	deep := m.PutEmpty("hostile.deep_kvlist")
	for range maxDepth {
		deep = deep.SetEmptyMap().PutEmpty("k")
	}
	deep.SetStr("x")
	deep = m.PutEmpty("hostile.deep_array")
	for range maxDepth {
		deep = deep.SetEmptySlice().AppendEmpty()
	}
	deep.SetStr("x")

	wide := m.PutEmptyMap("hostile.wide_map")
	wide.EnsureCapacity(10_000)
	for i := range 10_000 {
		wide.PutStr("key."+strconv.Itoa(i), "value")
	}
	slice := m.PutEmptySlice("hostile.wide_slice")
	slice.EnsureCapacity(100_000)
	for i := range 100_000 {
		slice.AppendEmpty().SetInt(int64(i))
	}
	m.PutStr("hostile.long_string", HostileString())
	m.PutEmptyBytes("hostile.long_bytes").FromRaw([]byte(strings.Repeat("\x00\xff", HostileSize/2)))
	m.PutDouble("hostile.nan", math.NaN())
	m.PutDouble("hostile.inf", math.Inf(-1))
	m.PutStr("", "empty key")
	m.PutStr("key with spaces, \"quotes\", = and \n", "odd key")
	m.PutStr("hostile.invalid_utf8", "\xff\xfe\xc3")
}

// HostileString is HostileSize bytes of text with every character that
// needs escaping somewhere (quotes, backslashes, newlines, control
// characters) and a broken UTF-8 sequence.
func HostileString() string {
	const chunk = "line \"quoted\" \\ back\tslash\n\x00\x1b[31m é \xe2\x82 "
	return strings.Repeat(chunk, HostileSize/len(chunk)+1)[:HostileSize]
}
