// Command demo is a small shop that lets a newcomer watch Vigil work: one
// process plays three services (checkout, catalog, payments), instrumented
// with the OpenTelemetry SDK (traces and logs over OTLP to Vigil) and zap
// (JSON lines on stdout, with the trace and span ID of the request).
//
// The services match the example SLOs in slo/examples: checkout's server
// spans (availability, latency 300ms), catalog's /api/* routes (latency
// 250ms, 5xx) and payments' gRPC server spans (UNAVAILABLE and friends).
//
//	go run ./examples/demo                           # serves :8080, sends OTLP to localhost:4318
//	curl localhost:8080/cart                         # one request through checkout and catalog
//	curl -X POST 'localhost:8080/fault?service=payments&error_rate=0.5'
//	curl -X POST 'localhost:8080/fault?service=checkout&latency=400ms'
//	curl -X DELETE localhost:8080/fault              # healthy again
//
// Environment: OTEL_EXPORTER_OTLP_ENDPOINT (the SDK's own variable; default
// http://localhost:4318), DEMO_ADDR (:8080), DEMO_LOAD (requests per second
// the demo sends itself, default 5; 0 for none), and the fault at start:
// DEMO_FAULT_SERVICE (checkout), DEMO_ERROR_RATE (0 to 1), DEMO_LATENCY
// (e.g. 400ms).
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelzap"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The simulated services.
const (
	serviceCheckout = "checkout"
	serviceCatalog  = "catalog"
	servicePayments = "payments"
)

// scope is the instrumentation scope of every span and log record.
const scope = "github.com/vigil-otel/vigil/examples/demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := envOr("DEMO_ADDR", ":8080")
	load, err := strconv.ParseFloat(envOr("DEMO_LOAD", "5"), 64)
	if err != nil || load < 0 {
		return fmt.Errorf("DEMO_LOAD=%q: want a non-negative number of requests per second", os.Getenv("DEMO_LOAD"))
	}
	faults := NewFaults(serviceCheckout, serviceCatalog, servicePayments)
	if err := faultFromEnv(faults); err != nil {
		return err
	}

	var shutdowns []func(context.Context) error
	services := map[string]*Service{}
	for _, name := range []string{serviceCheckout, serviceCatalog, servicePayments} {
		svc, shutdown, err := newOTLPService(ctx, name)
		if err != nil {
			return err
		}
		services[name] = svc
		shutdowns = append(shutdowns, shutdown)
	}
	defer func() {
		// Flush what is buffered so the last requests reach Vigil.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range shutdowns {
			_ = s(sctx)
		}
	}()

	shop := NewShop(services[serviceCheckout], services[serviceCatalog], services[servicePayments], faults)
	srv := &http.Server{Addr: addr, Handler: shop.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	shop.checkout.Log.Info("demo listening", zap.String("addr", addr), zap.Float64("load_rps", load))
	if load > 0 {
		go generateLoad(ctx, "http://"+loopback(addr), load)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newOTLPService sets up one simulated service: its own resource
// (service.name), a tracer provider and a logger provider exporting OTLP
// over HTTP, and a zap logger writing JSON to stdout and records to OTLP.
func newOTLPService(ctx context.Context, name string) (*Service, func(context.Context) error, error) {
	res := resource.NewSchemaless(
		attribute.String("service.name", name),
		attribute.String("service.namespace", "demo"),
		attribute.String("deployment.environment.name", envOr("DEMO_ENVIRONMENT", "local")),
	)
	traceExp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: trace exporter: %w", name, err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(traceExp))
	logExp, err := otlploghttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: log exporter: %w", name, err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)))

	stdout := withoutContext{zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stdout), zap.InfoLevel)}
	otlp := otelzap.NewCore(scope, otelzap.WithLoggerProvider(lp))
	logger := zap.New(zapcore.NewTee(stdout, otlp)).With(zap.String("service.name", name))

	svc := &Service{Name: name, Tracer: tp.Tracer(scope), Log: logger}
	shutdown := func(ctx context.Context) error {
		_ = logger.Sync()
		return errors.Join(tp.Shutdown(ctx), lp.Shutdown(ctx))
	}
	return svc, shutdown, nil
}

// faultFromEnv applies DEMO_ERROR_RATE and DEMO_LATENCY to
// DEMO_FAULT_SERVICE.
func faultFromEnv(faults *Faults) error {
	service := envOr("DEMO_FAULT_SERVICE", serviceCheckout)
	var fault Fault
	if v := os.Getenv("DEMO_ERROR_RATE"); v != "" {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("DEMO_ERROR_RATE: %w", err)
		}
		fault.ErrorRate = rate
	}
	if v := os.Getenv("DEMO_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("DEMO_LATENCY: %w", err)
		}
		fault.Latency = Duration(d)
	}
	return faults.Set(service, fault)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// loopback turns a listen address (":8080") into one to dial.
func loopback(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "127.0.0.1" + addr
	}
	return addr
}

// withoutContext drops context.Context fields before they reach the JSON
// encoder: the otelzap core needs the context for the record's trace, but
// on stdout it would print as an unreadable string.
type withoutContext struct{ zapcore.Core }

func dropContext(fields []zapcore.Field) []zapcore.Field {
	out := fields[:0:0]
	for _, f := range fields {
		if _, isCtx := f.Interface.(context.Context); !isCtx {
			out = append(out, f)
		}
	}
	return out
}

// With implements zapcore.Core.
func (c withoutContext) With(fields []zapcore.Field) zapcore.Core {
	return withoutContext{c.Core.With(dropContext(fields))}
}

// Check implements zapcore.Core, registering this wrapper so Write sees
// the fields.
func (c withoutContext) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write implements zapcore.Core.
func (c withoutContext) Write(e zapcore.Entry, fields []zapcore.Field) error {
	return c.Core.Write(e, dropContext(fields))
}
