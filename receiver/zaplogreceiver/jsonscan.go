package zaplogreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// This file holds a small JSON scanner that writes straight into pdata.
//
// Why not encoding/json: decoding a zap line into map[string]any costs a
// reflection-driven allocation per value, then a second walk to copy the map
// into pcommon.Map, and it loses the int/float distinction (every number
// becomes float64) unless json.Number is used, which allocates again. zap's
// output is a flat object whose values are mostly short strings and numbers,
// so a hand-written scanner that recognises the zap keys while it walks and
// puts every other value directly into the record's attributes is several
// times faster and keeps ints as ints. Nested objects and arrays go through
// the same scanner recursively, bounded by maxNestingDepth.

// maxNestingDepth bounds recursion on nested objects and arrays so that a
// hostile line cannot exhaust the stack.
const maxNestingDepth = 64

var (
	errUnexpectedEnd = errors.New("unexpected end of JSON input")
	errTooDeep       = fmt.Errorf("JSON nested deeper than %d levels", maxNestingDepth)
)

// jsonScanner walks one JSON text. It never retains the input beyond the
// call that returns a value: every string it hands to pdata is copied.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		return s.syntaxError(fmt.Sprintf("expected %q", c))
	}
	s.pos++
	return nil
}

func (s *jsonScanner) syntaxError(what string) error {
	if s.pos >= len(s.data) {
		return errUnexpectedEnd
	}
	return fmt.Errorf("invalid JSON at byte %d: %s, found %q", s.pos, what, s.data[s.pos])
}

// str reads a JSON string at the current position (after optional space).
// Without escapes the result aliases the input; with escapes it is a fresh
// slice holding the unescaped text.
func (s *jsonScanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.syntaxError("expected string")
	}
	s.pos++
	start := s.pos
	// IndexByte is vectorised; zap strings rarely hold escapes, so finding
	// the closing quote first and then looking for a backslash before it
	// is the fast path.
	end := bytes.IndexByte(s.data[start:], '"')
	if end < 0 {
		if bs := bytes.IndexByte(s.data[start:], '\\'); bs >= 0 {
			return s.unescape(start, start+bs)
		}
		s.pos = len(s.data)
		return nil, errUnexpectedEnd
	}
	end += start
	if bs := bytes.IndexByte(s.data[start:end], '\\'); bs >= 0 {
		return s.unescape(start, start+bs)
	}
	s.pos = end + 1
	return s.data[start:end], nil
}

// unescape continues str from the first backslash at i.
func (s *jsonScanner) unescape(start, i int) ([]byte, error) {
	out := make([]byte, 0, len(s.data)-start)
	out = append(out, s.data[start:i]...)
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return out, nil
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.data) {
			break
		}
		e := s.data[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.data, i)
			if !ok {
				s.pos = i
				return nil, s.syntaxError("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A surrogate pair is two \u escapes; a lone half becomes U+FFFD
				// as encoding/json does.
				if r2, ok := hex4(s.data, i+2); ok && i+1 < len(s.data) && s.data[i] == '\\' && s.data[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						out = utf8.AppendRune(out, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			s.pos = i - 1
			return nil, s.syntaxError("invalid escape")
		}
	}
	s.pos = len(s.data)
	return nil, errUnexpectedEnd
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads a JSON number and reports whether it is an integer literal
// (no fraction, no exponent).
func (s *jsonScanner) number() (raw []byte, isInt bool, err error) {
	s.skipSpace()
	start := s.pos
	i := s.pos
	if i < len(s.data) && s.data[i] == '-' {
		i++
	}
	digits := i
	for i < len(s.data) && isDigit(s.data[i]) {
		i++
	}
	if i == digits {
		s.pos = i
		return nil, false, s.syntaxError("expected digit")
	}
	isInt = true
	if i < len(s.data) && s.data[i] == '.' {
		isInt = false
		i++
		frac := i
		for i < len(s.data) && isDigit(s.data[i]) {
			i++
		}
		if i == frac {
			s.pos = i
			return nil, false, s.syntaxError("expected digit after decimal point")
		}
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') {
		isInt = false
		i++
		if i < len(s.data) && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		exp := i
		for i < len(s.data) && isDigit(s.data[i]) {
			i++
		}
		if i == exp {
			s.pos = i
			return nil, false, s.syntaxError("expected digit in exponent")
		}
	}
	s.pos = i
	return s.data[start:i], isInt, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseInt converts an integer literal, reporting false on int64 overflow.
func parseInt(raw []byte) (int64, bool) {
	neg := false
	if len(raw) > 0 && raw[0] == '-' {
		neg = true
		raw = raw[1:]
	}
	var n uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true //nolint:gosec // bounded above
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// literal consumes the exact keyword word (true, false, null).
func (s *jsonScanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.syntaxError("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// value reads any JSON value into v, preserving its type: integer literals
// that fit int64 become Int, other numbers Double (an integer beyond int64,
// such as a large uint64, becomes Double like encoding/json would make it),
// objects Map, arrays Slice, null the empty value.
func (s *jsonScanner) value(v pcommon.Value, depth int) error {
	if depth > maxNestingDepth {
		return errTooDeep
	}
	switch c := s.peek(); {
	case c == '"':
		b, err := s.str()
		if err != nil {
			return err
		}
		v.SetStr(string(b))
	case c == '{':
		return s.object(v.SetEmptyMap(), depth+1)
	case c == '[':
		return s.array(v.SetEmptySlice(), depth+1)
	case c == 't':
		if err := s.literal("true"); err != nil {
			return err
		}
		v.SetBool(true)
	case c == 'f':
		if err := s.literal("false"); err != nil {
			return err
		}
		v.SetBool(false)
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		raw, isInt, err := s.number()
		if err != nil {
			return err
		}
		setNumber(v, raw, isInt)
	case c == 0:
		return errUnexpectedEnd
	default:
		return s.syntaxError("expected value")
	}
	return nil
}

func setNumber(v pcommon.Value, raw []byte, isInt bool) {
	if isInt {
		if n, ok := parseInt(raw); ok {
			v.SetInt(n)
			return
		}
	}
	// The literal was validated by number, so ParseFloat only fails on
	// range, where it still returns the nearest value (±Inf).
	f, _ := strconv.ParseFloat(string(raw), 64)
	v.SetDouble(f)
}

// object reads a nested object (the opening brace not yet consumed).
func (s *jsonScanner) object(m pcommon.Map, depth int) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return err
		}
		if err = s.expect(':'); err != nil {
			return err
		}
		if err = s.value(m.PutEmpty(string(k)), depth); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxError("expected ',' or '}'")
		}
	}
}

// array reads a nested array (the opening bracket not yet consumed).
func (s *jsonScanner) array(sl pcommon.Slice, depth int) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(sl.AppendEmpty(), depth); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.syntaxError("expected ',' or ']'")
		}
	}
}

// skip reads a JSON value without keeping it.
func (s *jsonScanner) skip(depth int) error {
	if depth > maxNestingDepth {
		return errTooDeep
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.pos++
		if s.peek() == end {
			s.pos++
			return nil
		}
		for {
			if c == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case end:
				s.pos++
				return nil
			default:
				return s.syntaxError(fmt.Sprintf("expected ',' or %q", end))
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		_, _, err := s.number()
		return err
	case c == 0:
		return errUnexpectedEnd
	default:
		return s.syntaxError("expected value")
	}
}
