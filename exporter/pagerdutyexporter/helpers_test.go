package pagerdutyexporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testKey is a well-formed routing key; tests check it never leaks.
const testKey = "Rk7Q2mX9pL4vN8sT1wY6zA3bC5dE0fG2"

// testRouting sends everything to PagerDuty with no group wait, so tests
// see a notification within a tick or two.
const testRouting = `
receivers:
  - name: oncall
    pagerduty: {}
route:
  receiver: oncall
  group_wait: 0s
  group_interval: 1s
`

// storageName names the test storage extension (contrib's storagetest,
// backed by a folder: a restarted exporter reads what the first one wrote
// when it closed its client).
const storageName = "pagerduty"

type testHost struct {
	exts map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// options of one test exporter.
type options struct {
	key      string
	routing  string // routing file content; empty for testRouting, "-" for none
	silences string // silences file path
	storeDir string // storage folder, shared between instances to simulate a restart
	limiter  *events.Limiter
	mutate   func(*Config)
}

type harness struct {
	exp  exporter.Logs
	fake *fakepagerduty.Server
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

func startExporter(t *testing.T, fake *fakepagerduty.Server, o options) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.RoutingKey = configopaque.String(o.key)
	cfg.URL = fake.EnqueueURL()
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.RetryConfig.InitialInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 200 * time.Millisecond
	cfg.RetryConfig.RandomizationFactor = 0
	switch o.routing {
	case "":
		cfg.Routing = writeFile(t, "routing.yml", testRouting)
	case "-":
	default:
		cfg.Routing = writeFile(t, "routing.yml", o.routing)
	}
	cfg.Silences = o.silences
	exts := map[component.ID]component.Component{}
	if o.storeDir != "" {
		ext := storagetest.NewFileBackedStorageExtension(storageName, o.storeDir)
		cfg.Storage = &ext.ID
		exts[ext.ID] = ext
	}
	if o.mutate != nil {
		o.mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	limiter := o.limiter
	if limiter == nil {
		var err error
		if limiter, err = events.NewLimiter(events.LimiterSettings{}); err != nil {
			t.Fatal(err)
		}
	}
	tel := componenttest.NewTelemetry()
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	// One fixed ID, as a restarted collector has: the storage client is
	// named after it.
	set.ID = component.NewID(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	exp, err := newExporter(context.Background(), set, cfg, limiter)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), testHost{exts}); err != nil {
		t.Fatal(err)
	}
	h := &harness{exp: exp, fake: fake, tel: tel, logs: logs}
	t.Cleanup(func() { h.stop(t) })
	return h
}

// stop shuts the exporter down; later calls do nothing.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	if h.exp == nil {
		return
	}
	if err := h.exp.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	h.exp = nil
	_ = h.tel.Shutdown(context.Background())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// event is one alert event as the SLO connector writes it.
type event struct {
	body  string
	attrs map[string]string
}

func sloEvent(fp, severity, state string) event {
	return event{
		body: "checkout availability: error budget burning fast",
		attrs: map[string]string{
			"alert.name":         "SLOBurnRate-checkout-availability-" + severity,
			"alert.state":        state,
			"alert.severity":     severity,
			"alert.fingerprint":  fp,
			"alert.source":       "slo",
			"service.name":       "checkout",
			"slo.name":           "availability",
			"slo.burn_rate.long": "14.9",
		},
	}
}

func logsOf(evs ...event) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "vigil")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, ev := range evs {
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Body().SetStr(ev.body)
		for k, v := range ev.attrs {
			lr.Attributes().PutStr(k, v)
		}
	}
	return ld
}

func (h *harness) consume(t *testing.T, evs ...event) {
	t.Helper()
	if err := h.exp.ConsumeLogs(context.Background(), logsOf(evs...)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits up to d for cond over the accepted events.
func (h *harness) waitFor(t *testing.T, d time.Duration, what string, cond func([]fakepagerduty.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := h.fake.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v; requests: %+v", what, err, h.fake.Requests())
	}
}

func count(action, dedup string) func([]fakepagerduty.Event) bool {
	return func(evs []fakepagerduty.Event) bool {
		for _, ev := range evs {
			if ev.EventAction == action && ev.DedupKey == dedup {
				return true
			}
		}
		return false
	}
}

// counter sums the exporter's counter name over points whose attributes
// include want.
func (h *harness) counter(t *testing.T, name string, want map[string]string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T, want a Sum[int64]", name, m.Data)
	}
	var total int64
	for _, dp := range sum.DataPoints {
		match := true
		for k, v := range want {
			if got, ok := dp.Attributes.Value(attribute.Key(k)); !ok || got.AsString() != v {
				match = false
			}
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

// waitCounter waits up to 5s for the counter to reach want and returns its
// last value: counters are updated just after the fake has answered.
func (h *harness) waitCounter(t *testing.T, name string, attrs map[string]string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := h.counter(t, name, attrs)
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func nopTelemetry() component.TelemetrySettings {
	return componenttest.NewNopTelemetrySettings()
}
