package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
)

// maxFrames is the most frames one stack trace keeps. Sentry's data
// handling guide limits stack traces to 50 frames and removes frames from the
// middle beyond that; dropping them here keeps the crashing frame and the
// program's entry point and says which were dropped (frames_omitted).
// https://develop.sentry.dev/sdk/data-handling/#variable-size
const maxFrames = 50

// InAppRules decide whether a frame is the service's own code (in-app) or
// a library's. Sentry highlights in-app frames and groups issues by them.
type InAppRules struct {
	// Include lists package path prefixes that are always in-app (e.g.
	// "github.com/acme/"). When not empty, only matching frames are in-app.
	Include []string
	// Exclude lists package path prefixes that are never in-app; it wins
	// over Include.
	Exclude []string
}

// InApp reports whether a frame of package module in file is in-app.
//
// Without Include, a frame is in-app unless its package or file says it is
// someone else's code, judged alike for builds with and without -trimpath:
//   - the standard library: a package whose first path element is one of
//     the standard library's (runtime, net/http, fmt, internal/..., ...),
//     whether its file is under GOROOT or, with -trimpath, "runtime/panic.go";
//   - a dependency: a file in the Go module cache (".../pkg/mod/..."), in a
//     vendor folder, or, with -trimpath, named by its versioned module path
//     ("go.opentelemetry.io/otel/sdk@v1.45.0/trace/span.go");
//   - the code that reports errors rather than raises them: OpenTelemetry
//     (the SDK's RecordError and its stack capture, instrumentation,
//     bridges such as otelzap) and zap, even when replaced by a local copy.
//
// The service's own packages ("main", "example.com/acme/orders/...", and a
// main module named without a dot, such as "orders/internal/store") are
// in-app.
func (r InAppRules) InApp(module, file string) bool {
	for _, p := range r.Exclude {
		if strings.HasPrefix(module, p) {
			return false
		}
	}
	if len(r.Include) > 0 {
		for _, p := range r.Include {
			if strings.HasPrefix(module, p) {
				return true
			}
		}
		return false
	}
	return !isDependencyFile(file) && !isStdlib(module) && !isReporter(module)
}

// isDependencyFile reports whether a source file path is a dependency's or
// Go's own: in the module cache, a vendor folder, a Go installation, or a
// versioned module path, which is how -trimpath names a dependency's files
// (the service's own module is named without a version).
func isDependencyFile(file string) bool {
	if strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/") ||
		strings.HasPrefix(file, "vendor/") ||
		strings.Contains(file, "/go/src/runtime/") || strings.HasPrefix(file, "/usr/local/go/") ||
		strings.HasPrefix(file, "/usr/lib/go") {
		return true
	}
	return hasModuleVersion(file)
}

// hasModuleVersion reports whether a path holds a "module@vN" element, as
// "github.com/gorilla/mux@v1.8.1/mux.go" does.
func hasModuleVersion(file string) bool {
	for {
		i := strings.Index(file, "@v")
		if i < 0 {
			return false
		}
		if i+2 < len(file) && file[i+2] >= '0' && file[i+2] <= '9' {
			return true
		}
		file = file[i+2:]
	}
}

// stdlibRoots are the first path elements of the standard library's
// packages ("go list std" of Go 1.26, plus cmd for the toolchain):
// runtime, net/http, internal/runtime/maps, vendor/golang.org/x/net/...
//
// A package path whose first element has no dot is the standard library's
// for the go command, but a main module may be named without one ("go mod
// init orders"), so a dotless path is the standard library's only when it
// starts with one of these. A standard package added by a later Go release
// and missing here is still recognised by its file in a build without
// -trimpath (under GOROOT).
var stdlibRoots = map[string]bool{
	"archive": true, "bufio": true, "bytes": true, "cmd": true, "cmp": true, "compress": true,
	"container": true, "context": true, "crypto": true, "database": true, "debug": true,
	"embed": true, "encoding": true, "errors": true, "expvar": true, "flag": true, "fmt": true,
	"go": true, "hash": true, "html": true, "image": true, "index": true, "internal": true,
	"io": true, "iter": true, "log": true, "maps": true, "math": true, "mime": true, "net": true,
	"os": true, "path": true, "plugin": true, "reflect": true, "regexp": true, "runtime": true,
	"slices": true, "sort": true, "strconv": true, "strings": true, "structs": true, "sync": true,
	"syscall": true, "testing": true, "text": true, "time": true, "unicode": true, "unique": true,
	"unsafe": true, "vendor": true, "weak": true,
}

// isStdlib reports whether a package path is the standard library's (see
// stdlibRoots). The program's own "main" is not.
func isStdlib(module string) bool {
	first, _, _ := strings.Cut(module, "/")
	return !strings.Contains(first, ".") && stdlibRoots[first]
}

// reporterModules are module path prefixes of code that records an error
// rather than raises it: a frame of theirs is where the error was
// reported, never where it happened.
var reporterModules = []string{
	"go.opentelemetry.io/", // the SDK (RecordError, recordStackTrace), instrumentation, bridges
	"go.uber.org/zap",      // zap.Stack and logger wrappers
}

func isReporter(module string) bool {
	for _, p := range reporterModules {
		if strings.HasPrefix(module, p) && (strings.HasSuffix(p, "/") || len(module) == len(p) || module[len(p)] == '/') {
			return true
		}
	}
	return false
}

// panicFunction is the runtime function that starts a panic.
const panicFunction = "runtime.gopanic"

// ParseGoStack turns a Go stack trace in text form into Sentry frames,
// oldest call first (Sentry's order; Go prints the newest first).
//
// It reads both forms Go services produce:
//
//   - the runtime's panic and debug.Stack output: an optional "panic: ..."
//     line, "goroutine 1 [running]:", then per frame a function line with
//     arguments ("main.handler(0x1, {0x2, 0x3})") and a tab-indented
//     "/path/file.go:42 +0x1d" line; "created by F in goroutine N" frames
//     too. Only the first goroutine is read: it is the one that failed.
//   - zap's stacktrace field: a function line without arguments and a
//     tab-indented "/path/file.go:42" line.
//
// Lines it does not understand are skipped, so a truncated or decorated
// trace still yields the frames it has.
func ParseGoStack(text string, rules InAppRules) []sentry.Frame {
	var (
		frames   []sentry.Frame
		function string // the function line waiting for its file line
		started  bool   // a goroutine header or frame has been seen
		system   bool   // in a "runtime stack:" block
	)
	for len(text) > 0 {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimRight(line, "\r")
		if system {
			// The runtime's own stack of a fatal error (stack overflow:
			// throw, newstack, morestack) comes before the goroutine
			// that died, whose frames say where.
			if !strings.HasPrefix(line, "goroutine ") {
				continue
			}
			system = false
		}
		if line == "" {
			if started && function == "" && len(frames) > 0 {
				// A blank line after frames ends the goroutine; the next
				// goroutine is another one's stack.
				break
			}
			continue
		}
		if line[0] == '\t' || line[0] == ' ' {
			if function == "" {
				continue
			}
			file, lineno, ok := parseFileLine(strings.TrimSpace(line))
			if ok {
				frames = append(frames, newFrame(function, file, lineno, rules))
			}
			function = ""
			continue
		}
		switch {
		case line == "runtime stack:":
			system, function = true, ""
			continue
		case strings.HasPrefix(line, "runtime: "):
			// The runtime's notes before a fatal error ("runtime:
			// goroutine stack exceeds ...") are not frames.
			function = ""
			continue
		case strings.HasPrefix(line, "goroutine "):
			if started && len(frames) > 0 {
				text = ""
				continue
			}
			started = true
			function = ""
		case strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "),
			strings.HasPrefix(line, "[signal "), strings.HasPrefix(line, "..."):
			// The panic value, the signal and "...additional frames
			// elided..." are not frames.
			function = ""
		default:
			started = true
			function = functionName(line)
		}
	}
	reverse(frames)
	return trimFrames(frames)
}

// functionName extracts the qualified function name from a function line:
// "main.(*T).M(0x1, ...)" → "main.(*T).M", "created by net/http.(*Server).Serve
// in goroutine 1" → "net/http.(*Server).Serve".
func functionName(line string) string {
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "created by "); ok {
		line = rest
		if i := strings.Index(line, " in goroutine "); i >= 0 {
			line = line[:i]
		}
	}
	if strings.HasSuffix(line, ")") {
		// The argument list is the last parenthesised group; receivers
		// like "(*T)" come before a dot, arguments never do.
		if i := strings.LastIndexByte(line, '('); i > 0 && line[i-1] != '.' {
			line = line[:i]
		}
	}
	return line
}

// parseFileLine reads "/path/file.go:42 +0x1d" or "/path/file.go:42".
func parseFileLine(s string) (file string, line int, ok bool) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	colon := strings.LastIndexByte(s, ':')
	if colon <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[colon+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return s[:colon], n, true
}

// newFrame builds a Sentry frame the way sentry-go does for its own stack
// traces: module is the package path, function the rest of the name.
func newFrame(qualified, file string, line int, rules InAppRules) sentry.Frame {
	if qualified == "panic" {
		// The runtime prints runtime.gopanic as "panic" in tracebacks
		// (runtime.Stack, debug.Stack, crashes); runtime.Callers and so
		// zap name it runtime.gopanic.
		qualified = panicFunction
	}
	module, function := SplitFunction(qualified)
	f := sentry.Frame{
		Function: function,
		Module:   module,
		Lineno:   line,
		Filename: shortFile(file),
	}
	if strings.HasPrefix(file, "/") {
		f.AbsPath = file
	}
	f.InApp = rules.InApp(module, file)
	return f
}

// SplitFunction splits a qualified Go function name into its package path
// and the function within it: "github.com/a/b.(*T).M" → ("github.com/a/b",
// "(*T).M"). The package ends at the first dot after the last slash.
func SplitFunction(qualified string) (module, function string) {
	slash := strings.LastIndexByte(qualified, '/')
	dot := strings.IndexByte(qualified[slash+1:], '.')
	if dot < 0 {
		return "", qualified
	}
	return qualified[:slash+1+dot], qualified[slash+1+dot+1:]
}

// shortFile is the file path Sentry shows: relative to the module cache or
// GOPATH when the file lives there, else the path as given (Sentry's
// suspect-commit matching needs more than a base name).
func shortFile(file string) string {
	for _, marker := range []string{"/pkg/mod/", "/go/src/", "/vendor/"} {
		if i := strings.LastIndex(file, marker); i >= 0 {
			return file[i+len(marker):]
		}
	}
	return file
}

func reverse(frames []sentry.Frame) {
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
}

// trimFrames keeps the oldest and newest frames of a trace longer than
// maxFrames.
func trimFrames(frames []sentry.Frame) []sentry.Frame {
	if len(frames) <= maxFrames {
		return frames
	}
	head := maxFrames / 2
	tail := maxFrames - head
	out := make([]sentry.Frame, 0, maxFrames)
	out = append(out, frames[:head]...)
	return append(out, frames[len(frames)-tail:]...)
}

// topInAppFrame returns the frame where the error arose: the newest in-app
// frame (the last one, frames being oldest first), or else the newest
// frame; ok is false without frames.
//
// When the stack shows a panic (runtime.gopanic, or a runtime helper that
// raises one such as sigpanic or panicmem), only the frames older than it
// count: the newer ones are the deferred function that recovered and
// reported the panic, the same for every panic it recovers, while the
// newest in-app frame below the panic is where it happened. A deferred
// function that recovered, reported and panicked again (common in
// middleware) is itself called by the older panic: the frames below that
// one count instead.
func topInAppFrame(frames []sentry.Frame) (sentry.Frame, bool) {
	if len(frames) == 0 {
		return sentry.Frame{}, false
	}
	end := len(frames)
	if p := panicFrame(frames[:end]); p > 0 {
		end = p
	}
	for {
		i := end - 1
		for i >= 0 && !frames[i].InApp {
			i--
		}
		if i < 0 {
			return frames[end-1], true
		}
		// The runtime frames between frame i and its caller: a deferred
		// call runs from gopanic through a few of them.
		j := i - 1
		for j >= 0 && frames[j].Module == "runtime" && !isPanicFrame(frames[j]) {
			j--
		}
		if j <= 0 || !isPanicFrame(frames[j]) {
			return frames[i], true
		}
		end = j
	}
}

// panicFrame returns the index of the newest frame of the runtime that
// raises a panic, or -1: runtime.gopanic (printed "panic" in tracebacks)
// and the helpers below it for runtime errors (sigpanic, panicmem,
// panicIndex, goPanicIndex, panicdivide, ...).
func panicFrame(frames []sentry.Frame) int {
	for i := len(frames) - 1; i >= 0; i-- {
		if isPanicFrame(frames[i]) {
			return i
		}
	}
	return -1
}

// isPanicFrame says whether f is the runtime raising a panic (see
// panicFrame).
func isPanicFrame(f sentry.Frame) bool {
	return f.Module == "runtime" && (f.Function == "gopanic" || f.Function == "sigpanic" ||
		strings.HasPrefix(f.Function, "panic") || strings.HasPrefix(f.Function, "goPanic"))
}
