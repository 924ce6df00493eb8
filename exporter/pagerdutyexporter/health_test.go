package pagerdutyexporter

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/exporthealth"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

// TestOutageIsVisible: while PagerDuty cannot take events the exporter is
// StatusRecoverableError on the health check, and the log says so once at
// warn level, whatever the number of retries (exporterhelper logs each
// retry at info only, so a log kept at warn showed nothing while a page
// waited); once an event gets through the exporter is StatusOK again and
// the log says so once at info level.
func TestOutageIsVisible(t *testing.T) {
	fake := fakepagerduty.New(t)
	const failures = 4
	fake.RespondNext(failures, fakepagerduty.Reply{Status: http.StatusServiceUnavailable})
	h := startExporter(t, fake, options{key: testKey})
	h.consume(t, note("fp-outage", "page", "firing"))
	h.waitFor(t, 10*time.Second, "the trigger after the outage", count("trigger", "fp-outage"))
	waitStatus(t, h, componentstatus.StatusRecoverableError, componentstatus.StatusOK)
	if n := len(fake.Requests()); n != failures+1 {
		t.Fatalf("%d requests, want %d refused and 1 accepted", n, failures)
	}

	var warns, recovered int
	for _, e := range h.logs.All() {
		switch {
		case e.Level >= zapcore.WarnLevel:
			warns++
			if e.Message != exporthealth.FailingMessage {
				t.Errorf("unexpected %s line %q", e.Level, e.Message)
			}
			if fmt.Sprint(e.ContextMap()["error"]) == "" {
				t.Errorf("the warning names no error: %v", e.ContextMap())
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

// TestRefusedEventIsNoOutage: an event PagerDuty refuses (400) is the
// event's fault, counted and logged as such, and returned to the sender:
// the exporter stays healthy.
func TestRefusedEventIsNoOutage(t *testing.T) {
	fake := fakepagerduty.New(t)
	fake.RespondNext(1, fakepagerduty.Reply{Status: http.StatusBadRequest, Message: "Invalid routing key"})
	h := startExporter(t, fake, options{key: testKey})
	if err := h.exp.ConsumeLogs(context.Background(), logsOf([]alerts.Notification{note("fp-refused", "page", "firing")})); err == nil {
		t.Fatal("the refusal was not returned")
	}
	if got := h.waitCounter(t, metricEventsFailed, nil, 1); got != 1 {
		t.Fatalf("%s = %d, want 1", metricEventsFailed, got)
	}
	if got := h.status.all(); len(got) != 0 {
		t.Errorf("status events %v after a refused event, want none", got)
	}
}

// waitStatus waits until the exporter has reported exactly want.
func waitStatus(t *testing.T, h *harness, want ...componentstatus.Status) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got := h.status.all()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("status events %v, want %v", got, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
