package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Service is one simulated service: its tracer (with its own service.name
// resource) and its logger.
type Service struct {
	Name   string
	Tracer trace.Tracer
	Log    *zap.Logger
}

// Shop serves the demo's HTTP routes. checkout is the real HTTP server;
// catalog and payments are called in-process, each call a client span in
// the caller and a server span in the callee, as over a network.
type Shop struct {
	checkout, catalog, payments *Service
	faults                      *Faults
	// baseLatency draws the healthy work time of one service call.
	baseLatency func() time.Duration
}

// NewShop wires the three services and the fault switch.
func NewShop(checkout, catalog, payments *Service, faults *Faults) *Shop {
	return &Shop{
		checkout: checkout, catalog: catalog, payments: payments, faults: faults,
		baseLatency: func() time.Duration {
			return time.Duration(5+rand.IntN(40)) * time.Millisecond //nolint:gosec // simulation
		},
	}
}

// errInjected is the failure the fault switch injects.
var errInjected = errors.New("injected failure")

// Handler routes the shop's endpoints and the fault switch.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cart", s.serve("/cart", s.cart))
	mux.HandleFunc("POST /checkout", s.serve("/checkout", s.placeOrder))
	mux.HandleFunc("GET /products", s.serve("/products", s.products))
	mux.Handle("/fault", s.faults)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux
}

// serve wraps a route in checkout's server span and access log, and maps
// an error to 502 (a dependency failed) or 500.
func (s *Shop) serve(route string, handle func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, span := s.checkout.Tracer.Start(r.Context(), r.Method+" "+route,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route),
				attribute.String("url.path", r.URL.Path),
			))
		defer span.End()
		err := s.work(ctx, s.checkout)
		if err == nil {
			err = handle(ctx)
		}
		status := http.StatusOK
		switch {
		case errors.Is(err, errDependency):
			status = http.StatusBadGateway
		case err != nil:
			status = http.StatusInternalServerError
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		fields := append(traceFields(ctx),
			zap.String("method", r.Method), zap.String("route", route),
			zap.Int("status", status), zap.Duration("duration", time.Since(start)))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
			span.RecordError(err)
			s.checkout.Log.Error("request failed", append(fields, zap.Error(err))...)
			http.Error(w, err.Error(), status)
			return
		}
		s.checkout.Log.Info("request completed", fields...)
		_, _ = fmt.Fprintf(w, "ok %s\n", route)
	}
}

// errDependency marks a failure of a downstream service.
var errDependency = errors.New("dependency failed")

// work simulates one service's own work: healthy latency plus the injected
// latency, and the injected failure. The context carries the trace fields
// to the log line (and, through the zap field, to the OTLP log record).
func (s *Shop) work(ctx context.Context, svc *Service) error {
	fault := s.faults.Get(svc.Name)
	select {
	case <-time.After(s.baseLatency() + time.Duration(fault.Latency)):
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.faults.Fails(svc.Name) {
		return errInjected
	}
	return nil
}

func (s *Shop) cart(ctx context.Context) error {
	return s.callCatalog(ctx, "/api/products")
}

func (s *Shop) products(ctx context.Context) error {
	return s.callCatalog(ctx, "/api/products")
}

func (s *Shop) placeOrder(ctx context.Context) error {
	if err := s.callCatalog(ctx, "/api/products/{id}"); err != nil {
		return err
	}
	return s.callPayments(ctx)
}

// callCatalog is checkout calling catalog's HTTP API.
func (s *Shop) callCatalog(ctx context.Context, route string) error {
	ctx, client := s.checkout.Tracer.Start(ctx, "GET "+route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", http.MethodGet), attribute.String("server.address", serviceCatalog)))
	defer client.End()

	ctx, span := s.catalog.Tracer.Start(ctx, "GET "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", http.MethodGet), attribute.String("http.route", route)))
	err := s.work(ctx, s.catalog)
	status := http.StatusOK
	if err != nil {
		status = http.StatusServiceUnavailable
		span.SetStatus(codes.Error, err.Error())
		s.catalog.Log.Error("catalog lookup failed", append(traceFields(ctx), zap.String("route", route), zap.Error(err))...)
	} else {
		s.catalog.Log.Info("catalog lookup", append(traceFields(ctx), zap.String("route", route))...)
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	span.End()

	client.SetAttributes(attribute.Int("http.response.status_code", status))
	if err != nil {
		client.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("catalog %s: %w: %w", route, errDependency, err)
	}
	return nil
}

// gRPC status codes the payments spans carry (rpc.grpc.status_code).
const (
	grpcOK          = 0
	grpcUnavailable = 14
)

// callPayments is checkout calling payments' gRPC Charge method.
func (s *Shop) callPayments(ctx context.Context) error {
	const method = "payments.v1.Payments/Charge"
	rpc := []attribute.KeyValue{
		attribute.String("rpc.system", "grpc"),
		attribute.String("rpc.service", "payments.v1.Payments"),
		attribute.String("rpc.method", "Charge"),
	}
	ctx, client := s.checkout.Tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(rpc...))
	defer client.End()

	ctx, span := s.payments.Tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(rpc...))
	err := s.work(ctx, s.payments)
	code := grpcOK
	if err != nil {
		code = grpcUnavailable
		span.SetStatus(codes.Error, err.Error())
		s.payments.Log.Error("charge failed", append(traceFields(ctx), zap.Error(err))...)
	} else {
		s.payments.Log.Info("charge authorized", append(traceFields(ctx), zap.Int("amount_cents", 100+rand.IntN(9900)))...) //nolint:gosec // demo data
	}
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", code))
	span.End()

	client.SetAttributes(attribute.Int("rpc.grpc.status_code", code))
	if err != nil {
		client.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("payments Charge: %w: %w", errDependency, err)
	}
	return nil
}

// traceFields tie a log line to its span: trace_id and span_id in the JSON
// line (what the zaplog receiver reads), and the context itself, which the
// otelzap bridge uses as the OTLP record's trace context.
func traceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{
		zap.String("trace_id", sc.TraceID().String()),
		zap.String("span_id", sc.SpanID().String()),
		zap.Any("context", ctx),
	}
}

// generateLoad sends rps requests per second to the shop until ctx ends:
// mostly cart views, some orders, a few product listings.
func generateLoad(ctx context.Context, base string, rps float64) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		method, path := http.MethodGet, "/cart"
		switch n := rand.IntN(10); { //nolint:gosec // simulation
		case n < 3:
			method, path = http.MethodPost, "/checkout"
		case n < 4:
			path = "/products"
		}
		go func() {
			req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
			if err != nil {
				return
			}
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
}
