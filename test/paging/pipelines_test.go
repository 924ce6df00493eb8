package paging

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/fakewebhook"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestWebhookDownStillPages: the router's receiver notifies PagerDuty and
// a webhook, whose exporters wait for their receiver's answer and retry
// without end, as a fleet's evaluators have them. With the webhook answering
// 503, PagerDuty still gets the page and its resolve, at their flushes,
// once each; once the webhook is back it gets the firing and the resolved
// message, once each and in that order. Also with the collector killed
// (SIGKILL) and restarted while the webhook is down: PagerDuty is not paged
// again, and the webhook still gets what it was owed.
func TestWebhookDownStillPages(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "webhook down"
		if kill {
			name += ", SIGKILL and restart"
		}
		t.Run(name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			hook := fakewebhook.New(t)
			hook.SetDown(http.StatusServiceUnavailable)
			cfg := pagingtest.WebhookConfig(t, fake, hook.URL)
			inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})
			sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
			// 16 hex digits: the webhook payload's fingerprint format.
			const fp = "3da51f0b61ceafb2"
			sender.Send(t, fp, "firing")
			pagingtest.WaitFor(t, fake, notifyWait, "the page while the webhook is down", pagingtest.Has("trigger", fp))
			// Counted once the notification log records it delivered:
			// a kill now is not in the milliseconds before that write
			// (which would send the page again, by design).
			waitUntil(t, notifyWait, "the page recorded", func() bool { return handedOver(t, inst, "logs/pagerduty") >= 1 })
			waitUntil(t, notifyWait, "the webhook tried", func() bool { return hook.Refused() > 0 })

			if kill {
				inst.Kill()
				tried := hook.Refused()
				inst = vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}, StorageDir: inst.StorageDir})
				sender = pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
				// The source re-reports the firing alert: the webhook,
				// whose trigger the log shows pending, is sent it again.
				sender.Send(t, fp, "firing")
				waitUntil(t, notifyWait, "the webhook tried again after the restart", func() bool { return hook.Refused() > tried })
			}

			sender.Send(t, fp, "resolved")
			pagingtest.WaitFor(t, fake, resolveWait, "the resolve while the webhook is down", pagingtest.Has("resolve", fp))
			if n := fake.Count(fp, "trigger"); n != 1 {
				t.Errorf("PagerDuty triggers = %d, want exactly 1", n)
			}
			if got := hook.Accepted(); len(got) != 0 {
				t.Errorf("the webhook accepted %d payloads while down", len(got))
			}

			hook.SetDown(0)
			// The webhook's resolve handed over: nothing is left to send.
			waitUntil(t, resolveWait, "the webhook's trigger and resolve", func() bool {
				return handedOver(t, inst, "logs/webhook") >= 2
			})
			if got := webhookStatuses(t, hook, fp); !slices.Equal(got, []string{"firing", "resolved"}) {
				t.Errorf("webhook messages %v, want [firing resolved]", got)
			}
			if triggers, resolves := fake.Count(fp, "trigger"), fake.Count(fp, "resolve"); triggers != 1 || resolves != 1 {
				t.Errorf("PagerDuty: %d triggers, %d resolves; want 1 and 1", triggers, resolves)
			}
			for _, r := range fake.Requests() {
				if r.Status != http.StatusAccepted {
					t.Errorf("the PagerDuty fake answered %d: %v", r.Status, r.Errors)
				}
			}
		})
	}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		if cond() {
			return nil
		}
		return context.DeadlineExceeded
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// handedOver is the router's count of notifications handed over to
// pipeline, from the instance's own metrics.
func handedOver(t *testing.T, inst *vigiltest.Instance, pipeline string) float64 {
	t.Helper()
	families, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil {
		return 0
	}
	return vigiltest.Sum(families, "otelcol_alertrouter_notifications", map[string]string{"pipeline": pipeline, "outcome": "handed_over"})
}

// webhookStatuses are the statuses of the webhook's accepted messages
// about the alert fp, in order; a payload it refused as malformed fails
// the test.
func webhookStatuses(t *testing.T, hook *fakewebhook.Server, fp string) []string {
	t.Helper()
	if err := hook.Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range hook.Accepted() {
		for _, a := range p.Alerts {
			if a.Fingerprint != nil && *a.Fingerprint == fp {
				out = append(out, *a.Status)
			}
		}
	}
	return out
}
