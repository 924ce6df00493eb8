package alertmanagerexporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/exporter/alertmanagerexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/exporthealth"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// statusHost records the component status the exporter reports, as the
// collector's host passes it to the health check.
type statusHost struct {
	mu     sync.Mutex
	events []componentstatus.Status
}

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
}

// startWithStatus starts an exporter posting to srv, with retries a few
// milliseconds apart, whose status and log the test reads.
func startWithStatus(t *testing.T, srv *httptest.Server) (*statusHost, *observer.ObservedLogs, func(context.Context) error) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = srv.URL
	cfg.QueueConfig.Get().WaitForResult = true
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 10 * time.Millisecond
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	consume := func(ctx context.Context) error { return exp.ConsumeLogs(ctx, alertLogs("firing")) }
	return host, logs, consume
}

// TestOutageIsVisible: while Alertmanager answers 503 the exporter is
// StatusRecoverableError on the health check and the log says so once at
// warn level, whatever the number of retries (exporterhelper logs each
// retry at info only, so a log kept at warn showed nothing while alerts
// waited); once a post gets through it is StatusOK again and the log says
// so once at info level.
func TestOutageIsVisible(t *testing.T) {
	const failures = 3
	am := &fakeAM{statuses: []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable}}
	srv := vigiltest.NewServer(t, am)
	host, logs, consume := startWithStatus(t, srv)

	if err := consume(context.Background()); err != nil {
		t.Fatalf("ConsumeLogs: %v", err)
	}
	am.mu.Lock()
	requests, posts := am.requests, len(am.bodies)
	am.mu.Unlock()
	if requests != failures+1 || posts != 1 {
		t.Fatalf("%d requests, %d accepted; want %d refused and 1 accepted", requests, posts, failures)
	}
	host.mu.Lock()
	got := fmt.Sprint(host.events)
	host.mu.Unlock()
	if want := fmt.Sprint([]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}); got != want {
		t.Errorf("status events %s, want %s", got, want)
	}
	var warns, recovered int
	for _, e := range logs.All() {
		switch {
		case e.Level >= zapcore.WarnLevel:
			warns++
			if e.Message != exporthealth.FailingMessage {
				t.Errorf("unexpected %s line %q", e.Level, e.Message)
			}
			if err := fmt.Sprint(e.ContextMap()["error"]); err == "" || !strings.Contains(err, "503") {
				t.Errorf("the warning's error %q does not say 503", err)
			}
		case e.Message == exporthealth.RecoveredMessage:
			recovered++
			if e.Level != zapcore.InfoLevel {
				t.Errorf("recovery logged at %s, want info", e.Level)
			}
		}
	}
	if warns != 1 || recovered != 1 {
		t.Errorf("%d warnings and %d recovery lines for one outage of %d failed attempts, want 1 and 1", warns, recovered, failures)
	}
}

// TestRefusedAlertIsNoOutage: a post Alertmanager refuses (400: the alerts
// break its API) is the data's fault: the exporter stays healthy.
func TestRefusedAlertIsNoOutage(t *testing.T) {
	am := &fakeAM{statuses: []int{http.StatusBadRequest}}
	srv := vigiltest.NewServer(t, am)
	host, logs, consume := startWithStatus(t, srv)
	if err := consume(context.Background()); err == nil {
		t.Fatal("ConsumeLogs of a refused post succeeded")
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	if len(host.events) != 0 {
		t.Errorf("status events %v after a refused post, want none", host.events)
	}
	for _, e := range logs.All() {
		if e.Message == exporthealth.FailingMessage {
			t.Errorf("a refused post logged as an outage: %v", e.ContextMap())
		}
	}
}
