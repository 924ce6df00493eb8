package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// OpenTelemetry semantic convention names this package reads.
// https://opentelemetry.io/docs/specs/semconv/exceptions/exceptions-spans/
const (
	attrServiceName     = "service.name"
	attrServiceVersion  = "service.version"
	attrDeploymentEnv   = "deployment.environment.name"
	attrDeploymentEnvV1 = "deployment.environment" // before semconv 1.27
	attrHostName        = "host.name"
	attrExceptionType   = "exception.type"
	attrExceptionMsg    = "exception.message"
	attrExceptionStack  = "exception.stacktrace"
	// attrCodeStack is where the otelzap bridge (v0.20) puts zap's stack
	// when the record has no error or exception.* attribute (semconv
	// code.stacktrace, v1.43.0 as otelzap pins it).
	attrCodeStack      = "code.stacktrace"
	attrCodeFilepath   = "code.filepath"
	attrCodeFilePath   = "code.file.path" // semconv 1.30 name
	attrCodeLineno     = "code.lineno"
	attrCodeLineNumber = "code.line.number" // semconv 1.30 name
	attrCodeFunction   = "code.function"
	attrCodeFunctionNm = "code.function.name" // semconv 1.30 name
	attrErrorType      = "error.type"
	attrZapError       = "error" // zap.Error(err) writes the message here
	// attrLoggerName is the zap logger name (Logger.Named) as the zaplog
	// receiver records it (zaplogreceiver.AttrLoggerName).
	attrLoggerName = "logger.name"
	// attrLoggerField is a "logger" attribute, read when there is no
	// logger.name.
	attrLoggerField    = "logger"
	exceptionEventName = "exception"
)

// Sentry's limits on event fields, from its data handling guide and the
// tags documentation. https://develop.sentry.dev/sdk/data-handling/#variable-size
// https://docs.sentry.io/platforms/go/enriching-events/tags/
const (
	maxTagKey      = 32
	maxTagValue    = 200
	maxMessage     = 8192
	maxContextKeys = 50
	// maxEnvironment and maxRelease: Sentry rejects longer environment and
	// release names. https://docs.sentry.io/platforms/go/configuration/environments/
	maxEnvironment = 64
	maxRelease     = 200
	maxTypeLen     = 128
)

// vigilModule is Vigil's module path, the prefix of its components'
// instrumentation scopes.
const vigilModule = "github.com/vigil-otel/vigil"

// platform is the event's platform: every event comes from a Go service.
const platform = "go"

// mechanismPanic is the exception mechanism of an error whose stack shows
// a Go panic in progress. https://develop.sentry.dev/sdk/data-model/event-payloads/exception/#exception-mechanism
const mechanismPanic = "go.panic"

// mechanismFatal marks an exception the process died of without a panic:
// a runtime fatal error (concurrent map writes, stack overflow, deadlock)
// or a log at FATAL (zap's Fatal exits).
const mechanismFatal = "go.fatal"

// Settings are the conversion options (the code-only view of Config).
type Settings struct {
	// Tags are attribute keys (resource, span or log record) copied into
	// event tags when present.
	Tags []string
	// InApp decides which stack frames are the service's own code.
	InApp InAppRules
	// Environment is used when the resource has no deployment environment.
	Environment string
	// SDK names the client in every event's sdk field.
	SDK sentry.SdkInfo
}

// ServiceEvent is a Sentry event and the service it came from, which picks
// the DSN it is sent to.
type ServiceEvent struct {
	Service string
	Event   *sentry.Event
}

// TracesToEvents turns every span with status Error into one Sentry event.
// The span's "exception" events become the event's exceptions, the last one
// (the error that ended the span) being the main one; a failed span
// without exception events still becomes an event, typed by its error.type
// attribute and described by its status message.
func TracesToEvents(td ptrace.Traces, s Settings) []ServiceEvent {
	var out []ServiceEvent
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if span.Status().Code() != ptrace.StatusCodeError {
					continue
				}
				out = append(out, spanToEvent(span, res, s))
			}
		}
	}
	return out
}

func spanToEvent(span ptrace.Span, res pcommon.Map, s Settings) ServiceEvent {
	service := str(res, attrServiceName)
	ev := baseEvent(res, s)
	ev.Level = sentry.LevelError
	ev.Transaction = span.Name()
	ev.Timestamp = timestamp(span.EndTimestamp(), span.StartTimestamp())
	ev.EventID = eventID(span.TraceID(), span.SpanID(), uint64(span.EndTimestamp()), span.Name())
	setTrace(ev, span.TraceID(), span.SpanID(), span.ParentSpanID())
	ev.Contexts["trace"]["op"] = span.Kind().String()

	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		e := events.At(i)
		if e.Name() != exceptionEventName {
			continue
		}
		attrs := e.Attributes()
		exc := sentry.Exception{
			Type:  truncate(firstLine(str(attrs, attrExceptionType)), maxTypeLen),
			Value: truncate(str(attrs, attrExceptionMsg), maxMessage),
		}
		if exc.Type == "" {
			exc.Type = "error"
		}
		if st := str(attrs, attrExceptionStack); st != "" {
			if frames := ParseGoStack(st, s.InApp); len(frames) > 0 {
				exc.Stacktrace = &sentry.Stacktrace{Frames: frames}
			}
		}
		ev.Exception = append(ev.Exception, exc)
	}
	if len(ev.Exception) == 0 {
		typ := str(span.Attributes(), attrErrorType)
		if typ == "" {
			typ = "error"
		}
		value := span.Status().Message()
		if value == "" {
			value = span.Name()
		}
		ev.Exception = []sentry.Exception{{Type: truncate(typ, maxTypeLen), Value: truncate(value, maxMessage)}}
	}
	setMechanisms(ev)
	addTags(ev, s.Tags, res, span.Attributes())
	addOtelContext(ev, res, span.Attributes())
	ev.Fingerprint = fingerprint(service, ev.Exception[len(ev.Exception)-1].Type, ev)
	return ServiceEvent{Service: service, Event: ev}
}

// LogsToEvents turns every log record of severity ERROR or above into a
// Sentry event. The exception comes from the exception.* attributes (the
// zaplog receiver puts zap's stacktrace field in exception.stacktrace, the
// otelzap bridge in code.stacktrace unless the record has an error), else
// from code.* attributes, which give a one-frame stack.
func LogsToEvents(ld plog.Logs, s Settings) []ServiceEvent {
	var out []ServiceEvent
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			records := sl.LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				level, ok := logLevel(lr)
				if !ok {
					continue
				}
				out = append(out, logToEvent(lr, level, sl.Scope().Name(), res, s))
			}
		}
	}
	return out
}

// logLevel maps a record's severity to a Sentry level; ok is false below
// ERROR. Records without a severity number are judged by their text, as
// zap writes it.
func logLevel(lr plog.LogRecord) (sentry.Level, bool) {
	n := lr.SeverityNumber()
	switch {
	case n >= plog.SeverityNumberFatal:
		return sentry.LevelFatal, true
	case n >= plog.SeverityNumberError:
		return sentry.LevelError, true
	case n != plog.SeverityNumberUnspecified:
		return "", false
	}
	switch strings.ToLower(lr.SeverityText()) {
	case "error", "dpanic", "err":
		return sentry.LevelError, true
	case "fatal", "panic", "critical", "crit", "emergency", "alert":
		return sentry.LevelFatal, true
	}
	return "", false
}

func logToEvent(lr plog.LogRecord, level sentry.Level, scope string, res pcommon.Map, s Settings) ServiceEvent {
	service := str(res, attrServiceName)
	attrs := lr.Attributes()
	body := lr.Body().AsString()
	ev := baseEvent(res, s)
	ev.Level = level
	ev.Timestamp = timestamp(lr.Timestamp(), lr.ObservedTimestamp())
	// The zap logger's name; else the instrumentation scope, which the
	// otelzap bridge names after the logger (or the name the service gave
	// it), but not a Vigil component's scope (the zaplog receiver's for
	// every record of an unnamed zap logger), which names no logger of the
	// service: then there is none.
	ev.Logger = firstStr(attrs, attrLoggerName, attrLoggerField)
	if ev.Logger == "" && !strings.HasPrefix(scope, vigilModule+"/") {
		ev.Logger = scope
	}
	ev.EventID = eventID(lr.TraceID(), lr.SpanID(), uint64(lr.Timestamp())^uint64(lr.ObservedTimestamp()), service+"\x00"+body)
	if !lr.TraceID().IsEmpty() {
		setTrace(ev, lr.TraceID(), lr.SpanID(), pcommon.NewSpanIDEmpty())
	}

	exc := sentry.Exception{
		Type:  str(attrs, attrExceptionType),
		Value: str(attrs, attrExceptionMsg),
	}
	if exc.Value == "" {
		exc.Value = str(attrs, attrZapError)
	}
	if exc.Value == "" {
		exc.Value = body
	}
	if exc.Type == "" {
		// The log message names the failure better than a generic type:
		// "payment declined" is what an engineer searches for.
		exc.Type = firstLine(body)
		if exc.Type == "" {
			exc.Type = "error"
		}
	}
	exc.Type = truncate(firstLine(exc.Type), maxTypeLen)
	exc.Value = truncate(exc.Value, maxMessage)
	if exc.Value != body && body != "" {
		ev.Message = truncate(body, maxMessage)
	}
	var frames []sentry.Frame
	if st := firstStr(attrs, attrExceptionStack, attrCodeStack); st != "" {
		frames = ParseGoStack(st, s.InApp)
	}
	if len(frames) == 0 {
		frames = codeFrame(attrs, s.InApp)
	}
	if len(frames) > 0 {
		exc.Stacktrace = &sentry.Stacktrace{Frames: frames}
	}
	ev.Exception = []sentry.Exception{exc}
	setMechanisms(ev)
	if lr.SeverityNumber() >= plog.SeverityNumberFatal {
		// The process goes down with it (Go's crash report read by the
		// zaplog receiver, zap's Fatal): unhandled, a crash for Sentry,
		// whatever a deferred function in its stack did.
		m := &sentry.Mechanism{Type: mechanismFatal, Handled: sentry.Pointer(false)}
		if prev := ev.Exception[0].Mechanism; strings.HasPrefix(body, "panic: ") || prev != nil && prev.Type == mechanismPanic {
			m.Type = mechanismPanic
		}
		ev.Exception[0].Mechanism = m
	}
	addTags(ev, s.Tags, res, attrs)
	addOtelContext(ev, res, attrs)
	ev.Fingerprint = fingerprint(service, logErrorKind(attrs, body), ev)
	return ServiceEvent{Service: service, Event: ev}
}

// codeFrame builds the one frame the code.* attributes describe (zap's
// caller), or none.
func codeFrame(attrs pcommon.Map, rules InAppRules) []sentry.Frame {
	file := firstStr(attrs, attrCodeFilepath, attrCodeFilePath)
	function := firstStr(attrs, attrCodeFunction, attrCodeFunctionNm)
	if file == "" && function == "" {
		return nil
	}
	var line int
	for _, k := range []string{attrCodeLineno, attrCodeLineNumber} {
		if v, ok := attrs.Get(k); ok {
			switch v.Type() {
			case pcommon.ValueTypeInt:
				line = int(v.Int())
			case pcommon.ValueTypeStr:
				_, n, ok := parseFileLine("x:" + v.Str())
				if ok {
					line = n
				}
			}
			break
		}
	}
	return []sentry.Frame{newFrame(function, file, line, rules)}
}

// setMechanisms marks the exceptions whose stack shows a panic in progress
// (a panic frame: a stack with newer frames above it was taken by a
// deferred function while the panic unwound) with the go.panic mechanism.
// handled is true when that deferred function is the service's own code:
// the service caught the panic and reported it, as a capture_exception in
// an except block is handled for Sentry. Whether it then returned or
// panicked again the stack cannot tell; when the deferred function is a
// library's (instrumentation that records panics), handled is left out.
func setMechanisms(ev *sentry.Event) {
	for i := range ev.Exception {
		exc := &ev.Exception[i]
		if exc.Stacktrace == nil {
			continue
		}
		frames := exc.Stacktrace.Frames
		p := panicFrame(frames)
		if p < 0 {
			continue
		}
		// Numbered as sentry-go numbers them: the last exception of the
		// list, the top-level one, is 0.
		m := &sentry.Mechanism{Type: mechanismPanic, ExceptionID: len(ev.Exception) - 1 - i}
		// The frame above the panic is the deferred function it runs.
		if p+1 < len(frames) && frames[p+1].InApp {
			m.Handled = sentry.Pointer(true)
		}
		exc.Mechanism = m
	}
}

// baseEvent fills what every event shares: platform, SDK, and the resource's
// release, environment and server name.
func baseEvent(res pcommon.Map, s Settings) *sentry.Event {
	ev := &sentry.Event{
		Platform: platform,
		Sdk:      s.SDK,
		Contexts: make(map[string]sentry.Context, 2),
		Tags:     make(map[string]string, len(s.Tags)),
	}
	ev.Release = cleanName(str(res, attrServiceVersion), maxRelease)
	// Environment names cannot hold spaces either.
	ev.Environment = cleanName(strings.ReplaceAll(firstStr(res, attrDeploymentEnv, attrDeploymentEnvV1), " ", "-"), maxEnvironment)
	if ev.Environment == "" {
		ev.Environment = s.Environment
	}
	ev.ServerName = str(res, attrHostName)
	return ev
}

// setTrace links the event to its trace: Sentry shows the trace and its
// other events from contexts.trace.
// https://develop.sentry.dev/sdk/data-model/event-payloads/contexts/#trace-context
func setTrace(ev *sentry.Event, tid pcommon.TraceID, sid, parent pcommon.SpanID) {
	trace := sentry.Context{"trace_id": hex.EncodeToString(tid[:])}
	if !sid.IsEmpty() {
		trace["span_id"] = hex.EncodeToString(sid[:])
	} else {
		// Sentry requires a span_id with a trace_id; a log outside any span
		// gets a stable one derived from its trace.
		trace["span_id"] = hex.EncodeToString(tid[8:])
	}
	if !parent.IsEmpty() {
		trace["parent_span_id"] = hex.EncodeToString(parent[:])
	}
	ev.Contexts["trace"] = trace
}

// addTags copies the configured attributes into tags, span or log
// attributes winning over resource ones, within Sentry's tag limits.
func addTags(ev *sentry.Event, keys []string, res, attrs pcommon.Map) {
	for _, k := range keys {
		v, ok := attrs.Get(k)
		if !ok {
			v, ok = res.Get(k)
		}
		if !ok {
			continue
		}
		value := strings.ReplaceAll(v.AsString(), "\n", " ")
		if value == "" {
			continue
		}
		ev.Tags[TagKey(k)] = truncate(value, maxTagValue)
	}
}

// TagKey makes an attribute key a valid Sentry tag key: at most 32
// characters of letters, digits, '_', '.', ':' and '-'.
func TagKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		ok := c == '_' || c == '.' || c == ':' || c == '-' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > maxTagKey {
		b = b[:maxTagKey]
	}
	return string(b)
}

// addOtelContext keeps the resource and record attributes on the event
// (Sentry shows contexts on the event page), bounded by Sentry's 50 entries
// per mapping.
func addOtelContext(ev *sentry.Event, res, attrs pcommon.Map) {
	ctx := sentry.Context{}
	if m := flatten(res); len(m) > 0 {
		ctx["resource"] = m
	}
	if m := flatten(attrs); len(m) > 0 {
		ctx["attributes"] = m
	}
	if len(ctx) > 0 {
		ev.Contexts["otel"] = ctx
	}
}

func flatten(m pcommon.Map) map[string]string {
	if m.Len() == 0 {
		return nil
	}
	out := make(map[string]string, min(m.Len(), maxContextKeys))
	m.Range(func(k string, v pcommon.Value) bool {
		if k == attrExceptionStack || k == attrCodeStack {
			return true // parsed into frames
		}
		out[k] = truncate(v.AsString(), 512)
		return len(out) < maxContextKeys
	})
	return out
}

// eventID derives a stable event ID from what identifies the record, so a
// retried export carries the same IDs and Sentry drops the duplicates
// instead of counting the error twice. It has the form of a UUID v4 (32
// lowercase hex digits), as Sentry requires.
func eventID(tid pcommon.TraceID, sid pcommon.SpanID, ts uint64, extra string) sentry.EventID {
	h := fnv.New128a()
	_, _ = h.Write(tid[:])
	_, _ = h.Write(sid[:])
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], ts)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(extra))
	sum := h.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x40 // version 4
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return sentry.EventID(hex.EncodeToString(sum))
}

func timestamp(ts, fallback pcommon.Timestamp) time.Time {
	if ts == 0 {
		ts = fallback
	}
	if ts == 0 {
		return time.Now().UTC()
	}
	return ts.AsTime().UTC()
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func firstStr(m pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v := str(m, k); v != "" {
			return v
		}
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// cleanName makes a release or environment name acceptable to Sentry: no
// newlines, tabs or slashes, bounded length.
func cleanName(s string, limit int) string {
	if s == "" {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t', '/', '\\':
			return '-'
		}
		return r
	}, strings.TrimSpace(s))
	if s == "." || s == ".." {
		return ""
	}
	return truncate(s, limit)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
