package paging

import (
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// fixedKey is the routing key the operator puts in place of the revoked
// pagingtest.RoutingKey.
const fixedKey = "e2e0fixed0key0000000000000000000"

// TestRefusedPageSentAgainOnceTheKeyIsFixed: PagerDuty refuses the
// routing key (revoked: it answers 400) after one alert was paged, and
// another alert's page is refused; its exporter's persistent queue had
// taken it, so only the exporter's report tells the router. Once the
// operator puts a working key in the config and reloads (SIGHUP) or
// restarts the collector, the refused alert, still firing, is paged
// exactly once more, with the new key, and the alert paged before is not
// paged again; both resolves go out.
func TestRefusedPageSentAgainOnceTheKeyIsFixed(t *testing.T) {
	for _, reload := range []string{"SIGHUP", "restart"} {
		t.Run(reload, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			cfg := pagingtest.LogsConfig(t, fake)
			inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})
			sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
			// Each its own group (alert name): paged at its own flushes.
			const (
				delivered, deliveredFP = "KeyRevokedBefore", "e2e-delivered-before-revoke"
				refused, refusedFP     = "KeyRevokedAfter", "e2e-refused-after-revoke"
				// In the refused alert's group, fired after the fix: the
				// flush that pages it would page the refused alert again
				// if it were owed again.
				mate, mateFP = refused, "e2e-group-mate-after-fix"
			)
			sender.SendNamed(t, delivered, deliveredFP, "firing")
			pagingtest.WaitFor(t, fake, notifyWait, "the page before the key is revoked", pagingtest.Has("trigger", deliveredFP))

			fake.RefuseRoutingKey(pagingtest.RoutingKey, true)
			sender.SendNamed(t, refused, refusedFP, "firing")
			waitUntil(t, notifyWait, "the router told of the refusal", func() bool { return refusedCount(inst) >= 1 })
			if n := fake.Count(refusedFP, "trigger"); n != 0 {
				t.Fatalf("the refused page was accepted %d times", n)
			}

			// The operator fixes the key.
			raw, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(raw), pagingtest.RoutingKey, fixedKey)), 0o600); err != nil {
				t.Fatal(err)
			}
			if reload == "SIGHUP" {
				if err := syscall.Kill(inst.Pid(), syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := inst.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
					t.Fatalf("stopping: %v\n%s", err, inst.Log())
				}
				inst = vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}, StorageDir: inst.StorageDir})
				sender = pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
			}
			pagingtest.WaitFor(t, fake, notifyWait, "the refused page with the fixed key", pagingtest.Has("trigger", refusedFP))

			// The sources keep reporting what fires; a new alert joins the
			// refused one's group.
			sender.SendNamed(t, delivered, deliveredFP, "firing")
			sender.SendNamed(t, refused, refusedFP, "firing")
			sender.SendNamed(t, mate, mateFP, "firing")
			pagingtest.WaitFor(t, fake, resolveWait, "the group mate's page", pagingtest.Has("trigger", mateFP))
			for _, a := range [][2]string{{delivered, deliveredFP}, {refused, refusedFP}, {mate, mateFP}} {
				sender.SendNamed(t, a[0], a[1], "resolved")
			}
			for _, fp := range []string{deliveredFP, refusedFP, mateFP} {
				pagingtest.WaitFor(t, fake, resolveWait, "the resolve of "+fp, pagingtest.Has("resolve", fp))
			}

			for _, fp := range []string{deliveredFP, refusedFP, mateFP} {
				if n := fake.Count(fp, "trigger"); n != 1 {
					t.Errorf("%s: %d pages accepted, want exactly 1", fp, n)
				}
			}
			for _, ev := range fake.Events() {
				if ev.DedupKey != deliveredFP && ev.RoutingKey != fixedKey {
					t.Errorf("%s %s accepted with the revoked key", ev.EventAction, ev.DedupKey)
				}
			}
			var refusals int
			for _, r := range fake.Requests() {
				if r.Status == http.StatusBadRequest {
					refusals++
					if r.RoutingKey != pagingtest.RoutingKey {
						t.Errorf("refused with the fixed key: %+v", r)
					}
				}
			}
			if refusals == 0 {
				t.Error("PagerDuty refused nothing")
			}
		})
	}
}

// refusedCount is the router's count of notifications their receiver
// refused, from the instance's own metrics.
func refusedCount(inst *vigiltest.Instance) float64 {
	families, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil {
		return 0
	}
	return vigiltest.Sum(families, "otelcol_alertrouter_notifications_refused", nil)
}
