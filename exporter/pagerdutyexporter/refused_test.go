package pagerdutyexporter

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/refusal"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

// routerID names the alert router on the test's notifications.
const routerID = "alertrouter"

// routed is one request of notifications as the alert router hands them
// over: each names the router that produced it.
func routed(notes ...alerts.Notification) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range notes {
		alertevent.SetRouter(alertevent.AppendNotification(records, n), routerID)
	}
	return ld
}

// heard records the refusals a router was told of.
type heard struct {
	mu    sync.Mutex
	notes []alerts.Notification
}

func listen(t *testing.T, board *refusal.Board) *heard {
	h := &heard{}
	t.Cleanup(board.Subscribe(routerID, func(n alerts.Notification) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.notes = append(h.notes, n)
	}))
	return h
}

func (h *heard) all() []alerts.Notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alerts.Notification(nil), h.notes...)
}

// pagerDutyNote is a trigger of the router's receiver oncall for its
// pipeline logs/pagerduty.
func pagerDutyNote(fp string) alerts.Notification {
	n := note(fp, "page", "firing")
	n.Integration = "logs/pagerduty"
	return n
}

// TestRefusalReportedToRouter: with a persistent queue the router's
// handover succeeds before PagerDuty answers; its 400 for the routing key
// is reported to the router that produced the notification, as the
// router wrote it (receiver, pipeline, action, alert, flush time), for
// the router to send it again. An alert event that names no router is
// refused without a report. Once the key is taken, the same trigger sent
// again is accepted once.
func TestRefusalReportedToRouter(t *testing.T) {
	fake := fakepagerduty.New(t)
	fake.RefuseRoutingKey(testKey, true)
	board := refusal.NewBoard()
	router := listen(t, board)
	h := startExporter(t, fake, options{key: testKey, storeDir: t.TempDir(), board: board})

	n := pagerDutyNote("fp-refused")
	if err := h.exp.ConsumeLogs(context.Background(), routed(n)); err != nil {
		t.Fatalf("handover to the persistent queue: %v", err)
	}
	h.consume(t, note("fp-direct", "page", "firing"))
	failed := map[string]string{attrAction: "trigger", attrReason: "invalid_event"}
	if got := h.waitCounter(t, metricEventsFailed, failed, 2); got != 2 {
		t.Fatalf("%s%v = %d, want 2; requests %+v", metricEventsFailed, failed, got, fake.Requests())
	}
	got := router.all()
	if len(got) != 1 {
		t.Fatalf("the router heard of %d refusals, want 1: %+v", len(got), got)
	}
	r := got[0]
	if r.Receiver != "oncall" || r.Integration != "logs/pagerduty" || r.Action != alerts.ActionTrigger ||
		r.Alert.Fingerprint != "fp-refused" || !r.At.Equal(n.At) {
		t.Errorf("refusal %+v, want the notification as the router wrote it (%+v)", r, n)
	}
	if !h.logged("PagerDuty rejected the event; the alert router sends it again") || !h.logged("PagerDuty rejected the event; not sent again") {
		t.Errorf("the refusals were not logged as such: %v", h.logs.All())
	}

	// The router sends it again once the key works.
	fake.RefuseRoutingKey(testKey, false)
	if err := h.exp.ConsumeLogs(context.Background(), routed(pagerDutyNote("fp-refused"))); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, 10*time.Second, "the trigger sent again", count("trigger", "fp-refused"))
	if n := fake.Count("fp-refused", "trigger"); n != 1 {
		t.Errorf("accepted triggers = %d, want 1", n)
	}
	if got := router.all(); len(got) != 1 {
		t.Errorf("the router heard of %d refusals, want still 1", len(got))
	}
}

// TestRefusalReturnedToHandover: an exporter whose handover waits for
// PagerDuty (no queue, or an in-memory queue with wait_for_result)
// returns the 400 as the handover's permanent error, which the router
// reads, and reports nothing on the board.
func TestRefusalReturnedToHandover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"no queue", nil},
		{"wait_for_result", func(c *Config) {
			q := defaultQueueConfig()
			q.WaitForResult = true
			c.QueueConfig = configoptional.Some(q)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			fake.RefuseRoutingKey(testKey, true)
			board := refusal.NewBoard()
			router := listen(t, board)
			h := startExporter(t, fake, options{key: testKey, board: board, mutate: tc.mutate})
			err := h.exp.ConsumeLogs(context.Background(), routed(pagerDutyNote("fp-refused")))
			if err == nil || !consumererror.IsPermanent(err) {
				t.Fatalf("handover error %v, want PagerDuty's refusal, permanent", err)
			}
			if got := router.all(); len(got) != 0 {
				t.Errorf("reported on the board too: %+v", got)
			}
			if !h.logged("PagerDuty rejected the event; the alert router sends it again") {
				t.Errorf("the refusal was not logged as such: %v", h.logs.All())
			}
		})
	}
}

// TestRefusalAmongOthers: a request of several records (alert events
// sent straight to the exporter) sends every record PagerDuty takes, and
// returns the refusal of the one it refused.
func TestRefusalAmongOthers(t *testing.T) {
	fake := fakepagerduty.New(t)
	fake.RespondNext(1, fakepagerduty.Reply{Status: 400})
	h := startExporter(t, fake, options{key: testKey})
	err := h.exp.ConsumeLogs(context.Background(), logsOf([]alerts.Notification{
		note("fp-1", "page", "firing"), note("fp-2", "page", "firing"), note("fp-3", "page", "firing"),
	}))
	if err == nil || !consumererror.IsPermanent(err) {
		t.Fatalf("error %v, want the refusal, permanent", err)
	}
	if got := len(fake.Triggers()); got != 2 || fake.Count("fp-1", "trigger") != 0 {
		t.Errorf("accepted %d triggers (%+v), want fp-2 and fp-3", got, fake.Triggers())
	}
}
