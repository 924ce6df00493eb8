package vigiltest

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// LoggerProvider returns an OpenTelemetry Go SDK logger provider with
// resource res that exports to endpoint (host:port, plaintext) with the
// SDK's OTLP/gRPC exporter through a batch processor, as a service would.
// Emitted records go out at the latest on ForceFlush or Shutdown, whose
// errors are the export's. The provider shuts down when the test ends.
func LoggerProvider(t testing.TB, endpoint string, res *resource.Resource) *sdklog.LoggerProvider {
	t.Helper()
	exp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	p := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)), sdklog.WithResource(res))
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// TracerProvider returns an OpenTelemetry Go SDK tracer provider with
// resource res that exports to endpoint (host:port, plaintext) with the
// SDK's OTLP/gRPC exporter through a blocking batcher: a flood of spans
// waits for the exporter instead of being dropped from a full queue, so a
// test knows exactly what the collector got. Ended spans go out within
// 20ms, and at the latest on ForceFlush or Shutdown: steady traffic
// reaches the collector in small lumps, so a test that measures its rate
// over short intervals (the anomaly tests' 1s, with 500ms RED flushes)
// does not see whole export batches (200 spans/s in the SDK's default
// 200ms batches: a fifth of an interval's spans) land on one side of a
// flush or the other as the machine's load shifts the timers. The
// provider shuts down when the test ends.
func TracerProvider(t testing.TB, endpoint string, res *resource.Resource) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	p := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp,
		sdktrace.WithBatchTimeout(20*time.Millisecond), sdktrace.WithBlocking(), sdktrace.WithMaxExportBatchSize(2048)),
		sdktrace.WithResource(res))
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}
