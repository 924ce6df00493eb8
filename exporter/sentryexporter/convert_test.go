package sentryexporter

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

var (
	testTraceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	testParent  = pcommon.SpanID{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	testTime    = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
)

func testSettings() Settings {
	return Settings{
		Tags:  []string{"service.name", "http.route", "k8s.namespace.name", "weird key!"},
		InApp: InAppRules{},
		SDK:   sentry.SdkInfo{Name: sdkName, Version: "test"},
	}
}

// newResource fills the resource attributes events take release,
// environment and server name from.
func newResource(res pcommon.Map, service string) {
	res.PutStr("service.name", service)
	res.PutStr("service.version", "1.4.2")
	res.PutStr("deployment.environment.name", "prod")
	res.PutStr("host.name", "web-1")
	res.PutStr("k8s.namespace.name", "shop")
}

func errorSpan(ss ptrace.SpanSlice, name, excType, excMsg, stack string) ptrace.Span {
	span := ss.AppendEmpty()
	span.SetName(name)
	span.SetTraceID(testTraceID)
	span.SetSpanID(testSpanID)
	span.SetParentSpanID(testParent)
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(testTime))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(testTime.Add(120 * time.Millisecond)))
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage("boom")
	span.Attributes().PutStr("http.route", "/checkout/{id}")
	span.Attributes().PutStr("weird key!", "line1\nline2")
	if excType != "" || excMsg != "" {
		ev := span.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", excType)
		ev.Attributes().PutStr("exception.message", excMsg)
		if stack != "" {
			ev.Attributes().PutStr("exception.stacktrace", stack)
		}
	}
	return span
}

func TestTracesToEvents(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	newResource(rs.Resource().Attributes(), "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	ok := spans.AppendEmpty()
	ok.SetName("healthy")
	ok.Status().SetCode(ptrace.StatusCodeOk)
	unset := spans.AppendEmpty()
	unset.SetName("unset with exception event")
	unset.Events().AppendEmpty().SetName("exception")
	errorSpan(spans, "GET /checkout/{id}", "runtime.Error", "runtime error: index out of range [3] with length 2", panicText)
	noExc := errorSpan(spans, "POST /pay", "", "", "")
	noExc.Attributes().PutStr("error.type", "timeout")
	noExc.SetSpanID(pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, 9})

	events := TracesToEvents(td, testSettings())
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2 (error spans only)", len(events))
	}

	e := events[0]
	if e.Service != "checkout" {
		t.Errorf("service = %q", e.Service)
	}
	ev := e.Event
	checks := []struct {
		name      string
		got, want any
	}{
		{"level", ev.Level, sentry.LevelError},
		{"platform", ev.Platform, "go"},
		{"release", ev.Release, "1.4.2"},
		{"environment", ev.Environment, "prod"},
		{"server_name", ev.ServerName, "web-1"},
		{"transaction", ev.Transaction, "GET /checkout/{id}"},
		{"timestamp", ev.Timestamp, testTime.Add(120 * time.Millisecond)},
		{"exception type", ev.Exception[0].Type, "runtime.Error"},
		{"exception value", ev.Exception[0].Value, "runtime error: index out of range [3] with length 2"},
		{"frames", len(ev.Exception[0].Stacktrace.Frames), 5},
		{"crashing frame last", ev.Exception[0].Stacktrace.Frames[4].Function, "(*Handler).total"},
		{"trace_id", ev.Contexts["trace"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"span_id", ev.Contexts["trace"]["span_id"], "00f067aa0ba902b7"},
		{"parent_span_id", ev.Contexts["trace"]["parent_span_id"], "1122334455667788"},
		{"tags", ev.Tags, map[string]string{
			"service.name": "checkout", "http.route": "/checkout/{id}", "k8s.namespace.name": "shop", "weird_key_": "line1 line2",
		}},
		{"fingerprint", ev.Fingerprint, []string{"checkout", "runtime.Error", "github.com/acme/shop/checkout.(*Handler).total"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if len(ev.EventID) != 32 {
		t.Errorf("event_id %q", ev.EventID)
	}

	// A failed span without exception events: typed by error.type, valued
	// by the status message, placed by its name.
	ev2 := events[1].Event
	if ev2.Exception[0].Type != "timeout" || ev2.Exception[0].Value != "boom" {
		t.Errorf("exception = %+v", ev2.Exception[0])
	}
	if want := []string{"checkout", "timeout", "POST /pay"}; !reflect.DeepEqual(ev2.Fingerprint, want) {
		t.Errorf("fingerprint = %v, want %v", ev2.Fingerprint, want)
	}
	if ev.EventID == ev2.EventID {
		t.Error("two spans share an event_id")
	}

	// Converting again yields the same IDs: retries are deduplicated.
	again := TracesToEvents(td, testSettings())
	if again[0].Event.EventID != ev.EventID {
		t.Error("event_id not stable across conversions")
	}
}

func TestFingerprintGroupsTheSameBug(t *testing.T) {
	// Same bug: same service, type and in-app function, though the message
	// and line numbers differ (another request, a later build).
	stackA := "main.handler(...)\n\t/app/main.go:42 +0x1\nnet/http.HandlerFunc.ServeHTTP(...)\n\t/usr/local/go/src/net/http/server.go:2136 +0x1\n"
	stackB := strings.Replace(stackA, "main.go:42", "main.go:57", 1)
	stackC := strings.Replace(stackA, "main.handler", "main.other", 1)
	fp := func(service, typ, msg, stack string) []string {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "op", typ, msg, stack)
		return TracesToEvents(td, testSettings())[0].Event.Fingerprint
	}
	base := fp("api", "*errors.errorString", "user 1 not found", stackA)
	tests := []struct {
		name string
		got  []string
		same bool
	}{
		{"other message and line", fp("api", "*errors.errorString", "user 2 not found", stackB), true},
		{"other function", fp("api", "*errors.errorString", "user 1 not found", stackC), false},
		{"other type", fp("api", "*net.OpError", "user 1 not found", stackA), false},
		{"other service", fp("web", "*errors.errorString", "user 1 not found", stackA), false},
	}
	for _, tt := range tests {
		if reflect.DeepEqual(base, tt.got) != tt.same {
			t.Errorf("%s: %v vs %v, same=%v wanted", tt.name, base, tt.got, tt.same)
		}
	}
	if base[2] != "main.handler" {
		t.Errorf("place = %q, want the in-app function main.handler", base[2])
	}
}

func TestLogsToEvents(t *testing.T) {
	tests := []struct {
		name      string
		severity  plog.SeverityNumber
		text      string
		attrs     map[string]any
		body      string
		traced    bool
		wantEvent bool
		check     func(t *testing.T, ev *sentry.Event)
	}{
		{name: "warn is not an error", severity: plog.SeverityNumberWarn, body: "slow", wantEvent: false},
		{name: "info text without number", text: "info", body: "hello", wantEvent: false},
		{
			name: "zap error with stacktrace and trace", severity: plog.SeverityNumberError, body: "charge failed", traced: true,
			attrs: map[string]any{
				"exception.stacktrace": zapText, "error": "card declined", "logger": "payments",
				"code.filepath": "/app/payments/client.go", "code.lineno": int64(120), "code.function": "github.com/acme/shop/payments.(*Client).Charge",
			},
			wantEvent: true,
			check: func(t *testing.T, ev *sentry.Event) {
				exc := ev.Exception[0]
				if exc.Type != "charge failed" || exc.Value != "card declined" {
					t.Errorf("exception = %q / %q", exc.Type, exc.Value)
				}
				if ev.Message != "charge failed" {
					t.Errorf("message = %q", ev.Message)
				}
				if n := len(exc.Stacktrace.Frames); n != 4 {
					t.Fatalf("%d frames from the zap stack, want 4", n)
				}
				if ev.Logger != "payments" || ev.Level != sentry.LevelError {
					t.Errorf("logger %q level %q", ev.Logger, ev.Level)
				}
				if ev.Contexts["trace"]["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || ev.Contexts["trace"]["span_id"] != "00f067aa0ba902b7" {
					t.Errorf("trace context = %v", ev.Contexts["trace"])
				}
				if want := []string{"payments", "charge failed", "github.com/acme/shop/payments.(*Client).Charge"}; !reflect.DeepEqual(ev.Fingerprint, want) {
					t.Errorf("fingerprint = %v, want %v", ev.Fingerprint, want)
				}
			},
		},
		{
			name: "code attributes give one frame", severity: plog.SeverityNumberError, body: "db down",
			attrs: map[string]any{
				"exception.type": "*pq.Error", "exception.message": "connection refused",
				"code.filepath": "/app/store/db.go", "code.lineno": int64(77), "code.function": "github.com/acme/shop/store.Open",
			},
			wantEvent: true,
			check: func(t *testing.T, ev *sentry.Event) {
				f := ev.Exception[0].Stacktrace.Frames
				if len(f) != 1 || f[0].Function != "Open" || f[0].Module != "github.com/acme/shop/store" || f[0].Lineno != 77 || !f[0].InApp {
					t.Errorf("frames = %+v", f)
				}
				if ev.Exception[0].Type != "*pq.Error" {
					t.Errorf("type = %q", ev.Exception[0].Type)
				}
				if _, ok := ev.Contexts["trace"]; ok {
					t.Error("trace context without a trace ID")
				}
			},
		},
		{
			name: "fatal by text (no severity number)", text: "FATAL", body: "cannot start",
			wantEvent: true,
			check: func(t *testing.T, ev *sentry.Event) {
				if ev.Level != sentry.LevelFatal || ev.Exception[0].Type != "cannot start" || ev.Exception[0].Stacktrace != nil {
					t.Errorf("level %q exception %+v", ev.Level, ev.Exception[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			newResource(rl.Resource().Attributes(), "payments")
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetSeverityNumber(tt.severity)
			lr.SetSeverityText(tt.text)
			lr.Body().SetStr(tt.body)
			lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime))
			if tt.traced {
				lr.SetTraceID(testTraceID)
				lr.SetSpanID(testSpanID)
			}
			if err := lr.Attributes().FromRaw(tt.attrs); err != nil {
				t.Fatal(err)
			}
			events := LogsToEvents(ld, testSettings())
			if got := len(events) == 1; got != tt.wantEvent {
				t.Fatalf("%d events, want event=%v", len(events), tt.wantEvent)
			}
			if !tt.wantEvent {
				return
			}
			ev := events[0].Event
			if ev.Release != "1.4.2" || ev.Environment != "prod" || ev.ServerName != "web-1" || events[0].Service != "payments" {
				t.Errorf("release %q environment %q server %q service %q", ev.Release, ev.Environment, ev.ServerName, events[0].Service)
			}
			tt.check(t, ev)
		})
	}
}

func TestResourceNames(t *testing.T) {
	tests := []struct {
		name          string
		attrs         map[string]any
		defaultEnv    string
		release, env  string
		wantServerNam string
	}{
		{"semconv 1.27+", map[string]any{"service.version": "2.0.0", "deployment.environment.name": "staging", "host.name": "h"}, "", "2.0.0", "staging", "h"},
		{"older deployment.environment", map[string]any{"deployment.environment": "prod"}, "", "", "prod", ""},
		{"default environment", map[string]any{}, "dev", "", "dev", ""},
		{"invalid characters cleaned", map[string]any{"service.version": "feature/x\n1", "deployment.environment.name": "eu west/1"}, "", "feature-x-1", "eu-west-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pcommon.NewMap()
			if err := res.FromRaw(tt.attrs); err != nil {
				t.Fatal(err)
			}
			ev := baseEvent(res, Settings{Environment: tt.defaultEnv})
			if ev.Release != tt.release || ev.Environment != tt.env || ev.ServerName != tt.wantServerNam {
				t.Errorf("release %q env %q server %q; want %q %q %q", ev.Release, ev.Environment, ev.ServerName, tt.release, tt.env, tt.wantServerNam)
			}
		})
	}
}

func TestTagKey(t *testing.T) {
	tests := map[string]string{
		"http.route":            "http.route",
		"a b/c":                 "a_b_c",
		"k8s:pod-id":            "k8s:pod-id",
		strings.Repeat("x", 40): strings.Repeat("x", 32),
	}
	for in, want := range tests {
		if got := TagKey(in); got != want {
			t.Errorf("TagKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEncodedEventsPassTheFake: what the converter and envelope encoder
// produce is accepted by the strict fake's validator.
func TestEncodedEventsPassTheFake(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	newResource(rs.Resource().Attributes(), "checkout")
	errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "GET /", "runtime.Error", "index out of range", panicText)
	recovered := errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "GET /orders/{id}", "runtime.Error", "panic: assignment to entry in nil map", readStack(t, "otel_inventory_trimpath.txt"))
	recovered.SetSpanID(pcommon.SpanID{7, 7, 7, 7, 7, 7, 7, 7})
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	newResource(rl.Resource().Attributes(), "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("failed")
	lr.Attributes().PutStr("exception.stacktrace", zapText)

	events := append(TracesToEvents(td, testSettings()), LogsToEvents(ld, testSettings())...)
	mechanisms := 0
	for _, se := range events {
		var buf bytes.Buffer
		if err := EncodeEnvelope(&buf, se.Event, "http://pubkey@127.0.0.1:1/42", testTime); err != nil {
			t.Fatal(err)
		}
		got, err := fakesentry.ParseEnvelope(buf.Bytes(), "42", "pubkey")
		if err != nil {
			t.Fatalf("fake rejected the envelope: %v\n%s", err, buf.String())
		}
		if len(got) != 1 || got[0].EventID != string(se.Event.EventID) {
			t.Fatalf("parsed %+v", got)
		}
		if !reflect.DeepEqual(got[0].Fingerprint, se.Event.Fingerprint) {
			t.Errorf("fingerprint %v, want %v", got[0].Fingerprint, se.Event.Fingerprint)
		}
		if m := se.Event.Exception[0].Mechanism; m != nil {
			gm := got[0].Exceptions[0].Mechanism
			if gm == nil || gm.Type != m.Type || (gm.Handled == nil) != (m.Handled == nil) {
				t.Errorf("mechanism %+v, want %+v", gm, m)
			}
			mechanisms++
		}
	}
	if mechanisms != 1 {
		t.Errorf("%d events with a mechanism, want 1 (the recovered panic)", mechanisms)
	}
}

func TestEncodeEnvelopeFraming(t *testing.T) {
	ev := &sentry.Event{EventID: "0123456789abcdef0123456789abcdef", Platform: "go", Timestamp: testTime, Message: "hé\nllo"}
	var buf bytes.Buffer
	if err := EncodeEnvelope(&buf, ev, "https://k@h/1", testTime); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(buf.String(), "\n", 3)
	var hdr map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil || hdr["event_id"] != string(ev.EventID) || hdr["sent_at"] != "2026-11-21T20:00:00Z" {
		t.Errorf("header %q: %v", lines[0], err)
	}
	var item struct {
		Type   string `json:"type"`
		Length int    `json:"length"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &item); err != nil || item.Type != "event" {
		t.Fatalf("item header %q: %v", lines[1], err)
	}
	payload := lines[2]
	if len(payload) != item.Length+1 || payload[item.Length] != '\n' {
		t.Errorf("payload is %d bytes + newline, header says %d", len(payload)-1, item.Length)
	}
}

func TestEncodeEnvelopeShrinksLargeEvents(t *testing.T) {
	big := strings.Repeat("x", maxEventBytes)
	ev := &sentry.Event{
		EventID: "0123456789abcdef0123456789abcdef", Platform: "go", Timestamp: testTime,
		Message:   big,
		Exception: []sentry.Exception{{Type: "t", Value: big}},
		Contexts:  map[string]sentry.Context{"otel": {"x": big}},
	}
	var buf bytes.Buffer
	if err := EncodeEnvelope(&buf, ev, "https://k@h/1", testTime); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > maxEventBytes {
		t.Errorf("envelope is %d bytes, over the event limit", buf.Len())
	}
}

// TestSpanWithSeveralExceptions: every exception event is kept, the last
// (the one that failed the span) is the main exception and decides the
// fingerprint.
func TestSpanWithSeveralExceptions(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	newResource(rs.Resource().Attributes(), "checkout")
	span := errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "op", "*net.OpError", "dial refused", zapText)
	last := span.Events().AppendEmpty()
	last.SetName("exception")
	last.Attributes().PutStr("exception.type", "*fmt.wrapError")
	last.Attributes().PutStr("exception.message", "giving up after retries")
	other := span.Events().AppendEmpty()
	other.SetName("retry") // not an exception: ignored
	ev := TracesToEvents(td, testSettings())[0].Event
	if len(ev.Exception) != 2 || ev.Exception[1].Type != "*fmt.wrapError" || ev.Exception[0].Stacktrace == nil {
		t.Fatalf("exceptions = %+v", ev.Exception)
	}
	if want := []string{"checkout", "*fmt.wrapError", "op"}; !reflect.DeepEqual(ev.Fingerprint, want) {
		t.Errorf("fingerprint = %v, want %v", ev.Fingerprint, want)
	}
}

// TestFingerprintTrimpath: a service built with -trimpath groups by its own
// function, not by the OpenTelemetry SDK's recordStackTrace (user trial:
// every error span of one Go type made one issue).
func TestFingerprintTrimpath(t *testing.T) {
	for _, name := range []string{"otel_declined.txt", "otel_declined_trimpath.txt"} {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		newResource(rs.Resource().Attributes(), "orders")
		errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "POST payments.charge", "*fmt.wrapError", "charge ord-0-2: payment declined", readStack(t, name))
		ev := TracesToEvents(td, testSettings())[0].Event
		if want := []string{"orders", "*fmt.wrapError", "main.callPayments"}; !reflect.DeepEqual(ev.Fingerprint, want) {
			t.Errorf("%s: fingerprint = %v, want %v", name, ev.Fingerprint, want)
		}
	}
}

// zapInventoryStack is the stacktrace zap logged in the user trial for a
// panic (nil map write in lookupInventory) recovered by a deferred
// function in handle.
const zapInventoryStack = "main.handle.func1.1\n\t/work/trial-onboard/svc/main.go:149\n" +
	"runtime.gopanic\n\t/usr/local/go/src/runtime/panic.go:860\n" +
	"runtime.mapassign_faststr\n\t/usr/local/go/src/internal/runtime/maps/runtime_faststr.go:265\n" +
	"main.lookupInventory\n\t/work/trial-onboard/svc/main.go:180\n" +
	"main.handle.func1\n\t/work/trial-onboard/svc/main.go:157\n" +
	"main.handle\n\t/work/trial-onboard/svc/main.go:158\n" +
	"main.main\n\t/work/trial-onboard/svc/main.go:90\n" +
	"runtime.main\n\t/usr/local/go/src/runtime/proc.go:290"

// TestRecoveredPanicsGroupApart: two panics recovered by one deferred
// function group by where each happened, not by the recovering function
// (user trial: both grouped by main.handle.func1.1), as spans (the
// OpenTelemetry SDK's stack, with and without -trimpath) and as zap logs;
// the exception has the go.panic mechanism, handled by the service's
// deferred function.
func TestRecoveredPanicsGroupApart(t *testing.T) {
	span := func(stack string) *sentry.Event {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		newResource(rs.Resource().Attributes(), "orders")
		errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "GET /orders/{id}", "runtime.Error", "panic", stack)
		return TracesToEvents(td, testSettings())[0].Event
	}
	log := func(stack string) *sentry.Event {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		newResource(rl.Resource().Attributes(), "orders")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.Body().SetStr("panic recovered")
		lr.Attributes().PutStr("exception.stacktrace", stack)
		return LogsToEvents(ld, testSettings())[0].Event
	}
	tests := []struct {
		name  string
		ev    *sentry.Event
		place string
	}{
		{"span, nil map", span(readStack(t, "otel_inventory.txt")), "main.lookupInventory"},
		{"span, nil map, -trimpath", span(readStack(t, "otel_inventory_trimpath.txt")), "main.lookupInventory"},
		{"span, nil pointer", span(readStack(t, "otel_pricing.txt")), "main.computePrice"},
		{"span, nil pointer, -trimpath", span(readStack(t, "otel_pricing_trimpath.txt")), "main.computePrice"},
		{"zap log, nil map", log(zapInventoryStack), "main.lookupInventory"},
		{"zap log, nil pointer", log(readStack(t, "zap_pricing.txt")), "main.computePrice"},
		{"zap log, nil pointer, -trimpath", log(readStack(t, "zap_pricing_trimpath.txt")), "main.computePrice"},
	}
	for _, tt := range tests {
		fp := tt.ev.Fingerprint
		if fp[len(fp)-1] != tt.place {
			t.Errorf("%s: fingerprint %v, want it placed at %s", tt.name, fp, tt.place)
		}
		m := tt.ev.Exception[0].Mechanism
		if m == nil || m.Type != "go.panic" || m.Handled == nil || !*m.Handled {
			t.Errorf("%s: mechanism %+v, want go.panic handled", tt.name, m)
		}
	}
	if m := span(readStack(t, "otel_declined.txt")).Exception[0].Mechanism; m != nil {
		t.Errorf("an error without a panic has mechanism %+v", m)
	}
	// A panic recorded by a library's deferred function (instrumentation
	// that records and re-panics): a panic, handled or not unknown.
	lib := "goroutine 1 [running]:\ngo.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError(0x1)\n\tgo.opentelemetry.io/otel/sdk@v1.45.0/trace/span.go:476 +0x1\n" +
		"github.com/acme/mw.Recover.func1()\n\tgithub.com/acme/mw@v1.0.0/mw.go:9 +0x1\n" +
		"panic({0x1?, 0x2?})\n\truntime/panic.go:860 +0x13a\nmain.f()\n\texample.com/x/main.go:3 +0x1\n"
	if m := span(lib).Exception[0].Mechanism; m == nil || m.Type != "go.panic" || m.Handled != nil {
		t.Errorf("library recoverer: mechanism %+v, want go.panic without handled", m)
	}
}

// TestCrashIsUnhandled: a record at FATAL (Go's crash report, read by the
// zaplog receiver; zap's Fatal) is an unhandled exception: go.panic for a
// panic, go.fatal otherwise.
func TestCrashIsUnhandled(t *testing.T) {
	for _, tt := range []struct{ body, stack, want string }{
		{"panic: runtime error: index out of range [5] with length 3", readStack(t, "crash_index.txt"), "go.panic"},
		{"fatal error: stack overflow", readStack(t, "crash_overflow.txt"), "go.fatal"},
	} {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		newResource(rl.Resource().Attributes(), "orders")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberFatal)
		lr.Body().SetStr(tt.body)
		lr.Attributes().PutStr("exception.stacktrace", tt.stack)
		m := LogsToEvents(ld, testSettings())[0].Event.Exception[0].Mechanism
		if m == nil || m.Type != tt.want || m.Handled == nil || *m.Handled {
			t.Errorf("%s: mechanism %+v, want %s unhandled", tt.body, m, tt.want)
		}
	}
}

// TestOtelzapCodeStacktrace: the otelzap bridge puts zap's stack in
// code.stacktrace when the record has no error (zap.Error) or exception
// attribute; the event's stack comes from it, not from the one frame of
// code.* (user trial: a logged panic kept only the recovering function).
// The record is the trial's, as otelzap v0.20 sent it.
func TestOtelzapCodeStacktrace(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	newResource(rl.Resource().Attributes(), "orders")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("example.com/acme/orders")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("error")
	lr.Body().SetStr("panic recovered")
	a := lr.Attributes()
	a.PutStr("code.file.path", "/work/trial-onboard/svc/main.go")
	a.PutStr("code.function.name", "main.handle.func1.1")
	a.PutInt("code.line.number", 151)
	a.PutStr("code.stacktrace", zapInventoryStack)
	a.PutStr("panic", "assignment to entry in nil map")
	a.PutStr("order_id", "ord-0-3")
	ev := LogsToEvents(ld, testSettings())[0].Event
	st := ev.Exception[0].Stacktrace
	if st == nil || len(st.Frames) != 8 {
		t.Fatalf("stacktrace = %+v, want the 8 frames of code.stacktrace", st)
	}
	if fp := ev.Fingerprint; fp[len(fp)-1] != "main.lookupInventory" {
		t.Errorf("fingerprint = %v, want it placed at main.lookupInventory", fp)
	}
	if _, ok := ev.Contexts["otel"]["attributes"].(map[string]string)["code.stacktrace"]; ok {
		t.Error("code.stacktrace copied into the otel context as well as parsed")
	}
}

// TestLoggerName: an event's logger is the zap logger's name, else the
// instrumentation scope unless it is a Vigil component's (user trial: every
// record of an unnamed zap logger said github.com/vigil-otel/vigil/receiver/zaplogreceiver).
func TestLoggerName(t *testing.T) {
	logger := func(ld plog.Logs) string { return LogsToEvents(ld, testSettings())[0].Event.Logger }
	if got := logger(zaplogTrial(t)[2]); got != "" {
		t.Errorf("unnamed zap logger through the zaplog receiver: logger %q, want none", got)
	}

	parser, err := zaplogreceiver.NewParser(zaplogreceiver.DefaultParserConfig())
	if err != nil {
		t.Fatal(err)
	}
	named := plog.NewLogs()
	sl := named.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(zaplogScope)
	if res := parser.Parse([]byte(`{"level":"error","ts":1796649351.3,"logger":"payments.client","caller":"svc/main.go:140","msg":"charge failed"}`), sl.LogRecords().AppendEmpty()); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := logger(named); got != "payments.client" {
		t.Errorf("named zap logger through the zaplog receiver: logger %q, want payments.client", got)
	}

	otlp := plog.NewLogs()
	sl = otlp.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName("example.com/acme/orders") // otelzap: the logger's name, or NewCore's
	lr := sl.LogRecords().AppendEmpty()
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("charge failed")
	if got := logger(otlp); got != "example.com/acme/orders" {
		t.Errorf("otelzap record: logger %q, want its scope", got)
	}
}

// TestEventWithoutUser: events carry no empty "user" object; everything
// else is encoded as sentry-go encodes it.
func TestEventWithoutUser(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	newResource(rs.Resource().Attributes(), "orders")
	errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "GET /orders/{id}", "runtime.Error", "panic", readStack(t, "otel_inventory_trimpath.txt"))
	ev := TracesToEvents(td, testSettings())[0].Event
	ev.Message = "hello"
	ev.Logger = "payments"

	var buf bytes.Buffer
	if err := EncodeEnvelope(&buf, ev, "http://pubkey@127.0.0.1:1/42", testTime); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(buf.String(), "\n", 3)
	var got, sentryGo map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["user"]; ok {
		t.Errorf("payload has an empty user: %s", lines[2])
	}
	b, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sentryGo); err != nil {
		t.Fatal(err)
	}
	delete(sentryGo, "user")
	if !reflect.DeepEqual(got, sentryGo) {
		t.Errorf("payload differs from sentry-go's beyond user:\n%s\n%s", lines[2], b)
	}

	ev.User = sentry.User{ID: "42"}
	buf.Reset()
	if err := EncodeEnvelope(&buf, ev, "http://pubkey@127.0.0.1:1/42", testTime); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"user":{"id":"42"}`) {
		t.Errorf("a user that is set is dropped: %s", buf.String())
	}
}
