package zaplogreceiver

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// A Go program that dies of an unrecovered panic, a fatal error (a throw:
// concurrent map writes, deadlock, out of memory, stack overflow) or a fatal
// signal writes the runtime's crash report to stderr, which a service's
// captured output puts among its zap lines:
//
//	panic: runtime error: invalid memory address or nil pointer dereference
//	[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a06d3]
//
//	goroutine 1 [running]:
//	main.(*store).get(...)
//		/src/main.go:20
//	main.main()
//		/src/main.go:43 +0xd3
//
//	goroutine 7 [chan receive]:     (every goroutine with GOTRACEBACK=all)
//	...
//	exit status 2                   (added by go run)
//
// The report begins with its head: a "panic: " line (each panic of the chain
// when one was raised while another unwound, the later ones tab-indented, and
// the panic value's further lines tab-indented too), a "fatal error: " line
// (after "runtime: " lines that explain it, for a stack overflow or a failed
// thread creation), or a signal's "SIGQUIT: quit" line followed by "PC=0x…".
// The split reads it as one token up to its end (crashEnd), the parser as one
// record (parseCrash).

// Prefixes of the lines that begin a crash report.
const (
	prefixPanic      = "panic: "
	prefixFatalError = "fatal error: "
	prefixRuntime    = "runtime: "
)

// maxRuntimeLines bounds the "runtime: " lines looked through for the
// "fatal error: " line that makes them the start of a crash report.
const maxRuntimeLines = 16

// Values of exception.type for a crash report.
const (
	crashTypePanic      = "panic"
	crashTypeFatalError = "fatal error"
	// crashTypeRuntimeError is the type the Go specification gives the
	// value of a run-time panic (an index out of range, a nil dereference):
	// the interface runtime.Error. The runtime prints "runtime error: " before
	// the message of each, and not the dynamic type.
	crashTypeRuntimeError = "runtime.Error"
)

// AttrProcessExitCode holds the exit status that "go run" prints after a
// crash report ("exit status 2").
const AttrProcessExitCode = "process.exit.code"

// AttrExceptionType and AttrExceptionMessage describe a crash.
const (
	AttrExceptionType    = "exception.type"
	AttrExceptionMessage = "exception.message"
)

// crashSeverityText is the severity text of a crash record: OpenTelemetry's
// short name for SeverityNumberFatal. zap's level names are not used: no zap
// level was written.
const crashSeverityText = "FATAL"

// nextLine returns the line at the start of data without its line ending,
// the data after it, and whether the line is complete (its newline read).
func nextLine(data []byte) (line, rest []byte, complete bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return dropCR(data), nil, false
	}
	return dropCR(data[:i]), data[i+1:], true
}

// isSignalHead matches the line the runtime prints for a fatal signal it
// did not turn into a panic ("SIGQUIT: quit", "SIGSEGV: segmentation
// violation"); a crash report only when "PC=0x…" follows.
func isSignalHead(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("SIG")) {
		return false
	}
	i := bytes.Index(line, []byte(": "))
	if i <= 3 {
		return false
	}
	for _, c := range line[3:i] {
		if (c < 'A' || c > 'Z') && !isDigit(c) {
			return false
		}
	}
	return true
}

// startsCrash reports whether data starts a crash report: a panic or fatal
// error line, a signal line followed by "PC=0x", or "runtime: " lines
// followed by a fatal error line. more is true when the line that decides
// has not arrived and final is false.
func startsCrash(data []byte, final bool) (yes, more bool) {
	line, rest, _ := nextLine(data)
	switch {
	case bytes.HasPrefix(line, []byte(prefixPanic)), bytes.HasPrefix(line, []byte(prefixFatalError)):
		return true, false
	case isSignalHead(line):
		next, _, complete := nextLine(rest)
		if !complete && !final && isPrefixOf(next, "PC=0x") {
			return false, true
		}
		return bytes.HasPrefix(next, []byte("PC=0x")), false
	case bytes.HasPrefix(line, []byte(prefixRuntime)):
		for range maxRuntimeLines {
			next, after, complete := nextLine(rest)
			if bytes.HasPrefix(next, []byte(prefixFatalError)) {
				return true, false
			}
			if !complete && !final && (isPrefixOf(next, prefixFatalError) || isPrefixOf(next, prefixRuntime) ||
				bytes.HasPrefix(next, []byte(prefixRuntime))) {
				return false, true // the line that decides is still being written
			}
			if !complete || !bytes.HasPrefix(next, []byte(prefixRuntime)) {
				return false, false
			}
			rest = after
		}
	}
	return false, false
}

// isPrefixOf reports whether b, shorter than p, could still become p.
func isPrefixOf(b []byte, p string) bool {
	return len(b) < len(p) && strings.HasPrefix(p, string(b))
}

// isGoroutineHeader matches "goroutine 1 [running]:" (and, with
// GOTRACEBACK=system, "goroutine 1 gp=0x… m=0 mp=0x… [running]:").
func isGoroutineHeader(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("goroutine "))
	return ok && len(rest) > 0 && isDigit(rest[0]) && bytes.HasSuffix(line, []byte("]:"))
}

// isFuncLine matches a traceback's function line: "main.main()",
// "main.(*T).get(...)", "panic({0x4b07e0?, 0x5832a0?})": a name without
// spaces, then its arguments in parentheses.
func isFuncLine(line []byte) bool {
	if len(line) < 3 || line[len(line)-1] != ')' {
		return false
	}
	i := bytes.IndexByte(line, '(')
	return i > 0 && bytes.IndexAny(line[:i], " \t") < 0 && line[0] != '{' && line[0] != '['
}

// isFileLine matches a traceback's file line: a tab, then
// "/src/main.go:27 +0x41d" (with GOTRACEBACK=system also " fp=… sp=… pc=…").
func isFileLine(line []byte) bool {
	if len(line) < 4 || line[0] != '\t' {
		return false
	}
	loc := line[1:]
	if i := bytes.IndexByte(loc, ' '); i >= 0 {
		loc = loc[:i]
	}
	colon := bytes.LastIndexByte(loc, ':')
	if colon <= 0 || colon == len(loc)-1 {
		return false
	}
	for _, c := range loc[colon+1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// isRegisterLine matches a register of a signal's dump: "rax    0x5".
func isRegisterLine(line []byte) bool {
	i := bytes.IndexByte(line, ' ')
	if i < 1 || i > 8 {
		return false
	}
	for _, c := range line[:i] {
		if (c < 'a' || c > 'z') && !isDigit(c) {
			return false
		}
	}
	v := bytes.TrimLeft(line[i:], " ")
	if len(v) < 3 || !bytes.HasPrefix(v, []byte("0x")) {
		return false
	}
	for _, c := range v[2:] {
		if !isDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// dumpPrefixes begin lines that belong to a crash report after its head.
var dumpPrefixes = [][]byte{
	[]byte("goroutine "),             // a goroutine's header; "goroutine running on other thread; stack unavailable"
	[]byte("created by "),            // the frame that started a goroutine
	[]byte("..."),                    // "...additional frames elided...", "...12 frames elided..."
	[]byte("[signal "),               // the signal a panic came from
	[]byte("PC=0x"),                  // the signal's program counter
	[]byte("signal arrived during "), // "signal arrived during cgo execution"
	[]byte("runtime stack:"),         // the system stack of a fatal error
	[]byte(prefixRuntime),            // the runtime's explanations
}

// isDumpLine reports whether line can continue a crash report: a goroutine
// header or frame, an indented line (file lines, the chain of panics, the
// further lines of a panic value), or the runtime's other report lines.
func isDumpLine(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	if line[0] == '\t' || line[0] == ' ' {
		return true
	}
	for _, p := range dumpPrefixes {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return isFuncLine(line) || isRegisterLine(line)
}

// isStackLine is stricter than isDumpLine: the lines that only a goroutine
// dump has (a goroutine header, a function or file line, a "created by"
// frame). It tells that data starting in the middle of a dump (the rest of
// a crash report cut at max_log_size) is still the dump.
func isStackLine(line []byte) bool {
	return isGoroutineHeader(line) || isFuncLine(line) || isFileLine(line) || bytes.HasPrefix(line, []byte("created by "))
}

// isHeadlessDump reports whether a token is goroutine stacks without the
// head of their crash report (split as one by startsStack): the rest of a
// report cut at max_log_size, or one read from its middle.
func isHeadlessDump(token []byte) bool {
	first, rest, complete := nextLine(token)
	if !complete || isConsoleHead(first) {
		return false
	}
	if isGoroutineHeader(first) {
		return true
	}
	second, rest, _ := nextLine(rest)
	if len(second) == 0 {
		third, _, _ := nextLine(rest)
		return isGoroutineHeader(third)
	}
	return isStackLine(second)
}

// exitStatus reads the line "go run" prints after a crash report.
func exitStatus(line []byte) (int64, bool) {
	v, ok := bytes.CutPrefix(line, []byte("exit status "))
	if !ok || len(v) == 0 || len(v) > 3 {
		return 0, false
	}
	n, ok := parseInt(v)
	return n, ok && v[0] != '-'
}

// startsStack reports whether data, which does not start a record of its own
// kind, starts inside a goroutine dump: its first line is a goroutine header,
// or the line after its first (which may be the cut-off end of a line) is a
// stack line, or a blank line then a goroutine header. It never waits for
// data: a line is taken alone unless what follows it is already there.
func startsStack(data []byte) bool {
	first, rest, complete := nextLine(data)
	if !complete {
		return false
	}
	if isGoroutineHeader(first) {
		return true
	}
	second, rest, complete := nextLine(rest)
	if !complete {
		return false
	}
	if len(second) == 0 {
		third, _, complete := nextLine(rest)
		return complete && isGoroutineHeader(third)
	}
	return isStackLine(second)
}

// crashEnd returns how many bytes of data, which starts with a crash report
// or with a goroutine dump, the report takes: j is where its second line
// starts; inDump says a goroutine header has been read. The report goes on
// while lines are dump lines (isDumpLine); a blank line belongs to it when a
// dump line follows (between goroutines), and "exit status N" ends it,
// included. Anything else ends it: a zap JSON or console line, another
// crash's head after the goroutines, a blank line before other text. It
// returns -1 when the data ends before the report does and final is false,
// the end not yet known; with final the data's end is the report's end.
func crashEnd(data []byte, j int, inDump, final bool) int {
	for {
		k := bytes.IndexByte(data[j:], '\n')
		if k < 0 {
			// The data ends in the middle of a line, or at a line's end.
			if j == len(data) {
				if final {
					return j
				}
				return -1
			}
			if data[j] == '{' {
				return j // a zap JSON line being written
			}
			if !final {
				return -1
			}
			// The report was cut off while it was written: the unfinished
			// line is its last.
			return len(data)
		}
		line := dropCR(data[j : j+k])
		next := j + k + 1
		switch {
		case isExitLine(line):
			return next
		case len(line) == 0:
			after := next
			for {
				m := bytes.IndexByte(data[after:], '\n')
				if m < 0 {
					if !final {
						return -1
					}
					return j
				}
				following := dropCR(data[after : after+m])
				if len(following) != 0 {
					if !isDumpLine(following) {
						return j
					}
					break
				}
				after += m + 1
			}
			next = after // the blank lines are the report's; each is read once
		case bytes.HasPrefix(line, []byte(prefixPanic)), bytes.HasPrefix(line, []byte(prefixFatalError)):
			// A chain of panics ends in a fatal error sometimes; after
			// the goroutines, such a line is another crash.
			if inDump {
				return j
			}
		case isGoroutineHeader(line):
			inDump = true
		case !isDumpLine(line) || isConsoleHead(line):
			return j
		}
		j = next
	}
}

func isExitLine(line []byte) bool {
	_, ok := exitStatus(line)
	return ok
}

// splitCrash is splitRecords for data that starts a crash report or a
// goroutine dump (inDump).
func splitCrash(data []byte, i int, inDump, final bool) (int, []byte, error) {
	end := crashEnd(data, i+1, inDump, final)
	if end < 0 {
		return 0, nil, nil
	}
	return end, bytes.TrimRight(data[:end], "\r\n"), nil
}

// isCrashReport reports whether a token is a crash report.
func isCrashReport(token []byte) bool {
	yes, _ := startsCrash(token, true)
	return yes
}

// parseCrash fills lr from a crash report (isCrashReport): severity FATAL,
// the panic (or fatal error, or signal) line as body, exception.type and
// exception.message from it, and the report as Go printed it as
// exception.stacktrace. truncated says the report was cut at max_log_size;
// the stack trace then ends with TruncationMarker on a line of its own.
func parseCrash(report []byte, lr plog.LogRecord, truncated bool) {
	text := string(bytes.TrimRight(report, " \t\r\n"))
	if !utf8.ValidString(text) {
		// The panic value is printed as the program held it; a string
		// attribute must be UTF-8.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	attrs := lr.Attributes()
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	if n := len(lines); n > 1 {
		if code, ok := exitStatus([]byte(lines[n-1])); ok {
			attrs.PutInt(AttrProcessExitCode, code)
			lines = lines[:n-1]
			for len(lines) > 1 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
		}
	}
	h := 0
	for h < len(lines)-1 && strings.HasPrefix(lines[h], prefixRuntime) {
		h++
	}
	head := lines[h]
	body := head
	typ, msg := crashTypePanic, ""
	switch {
	case strings.HasPrefix(head, prefixPanic):
		// The value's further lines are tab-indented; a later panic of
		// the chain is too, as "\tpanic: ".
		end := h + 1
		for end < len(lines) && strings.HasPrefix(lines[end], "\t") && !strings.HasPrefix(lines[end], "\t"+prefixPanic) {
			end++
		}
		body = strings.Join(lines[h:end], "\n")
		typ, msg = panicValue(strings.ReplaceAll(strings.TrimPrefix(body, prefixPanic), "\n\t", "\n"))
	case strings.HasPrefix(head, prefixFatalError):
		typ, msg = crashTypeFatalError, strings.TrimPrefix(head, prefixFatalError)
	default: // a signal: "SIGQUIT: quit"
		typ, msg, _ = strings.Cut(head, ": ")
	}
	lr.SetSeverityNumber(plog.SeverityNumberFatal)
	lr.SetSeverityText(crashSeverityText)
	lr.Body().SetStr(body)
	attrs.PutStr(AttrExceptionType, typ)
	attrs.PutStr(AttrExceptionMessage, msg)
	stack := strings.Join(lines, "\n")
	if truncated {
		stack += "\n" + TruncationMarker
	}
	attrs.PutStr(AttrExceptionStacktrace, stack)
}

// panicValue reads a panic's value as the runtime printed it (printpanicval)
// into an exception type and message. An error or Stringer is printed as
// its text, so its type is not known: "panic", or runtime.Error for the
// runtime's own ("runtime error: …"). A value of a defined type that is
// neither is printed with its type: main.Code(42), main.Name("x"),
// (*main.T) 0xc000012345. A "[recovered]" suffix (the panic was recovered,
// then another raised) is not part of the value.
func panicValue(v string) (typ, msg string) {
	for _, suffix := range []string{" [recovered, repanicked]", " [recovered]"} {
		if s, ok := strings.CutSuffix(v, suffix); ok {
			v = s
			break
		}
	}
	if strings.HasPrefix(v, "runtime error: ") {
		return crashTypeRuntimeError, v
	}
	// (*main.T) 0xc000012345: a pointer, struct, slice, map... of a defined type.
	if strings.HasPrefix(v, "(") {
		if end := strings.Index(v, ") 0x"); end > 1 && isTypeName(v[1:end]) && isHex(v[end+4:]) {
			return v[1:end], v
		}
	}
	// main.Code(42), main.Name("x"): a defined type of a basic kind.
	if open := strings.IndexByte(v, '('); open > 0 && strings.HasSuffix(v, ")") && isTypeName(v[:open]) && strings.Contains(v[:open], ".") {
		inner := v[open+1 : len(v)-1]
		if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
			// The runtime prints a string between quotes, unescaped.
			inner = inner[1 : len(inner)-1]
		}
		return v[:open], inner
	}
	return crashTypePanic, v
}

// isTypeName matches the type names the runtime prints: "main.Code",
// "*main.T", "pkg.G[int]".
func isTypeName(s string) bool {
	s = strings.TrimLeft(s, "*")
	if s == "" || strings.ContainsAny(s, " \t\"(),") {
		return false
	}
	dot := strings.IndexByte(s, '.')
	return dot > 0 && dot < len(s)-1
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isDigit(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
