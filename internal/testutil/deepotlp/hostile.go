package deepotlp

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// HostileSize is the size of PutHostile's long string and bytes values:
// over every per-value limit of the backends (Loki's 256 KB line, Sentry's
// 8 KB message), small enough for tests under the race detector.
const HostileSize = 300 << 10

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
	wide.EnsureCapacity(2_000)
	for i := range 2_000 {
		wide.PutStr("key."+strconv.Itoa(i), "value")
	}
	slice := m.PutEmptySlice("hostile.wide_slice")
	slice.EnsureCapacity(20_000)
	for i := range 20_000 {
		slice.AppendEmpty().SetInt(int64(i))
	}
	m.PutStr("hostile.long_string", HostileString())
	m.PutEmptyBytes("hostile.long_bytes").FromRaw(hostileBytes())
	m.PutDouble("hostile.nan", math.NaN())
	m.PutDouble("hostile.inf", math.Inf(-1))
	m.PutStr("", "empty key")
	m.PutStr("key with spaces, \"quotes\", = and \n", "odd key")
	m.PutStr("hostile.invalid_utf8", "\xff\xfe\xc3")
}

// HostileString is HostileSize bytes of text with every character that
// needs escaping somewhere (quotes, backslashes, newlines, control
// characters) and a broken UTF-8 sequence.
func HostileString() string { return hostileString() }

// The long values are built once: tests put them in many places.
var (
	hostileString = sync.OnceValue(func() string {
		const chunk = "line \"quoted\" \\ back\tslash\n\x00\x1b[31m é \xe2\x82 "
		return strings.Repeat(chunk, HostileSize/len(chunk)+1)[:HostileSize]
	})
	hostileBytes = sync.OnceValue(func() []byte { return []byte(strings.Repeat("\x00\xff", HostileSize/2)) })
)
