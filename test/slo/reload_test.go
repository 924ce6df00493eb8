package slo

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestBrokenSpecOnSIGHUPKeepsPaging breaks the SLO spec the binary runs,
// sends SIGHUP (the collector rebuilds every component), and checks the
// process stays up and healthy, logs where the spec is broken, and still
// pages PagerDuty on an error burst with the SLOs that ran before.
func TestBrokenSpecOnSIGHUPKeepsPaging(t *testing.T) {
	specDir := t.TempDir()
	checkout, err := os.ReadFile(filepath.Join(vigiltest.RepoRoot(), "slo", "examples", "checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := vigiltest.WriteFile(t, specDir, "checkout.yaml", string(checkout))
	fake := fakepagerduty.New(t)
	env := pagingtest.PagerDutyEnv(fake)
	env["VIGIL_SLO_DIR"] = specDir
	inst := vigiltest.Start(t, vigiltest.Options{
		Env: env,
		Args: []string{
			"--set=connectors::slo::evaluation_interval=1s",
			"--set=connectors::slo::reload_check_interval=1s",
		},
	})

	// An objective of 200% on line 5 of the copy.
	broken := strings.Replace(string(checkout), "objective: 99.9", "objective: 200", 1)
	if broken == string(checkout) {
		t.Fatal("slo/examples/checkout.yaml no longer has objective: 99.9")
	}
	vigiltest.WriteFile(t, specDir, "checkout.yaml", broken)
	where := regexp.MustCompile(regexp.QuoteMeta(spec) + `:5:\d+: `)
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
	// The file watcher sees the change first and keeps the running SLOs.
	waitForLog("the reload's file:line:col", where, 1)

	if err := syscall.Kill(inst.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLog("the rebuilt connector keeping the running SLOs",
		regexp.MustCompile(`SLO specs are invalid; keeping the SLOs that ran before the collector reloaded`), 1)
	waitForLog("the rebuild's file:line:col", where, 2)
	if err := inst.WaitHealthy(30 * time.Second); err != nil {
		t.Fatalf("not healthy after SIGHUP with a broken spec: %v", err)
	}

	// The burst: every request fails until PagerDuty gets the page.
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	deadline := time.Now().Add(90 * time.Second)
	for !hasPage(fake.Triggers()) {
		if time.Now().After(deadline) {
			t.Fatalf("no page within 90s of the burst's start; PagerDuty got %d events", len(fake.Events()))
		}
		if inst.Exited() {
			t.Fatal("vigil exited during the burst")
		}
		spans.Send(ctx, t, 5, true)
		time.Sleep(100 * time.Millisecond)
	}
}

// hasPage reports whether a critical trigger of checkout's availability
// SLO is among evs.
func hasPage(evs []fakepagerduty.Event) bool {
	for _, ev := range evs {
		if ev.EventAction == "trigger" && ev.Payload.Severity == "critical" &&
			ev.Payload.Source == "checkout" && ev.Payload.CustomDetails["slo"] == "availability" {
			return true
		}
	}
	return false
}
