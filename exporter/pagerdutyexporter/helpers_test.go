package pagerdutyexporter

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/refusal"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/fulldisk"
)

// The exporter's own metrics, as metadata.yaml declares them and the
// collector's Prometheus endpoint names them.
const (
	metricEventsSent     = "otelcol_pagerduty_events_sent"
	metricEventsRetried  = "otelcol_pagerduty_events_retried"
	metricEventsFailed   = "otelcol_pagerduty_events_failed"
	metricRecordsIgnored = "otelcol_pagerduty_records_ignored"
)

// testKey is a well-formed routing key; tests check it never leaks.
const testKey = "Rk7Q2mX9pL4vN8sT1wY6zA3bC5dE0fG2"

// storageName names the test storage extension (contrib's storagetest,
// backed by a folder: a restarted exporter reads the persistent queue the
// first one left when it closed its client).
const storageName = "pagerduty"

// testHost offers the extensions and records the component status the
// exporter reports, as the collector's host passes it to the health check.
type testHost struct {
	exts   map[component.ID]component.Component
	status *statusLog
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.exts }

func (h testHost) Report(ev *componentstatus.Event) {
	h.status.mu.Lock()
	defer h.status.mu.Unlock()
	h.status.events = append(h.status.events, ev.Status())
}

// statusLog is the component status events an exporter reported.
type statusLog struct {
	mu     sync.Mutex
	events []componentstatus.Status
}

func (s *statusLog) all() []componentstatus.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// options of one test exporter.
type options struct {
	key string
	// storeDir, when set, gives the exporter a persistent sending queue in
	// that folder, shared between instances to simulate a restart.
	storeDir string
	limiter  *events.Limiter
	mutate   func(*Config)
	// board is where refusals are reported; nil: one of the test's own.
	board *refusal.Board
}

type harness struct {
	exp    exporter.Logs
	status *statusLog
	// disk is the persistent queue's storage, which fills on demand (nil
	// without storeDir).
	disk *fulldisk.Disk
	fake *fakepagerduty.Server
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

func startExporter(t *testing.T, fake *fakepagerduty.Server, o options) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.RoutingKey = configopaque.String(o.key)
	cfg.Endpoint = fake.EnqueueURL()
	cfg.RetryConfig.InitialInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 200 * time.Millisecond
	cfg.RetryConfig.RandomizationFactor = 0
	exts := map[component.ID]component.Component{}
	var disk *fulldisk.Disk
	if o.storeDir != "" {
		ext := storagetest.NewFileBackedStorageExtension(storageName, o.storeDir)
		disk = fulldisk.New(ext)
		exts[ext.ID] = disk
		q := defaultQueueConfig()
		q.StorageID = &ext.ID
		cfg.QueueConfig = configoptional.Some(q)
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
	board := o.board
	if board == nil {
		board = refusal.NewBoard()
	}
	exp, err := newExporter(context.Background(), set, cfg, limiter, board)
	if err != nil {
		t.Fatal(err)
	}
	status := &statusLog{}
	if err := exp.Start(context.Background(), testHost{exts: exts, status: status}); err != nil {
		t.Fatal(err)
	}
	h := &harness{exp: exp, status: status, disk: disk, fake: fake, tel: tel, logs: logs}
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

// note is a notification of the alert router for an SLO alert of checkout,
// as the router writes it (alertevent.AppendNotification).
func note(fp, severity, state string) alerts.Notification {
	a := alerts.Alert{
		Labels: map[string]string{
			alerts.LabelAlertName: "SLOBurnRate-checkout-availability-" + severity,
			alerts.LabelSeverity:  severity, alerts.LabelSource: "slo",
			alerts.LabelService: "checkout", alerts.LabelSLO: "availability",
		},
		Annotations: map[string]string{
			alerts.AnnotationSummary: "checkout availability: error budget burning fast",
			"slo.burn_rate.long":     "14.9",
		},
		State: alerts.State(state), Fingerprint: fp,
	}
	action := alerts.ActionTrigger
	if state == conventions.StateFiring {
		a.StartsAt = time.Now()
	} else {
		a.EndsAt = time.Now()
		action = alerts.ActionResolve
	}
	return alerts.Notification{Receiver: "oncall", Action: action, Alert: a, At: time.Now()}
}

// logsOf is one request of notifications, plus any ordinary records.
func logsOf(notes []alerts.Notification, other ...map[string]string) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range notes {
		alertevent.AppendNotification(records, n)
	}
	for _, attrs := range other {
		lr := records.AppendEmpty()
		lr.Body().SetStr("a log line")
		for k, v := range attrs {
			lr.Attributes().PutStr(k, v)
		}
	}
	return ld
}

// consume hands notifications over as the router does and fails the test
// when the exporter refuses them.
func (h *harness) consume(t *testing.T, notes ...alerts.Notification) {
	t.Helper()
	if err := h.exp.ConsumeLogs(context.Background(), logsOf(notes)); err != nil {
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
