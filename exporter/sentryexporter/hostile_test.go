package sentryexporter

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/extension/otlpguardextension"
	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// hostileStack is a Go stack trace of more frames than an event keeps,
// whose function names and paths are 30 kB each: 3 MB in the frames kept.
var hostileStack = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString("goroutine 1 [running]:\n")
	long := strings.Repeat("x", 30_000)
	for range maxFrames + 10 {
		b.WriteString("main." + long + "()\n\t/src/" + long + ".go:12 +0x1d\n")
	}
	return b.String()
})

// putHostileError sets every hostile value plus an exception whose type,
// message and stack are as large as a request may make them.
func putHostileError(m pcommon.Map) {
	deepotlp.PutHostile(m, otlpguardextension.DefaultMaxDepth)
	m.PutStr(attrExceptionType, deepotlp.HostileString())
	m.PutStr(attrExceptionMsg, deepotlp.HostileString())
	m.PutStr(attrExceptionStack, hostileStack())
	m.PutStr(attrCodeFunction, deepotlp.HostileString())
	m.PutStr(attrServiceName, deepotlp.HostileString())
}

// TestHostileValuesMakeSendableEvents converts an error log and a failed
// span carrying every hostile value a request may hold past the
// otlp_guard, with tags taken from hostile attributes: each becomes one
// event whose envelope Sentry takes (at most maxEventBytes), with tags
// and contexts within Sentry's limits.
func TestHostileValuesMakeSendableEvents(t *testing.T) {
	s := Settings{Tags: []string{"hostile.long_string", "hostile.deep_kvlist", "hostile.wide_map", "hostile.invalid_utf8", ""}}

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putHostileError(rl.Resource().Attributes())
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText(deepotlp.HostileString())
	deepotlp.PutHostile(lr.Body().SetEmptyMap(), otlpguardextension.DefaultMaxDepth)
	putHostileError(lr.Attributes())

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	putHostileError(rs.Resource().Attributes())
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(deepotlp.HostileString())
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage(deepotlp.HostileString())
	putHostileError(span.Attributes())
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	putHostileError(ev.Attributes())

	events := append(LogsToEvents(ld, s), TracesToEvents(td, s)...)
	if len(events) != 2 {
		t.Fatalf("%d events, want one per error", len(events))
	}
	for _, se := range events {
		var buf bytes.Buffer
		if err := EncodeEnvelope(&buf, se.Event, "https://key@sentry.example/1", time.Now()); err != nil {
			t.Errorf("event %s cannot be sent: %v", se.Event.EventID, err)
			continue
		}
		if n := buf.Len(); n > maxEventBytes+4096 {
			t.Errorf("envelope of %d bytes, over Sentry's %d", n, maxEventBytes)
		}
		// Long names are cut before stack traces go: the frames say where
		// the error happened even when their names were megabytes long.
		if exc := se.Event.Exception; len(exc) == 0 || exc[len(exc)-1].Stacktrace == nil {
			t.Errorf("event %s lost its stack trace to fit", se.Event.EventID)
		}
		if len(se.Event.Tags) > 0 {
			for k, v := range se.Event.Tags {
				if len(k) > maxTagKey || len(v) > maxTagValue {
					t.Errorf("tag %q of %d bytes", k, len(v))
				}
			}
		}
		for name, c := range se.Event.Contexts {
			if len(c) > maxContextKeys {
				t.Errorf("context %s has %d keys", name, len(c))
			}
		}
	}
}
