package fleet

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// anomalyArgs shorten the anomaly connector's clock for a test: a point
// per series every second from RED metrics flushed every second, a state
// checkpoint every second, and a warm-up of five points.
var anomalyArgs = []string{
	"--set=connectors::slo::red::flush_interval=1s",
	"--set=connectors::anomaly::interval=1s",
	"--set=connectors::anomaly::checkpoint_interval=1s",
	"--set=connectors::anomaly::detector::warmup_points=5",
}

// telemetryValue is the sum of an evaluator's otelcol_ metric over its
// series; found is false when it exports none.
func telemetryValue(inst *vigiltest.Instance, name string) (v float64, found bool) {
	fams, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil || fams[name] == nil {
		return 0, false
	}
	for _, m := range fams[name].GetMetric() {
		switch {
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		}
	}
	return v, true
}

// TestAnomalyBaselineMoves: the anomaly detectors of a service move with
// it. The evaluator that owns the service learns its RED series past
// their warm-up and checkpoints them to Redis; it is SIGKILLed and the
// gateway restarted without it. The evaluator that takes the service over
// loads the detectors: from its first point on, none of its series is
// warming up (otelcol_anomaly_series_warming_up stays 0), where fresh
// detectors would warm up for five points.
func TestAnomalyBaselineMoves(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	const svc = "svc-00"
	f := newFleet(t, redis.Addr, []string{svc})
	f.extraArgs = anomalyArgs
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	send := func() {
		c.mustSend(t, svc, 50, false)
		y.add(svc, 50, false)
	}

	send()
	g, b := y.get(svc)
	owner := f.owner(svc, float64(g+b), evs, 30*time.Second)
	// Learn past the warm-up: every series watched, none warming up.
	waitFor(t, 60*time.Second, "the owner's detectors past their warm-up", func() bool {
		send()
		time.Sleep(200 * time.Millisecond)
		active, _ := telemetryValue(owner, "otelcol_anomaly_active_series")
		warming, ok := telemetryValue(owner, "otelcol_anomaly_series_warming_up")
		return active >= 2 && ok && warming == 0
	})
	for range 10 { // two checkpoints (1s) hold the learned state
		send()
		time.Sleep(200 * time.Millisecond)
	}
	owner.Kill()
	var next *vigiltest.Instance
	for _, e := range evs {
		if e != owner {
			next = e
		}
	}
	if active, _ := telemetryValue(next, "otelcol_anomaly_active_series"); active != 0 {
		t.Fatalf("the other evaluator watches %v series of a service it does not own", active)
	}
	gw = restartGateway(t, gw, []*vigiltest.Instance{next})
	c = newClient(t, gw.OTLPGRPCEndpoint())

	// From the takeover on: series watched, none of them warming up.
	deadline := time.Now().Add(leaseTTL + 30*time.Second)
	var samples int
	for samples < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the new owner watched the service's series at only %d samples within %s", samples, leaseTTL+30*time.Second)
		}
		send()
		time.Sleep(200 * time.Millisecond)
		active, _ := telemetryValue(next, "otelcol_anomaly_active_series")
		if active == 0 {
			continue
		}
		samples++
		if warming, _ := telemetryValue(next, "otelcol_anomaly_series_warming_up"); warming != 0 {
			t.Fatalf("the new owner's detectors warm up again (%v of %v series): the learned baseline did not move with the service", warming, active)
		}
	}
	if v, _ := telemetryValue(next, "otelcol_redis_storage_owned_services"); v != 1 {
		t.Errorf("otelcol_redis_storage_owned_services = %v at the new owner, want 1", v)
	}
}
