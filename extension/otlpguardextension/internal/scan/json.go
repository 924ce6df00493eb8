package scan

import "fmt"

// This file holds the JSON half of the guard. OTLP/JSON nests an AnyValue
// one level deeper each time an object or array is the value of the key
// "arrayValue" or "kvlistValue" (or their proto names "array_value" and
// "kvlist_value"), whatever the signal, so the scan needs no schema: it
// tokenizes the request once, counts those containers, and also bounds the
// raw bracket depth so that no decoder, pdata's or any other, recurses
// further than the schema's own structure plus the allowed values. Keys are
// compared after unescaping, as the decoder (json-iterator) reads them, so
// "arr\u0061yValue" counts too. Like the protobuf scan it is iterative,
// allocation-free (the stack is a bit set sized for the limit) and linear.

// jsonBrackets is the bracket depth allowed for maxDepth: the deepest OTLP
// structure above a value (a metric's exemplar attribute is 17 brackets
// down) with room to spare, and four brackets per level of key-value list
// nesting ({"kvlistValue":{"values":[{"key":"k","value":{...).
func jsonBrackets(maxDepth int) int { return 32 + 4*(maxDepth+1) }

// jsonWords is the size of the bit set for maxDepth, in uint64 words.
func jsonWords(maxDepth int) int { return jsonBrackets(maxDepth)/64 + 1 }

// scanJSON checks an OTLP/JSON export request against maxDepth. counted is
// scratch space of at least jsonWords(maxDepth) words; it is not kept.
// Syntax errors the decoder would report
// itself (a missing comma, a bad literal) are not looked for; only those
// that could hide nesting from the count (unbalanced brackets, an
// unterminated string) are refused.
func scanJSON(buf []byte, maxDepth int, counted []uint64) *Refusal {
	limit := jsonBrackets(maxDepth)
	brackets, depth := 0, 0
	pending := false // the last token was a counting key and its colon
	for pos := 0; pos < len(buf); pos++ {
		switch c := buf[pos]; c {
		case ' ', '\t', '\n', '\r', ':':
			continue // keeps pending for the value that follows
		case '"':
			end, ok := stringEnd(buf, pos)
			if !ok {
				return &Refusal{Reason: ReasonMalformed, Detail: fmt.Sprintf("malformed JSON at byte %d: unterminated string", pos)}
			}
			colon := end + 1
			for colon < len(buf) && isSpace(buf[colon]) {
				colon++
			}
			if colon < len(buf) && buf[colon] == ':' && isNestingKey(buf[pos+1:end]) {
				pending = true
				pos = colon
				continue
			}
			pos = end
		case '{', '[':
			if brackets++; brackets > limit {
				return &Refusal{Reason: ReasonTooDeep, Detail: fmt.Sprintf("JSON nested deeper than %d brackets (at byte %d)", limit, pos)}
			}
			bit := uint64(1) << (brackets % 64)
			if pending {
				counted[brackets/64] |= bit
				if depth++; depth > maxDepth {
					return &Refusal{Reason: ReasonTooDeep, Detail: fmt.Sprintf("a value is nested deeper than %d levels (at byte %d)", maxDepth, pos)}
				}
			} else {
				counted[brackets/64] &^= bit
			}
		case '}', ']':
			if brackets == 0 {
				return &Refusal{Reason: ReasonMalformed, Detail: fmt.Sprintf("malformed JSON at byte %d: unbalanced %q", pos, c)}
			}
			if counted[brackets/64]&(uint64(1)<<(brackets%64)) != 0 {
				depth--
			}
			brackets--
		case 'n':
			// null as an arrayValue or kvlistValue is an empty container
			// to the decoder: one level, like [] or {}.
			if pending && depth+1 > maxDepth {
				return &Refusal{Reason: ReasonTooDeep, Detail: fmt.Sprintf("a value is nested deeper than %d levels (at byte %d)", maxDepth, pos)}
			}
		}
		pending = false
	}
	if brackets != 0 {
		return &Refusal{Reason: ReasonMalformed, Detail: fmt.Sprintf("malformed JSON: %d brackets left open at the end", brackets)}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// stringEnd returns the index of the quote that ends the string starting
// at buf[start].
func stringEnd(buf []byte, start int) (int, bool) {
	for i := start + 1; i < len(buf); i++ {
		switch buf[i] {
		case '\\':
			i++ // the escaped byte cannot end the string
		case '"':
			return i, true
		}
	}
	return 0, false
}

// nestingKeys are the keys whose object or array value is a nested
// AnyValue container, in the spellings pdata's decoder accepts.
var nestingKeys = [...]string{"arrayValue", "array_value", "kvlistValue", "kvlist_value"}

// isNestingKey reports whether the raw (still escaped) key is one of
// nestingKeys once unescaped.
func isNestingKey(raw []byte) bool {
	var key [16]byte
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			if i+1 >= len(raw) {
				return false
			}
			i++
			switch raw[i] {
			case '"', '\\', '/':
				c = raw[i]
			case 'u':
				if i+4 >= len(raw) {
					return false
				}
				r := 0
				for _, h := range raw[i+1 : i+5] {
					r <<= 4
					switch {
					case h >= '0' && h <= '9':
						r |= int(h - '0')
					case h >= 'a' && h <= 'f':
						r |= int(h-'a') + 10
					case h >= 'A' && h <= 'F':
						r |= int(h-'A') + 10
					default:
						return false
					}
				}
				if r >= 0x80 {
					return false // no key of interest has a non-ASCII letter
				}
				c = byte(r)
				i += 4
			default:
				return false // \b, \f, \n, \r, \t: no key of interest has one
			}
		}
		if n == len(key) {
			return false
		}
		key[n] = c
		n++
	}
	for _, k := range nestingKeys {
		if string(key[:n]) == k {
			return true
		}
	}
	return false
}
