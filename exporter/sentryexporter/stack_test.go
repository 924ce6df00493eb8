package sentryexporter

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/getsentry/sentry-go"
)

// panicText is what the Go runtime prints for an unrecovered panic in an
// HTTP handler (arguments, offsets, a second goroutine that must be
// ignored).
const panicText = `panic: runtime error: index out of range [3] with length 2

goroutine 42 [running]:
github.com/acme/shop/checkout.(*Handler).total(0xc000123456, {0xc0001a2b3c, 0x2, 0x2})
	/home/ci/src/shop/checkout/handler.go:88 +0x1d
github.com/acme/shop/checkout.(*Handler).ServeHTTP(0xc000123456, {0x7f1e2c3b4a50, 0xc0002b4000}, 0xc000356100)
	/home/ci/src/shop/checkout/handler.go:42 +0x2a5
net/http.serverHandler.ServeHTTP({0xc0001f4000?}, {0x7f1e2c3b4a50?, 0xc0002b4000?}, 0x6?)
	/usr/local/go/src/net/http/server.go:3301 +0x8e
github.com/gorilla/mux.(*Router).ServeHTTP(0xc0000f2000, {0x7f1e, 0xc0002b4000}, 0xc000356000)
	/root/go/pkg/mod/github.com/gorilla/mux@v1.8.1/mux.go:212 +0x1c5
created by net/http.(*Server).Serve in goroutine 1
	/usr/local/go/src/net/http/server.go:3454 +0x485

goroutine 1 [IO wait]:
internal/poll.runtime_pollWait(0x7f1e2c3b4a50, 0x72)
	/usr/local/go/src/runtime/netpoll.go:351 +0x85
`

// zapText is zap's stacktrace field: function lines without arguments and
// tab-indented file:line lines, newest first.
const zapText = "github.com/acme/shop/payments.(*Client).Charge\n" +
	"\t/app/payments/client.go:120\n" +
	"github.com/acme/shop/payments.Process\n" +
	"\t/app/payments/process.go:31\n" +
	"main.main\n" +
	"\t/app/main.go:17\n" +
	"runtime.main\n" +
	"\t/usr/local/go/src/runtime/proc.go:283"

func TestParseGoStack(t *testing.T) {
	type want struct {
		function, module, filename string
		line                       int
		inApp                      bool
	}
	tests := []struct {
		name  string
		text  string
		rules InAppRules
		want  []want // oldest first
	}{
		{
			name: "go panic: first goroutine only, oldest first, args and offsets stripped",
			text: panicText,
			want: []want{
				{"(*Server).Serve", "net/http", "/usr/local/go/src/net/http/server.go", 3454, false},
				{"(*Router).ServeHTTP", "github.com/gorilla/mux", "github.com/gorilla/mux@v1.8.1/mux.go", 212, false},
				{"serverHandler.ServeHTTP", "net/http", "/usr/local/go/src/net/http/server.go", 3301, false},
				{"(*Handler).ServeHTTP", "github.com/acme/shop/checkout", "/home/ci/src/shop/checkout/handler.go", 42, true},
				{"(*Handler).total", "github.com/acme/shop/checkout", "/home/ci/src/shop/checkout/handler.go", 88, true},
			},
		},
		{
			name: "zap stacktrace",
			text: zapText,
			want: []want{
				{"main", "runtime", "/usr/local/go/src/runtime/proc.go", 283, false},
				{"main", "main", "/app/main.go", 17, true},
				{"Process", "github.com/acme/shop/payments", "/app/payments/process.go", 31, true},
				{"(*Client).Charge", "github.com/acme/shop/payments", "/app/payments/client.go", 120, true},
			},
		},
		{
			name:  "in_app_include narrows in-app frames to the listed modules",
			text:  zapText,
			rules: InAppRules{Include: []string{"github.com/acme/shop/payments"}},
			want: []want{
				{"main", "runtime", "/usr/local/go/src/runtime/proc.go", 283, false},
				{"main", "main", "/app/main.go", 17, false},
				{"Process", "github.com/acme/shop/payments", "/app/payments/process.go", 31, true},
				{"(*Client).Charge", "github.com/acme/shop/payments", "/app/payments/client.go", 120, true},
			},
		},
		{
			name:  "in_app_exclude wins",
			text:  zapText,
			rules: InAppRules{Exclude: []string{"github.com/acme/shop/payments"}},
			want: []want{
				{"main", "runtime", "/usr/local/go/src/runtime/proc.go", 283, false},
				{"main", "main", "/app/main.go", 17, true},
				{"Process", "github.com/acme/shop/payments", "/app/payments/process.go", 31, false},
				{"(*Client).Charge", "github.com/acme/shop/payments", "/app/payments/client.go", 120, false},
			},
		},
		{
			name: "debug.Stack with a vendored dependency and generic function",
			text: "goroutine 7 [running]:\n" +
				"runtime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\n" +
				"github.com/acme/api/vendor/github.com/lib/pq.(*conn).query(...)\n\t/src/api/vendor/github.com/lib/pq/conn.go:900\n" +
				"github.com/acme/api/store.Get[...](0x0)\n\t/src/api/store/get.go:12 +0x10\n",
			want: []want{
				{"Get[...]", "github.com/acme/api/store", "/src/api/store/get.go", 12, true},
				{"(*conn).query", "github.com/acme/api/vendor/github.com/lib/pq", "github.com/lib/pq/conn.go", 900, false},
				{"Stack", "runtime/debug", "/usr/local/go/src/runtime/debug/stack.go", 26, false},
			},
		},
		{
			name: "text without frames",
			text: "something went wrong\nand nothing else",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := ParseGoStack(tt.text, tt.rules)
			if len(frames) != len(tt.want) {
				t.Fatalf("got %d frames, want %d: %+v", len(frames), len(tt.want), frames)
			}
			for i, w := range tt.want {
				f := frames[i]
				file := f.Filename
				if w.filename != file && w.filename != f.AbsPath {
					t.Errorf("frame %d: filename %q abs_path %q, want %q", i, f.Filename, f.AbsPath, w.filename)
				}
				if f.Function != w.function || f.Module != w.module || f.Lineno != w.line || f.InApp != w.inApp {
					t.Errorf("frame %d: got %s.%s:%d in_app=%v, want %s.%s:%d in_app=%v",
						i, f.Module, f.Function, f.Lineno, f.InApp, w.module, w.function, w.line, w.inApp)
				}
			}
		})
	}
}

func TestParseGoStackTrimsLongTraces(t *testing.T) {
	text := "goroutine 1 [running]:\n"
	for i := 0; i < 120; i++ {
		text += "main.f(...)\n\t/app/main.go:" + strconv.Itoa(i+1) + " +0x1\n"
	}
	frames := ParseGoStack(text, InAppRules{})
	if len(frames) != maxFrames {
		t.Fatalf("got %d frames, want %d", len(frames), maxFrames)
	}
	// Oldest first: the outermost call (line 120) first, the failing one
	// (line 1) last, both kept.
	if frames[0].Lineno != 120 || frames[len(frames)-1].Lineno != 1 {
		t.Errorf("ends are lines %d and %d, want 120 and 1", frames[0].Lineno, frames[len(frames)-1].Lineno)
	}
}

func TestSplitFunction(t *testing.T) {
	tests := []struct{ in, module, function string }{
		{"main.main", "main", "main"},
		{"net/http.(*Server).Serve", "net/http", "(*Server).Serve"},
		{"github.com/a/b.c/d.F.func1", "github.com/a/b.c/d", "F.func1"},
		{"noDot", "", "noDot"},
	}
	for _, tt := range tests {
		m, f := SplitFunction(tt.in)
		if m != tt.module || f != tt.function {
			t.Errorf("SplitFunction(%q) = %q, %q; want %q, %q", tt.in, m, f, tt.module, tt.function)
		}
	}
}

func TestTopInAppFrame(t *testing.T) {
	tests := []struct {
		name   string
		frames []sentry.Frame
		want   string
		ok     bool
	}{
		{"newest in-app wins over newer library frames", []sentry.Frame{{Function: "a", InApp: true}, {Function: "b", InApp: true}, {Function: "lib"}}, "b", true},
		{"no in-app frame: newest frame", []sentry.Frame{{Function: "x"}, {Function: "y"}}, "y", true},
		{"panic: the newest in-app frame below it, not the deferred recover", []sentry.Frame{
			{Function: "handle", InApp: true}, {Function: "lookup", InApp: true}, {Module: "runtime", Function: "mapassign_faststr"},
			{Module: "runtime", Function: "gopanic"}, {Function: "handle.func1", InApp: true}, {Function: "RecordError"},
		}, "lookup", true},
		{"runtime error helpers are below the panic", []sentry.Frame{
			{Function: "price", InApp: true}, {Module: "runtime", Function: "sigpanic"}, {Module: "runtime", Function: "panicmem"},
			{Module: "runtime", Function: "gopanic"}, {Function: "recoverer", InApp: true},
		}, "price", true},
		{"panic raised in a library: its newest frame below the panic", []sentry.Frame{
			{Function: "handle", InApp: true}, {Function: "lib.F"}, {Module: "runtime", Function: "goPanicIndex"}, {Function: "recoverer", InApp: true},
		}, "handle", true},
		{"recovered and panicked again in a deferred function: where the first panic happened", []sentry.Frame{
			{Function: "handler", InApp: true}, {Function: "(*Store[...]).Put", InApp: true}, {Module: "runtime", Function: "mapassign_faststr"},
			{Module: "runtime", Function: "gopanic"}, {Module: "runtime", Function: "deferCallSave"}, {Function: "rethrow", InApp: true},
			{Module: "runtime", Function: "gopanic"}, {Function: "outer.func1", InApp: true}, {Function: "RecordError"},
		}, "(*Store[...]).Put", true},
		{"a deferred function's own panic, not a re-panic: where it panicked", []sentry.Frame{
			{Function: "handler", InApp: true}, {Function: "cleanup", InApp: true}, {Function: "check", InApp: true},
			{Module: "runtime", Function: "gopanic"}, {Function: "recoverer", InApp: true},
		}, "check", true},
		{"panic frame oldest (truncated stack): newest in-app", []sentry.Frame{{Module: "runtime", Function: "gopanic"}, {Function: "recoverer", InApp: true}}, "recoverer", true},
		{"no frames", nil, "", false},
	}
	for _, tt := range tests {
		f, ok := topInAppFrame(tt.frames)
		if ok != tt.ok || f.Function != tt.want {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, f.Function, ok, tt.want, tt.ok)
		}
	}
}

// readStack reads a stack trace fixture of testdata/stacks. The otel_*
// files are exception.stacktrace as the OpenTelemetry Go SDK v1.45.0
// records it (span.RecordError with WithStackTrace: runtime.Stack), the
// zap_* files zap's stacktrace field (runtime.CallersFrames), each built
// with and without -trimpath (Go 1.26) from a service whose main package
// panics in lookupInventory (nil map) or computePrice (nil pointer) and
// recovers in a deferred function, or reports a plain error
// (callPayments).
func readStack(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stacks", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInAppTrimpath: frames are classified alike with and without
// -trimpath, by package rather than by where the build kept the files: the
// OpenTelemetry SDK (module@version/... with -trimpath), the runtime's
// panic frame ("panic", runtime/panic.go) and the standard library are not
// in-app, the service's main package is.
func TestInAppTrimpath(t *testing.T) {
	for _, name := range []string{"otel_inventory", "otel_pricing", "otel_declined", "zap_pricing"} {
		t.Run(name, func(t *testing.T) {
			plain := ParseGoStack(readStack(t, name+".txt"), InAppRules{})
			trimmed := ParseGoStack(readStack(t, name+"_trimpath.txt"), InAppRules{})
			if len(plain) != len(trimmed) || len(plain) == 0 {
				t.Fatalf("%d frames without -trimpath, %d with", len(plain), len(trimmed))
			}
			for i := range plain {
				p, tr := plain[i], trimmed[i]
				if p.Module+"."+p.Function != tr.Module+"."+tr.Function {
					t.Fatalf("frame %d: %s.%s vs %s.%s", i, p.Module, p.Function, tr.Module, tr.Function)
				}
				want := p.Module == "main"
				if p.InApp != want || tr.InApp != want {
					t.Errorf("frame %d %s.%s (%s | %s): in_app %v without -trimpath, %v with; want %v",
						i, p.Module, p.Function, p.Filename, tr.Filename, p.InApp, tr.InApp, want)
				}
			}
		})
	}
}

func TestInApp(t *testing.T) {
	tests := []struct {
		module, file string
		want         bool
	}{
		{"main", "/app/main.go", true},
		{"main", "example.com/acme/orders/main.go", true},
		{"example.com/acme/orders/store", "example.com/acme/orders/store/db.go", true},
		{"orders/internal/store", "orders/internal/store/db.go", true}, // main module named without a dot
		{"runtime", "runtime/panic.go", false},
		{"runtime", "/opt/sdk/go1.26/src/runtime/panic.go", false}, // GOROOT elsewhere
		{"net/http", "net/http/server.go", false},
		{"internal/runtime/maps", "internal/runtime/maps/runtime_faststr.go", false},
		{"vendor/golang.org/x/net/http2/hpack", "vendor/golang.org/x/net/http2/hpack/hpack.go", false},
		{"github.com/gorilla/mux", "github.com/gorilla/mux@v1.8.1/mux.go", false},
		{"github.com/gorilla/mux", "/root/go/pkg/mod/github.com/gorilla/mux@v1.8.1/mux.go", false},
		{"golang.org/x/sync/errgroup", "golang.org/x/sync@v0.0.0-20240101000000-abcdef123456/errgroup/errgroup.go", false},
		{"github.com/lib/pq", "/src/api/vendor/github.com/lib/pq/conn.go", false},
		{"go.opentelemetry.io/otel/sdk/trace", "/work/otel-fork/sdk/trace/span.go", false}, // a replaced SDK is still the reporter
		{"go.opentelemetry.io/contrib/bridges/otelzap", "go.opentelemetry.io/contrib/bridges/otelzap/core.go", false},
		{"go.uber.org/zap", "go.uber.org/zap/logger.go", false},
		{"go.uber.org/zapper", "go.uber.org/zapper/x.go", true}, // not zap
		{"", "/app/x.go", true},
	}
	for _, tt := range tests {
		if got := (InAppRules{}).InApp(tt.module, tt.file); got != tt.want {
			t.Errorf("InApp(%q, %q) = %v, want %v", tt.module, tt.file, got, tt.want)
		}
	}
}

// TestRuntimePanicFrame: the runtime prints runtime.gopanic as "panic"; the
// frame is the runtime's either way.
// TestCrashReportFrames: Go's crash reports, as the zaplog receiver
// keeps them (exception.stacktrace): the dying goroutine's frames, not
// the runtime's own stack a fatal error prints before it.
func TestCrashReportFrames(t *testing.T) {
	for name, want := range map[string]string{"crash_index.txt": "main.lookupInventory", "crash_overflow.txt": "main.recurse"} {
		frames := ParseGoStack(readStack(t, name), InAppRules{})
		top, ok := topInAppFrame(frames)
		if !ok || top.Module+"."+top.Function != want {
			t.Errorf("%s: place %s.%s, want %s (frames %+v)", name, top.Module, top.Function, want, frames[max(0, len(frames)-3):])
		}
	}
}

func TestRuntimePanicFrame(t *testing.T) {
	frames := ParseGoStack("goroutine 1 [running]:\npanic({0x4b0640?, 0x581240?})\n\truntime/panic.go:860 +0x13a\nmain.f()\n\texample.com/x/main.go:3 +0x1\n", InAppRules{})
	if len(frames) != 2 || frames[1].Module != "runtime" || frames[1].Function != "gopanic" || frames[1].InApp {
		t.Fatalf("frames = %+v", frames)
	}
}
