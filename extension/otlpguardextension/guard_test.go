package otlpguardextension

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
	"github.com/vigil-otel/vigil/internal/testutil/rawotlp"
)

// host offers the guard to the receiver as the collector's service would.
type host struct{ guard component.Component }

func (h host) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.NewID(metadata.Type): h.guard}
}

// receiverUnderGuard is an otlp receiver for traces, metrics and logs whose
// gRPC and HTTP servers list the guard under middlewares, as Vigil's
// configurations do.
type receiverUnderGuard struct {
	grpc, http string
	traces     *consumertest.TracesSink
	metrics    *consumertest.MetricsSink
	logs       *consumertest.LogsSink
	telemetry  *componenttest.Telemetry
	guard      *guard
}

func startReceiverUnderGuard(t *testing.T, maxDepth int) *receiverUnderGuard {
	t.Helper()
	r := &receiverUnderGuard{
		grpc: freeAddr(t), http: freeAddr(t),
		traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink),
		telemetry: componenttest.NewTelemetry(),
	}
	t.Cleanup(func() { _ = r.telemetry.Shutdown(context.Background()) })

	gcfg := createDefaultConfig().(*Config)
	gcfg.MaxDepth = maxDepth
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = r.telemetry.NewTelemetrySettings()
	ext, err := NewFactory().Create(context.Background(), set, gcfg)
	if err != nil {
		t.Fatal(err)
	}
	r.guard = ext.(*guard)

	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig()
	middlewares := []any{map[string]any{"id": "otlp_guard"}}
	err = confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{
		"grpc": map[string]any{"endpoint": r.grpc, "middlewares": middlewares},
		"http": map[string]any{"endpoint": r.http, "middlewares": middlewares},
	}}).Unmarshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rset := receivertest.NewNopSettings(factory.Type())
	ctx, h := context.Background(), host{ext}
	tr, err := factory.CreateTraces(ctx, rset, cfg, r.traces)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := factory.CreateMetrics(ctx, rset, cfg, r.metrics)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := factory.CreateLogs(ctx, rset, cfg, r.logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []component.Component{ext, tr, mr, lr} {
		if err := c.Start(ctx, h); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	}
	return r
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (r *receiverUnderGuard) endpoint(tr deepotlp.Transport) string {
	if tr == deepotlp.GRPC {
		return r.grpc
	}
	return r.http
}

// received counts what reached the pipelines.
func (r *receiverUnderGuard) received() int {
	return r.traces.SpanCount() + r.metrics.DataPointCount() + r.logs.LogRecordCount()
}

// TestReceiverRefusesTooDeep: through the otlp receiver, over each
// transport, for each signal, a value max_depth deep reaches the pipeline
// and one a level deeper is answered 400 / InvalidArgument, reaches
// nothing, and is counted by transport, signal and reason.
func TestReceiverRefusesTooDeep(t *testing.T) {
	const maxDepth = 8
	r := startReceiverUnderGuard(t, maxDepth)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	places := []deepotlp.Place{deepotlp.LogBody, deepotlp.LogAttribute, deepotlp.SpanAttribute, deepotlp.GaugeAttribute}
	refusedCode := map[deepotlp.Transport]string{deepotlp.HTTPProtobuf: "Bad Request", deepotlp.HTTPJSON: "Bad Request", deepotlp.GRPC: "InvalidArgument"}
	okCode := map[deepotlp.Transport]string{deepotlp.HTTPProtobuf: "OK", deepotlp.HTTPJSON: "OK", deepotlp.GRPC: "OK"}
	wantRefused := map[[2]string]int64{}
	for _, tr := range deepotlp.Transports {
		for _, p := range places {
			for _, n := range []deepotlp.Nesting{deepotlp.KVList, deepotlp.Array} {
				name := fmt.Sprintf("%s/%s/%s", tr, p, n)
				before := r.received()
				a, err := rawotlp.Send(ctx, tr, r.endpoint(tr), p, deepotlp.Build(tr, p, n, maxDepth))
				if err != nil || a.Status != okCode[tr] {
					t.Errorf("%s at depth %d: %+v %v, want %s", name, maxDepth, a, err, okCode[tr])
				}
				if r.received() != before+1 {
					t.Errorf("%s at depth %d: %d records reached the pipeline, want 1", name, maxDepth, r.received()-before)
				}
				a, err = rawotlp.Send(ctx, tr, r.endpoint(tr), p, deepotlp.Build(tr, p, n, maxDepth+1))
				if err != nil || a.Status != refusedCode[tr] {
					t.Errorf("%s at depth %d: %+v %v, want %s", name, maxDepth+1, a, err, refusedCode[tr])
				}
				if !bytes.Contains([]byte(a.Message), []byte("nested deeper than 8 levels")) {
					t.Errorf("%s: answer %q does not say why", name, a.Message)
				}
				if r.received() != before+1 {
					t.Errorf("%s at depth %d reached the pipeline", name, maxDepth+1)
				}
				transport := "http"
				if tr == deepotlp.GRPC {
					transport = "grpc"
				}
				wantRefused[[2]string{transport, p.Signal()}]++
			}
		}
	}
	if left := r.guard.pending.count.Load(); left != 0 {
		t.Errorf("gRPC refusals left behind for the interceptor: %d", left)
	}
	got := refusals(t, r.telemetry)
	for k, want := range wantRefused {
		if got[k] != want {
			t.Errorf("refusals{transport=%s, signal=%s, reason=too_deep} = %d, want %d", k[0], k[1], got[k], want)
		}
	}
}

// refusals reads the refusal counter by transport and signal.
func refusals(t *testing.T, tel *componenttest.Telemetry) map[[2]string]int64 {
	t.Helper()
	m, err := tel.GetMetric(MetricRequestsRefused)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		transport, _ := dp.Attributes.Value(AttrTransport)
		signal, _ := dp.Attributes.Value(AttrSignal)
		reason, _ := dp.Attributes.Value(AttrReason)
		if reason.AsString() == "too_deep" {
			out[[2]string{transport.AsString(), signal.AsString()}] += dp.Value
		}
	}
	return out
}

// TestGuardSeesDecompressedBodies: a gzip body of 100,000 levels (a few
// kilobytes on the wire) is refused, as confighttp decompresses before
// the middlewares run.
func TestGuardSeesDecompressedBodies(t *testing.T) {
	r := startReceiverUnderGuard(t, DefaultMaxDepth)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(deepotlp.Proto(deepotlp.LogBody, deepotlp.KVList, 100_000))
	_ = zw.Close()
	req, err := http.NewRequest(http.MethodPost, "http://"+r.http+"/v1/logs", &zipped)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("answered %s, want 400", resp.Status)
	}
	if r.logs.LogRecordCount() != 0 {
		t.Fatal("the request reached the pipeline")
	}
}
