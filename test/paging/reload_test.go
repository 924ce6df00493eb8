package paging

import (
	"context"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestBrokenRoutingOnSIGHUPKeepsPaging breaks the routing file the binary
// runs, sends SIGHUP (the collector rebuilds every component, the router
// included), and checks the process stays up and healthy, logs where the
// file is broken, and still pages PagerDuty through the routing that ran
// before: without it the router would have no routing at all, the
// built-in one's receiver "default" being mapped to no pipeline here.
// Once the file is fixed, the rebuilt router applies it.
func TestBrokenRoutingOnSIGHUPKeepsPaging(t *testing.T) {
	dir := t.TempDir()
	routing := pagingtest.FastRouting(t, dir)
	fake := fakepagerduty.New(t)
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", pagingtest.LogsConfigRouting(t, fake, routing)}})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	waitForLog := func(what string, re *regexp.Regexp, n int) {
		t.Helper()
		err := vigiltest.Eventually(ctx, func() error {
			if inst.Exited() {
				t.Fatalf("vigil exited while waiting for %s", what)
			}
			if len(re.FindAllString(inst.Log(), -1)) < n {
				return os.ErrNotExist
			}
			return nil
		})
		if err != nil {
			t.Fatalf("waiting for %s in the log: %v", what, err)
		}
	}
	applied := regexp.MustCompile(`alert routing file applied`)
	waitForLog("the routing applied at start", applied, 1)

	// A group_wait of 5x: line 5, column 15.
	vigiltest.WriteFile(t, dir, "routing.yml", "receivers:\n  - name: oncall\nroute:\n  receiver: oncall\n  group_wait: 5x\n")
	where := regexp.MustCompile(regexp.QuoteMeta(routing) + `:5:15: bad duration`)
	// The flush tick sees the change first and keeps the running routing.
	waitForLog("the reload's file:line:col", where, 1)

	if err := syscall.Kill(inst.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog("the rebuilt router keeping the routing that ran",
		regexp.MustCompile(`alert routing or silences file rejected when the collector reloaded; keeping the routing and silences that ran before`), 1)
	waitForLog("the rebuild's file:line:col", where, 2)
	if err := inst.WaitHealthy(30 * time.Second); err != nil {
		t.Fatalf("not healthy after SIGHUP with a broken routing file: %v", err)
	}

	sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
	const fp = "5b0d2a7c91e4f3a8"
	sender.Send(t, fp, "firing")
	pagingtest.WaitFor(t, fake, notifyWait, "the page through the routing that ran", pagingtest.Has("trigger", fp))

	// Fixed: the rebuilt router applies it at a flush, and still pages.
	vigiltest.WriteFile(t, dir, "routing.yml", "receivers:\n  - name: oncall\nroute:\n  receiver: oncall\n  group_interval: 20s\n")
	waitForLog("the fixed routing applied", applied, 2)
	const fp2 = "c4e8a1f07d2b9e36"
	sender.SendNamed(t, "SLOBurnRate-checkout-latency-page", fp2, "firing")
	pagingtest.WaitFor(t, fake, notifyWait, "a page through the fixed routing", pagingtest.Has("trigger", fp2))
	if inst.Exited() {
		t.Fatal("vigil exited")
	}
}
