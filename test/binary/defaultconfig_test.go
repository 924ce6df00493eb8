package binary

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Per transport, what the test sends.
const (
	e2eSpans   = 40
	e2eLogs    = 7
	e2eSeries  = 3 // one counter with three attribute sets: three data points
	e2eService = "e2e-checkout"
)

// TestEmbeddedDefaultEndToEnd runs the built binary on its embedded default,
// sends traces, metrics and logs with the OpenTelemetry Go SDK's OTLP
// exporters over gRPC and HTTP, and checks what the collector says it
// accepted, what it serves for Prometheus, and that SIGTERM ends it cleanly.
func TestEmbeddedDefaultEndToEnd(t *testing.T) {
	inst := vigiltest.Start(t, vigiltest.Options{
		// Flush RED metrics quickly so the test need not wait 15 s.
		Args: []string{"--set=connectors::slo::red::flush_interval=500ms"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := resource.NewSchemaless(attribute.String("service.name", e2eService))

	for _, transport := range []string{"grpc", "http"} {
		sendSpans(ctx, t, inst, transport, res)
		sendMetrics(ctx, t, inst, transport, res)
		sendLogs(ctx, t, inst, transport, res)
	}

	want := map[string]float64{
		"otelcol_receiver_accepted_spans":         e2eSpans,
		"otelcol_receiver_accepted_metric_points": e2eSeries,
		"otelcol_receiver_accepted_log_records":   e2eLogs,
	}
	err := vigiltest.Eventually(ctx, func() error {
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		for name, n := range want {
			for _, transport := range []string{"grpc", "http"} {
				got := vigiltest.Sum(families, name, map[string]string{"receiver": "otlp", "transport": transport})
				if got != n {
					return &mismatch{name + "{transport=" + transport + "}", got, n}
				}
			}
		}
		if refused := vigiltest.Sum(families, "otelcol_receiver_refused_spans", nil); refused != 0 {
			return &mismatch{"otelcol_receiver_refused_spans", refused, 0}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("self-telemetry: %v", err)
	}

	// The prometheus exporter serves the metrics the services sent and the
	// RED metrics the slo connector derived from their spans.
	err = vigiltest.Eventually(ctx, func() error {
		families, err := vigiltest.Scrape(inst.PrometheusURL())
		if err != nil {
			return err
		}
		if got := vigiltest.Sum(families, "e2e_requests_total", nil); got != 2*(1+2+3) {
			return &mismatch{"e2e_requests_total", got, 2 * (1 + 2 + 3)}
		}
		calls := vigiltest.Sum(families, "traces_span_metrics_calls_total", map[string]string{"service_name": e2eService})
		if calls != 2*e2eSpans {
			return &mismatch{"traces_span_metrics_calls_total", calls, 2 * e2eSpans}
		}
		return nil
	})
	if err != nil {
		t.Fatalf(":8889: %v", err)
	}

	took, err := inst.Stop(syscall.SIGTERM, 15*time.Second)
	if err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if took > 10*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if !strings.Contains(inst.Log(), "Shutdown complete.") {
		t.Errorf("no clean shutdown in the log:\n%s", inst.Log())
	}
}

type mismatch struct {
	what      string
	got, want float64
}

func (m *mismatch) Error() string {
	return m.what + ": got " + ftoa(m.got) + ", want " + ftoa(m.want)
}

func sendSpans(ctx context.Context, t *testing.T, inst *vigiltest.Instance, transport string, res *resource.Resource) {
	t.Helper()
	var exp sdktrace.SpanExporter
	var err error
	if transport == "grpc" {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithInsecure(), otlptracegrpc.WithEndpoint(inst.OTLPGRPCEndpoint()))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithInsecure(), otlptracehttp.WithEndpoint(inst.OTLPHTTPEndpoint()))
	}
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("e2e")
	for i := 0; i < e2eSpans; i++ {
		_, span := tracer.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer))
		span.SetAttributes(attribute.Int("http.response.status_code", 200))
		span.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("%s spans: %v", transport, err)
	}
}

func sendMetrics(ctx context.Context, t *testing.T, inst *vigiltest.Instance, transport string, res *resource.Resource) {
	t.Helper()
	var exp sdkmetric.Exporter
	var err error
	if transport == "grpc" {
		exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithInsecure(), otlpmetricgrpc.WithEndpoint(inst.OTLPGRPCEndpoint()))
	} else {
		exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithInsecure(), otlpmetrichttp.WithEndpoint(inst.OTLPHTTPEndpoint()))
	}
	if err != nil {
		t.Fatal(err)
	}
	// A manual reader collects exactly once, so the number of data points
	// the collector must count is known.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	counter, err := mp.Meter("e2e").Int64Counter("e2e.requests")
	if err != nil {
		t.Fatal(err)
	}
	for i, route := range []string{"/a", "/b", "/c"} {
		counter.Add(ctx, int64(i+1), metric.WithAttributes(attribute.String("route", route), attribute.String("transport", transport)))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, &rm); err != nil {
		t.Fatalf("%s metrics: %v", transport, err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func sendLogs(ctx context.Context, t *testing.T, inst *vigiltest.Instance, transport string, res *resource.Resource) {
	t.Helper()
	var exp sdklog.Exporter
	var err error
	if transport == "grpc" {
		exp, err = otlploggrpc.New(ctx, otlploggrpc.WithInsecure(), otlploggrpc.WithEndpoint(inst.OTLPGRPCEndpoint()))
	} else {
		exp, err = otlploghttp.New(ctx, otlploghttp.WithInsecure(), otlploghttp.WithEndpoint(inst.OTLPHTTPEndpoint()))
	}
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)), sdklog.WithResource(res))
	logger := lp.Logger("e2e")
	for i := 0; i < e2eLogs; i++ {
		var rec otellog.Record
		rec.SetTimestamp(time.Now())
		rec.SetSeverity(otellog.SeverityInfo)
		rec.SetBody(attribute.StringValue("order placed"))
		rec.AddAttributes(attribute.Int("order", i))
		logger.Emit(ctx, rec)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("%s logs: %v", transport, err)
	}
}

// TestHealthAndSelfTelemetryServe checks the two HTTP endpoints an operator
// points probes and Prometheus at.
func TestHealthAndSelfTelemetryServe(t *testing.T) {
	inst := vigiltest.Start(t, vigiltest.Options{})
	for _, url := range []string{inst.TelemetryURL(), inst.PrometheusURL()} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", url, resp.Status)
		}
	}
}
