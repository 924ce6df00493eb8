package zaplogreceiver

import (
	"bufio"
	"bytes"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// zap's console encoder writes, separated by tabs: time, level, logger name
// (when the logger is named), caller and function (when known and their keys
// are set), the message, and a JSON object of the context fields when there
// are any; the stack trace follows on the next lines. Only the position of
// each element is fixed, and the optional ones carry no key, so the parser
// recognises them by shape: a caller ends in ".go:<line>", a logger name has
// no spaces.

// parseConsole reads one console record: its first line and any joined
// continuation lines (the stack trace).
func (p *Parser) parseConsole(rec []byte, lr plog.LogRecord) (string, error) {
	head, stack := rec, []byte(nil)
	if i := bytes.IndexByte(rec, '\n'); i >= 0 {
		head, stack = bytes.TrimRight(rec[:i], "\r"), rec[i+1:]
	}
	var buf [16][2]int
	parts := buf[:0]
	start := 0
	for i := 0; i <= len(head); i++ {
		if i == len(head) || head[i] == '\t' {
			parts = append(parts, [2]int{start, i})
			start = i + 1
		}
	}
	field := func(r [2]int) []byte { return head[r[0]:r[1]] }

	j := 0
	if ns, ok := p.consoleTime(field(parts[0])); ok {
		lr.SetTimestamp(pcommon.Timestamp(ns)) //nolint:gosec // non-negative
		j = 1
	} else if len(parts) > 1 {
		if _, isLevel := lookupLevel(field(parts[0])); !isLevel {
			if _, nextIsLevel := lookupLevel(field(parts[1])); nextIsLevel {
				// A time in a layout this parser does not know: keep it.
				lr.Attributes().PutStr(p.timeKeyName(), string(field(parts[0])))
				j = 1
			}
		}
	}
	if j >= len(parts) {
		return "", errNotConsole
	}
	l, ok := lookupLevel(field(parts[j]))
	if !ok {
		return "", errNotConsole
	}
	lr.SetSeverityNumber(l.severity)
	lr.SetSeverityText(l.text)
	rest := parts[j+1:]

	var service string
	minRest := 2 // message and context
	if !p.hasKey(fieldMessage) {
		minRest = 1
	}
	if n := len(rest); n >= minRest {
		if last := field(rest[n-1]); len(last) >= 2 && last[0] == '{' && last[len(last)-1] == '}' {
			s := jsonScanner{data: last}
			svc, _, err := p.object(&s, lr, true)
			if err == nil && s.peek() == 0 {
				service = svc
				rest = rest[:n-1]
			} else {
				// The message ends in something brace-shaped: leave it there.
				lr.Attributes().Clear()
				lr.SetTraceID(pcommon.NewTraceIDEmpty())
				lr.SetSpanID(pcommon.NewSpanIDEmpty())
				lr.SetFlags(0)
			}
		}
	}

	attrs := lr.Attributes()
	msg := 0
	caller := -1
	for k := 0; k < len(rest) && k < 2 && p.hasKey(fieldCaller); k++ {
		if looksLikeCaller(field(rest[k])) {
			caller = k
			break
		}
	}
	switch {
	case caller >= 0:
		if caller == 1 {
			attrs.PutStr(AttrLoggerName, string(field(rest[0])))
		}
		setCaller(field(rest[caller]), attrs)
		msg = caller + 1
		if p.hasKey(fieldFunction) && msg < len(rest)-1 {
			attrs.PutStr(AttrCodeFunction, string(field(rest[msg])))
			msg++
		}
	case len(rest) >= 2 && p.hasKey(fieldName) && looksLikeLoggerName(field(rest[0])):
		attrs.PutStr(AttrLoggerName, string(field(rest[0])))
		msg = 1
	}
	if msg < len(rest) {
		lr.Body().SetStr(string(head[rest[msg][0]:rest[len(rest)-1][1]]))
	}
	if stack = bytes.TrimRight(stack, "\r\n"); len(stack) > 0 {
		attrs.PutStr(AttrExceptionStacktrace, string(stack))
	}
	return service, nil
}

// consoleTime reads the first element of a console line as a timestamp:
// fmt prints epoch floats with an exponent, which fromNumber handles.
func (p *Parser) consoleTime(v []byte) (int64, bool) {
	if len(v) == 0 || !p.hasKey(fieldTime) {
		return 0, false
	}
	if isDigit(v[0]) {
		s := jsonScanner{data: v}
		if raw, _, err := s.number(); err == nil && s.pos == len(v) {
			return p.times.fromNumber(raw)
		}
	}
	ns, ok := p.times.fromString(v)
	return ns, ok && ns >= 0
}

func (p *Parser) hasKey(kind fieldKind) bool { return p.has[kind] }

func (p *Parser) timeKeyName() string {
	if p.timeKey != "" {
		return p.timeKey
	}
	return "ts"
}

// looksLikeCaller matches zap's short and full caller encoders: "x.go:12".
func looksLikeCaller(v []byte) bool {
	i := bytes.LastIndexByte(v, ':')
	if i < 4 || i == len(v)-1 || !bytes.HasSuffix(v[:i], []byte(".go")) {
		return false
	}
	for _, c := range v[i+1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// looksLikeLoggerName accepts dotted names such as "http.server" and
// rejects anything with spaces, which a message usually has.
func looksLikeLoggerName(v []byte) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c == '{' || c == '"' {
			return false
		}
	}
	return true
}

// isConsoleHead reports whether line starts a console record: it is
// tab-separated and its first or second element is a zap level.
func isConsoleHead(line []byte) bool {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '{' {
		return false
	}
	i := bytes.IndexByte(line, '\t')
	if i < 0 {
		return false
	}
	if _, ok := lookupLevel(line[:i]); ok {
		return true
	}
	second := line[i+1:]
	if k := bytes.IndexByte(second, '\t'); k >= 0 {
		second = second[:k]
	}
	_, ok := lookupLevel(second)
	return ok
}

// isContinuation reports whether line continues the record before it: zap's
// stack traces alternate function lines (no tabs) and tab-indented file lines.
// The first line of a Go crash report does not: it starts a record.
func isContinuation(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	if line[0] == '{' || bytes.IndexByte(line, '\t') >= 0 {
		return false
	}
	return !bytes.HasPrefix(line, []byte(prefixPanic)) && !bytes.HasPrefix(line, []byte(prefixFatalError)) &&
		!bytes.HasPrefix(line, []byte(prefixRuntime)) && !isSignalHead(line)
}

func dropCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// splitRecords is the bufio.SplitFunc of every input. A JSON line is one
// record. A console line takes the continuation lines that follow it, and a
// Go crash report (crash.go) the lines of the report, so they wait until the
// next record starts or the data ends.
//
// atEOF is the end of the data only when flushAtEOF is set (a TCP
// connection quiet for force_flush_period or closed, an HTTP body). The file
// consumer sets atEOF at the end of a file each time it reads one, often
// while the writer is in the middle of a line or of a crash report (the
// runtime writes a report in many small writes); so for files an unfinished
// record is left unread, and stanza's flush hands over all that is left once
// force_flush_period has passed without new data. Empty tokens are blank
// lines; callers skip them.
func splitRecords(format string, flushAtEOF bool) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		final := atEOF && flushAtEOF
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if final && len(data) > 0 {
				return len(data), dropCR(data), nil
			}
			return 0, nil, nil
		}
		line := dropCR(data[:i])
		if len(line) > 0 && line[0] == '{' {
			return i + 1, line, nil
		}
		if crash, more := startsCrash(data, final); more {
			return 0, nil, nil
		} else if crash {
			return splitCrash(data, i, false, final)
		}
		if format != FormatJSON && isConsoleHead(line) {
			return splitConsole(data, i, final)
		}
		if startsStack(data) {
			// Stack lines without the head of their crash report: the rest
			// of a report cut at max_log_size, or a dump read from its middle.
			return splitCrash(data, i, true, final)
		}
		return i + 1, line, nil
	}
}

// splitConsole is splitRecords for data that starts with a console line
// ending at i: the record takes the continuation lines after it.
func splitConsole(data []byte, i int, final bool) (int, []byte, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(data[j:], '\n')
		if k < 0 {
			if j < len(data) && data[j] == '{' {
				return j, dropCR(data[:j-1]), nil // the next line is JSON, unfinished
			}
			if !final {
				return 0, nil, nil
			}
			if j < len(data) && isContinuation(data[j:]) {
				return len(data), dropCR(data), nil
			}
			return j, dropCR(data[:j-1]), nil
		}
		if !isContinuation(dropCR(data[j : j+k])) {
			return j, dropCR(data[:j-1]), nil
		}
		j += k + 1
	}
}
