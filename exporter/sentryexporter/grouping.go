package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fingerprint groups events of the same bug: the service, the kind of
// error (kind) and the place: the function of the main exception's newest
// in-app frame (see topInAppFrame). Without frames, the transaction (span
// name), else the exception's value stands in for the place, parametrised
// (normalizeMessage): the same bug groups into one issue whatever its
// message or line.
// https://docs.sentry.io/concepts/data-management/event-grouping/fingerprint-rules/
func fingerprint(service, kind string, ev *sentry.Event) []string {
	main := ev.Exception[len(ev.Exception)-1]
	place := ""
	if main.Stacktrace != nil {
		if f, ok := topInAppFrame(main.Stacktrace.Frames); ok {
			place = f.Function
			if f.Module != "" {
				place = f.Module + "." + f.Function
			}
		}
	}
	if place == "" {
		place = normalizeMessage(ev.Transaction)
	}
	if place == "" {
		place = normalizeMessage(main.Value)
	}
	if service == "" {
		service = "unknown_service"
	}
	if kind == "" {
		kind = "error"
	}
	return []string{service, kind, place}
}

// logErrorKind is the kind of error a log record reports, for its
// fingerprint: its exception.type (the Go type the otelzap bridge records
// for zap.Error) or error.type, else its message parametrised, so that
// "charge failed for order 1001" and "charge failed for order 1002" are one
// kind. A type every error of its package has (errors.New's, fmt.Errorf's,
// errors.Join's) tells no kind apart: the message parametrised follows it,
// so that "charge failed" and "refund failed" logged in one function are
// two issues. The event's exception keeps the message as it is.
func logErrorKind(attrs pcommon.Map, body string) string {
	t := firstLine(firstStr(attrs, attrExceptionType, attrErrorType))
	switch {
	case t == "":
		return normalizeMessage(firstLine(body))
	case genericErrorTypes[t]:
		return truncate(t+": "+normalizeMessage(firstLine(body)), maxNameLen)
	}
	return truncate(t, maxTypeLen)
}

// genericErrorTypes are the standard library's error types that carry
// only a text: the type of nearly every error a Go service makes.
var genericErrorTypes = map[string]bool{
	"*errors.errorString": true, "*fmt.wrapError": true, "*fmt.wrapErrors": true, "*errors.joinError": true,
}

// Placeholders of a parametrised message.
const (
	paramInt  = "<int>"
	paramHex  = "<hex>"
	paramUUID = "<uuid>"
	paramStr  = "<str>"
)

// maxGroupingText bounds how much of a message is parametrised: a message
// is grouped by its beginning.
const maxGroupingText = 1024

// normalizeMessage replaces the parts of a message that change from one
// occurrence of an error to the next, as Sentry's own message grouping
// parametrises messages: quoted strings ("...", '...', `...`) by <str>,
// UUIDs by <uuid>, hexadecimal numbers (0x1f, and hex words of 8 or more
// characters with a digit: trace IDs, hashes) by <hex>, and every run of
// digits, standalone or within a word (1001, ord-0-2, user42), by <int>. It
// reads at most maxGroupingText bytes and returns at most maxNameLen.
func normalizeMessage(s string) string {
	s = truncate(strings.TrimSpace(s), maxGroupingText)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			// A quote after a letter is an apostrophe ("can't").
			if i == 0 || !isWordByte(s[i-1]) {
				if end := closingQuote(s, i); end > i {
					b.WriteString(paramStr)
					i = end + 1
					continue
				}
			}
			b.WriteByte(c)
			i++
		case isWordByte(c):
			if isUUIDAt(s, i) {
				b.WriteString(paramUUID)
				i += 36
				continue
			}
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			writeWord(&b, s[i:j])
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return truncate(b.String(), maxNameLen)
}

// writeWord writes a word (letters, digits, underscores) parametrised.
func writeWord(b *strings.Builder, w string) {
	if len(w) > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') && allHex(w[2:]) {
		b.WriteString(paramHex)
		return
	}
	digits, letters := 0, 0
	for i := 0; i < len(w); i++ {
		if w[i] >= '0' && w[i] <= '9' {
			digits++
		} else {
			letters++
		}
	}
	if digits > 0 && letters > 0 && len(w) >= 8 && allHex(w) {
		b.WriteString(paramHex)
		return
	}
	for i := 0; i < len(w); {
		if w[i] >= '0' && w[i] <= '9' {
			for i < len(w) && w[i] >= '0' && w[i] <= '9' {
				i++
			}
			b.WriteString(paramInt)
			continue
		}
		b.WriteByte(w[i])
		i++
	}
}

// closingQuote returns the index of the quote closing the one at i (a
// backslash escapes a double quote), or -1.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q == '"' {
				j++
			}
		case q:
			return j
		}
	}
	return -1
}

// isUUIDAt reports whether a UUID (8-4-4-4-12 hexadecimal digits) starts
// at i and ends a word.
func isUUIDAt(s string, i int) bool {
	if len(s)-i < 36 || (len(s)-i > 36 && isWordByte(s[i+36])) {
		return false
	}
	for k := 0; k < 36; k++ {
		c := s[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if !isHexByte(c) {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return s != ""
}

func isHexByte(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
