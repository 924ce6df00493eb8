package fleet

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestWebhookDownDuringHandover: the evaluators' receiver "default"
// notifies PagerDuty and the webhook, whose exporters wait for their
// receiver's answer and retry without end (evaluator.yaml). With the
// webhook answering 503, a burning service is paged at once; the service
// then moves to the other evaluator (the gateway restarted without its
// owner) while the owner's webhook handover is stuck: the handover goes
// through, the new owner neither pages again nor resolves early, and
// resolves the page once at recovery. Once the webhook answers again it
// gets the page's firing and resolved messages, once each, in order.
func TestWebhookDownDuringHandover(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	services := []string{serviceName(0), serviceName(1), serviceName(2), serviceName(3)}
	f := newFleet(t, redis.Addr, services)
	f.hook.SetDown(http.StatusServiceUnavailable)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	const hot = "svc-01"
	dedup := burstUntilPaged(t, f, c, y, hot)
	good, bad := y.get(hot)
	owner := f.owner(hot, float64(good+bad), evs, 20*time.Second)
	waitFor(t, notifyWait, "the owner trying the webhook", func() bool { return f.hook.Refused() > 0 })

	// The service moves while the owner's webhook handover waits.
	var rest []*vigiltest.Instance
	for _, e := range evs {
		if e != owner {
			rest = append(rest, e)
		}
	}
	gw = restartGateway(t, gw, rest)
	c = newClient(t, gw.OTLPGRPCEndpoint())
	c.mustSend(t, hot, 100, true)
	y.add(hot, 100, true)
	good, bad = y.get(hot)
	next := f.owner(hot, float64(good+bad), rest, leaseTTL+30*time.Second)
	if !strings.Contains(owner.Log(), "cancelled, the next owner sends them") {
		t.Errorf("the old owner's webhook handover was not in progress at the handover (the case under test)")
	}
	// The new owner sends the webhook the trigger the log shows it owed
	// (its exporter holds it, retrying), and pages nobody again.
	waitFor(t, notifyWait, "the new owner sending the webhook its trigger", func() bool {
		fams, err := vigiltest.Scrape(next.TelemetryURL())
		return err == nil && vigiltest.Sum(fams, "otelcol_exporter_queue_size", map[string]string{"exporter": "webhook"}) >= 1
	})
	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 0 {
		t.Fatalf("%s after the handover: %d page triggers, %d resolves while still burning; want 1 and 0", hot, triggers, resolves)
	}

	recoverService(t, c, y, hot)
	waitFor(t, 2*notifyWait, "the page's resolve while the webhook is down", func() bool { return f.fake.Count(dedup, "resolve") > 0 })
	if got := webhookNotices(t, f.hook, hot); len(got) != 0 {
		t.Fatalf("the webhook accepted %v while down", got)
	}

	f.hook.SetDown(0)
	// Counted once the new owner's log records the resolve delivered:
	// nothing is left to send.
	waitFor(t, 3*notifyWait, "the webhook's resolve handed over", func() bool {
		fams, err := vigiltest.Scrape(next.TelemetryURL())
		return err == nil && vigiltest.Sum(fams, "otelcol_alertrouter_notifications",
			map[string]string{"pipeline": "logs/webhook", "action": "resolve", "outcome": "handed_over"}) > 0
	})
	if got := webhookNotices(t, f.hook, hot); !slices.Equal(got, []string{"firing", "resolved"}) {
		t.Errorf("%s: webhook notices of its page %v; want [firing resolved]", hot, got)
	}
	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 1 {
		t.Errorf("%s: %d page triggers, %d resolves; want 1 and 1", hot, triggers, resolves)
	}
}
