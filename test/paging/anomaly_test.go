package paging

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// anomalyTriggers are the triggers raised by the anomaly connector.
func anomalyTriggers(evs []fakepagerduty.Event) []fakepagerduty.Event {
	var out []fakepagerduty.Event
	for _, ev := range evs {
		if ev.EventAction == "trigger" && ev.Payload.CustomDetails["source"] == "anomaly" {
			out = append(out, ev)
		}
	}
	return out
}

// TestAnomalyChainThroughBinary runs the embedded default with its RED
// anomaly detection sped up (1s intervals, a short warm-up and clearing):
// steady checkout traffic is learned without a page, a surge in request
// rate triggers one PagerDuty alert, a SIGKILL and restart on the same
// storage mid-incident does not trigger it again, and the alert resolves
// once traffic is back to normal.
func TestAnomalyChainThroughBinary(t *testing.T) {
	fake := fakepagerduty.New(t)
	opts := vigiltest.Options{
		Args: []string{
			"--set=connectors::slo::red::flush_interval=500ms",
			"--set=connectors::anomaly::interval=1s",
			"--set=connectors::anomaly::checkpoint_interval=1s",
			"--set=connectors::anomaly::detector::warmup_points=20",
			"--set=connectors::anomaly::detector::clear_points=3",
			// Long enough that the flag is still held when the process
			// is killed, whenever the trigger reaches PagerDuty (group_wait
			// and a loaded machine put that 5 to 15 seconds after the
			// surge): with 3s the flag could clear, and its resolve reach
			// the router, in the instant before the kill, leaving the
			// restarted process to resolve the page only at
			// resolve_timeout (5m), after this test's wait.
			"--set=connectors::anomaly::detector::clear_after=20s",
			// The steady traffic is flat by construction: the only noise
			// in its 1s request rates is when spans reach the collector,
			// which on a loaded machine moves by a few hundred
			// milliseconds. A flat warm-up would learn a spread near the
			// default floor (0.1% of the level) and flag that; 5% (a
			// band of about ±45% at 1s) is the noise floor of this
			// measurement, and the surge is five to ten times the rate.
			"--set=connectors::anomaly::detector::min_relative_spread=0.05",
		},
		Env: pagingtest.PagerDutyEnv(fake),
	}
	inst := vigiltest.Start(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// steady sends 200 spans a second to inst until the returned stop is
	// called; stop waits for the sender to finish.
	steady := func(inst *vigiltest.Instance) (stop func()) {
		sctx, scancel := context.WithCancel(ctx)
		done := make(chan struct{})
		spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
		go func() {
			defer close(done)
			spans.Run(sctx, 200, time.Hour, false)
		}()
		return func() { scancel(); <-done }
	}
	stop := steady(inst)

	// Warm-up done on every RED series (request rate, error ratio, p95, p99).
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	err := vigiltest.Eventually(wctx, func() error {
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		if got := vigiltest.Sum(families, "otelcol_anomaly_points_observed", nil); got < 4*35 {
			return fmt.Errorf("%v points observed, want %d", got, 4*35)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if evs := anomalyTriggers(fake.Events()); len(evs) != 0 {
		t.Fatalf("steady traffic paged: %s", evs[0].Payload.Summary)
	}

	// The surge: about ten times the usual request rate for three seconds.
	surge := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	for range 6 {
		surge.Send(ctx, t, 1000, false)
		time.Sleep(500 * time.Millisecond)
	}
	pagingtest.WaitFor(t, fake, notifyWait, "the anomaly trigger", func(evs []fakepagerduty.Event) bool { return len(anomalyTriggers(evs)) > 0 })
	trigger := anomalyTriggers(fake.Events())[0]
	d := trigger.Payload.CustomDetails
	if trigger.Payload.Source != "checkout" || d["metric"] != "request_rate" || d["anomaly.reason"] != "above_band" {
		t.Errorf("trigger source %q, metric %v, reason %v; want checkout, request_rate, above_band (payload %+v)",
			trigger.Payload.Source, d["metric"], d["anomaly.reason"], trigger.Payload)
	}
	if trigger.Payload.Severity != "warning" {
		t.Errorf("severity %q, want warning (anomalies are tickets by default)", trigger.Payload.Severity)
	}

	// Mid-incident crash; the checkpoint (every second) and the
	// notification log survive it.
	time.Sleep(2 * time.Second)
	stop()
	inst.Kill()
	// The same storage, fresh ports: a port the killed process freed may
	// be taken by another process before the restart binds it.
	opts.StorageDir = inst.StorageDir
	inst = vigiltest.Start(t, opts)
	stop = steady(inst)
	defer stop()

	pagingtest.WaitFor(t, fake, resolveWait+notifyWait, "the anomaly's resolve", pagingtest.Has("resolve", trigger.DedupKey))
	if n := fake.Count(trigger.DedupKey, "trigger"); n != 1 {
		t.Errorf("%d triggers for %s, want 1 (the restart must not page again)", n, trigger.DedupKey)
	}
	if n := len(anomalyTriggers(fake.Events())); n != 1 {
		for _, ev := range anomalyTriggers(fake.Events()) {
			t.Logf("trigger %s: %s %v", ev.DedupKey, ev.Payload.Summary, ev.Payload.CustomDetails["metric"])
		}
		t.Errorf("%d anomaly triggers, want 1", n)
	}
	t.Logf("trigger: %s; events: %d", trigger.Payload.Summary, len(fake.Events()))
}
