// Package pagingtest holds the helpers of the whole-binary paging tests
// (test/paging) and the latency harness (test/latency): OpenTelemetry SDK senders
// of alert events and spans, collector configs, and the real Prometheus and
// Alertmanager servers.
package pagingtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// RoutingKey is a well-formed PagerDuty integration key for the fake.
const RoutingKey = "e2e0routing0key0000000000000000a"

// PagerDutyEnv points the embedded default's pagerduty exporter at fake.
func PagerDutyEnv(fake *fakepagerduty.Server) map[string]string {
	return map[string]string{"PAGERDUTY_ROUTING_KEY": RoutingKey, "PAGERDUTY_URL": fake.EnqueueURL()}
}

// LogsConfig runs an OTLP receiver into a logs pipeline ending at the
// alertrouter connector (FastRouting, notification log in file_storage),
// whose receiver "oncall" is a pipeline to the pagerduty exporter with a
// persistent sending queue, as the shipped configs have it.
func LogsConfig(t *testing.T, fake *fakepagerduty.Server) string {
	t.Helper()
	return LogsConfigRouting(t, fake, FastRouting(t, t.TempDir()))
}

// LogsConfigRouting is LogsConfig reading the routing file at routing,
// for tests that change the file.
func LogsConfigRouting(t *testing.T, fake *fakepagerduty.Server, routing string) string {
	t.Helper()
	return vigiltest.WriteFile(t, t.TempDir(), "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
  file_storage:
    directory: ${env:VIGIL_STORAGE_DIR}
    create_directory: true
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
connectors:
  alertrouter:
    routing: %s
    storage: file_storage
    receivers:
      oncall: [logs/pagerduty]
exporters:
  pagerduty:
    routing_key: %s
    endpoint: %s
    sending_queue:
      storage: file_storage
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [alertrouter]
    logs/pagerduty:
      receivers: [alertrouter]
      exporters: [pagerduty]
`, routing, RoutingKey, fake.EnqueueURL()))
}

// WebhookConfig is LogsConfig with the receiver "oncall" mapped to two
// pipelines, as evaluator.yaml maps its receiver "default": PagerDuty,
// and the webhook exporter posting to webhookURL, both as an
// evaluator's exporters, waiting for the receiver's answer
// (wait_for_result, no disk queue) and retrying without end (the
// webhook's backoff short).
func WebhookConfig(t *testing.T, fake *fakepagerduty.Server, webhookURL string) string {
	t.Helper()
	dir := t.TempDir()
	routing := FastRouting(t, dir)
	return vigiltest.WriteFile(t, dir, "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
  file_storage:
    directory: ${env:VIGIL_STORAGE_DIR}
    create_directory: true
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
connectors:
  alertrouter:
    routing: %s
    storage: file_storage
    receivers:
      oncall: [logs/pagerduty, logs/webhook]
exporters:
  pagerduty:
    routing_key: %s
    endpoint: %s
    sending_queue:
      wait_for_result: true
  webhook:
    endpoint: %s
    sending_queue:
      wait_for_result: true
    retry_on_failure:
      initial_interval: 200ms
      max_interval: 1s
      max_elapsed_time: 0
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [alertrouter]
    logs/pagerduty:
      receivers: [alertrouter]
      exporters: [pagerduty]
    logs/webhook:
      receivers: [alertrouter]
      exporters: [webhook]
`, routing, RoutingKey, fake.EnqueueURL(), webhookURL))
}

// FastRouting writes the built-in routing, but with a 10s group_interval
// instead of 1m so that resolves (sent at the group's next interval) keep
// the tests short.
func FastRouting(t *testing.T, dir string) string {
	t.Helper()
	return vigiltest.WriteFile(t, dir, "routing.yml", `
receivers:
  - name: oncall
route:
  receiver: oncall
  group_interval: 10s
`)
}

// AlertSender emits alert events as OTLP log records with the
// OpenTelemetry Go SDK, as a service's own alerting would.
type AlertSender struct {
	provider *sdklog.LoggerProvider
	logger   otellog.Logger
}

// NewAlertSender exports to the OTLP gRPC endpoint; the provider shuts
// down when the test ends.
func NewAlertSender(t *testing.T, endpoint string) *AlertSender {
	t.Helper()
	p := vigiltest.LoggerProvider(t, endpoint, resource.NewSchemaless(attribute.String("service.name", "vigil-e2e")))
	return &AlertSender{provider: p, logger: p.Logger("vigil-e2e")}
}

// Send emits one alert event and waits until it is exported.
func (s *AlertSender) Send(t *testing.T, fingerprint, state string) {
	t.Helper()
	s.SendNamed(t, "SLOBurnRate-checkout-availability-page", fingerprint, state)
}

// SendNamed is Send with an alert name of its own, so that each alert is
// its own group in the engine.
func (s *AlertSender) SendNamed(t *testing.T, name, fingerprint, state string) {
	t.Helper()
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetBody(attribute.StringValue("checkout availability: error budget burning 14.9x"))
	r.AddAttributes(
		attribute.String("alert.name", name),
		attribute.String("alert.state", state),
		attribute.String("alert.severity", "page"),
		attribute.String("alert.source", "slo"),
		attribute.String("alert.fingerprint", fingerprint),
		attribute.String("service.name", "checkout"),
		attribute.String("slo.name", "availability"),
		attribute.String("slo.burn_rate.long", "14.9"),
		attribute.String("slo.burn_rate.short", "120.5"),
	)
	s.logger.Emit(context.Background(), r)
	if err := s.provider.ForceFlush(context.Background()); err != nil {
		t.Fatalf("exporting the alert event: %v", err)
	}
}

// WaitFor waits up to d for cond over the fake's accepted events.
func WaitFor(t *testing.T, fake *fakepagerduty.Server, d time.Duration, what string, cond func([]fakepagerduty.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v; requests: %+v", what, err, fake.Requests())
	}
}

// Has is a WaitFor condition: an accepted event with action and, unless
// dedup is empty, that dedup key.
func Has(action, dedup string) func([]fakepagerduty.Event) bool {
	return func(evs []fakepagerduty.Event) bool {
		for _, ev := range evs {
			if ev.EventAction == action && (dedup == "" || ev.DedupKey == dedup) {
				return true
			}
		}
		return false
	}
}

// Pages are the triggers among evs with PagerDuty severity critical:
// Vigil's SLO pages.
func Pages(evs []fakepagerduty.Event) []fakepagerduty.Event { return triggers(evs, "critical") }

// Tickets are the triggers among evs with PagerDuty severity warning:
// Vigil's SLO tickets.
func Tickets(evs []fakepagerduty.Event) []fakepagerduty.Event { return triggers(evs, "warning") }

func triggers(evs []fakepagerduty.Event, severity string) []fakepagerduty.Event {
	var out []fakepagerduty.Event
	for _, ev := range evs {
		if ev.EventAction == "trigger" && ev.Payload.Severity == severity {
			out = append(out, ev)
		}
	}
	return out
}

// SpanSender emits server spans for the checkout service with the
// OpenTelemetry Go SDK at a fixed rate.
type SpanSender struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// SpanDuration is how long every span says its request took. It is set,
// not measured: a span that does no work would last as long as the
// sending goroutine waited for a CPU between starting and ending it, and
// on a loaded machine that wait is noise in the latency series that the
// anomaly detector rightly flags and latency SLOs count.
const SpanDuration = 20 * time.Millisecond

// NewSpanSender exports to the OTLP gRPC endpoint; the provider shuts
// down when the test ends.
func NewSpanSender(t testing.TB, endpoint string) *SpanSender {
	t.Helper()
	// Blocking: a flood of spans waits for the exporter, not dropped from a
	// full queue, so tests know exactly what the collector got.
	p := vigiltest.TracerProvider(t, endpoint, resource.NewSchemaless(semconv.ServiceName("checkout")))
	return &SpanSender{provider: p, tracer: p.Tracer("vigil-e2e")}
}

// span emits one span of SpanDuration that ends now.
func (s *SpanSender) span(ctx context.Context, failing bool) {
	end := time.Now()
	_, span := s.tracer.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-SpanDuration)))
	if failing {
		span.SetStatus(codes.Error, "payment backend unavailable")
	}
	span.End(trace.WithTimestamp(end))
}

// Run sends rate spans per second until ctx ends or d passes; failing
// marks every span as an error. The rate holds on a loaded machine: each
// tick sends the spans due by then, so ticks the sender missed while it
// waited for a CPU are made up at the next (a ticker drops them), rather
// than showing up as a dip in the request rate.
func (s *SpanSender) Run(ctx context.Context, rate int, d time.Duration, failing bool) {
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-tick.C:
			due := int(time.Since(start).Seconds() * float64(rate))
			for ; sent < due && ctx.Err() == nil; sent++ {
				s.span(ctx, failing)
			}
		}
	}
}

// Send sends n spans at once, failing or not, and waits until they are
// exported.
func (s *SpanSender) Send(ctx context.Context, t testing.TB, n int, failing bool) {
	t.Helper()
	for range n {
		s.span(ctx, failing)
	}
	if err := s.provider.ForceFlush(ctx); err != nil {
		t.Fatalf("flushing spans: %v", err)
	}
}

// Servers of the Alertmanager path, from the Debian packages prometheus and
// prometheus-alertmanager (scripts/ installs them for the test command).
const (
	PrometheusBin   = "/usr/bin/prometheus"
	AlertmanagerBin = "/usr/bin/prometheus-alertmanager"
)

// ExampleAlertmanagerConfig copies alerts/alertmanager.example.yml with
// PagerDuty's URL pointed at url; everything else, the example's routing
// key included, is used as shipped.
func ExampleAlertmanagerConfig(t *testing.T, dir, url string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vigiltest.RepoRoot(), "alerts", "alertmanager.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const pd = "https://events.pagerduty.com/v2/enqueue"
	if n := strings.Count(string(data), pd); n == 0 {
		t.Fatalf("alertmanager.example.yml no longer names %s", pd)
	}
	return vigiltest.WriteFile(t, dir, "alertmanager.yml", strings.ReplaceAll(string(data), pd, url))
}

// StartServer runs a server until the test ends and waits for its
// /-/ready endpoint.
func StartServer(t *testing.T, name string, port int, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &vigiltest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/-/ready", port)
	err := vigiltest.Eventually(ctx, func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited", name)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s not ready: %v", name, err)
	}
}
