package zaplogreceiver

import (
	"bytes"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// AttrTruncatedText holds, on a zap JSON record cut at max_log_size whose
// message was complete before the cut, the text of the line from the first
// key/value pair the cut interrupted up to the cut, followed by
// TruncationMarker.
const AttrTruncatedText = "zaplog.truncated_text"

// ParseTruncated fills lr, which must be empty, from the first max_log_size
// bytes of a record that was longer (cut at a UTF-8 boundary), and marks it
// with AttrTruncated. What is complete before the cut is read as usual:
//
//   - a zap JSON line: the top-level key/value pairs whose values end before
//     the cut (zap writes level, time, logger, caller and message first),
//     through the same path as a whole line. When the message is among
//     them, the rest of the cut text, from the first pair the cut
//     interrupted, followed by TruncationMarker, is kept in
//     AttrTruncatedText; when it is not, the body is the cut text followed
//     by TruncationMarker, as for a line that cannot be read;
//   - a Go crash report: its lines up to the last one complete, with
//     TruncationMarker as the stack trace's last line.
//
// Anything else, and a JSON line whose complete pairs hold neither the
// level nor the message, is kept as the cut text followed by
// TruncationMarker, unparsed. Result.Err is always nil: a cut record is
// counted as truncated, not as a parse error.
func (p *Parser) ParseTruncated(cut []byte, lr plog.LogRecord) Result {
	var res Result
	trimmed := bytes.TrimLeft(cut, " \t\r\n")
	switch {
	case isCrashReport(trimmed):
		if i := bytes.LastIndexByte(trimmed, '\n'); i > 0 {
			trimmed = trimmed[:i] // no frame half there
		}
		parseCrash(trimmed, lr, true)
	case len(trimmed) > 0 && trimmed[0] == '{' && p.format != FormatConsole && utf8.Valid(trimmed):
		service, ok := p.salvageJSON(trimmed, lr)
		if !ok {
			setCut(cut, lr)
		}
		res.ServiceName = service
	default:
		setCut(cut, lr)
	}
	lr.Attributes().PutBool(AttrTruncated, true)
	return res
}

// setCut resets lr to hold the cut text followed by TruncationMarker.
func setCut(cut []byte, lr plog.LogRecord) {
	setRaw(withMarker(cut), lr, nil)
}

func withMarker(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(TruncationMarker))
	return append(append(out, b...), TruncationMarker...)
}

// salvageJSON reads the complete top-level pairs of a zap JSON line cut
// short: a pair counts only if its value ended before the cut (a string's
// closing quote, an object's or array's closing bracket, a whole literal; a
// number only when a ',' or '}' follows it, since the cut may have
// shortened it), so a shortened value is never taken for the value. Those pairs, closed with a brace, go through
// parseJSON. It reports false, leaving lr to the caller to reset, when
// that is not a zap record.
func (p *Parser) salvageJSON(cut []byte, lr plog.LogRecord) (string, bool) {
	s := jsonScanner{data: cut}
	if s.expect('{') != nil {
		return "", false
	}
	end, rest := -1, s.pos
	for {
		if _, err := s.str(); err != nil {
			break
		}
		if s.expect(':') != nil {
			break
		}
		first := s.peek()
		if s.skip(1) != nil {
			break
		}
		c := s.peek()
		if c == 0 && first != '-' && !isDigit(first) {
			// A string, object, array or literal is whole once closed; a
			// number the cut may have shortened.
			end, rest = s.pos, s.pos
			break
		}
		if c != ',' && c != '}' {
			break
		}
		end = s.pos
		s.pos++
		rest = s.pos
		if c == '}' {
			break // closed: what made the line too long came after it
		}
	}
	if end < 0 {
		return "", false
	}
	obj := make([]byte, 0, end+1)
	obj = append(append(obj, cut[:end]...), '}')
	service, err := p.parseJSON(obj, lr)
	if err != nil {
		return "", false
	}
	if lr.Body().Type() == pcommon.ValueTypeEmpty {
		// The message was cut: the body is the cut line, as for a line
		// that could not be read at all.
		lr.Body().SetStr(string(withMarker(cut)))
	} else {
		lr.Attributes().PutStr(AttrTruncatedText, string(withMarker(bytes.TrimLeft(cut[rest:], " \t\r\n"))))
	}
	return service, true
}
