package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testShop is a shop whose spans go to one in-memory recorder and whose
// logs go to an observer, with no healthy latency so tests are fast.
type testShop struct {
	shop  *Shop
	spans *tracetest.SpanRecorder
	logs  *observer.ObservedLogs
}

func newTestShop(t *testing.T) *testShop {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	core, logs := observer.New(zap.InfoLevel)
	svc := func(name string) *Service {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return &Service{Name: name, Tracer: tp.Tracer(scope), Log: zap.New(core).With(zap.String("service.name", name))}
	}
	shop := NewShop(svc(serviceCheckout), svc(serviceCatalog), svc(servicePayments),
		NewFaults(serviceCheckout, serviceCatalog, servicePayments))
	shop.baseLatency = func() time.Duration { return 0 }
	return &testShop{shop: shop, spans: spans, logs: logs}
}

func (ts *testShop) do(t *testing.T, method, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.shop.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code
}

// span finds the one ended span with this name and kind.
func (ts *testShop) span(t *testing.T, name string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range ts.spans.Ended() {
		if s.Name() == name && s.SpanKind() == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %v spans named %q, want 1", len(found), kind, name)
	}
	return found[0]
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestFaultsChangeWhatTheSLOsSee(t *testing.T) {
	tests := []struct {
		name        string
		service     string
		fault       Fault
		method      string
		path        string
		wantStatus  int
		wantErrSpan string // server span that must have status Error
		wantGRPC    int64  // payments' rpc.grpc.status_code, -1 when not called
	}{
		{"healthy cart", "", Fault{}, http.MethodGet, "/cart", http.StatusOK, "", -1},
		{"healthy order", "", Fault{}, http.MethodPost, "/checkout", http.StatusOK, "", grpcOK},
		{"payments down", servicePayments, Fault{ErrorRate: 1}, http.MethodPost, "/checkout", http.StatusBadGateway, "payments.v1.Payments/Charge", grpcUnavailable},
		{"catalog down", serviceCatalog, Fault{ErrorRate: 1}, http.MethodGet, "/cart", http.StatusBadGateway, "GET /api/products", -1},
		{"checkout down", serviceCheckout, Fault{ErrorRate: 1}, http.MethodGet, "/cart", http.StatusInternalServerError, "GET /cart", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestShop(t)
			if tt.service != "" {
				if err := ts.shop.faults.Set(tt.service, tt.fault); err != nil {
					t.Fatal(err)
				}
			}
			if got := ts.do(t, tt.method, tt.path); got != tt.wantStatus {
				t.Fatalf("status %d, want %d", got, tt.wantStatus)
			}
			root := ts.span(t, tt.method+" "+tt.path, trace.SpanKindServer)
			if got := attr(root, "http.response.status_code").AsInt64(); got != int64(tt.wantStatus) {
				t.Errorf("root http.response.status_code = %d, want %d", got, tt.wantStatus)
			}
			if tt.wantErrSpan != "" {
				s := ts.span(t, tt.wantErrSpan, trace.SpanKindServer)
				if s.Status().Code != codes.Error {
					t.Errorf("%s status = %v, want Error", tt.wantErrSpan, s.Status().Code)
				}
				if root.Status().Code != codes.Error {
					t.Errorf("root span status = %v, want Error", root.Status().Code)
				}
				if ts.logs.FilterMessageSnippet("failed").Len() == 0 {
					t.Error("no error logged")
				}
			} else if root.Status().Code == codes.Error {
				t.Error("healthy request has an Error span")
			}
			if tt.wantGRPC >= 0 {
				s := ts.span(t, "payments.v1.Payments/Charge", trace.SpanKindServer)
				if got := attr(s, "rpc.grpc.status_code").AsInt64(); got != tt.wantGRPC {
					t.Errorf("rpc.grpc.status_code = %d, want %d", got, tt.wantGRPC)
				}
				if attr(s, "rpc.system").AsString() != "grpc" {
					t.Error("payments span lacks rpc.system=grpc")
				}
			}
			// Every span of the request shares the root's trace, and every
			// log line carries it.
			for _, s := range ts.spans.Ended() {
				if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
					t.Errorf("span %q is in another trace", s.Name())
				}
			}
			for _, e := range ts.logs.All() {
				if e.ContextMap()["trace_id"] != root.SpanContext().TraceID().String() {
					t.Errorf("log %q has trace_id %v, want the request's", e.Message, e.ContextMap()["trace_id"])
				}
			}
		})
	}
}

func TestLatencyFaultSlowsSpans(t *testing.T) {
	ts := newTestShop(t)
	if err := ts.shop.faults.Set(serviceCatalog, Fault{Latency: Duration(120 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if got := ts.do(t, http.MethodGet, "/products"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	s := ts.span(t, "GET /api/products", trace.SpanKindServer)
	if d := s.EndTime().Sub(s.StartTime()); d < 120*time.Millisecond {
		t.Errorf("catalog span took %v, want at least the injected 120ms", d)
	}
	if d := ts.span(t, "GET /products", trace.SpanKindServer); d.EndTime().Sub(d.StartTime()) < 120*time.Millisecond {
		t.Error("the root span does not include its dependency's latency")
	}
}

func TestFaultSwitchAPI(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		want       map[string]string // service → "error_rate latency"
	}{
		{"read", http.MethodGet, "/fault", 200, map[string]string{"checkout": "0 0s"}},
		{"errors on checkout by default", http.MethodPost, "/fault?error_rate=0.25", 200, map[string]string{"checkout": "0.25 0s"}},
		{"latency on payments", http.MethodPost, "/fault?service=payments&latency=400ms", 200, map[string]string{"payments": "0 400ms", "checkout": "0 0s"}},
		{"rate above 1", http.MethodPost, "/fault?error_rate=1.5", 400, nil},
		{"bad latency", http.MethodPost, "/fault?latency=soon", 400, nil},
		{"unknown service", http.MethodPost, "/fault?service=ledger&error_rate=1", 400, nil},
		{"wrong method", http.MethodPut, "/fault", 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestShop(t)
			rec := httptest.NewRecorder()
			ts.shop.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.want == nil {
				return
			}
			var got map[string]struct {
				ErrorRate float64 `json:"error_rate"`
				Latency   string  `json:"latency"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for svc, want := range tt.want {
				g := got[svc]
				if s := strings.TrimSpace(strings.Join([]string{jsonNumber(g.ErrorRate), g.Latency}, " ")); s != want {
					t.Errorf("%s: %q, want %q", svc, s, want)
				}
			}
		})
	}
	// DELETE heals every service.
	ts := newTestShop(t)
	_ = ts.shop.faults.Set(servicePayments, Fault{ErrorRate: 1})
	ts.shop.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/fault", nil))
	if f := ts.shop.faults.Get(servicePayments); f != (Fault{}) {
		t.Errorf("after DELETE payments fault = %+v", f)
	}
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestFaultFromEnv(t *testing.T) {
	t.Setenv("DEMO_FAULT_SERVICE", servicePayments)
	t.Setenv("DEMO_ERROR_RATE", "0.3")
	t.Setenv("DEMO_LATENCY", "250ms")
	f := NewFaults(serviceCheckout, servicePayments)
	if err := faultFromEnv(f); err != nil {
		t.Fatal(err)
	}
	if got := f.Get(servicePayments); got != (Fault{ErrorRate: 0.3, Latency: Duration(250 * time.Millisecond)}) {
		t.Errorf("payments fault = %+v", got)
	}
	t.Setenv("DEMO_ERROR_RATE", "lots")
	if err := faultFromEnv(f); err == nil {
		t.Error("DEMO_ERROR_RATE=lots accepted")
	}
}

func TestStdoutLinesOmitTheContext(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	logger := zap.New(withoutContext{core})
	ctx := context.Background()
	logger.With(zap.Any("context", ctx)).Info("with", zap.Any("context", ctx), zap.String("route", "/cart"))
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	m := entries[0].ContextMap()
	if _, ok := m["context"]; ok {
		t.Errorf("context field written: %v", m)
	}
	if m["route"] != "/cart" {
		t.Errorf("other fields lost: %v", m)
	}
}
