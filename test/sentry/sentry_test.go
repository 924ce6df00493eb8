package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// e2eConfig runs the built binary with only what this test needs: OTLP in,
// sentry out, with quick retries.
const e2eConfig = `
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
exporters:
  sentry:
    dsn: ${env:SENTRY_DSN}
    dsn_by_service:
      payments: ${env:SENTRY_DSN_PAYMENTS}
    in_app_include: [github.com/vigil-otel/vigil/]
    tags: [service.name, http.route]
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [sentry]
    logs:
      receivers: [otlp]
      exporters: [sentry]
`

const (
	checkoutKey = "c0ffee00c0ffee00c0ffee00c0ffee00"
	paymentsKey = "deadbeefdeadbeefdeadbeefdeadbeef"
	testModule  = "github.com/vigil-otel/vigil/test/sentry"
)

// TestEndToEnd sends an error span (OpenTelemetry Go SDK, RecordError with
// its stack trace) and an error log carrying a real zap stacktrace through
// the built vigil binary, with the fake answering the first envelope 429
// Retry-After: 1. Both events must arrive, strictly valid, in their
// service's project, with the expected content.
func TestEndToEnd(t *testing.T) {
	fake := fakesentry.New(t,
		fakesentry.Project{ID: "42", Key: checkoutKey},
		fakesentry.Project{ID: "43", Key: paymentsKey})
	fake.Script(fakesentry.Reply{Status: 429, RetryAfter: "1"})

	dir := t.TempDir()
	cfg := vigiltest.WriteFile(t, dir, "sentry.yaml", e2eConfig)
	inst := vigiltest.Start(t, vigiltest.Options{
		Args: []string{"--config", cfg},
		Env:  map[string]string{"SENTRY_DSN": fake.DSN("42"), "SENTRY_DSN_PAYMENTS": fake.DSN("43")},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spanCtx := sendErrorSpan(ctx, t, inst.OTLPGRPCEndpoint())
	sendZapErrorLog(ctx, t, inst.OTLPGRPCEndpoint(), spanCtx)

	events, err := fake.WaitEvents(ctx, 2)
	if err != nil {
		t.Fatalf("%v; requests: %+v", err, fake.Requests())
	}
	reqs := fake.Requests()
	if reqs[0].Status != 429 {
		t.Errorf("first request answered %d, want the scripted 429", reqs[0].Status)
	}
	for _, r := range reqs {
		if r.Status != 200 && r.Status != 429 {
			t.Errorf("request rejected: %+v", r)
		}
	}
	var retried time.Time
	for _, r := range reqs[1:] {
		if r.Project == reqs[0].Project {
			retried = r.Time
			break
		}
	}
	if wait := retried.Sub(reqs[0].Time); wait < time.Second {
		t.Errorf("retried after %v, before the 1s Retry-After", wait)
	}

	// The 429 was logged by the collector (exporterhelper's retry
	// message); the DSN keys must not be in its output.
	if out := inst.Log(); strings.Contains(out, checkoutKey) || strings.Contains(out, paymentsKey) {
		t.Errorf("a DSN key appears in the collector's output:\n%s", out)
	}

	byProject := map[string]fakesentry.Event{}
	for _, ev := range events {
		byProject[ev.Project] = ev
	}
	traceID := spanCtx.TraceID().String()

	span := byProject["42"]
	checkEvent(t, "span event", span, eventWant{
		level: "error", release: "2.3.4", environment: "prod", serverName: "web-7", transaction: "POST /checkout",
		excType: "*errors.errorString", excValue: "card declined",
		traceID: traceID, spanID: spanCtx.SpanID().String(),
		topInApp:    "recordCheckoutError",
		fingerprint: []string{"checkout", "*errors.errorString", testModule + ".recordCheckoutError"},
		tags:        map[string]string{"service.name": "checkout", "http.route": "/checkout"},
	})

	log := byProject["43"]
	checkEvent(t, "log event", log, eventWant{
		level: "error", release: "2.3.4", environment: "prod", serverName: "web-7",
		excType: "payment failed", excValue: "insufficient funds",
		traceID: traceID, spanID: spanCtx.SpanID().String(),
		topInApp:    "chargeCard",
		fingerprint: []string{"payments", "payment failed", testModule + ".chargeCard"},
		tags:        map[string]string{"service.name": "payments"},
	})
}

type eventWant struct {
	level, release, environment, serverName, transaction string
	excType, excValue, traceID, spanID, topInApp         string
	fingerprint                                          []string
	tags                                                 map[string]string
}

func checkEvent(t *testing.T, name string, ev fakesentry.Event, w eventWant) {
	t.Helper()
	if ev.EventID == "" {
		t.Errorf("%s: not received", name)
		return
	}
	got := []string{ev.Level, ev.Release, ev.Environment, ev.ServerName, ev.Platform, ev.TraceID, ev.SpanID}
	want := []string{w.level, w.release, w.environment, w.serverName, "go", w.traceID, w.spanID}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: field %d = %q, want %q (level, release, environment, server_name, platform, trace_id, span_id)", name, i, got[i], want[i])
		}
	}
	if w.transaction != "" && ev.Transaction != w.transaction {
		t.Errorf("%s: transaction %q, want %q", name, ev.Transaction, w.transaction)
	}
	if len(ev.Exceptions) == 0 {
		t.Fatalf("%s: no exception: %s", name, ev.Raw)
	}
	exc := ev.Exceptions[len(ev.Exceptions)-1]
	if exc.Type != w.excType || exc.Value != w.excValue {
		t.Errorf("%s: exception %q / %q, want %q / %q", name, exc.Type, exc.Value, w.excType, w.excValue)
	}
	frames := exc.Frames()
	var top *fakesentry.Frame
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].InApp {
			top = &frames[i]
			break
		}
	}
	if top == nil || top.Function != w.topInApp || top.Module != testModule || top.Lineno <= 0 || !strings.HasSuffix(top.AbsPath, "sentry_test.go") {
		t.Errorf("%s: newest in-app frame %+v, want %s in sentry_test.go; frames %+v", name, top, w.topInApp, frames)
	}
	if len(frames) > 0 && frames[len(frames)-1].InApp && frames[len(frames)-1].Function != w.topInApp {
		t.Errorf("%s: frames not oldest first: last is %+v", name, frames[len(frames)-1])
	}
	if strings.Join(ev.Fingerprint, "|") != strings.Join(w.fingerprint, "|") {
		t.Errorf("%s: fingerprint %q, want %q", name, ev.Fingerprint, w.fingerprint)
	}
	for k, v := range w.tags {
		if ev.Tags[k] != v {
			t.Errorf("%s: tag %s = %q, want %q", name, k, ev.Tags[k], v)
		}
	}
}

func testResource(service string) *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("service.version", "2.3.4"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("host.name", "web-7"),
	)
}

// sendErrorSpan exports one failed server span the way an instrumented Go
// service does, and returns its span context.
func sendErrorSpan(ctx context.Context, t *testing.T, endpoint string) trace.SpanContext {
	t.Helper()
	tp := vigiltest.TracerProvider(t, endpoint, testResource("checkout"))
	defer func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	_, span := tp.Tracer("checkout").Start(ctx, "POST /checkout",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/checkout")))
	recordCheckoutError(span)
	span.End()
	return span.SpanContext()
}

// recordCheckoutError is the "bug": its name must come out as the newest
// in-app frame and in the fingerprint.
//
//go:noinline
func recordCheckoutError(span trace.Span) {
	err := errors.New("card declined")
	span.RecordError(err, trace.WithStackTrace(true))
	span.SetStatus(codes.Error, err.Error())
}

// sendZapErrorLog logs an error with a real zap logger (JSON, stacktrace at
// error level), and exports it as the zaplog receiver would present it:
// zap's stacktrace in exception.stacktrace, the caller in code.*, the
// error in "error", in the span's trace.
func sendZapErrorLog(ctx context.Context, t *testing.T, endpoint string, sc trace.SpanContext) {
	t.Helper()
	entry := chargeCard()
	lp := vigiltest.LoggerProvider(t, endpoint, testResource("payments"))
	defer func() {
		if err := lp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityError)
	rec.SetSeverityText("error")
	rec.SetBody(attribute.StringValue(entry.Msg))
	file, line, _ := strings.Cut(entry.Caller, ":")
	rec.AddAttributes(
		attribute.String("exception.stacktrace", entry.Stacktrace),
		attribute.String("error", entry.Error),
		attribute.String("code.filepath", file),
		attribute.String("code.lineno", line),
		attribute.String("logger", "payments"),
	)
	lp.Logger("zap").Emit(trace.ContextWithSpanContext(ctx, sc), rec)
	if err := lp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

type zapEntry struct {
	Msg        string `json:"msg"`
	Error      string `json:"error"`
	Caller     string `json:"caller"`
	Stacktrace string `json:"stacktrace"`
}

// chargeCard is where the logged error happens.
//
//go:noinline
func chargeCard() zapEntry {
	var buf bytes.Buffer
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeCaller = zapcore.FullCallerEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(&buf), zapcore.ErrorLevel)
	logger := zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel))
	logger.Error("payment failed", zap.Error(errors.New("insufficient funds")))
	var e zapEntry
	_ = json.Unmarshal(buf.Bytes(), &e)
	return e
}
