package zaplogreceiver

import (
	"bytes"

	"go.opentelemetry.io/collector/pdata/plog"
)

// ParseTruncated fills lr, which must be empty, from the first max_log_size
// bytes of a record that was longer (cut at a UTF-8 boundary), and marks it
// with AttrTruncated. A Go crash report keeps its lines up to the last one
// complete, with TruncationMarker as the stack trace's last line; anything
// else is kept as the cut text followed by TruncationMarker, unparsed.
// Result.Err is always nil: a cut record is counted as truncated, not as a
// parse error.
func (p *Parser) ParseTruncated(cut []byte, lr plog.LogRecord) Result {
	var res Result
	trimmed := bytes.TrimLeft(cut, " \t\r\n")
	switch {
	case isCrashReport(trimmed):
		if i := bytes.LastIndexByte(trimmed, '\n'); i > 0 {
			trimmed = trimmed[:i] // no frame half there
		}
		parseCrash(trimmed, lr, true)
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
