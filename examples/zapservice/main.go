// Command zapservice is a small Go service that logs the way Vigil's zaplog
// receiver reads with no tuning: zap's production configuration, JSON lines
// to a file, and the trace and span IDs of the current OpenTelemetry span
// on every line written inside one, so Grafana can jump from a log line to
// its trace.
//
//	go run ./examples/zapservice -log /var/log/zapservice/app.log
//
// and in the collector configuration:
//
//	receivers:
//	  zaplog:
//	    include: [/var/log/zapservice/*.log]
//	    start_at: beginning
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// serviceName is logged as the service.name field, which the receiver
// moves to the resource.
const serviceName = "zapservice"

func main() {
	logPath := flag.String("log", "zapservice.log", "file to append zap JSON lines to")
	requests := flag.Int("requests", 20, "requests to simulate; 0 runs until interrupted")
	every := flag.Duration("every", 200*time.Millisecond, "pause between requests")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *logPath, *requests, *every); err != nil {
		fmt.Fprintln(os.Stderr, "zapservice:", err)
		os.Exit(1)
	}
}

// run simulates requests, each in its own span, logging through zap.
func run(ctx context.Context, logPath string, requests int, every time.Duration) error {
	logger, err := newLogger(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	// A real service registers an OTLP exporter here; the IDs in the logs
	// are the same either way.
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("github.com/vigil-otel/vigil/examples/zapservice")

	logger.Info("service started", zap.Int("requests", requests))
	for i := 0; requests == 0 || i < requests; i++ {
		reqCtx, span := tracer.Start(ctx, "GET /orders/{id}")
		handle(reqCtx, logger.Named("http"), i)
		span.End()
		select {
		case <-ctx.Done():
			logger.Info("service stopping")
			return nil
		case <-time.After(every):
		}
	}
	logger.Info("service stopping")
	return nil
}

// newLogger is zap.NewProduction writing to a file instead of stderr.
func newLogger(path string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths = []string{path}
	logger, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return logger.With(zap.String("service.name", serviceName)), nil
}

// handle serves one simulated request; every seventh fails, logged at
// error level with zap's stack trace.
func handle(ctx context.Context, logger *zap.Logger, i int) {
	log := logger.With(traceFields(ctx)...)
	start := time.Now()
	orderID := fmt.Sprintf("ord-%05d", i)
	if i%7 == 6 {
		log.Error("order lookup failed",
			zap.String("order_id", orderID),
			zap.Error(errors.New("database: connection reset by peer")))
		return
	}
	log.Info("request completed",
		zap.String("method", "GET"),
		zap.String("path", "/orders/"+orderID),
		zap.Int("status", 200),
		zap.Int("items", 1+rand.IntN(5)), //nolint:gosec // demo data
		zap.Duration("duration", time.Since(start)),
		zap.Any("customer", map[string]any{"tier": "gold", "region": "eu-west-1"}),
	)
}

// traceFields returns the fields that tie a line to the current span,
// under the names the zaplog receiver reads into the record's trace context.
func traceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{
		zap.String("trace_id", sc.TraceID().String()),
		zap.String("span_id", sc.SpanID().String()),
		zap.String("trace_flags", sc.TraceFlags().String()),
	}
}
