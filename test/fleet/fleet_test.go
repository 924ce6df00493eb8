package fleet

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestSteadyState (scenario 1): two gateways and three evaluators, load
// across 24 services from OTLP clients: every service's SLO series come
// from exactly one evaluator, and the SLI counts add up to what was sent.
func TestSteadyState(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 24 {
		services = append(services, serviceName(i))
	}
	f := newFleet(t, redis.Addr, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator(), f.startEvaluator()}
	gws := []*vigiltest.Instance{startGateway(t, evs, nil), startGateway(t, evs, nil)}
	clients := []*client{newClient(t, gws[0].OTLPGRPCEndpoint()), newClient(t, gws[1].OTLPGRPCEndpoint())}

	y := newTally()
	for round := range 5 {
		for i, s := range services {
			failing := (i+round)%7 == 0
			clients[(i+round)%2].mustSend(t, s, 100, failing)
			y.add(s, 100, failing)
		}
	}

	perEvaluator := map[*vigiltest.Instance]int{}
	for _, s := range services {
		good, bad := y.get(s)
		waitFor(t, 30*time.Second, s+"'s counts at its owner", func() bool {
			var owners int
			var g, b float64
			for _, e := range evs {
				eg, eb, found, err := sloEvents(e, s)
				if err != nil || !found {
					continue
				}
				owners++
				g, b = g+eg, b+eb
			}
			return owners == 1 && int(g) == good && int(b) == bad
		})
		for _, e := range evs {
			if _, _, found, _ := sloEvents(e, s); found {
				perEvaluator[e]++
			}
		}
	}
	// The services are spread: every evaluator owns some.
	for i, e := range evs {
		if perEvaluator[e] == 0 {
			t.Errorf("evaluator %d owns no service of 24", i)
		}
		t.Logf("evaluator %d owns %d services", i, perEvaluator[e])
	}
}

// TestOwnerKilledMidIncident (scenario 2): an error burst on one service
// pages once; the evaluator that owns it is SIGKILLed mid-incident and the
// gateway restarted without it (as a resolver drops a dead endpoint);
// another evaluator takes the service over from the shared store. Still
// exactly one trigger; after recovery exactly one resolve; the error
// budget within 0.5% of the exact value.
func TestOwnerKilledMidIncident(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 20 {
		services = append(services, serviceName(i))
	}
	const hot = "svc-03"
	f := newFleet(t, redis.Addr, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()

	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	dedup := burstUntilPaged(t, f, c, y, hot)
	good, bad := y.get(hot)
	owner := f.owner(hot, float64(good+bad), evs, 20*time.Second)

	// More of the burst, then the owner dies with the incident open.
	c.mustSend(t, hot, 100, true)
	y.add(hot, 100, true)
	time.Sleep(2 * time.Second) // a checkpoint (1s) holds the burst
	owner.Kill()
	var survivors []*vigiltest.Instance
	for _, e := range evs {
		if e != owner {
			survivors = append(survivors, e)
		}
	}
	// Sent while the gateway still routes to the dead owner: they wait
	// in the gateway's queue and go to the new owner.
	c.mustSend(t, hot, 100, true)
	y.add(hot, 100, true)
	gw = restartGateway(t, gw, survivors)
	c = newClient(t, gw.OTLPGRPCEndpoint())
	c.mustSend(t, hot, 100, true)
	y.add(hot, 100, true)

	good, bad = y.get(hot)
	next := f.owner(hot, float64(good+bad), survivors, leaseTTL+30*time.Second)
	recoverService(t, c, y, hot)
	waitFor(t, 2*notifyWait, "the page's resolve", func() bool { return f.fake.Count(dedup, "resolve") > 0 })
	time.Sleep(3 * time.Second) // a second resolve would come now

	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 1 {
		t.Errorf("%s: %d page triggers, %d resolves; want 1 and 1", hot, triggers, resolves)
	}
	// The webhook receiver, notified by the same router, hears of the
	// page once firing and once resolved too, across the takeover.
	if got := webhookNotices(t, f.hook, hot); !slices.Equal(got, []string{"firing", "resolved"}) {
		t.Errorf("%s: webhook notices of its page %v; want [firing resolved]", hot, got)
	}
	good, bad = y.get(hot)
	want := exactBudget(good, bad)
	var got float64
	waitFor(t, 10*time.Second, "the budget at the new owner", func() bool {
		var ok bool
		got, ok = budget(next, hot)
		return ok
	})
	if math.Abs(got-want) > 0.005*math.Abs(want) {
		t.Errorf("error budget remaining %.5f at the new owner, exact %.5f (%d good, %d bad accepted): off by more than 0.5%%", got, want, good, bad)
	}
	t.Logf("budget %.5f, exact %.5f; %d good, %d bad", got, want, good, bad)
}

// TestScaleOutThenIn (scenario 3): mid-incident a fourth evaluator joins
// (the gateway restarted with four), then the owner of the burning
// services leaves (SIGTERM, the gateway restarted without it). Services
// move both times, once: when the data stops, no service changes hands
// again; no burning service is paged twice, none is resolved before its
// recovery, and each is resolved once after it.
func TestScaleOutThenIn(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 20 {
		services = append(services, serviceName(i))
	}
	// Half the services burn, so that some move at each change.
	hot := services[:10]
	f := newFleet(t, redis.Addr, services)
	// RED series every second, the anomaly connector's input: an evaluator
	// that took them for its services' data would claim back, within the
	// settling checks below, the services that moved away (issue 16).
	f.extraArgs = []string{"--set=connectors::slo::red::flush_interval=1s"}
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	dedups := burstAllUntilPaged(t, f, c, y, hot)
	owners := map[string]*vigiltest.Instance{}
	for _, s := range services {
		g, b := y.get(s)
		owners[s] = f.owner(s, float64(g+b), evs, 20*time.Second)
	}
	noPrematureResolve := func(when string) {
		t.Helper()
		for _, s := range hot {
			if _, triggers, resolves := pages(f.fake, s); triggers != 1 || resolves != 0 {
				t.Fatalf("%s: %s: %d page triggers and %d resolves while still burning; want 1 and 0", when, s, triggers, resolves)
			}
		}
	}

	// Scale out.
	evs = append(evs, f.startEvaluator())
	gw = restartGateway(t, gw, evs)
	c = newClient(t, gw.OTLPGRPCEndpoint())
	for _, s := range services[len(hot):] {
		c.mustSend(t, s, 10, false)
		y.add(s, 10, false)
	}
	// A service moves once the gateway routes it to the new evaluator and
	// its old owner's data has stopped; on a loaded machine the gateway
	// may take longer than one round to pick the new evaluator up, so the
	// hot services burn on, a round at a time, until some moved.
	moved, movedHot := 0, 0
	for round := 0; round < 3 && moved == 0; round++ {
		burnFor(t, c, y, hot, 8*time.Second)
		for i, s := range services {
			g, b := y.get(s)
			if o := f.owner(s, float64(g+b), evs, 30*time.Second); o != owners[s] {
				moved++
				if i < len(hot) {
					movedHot++
				}
				owners[s] = o
			}
		}
	}
	if moved == 0 {
		t.Fatal("scale out moved no service of 20 in 24s of traffic: the gateway did not pick the new evaluator up")
	}
	t.Logf("scale out: %d of 20 services moved, %d of %d burning", moved, movedHot, len(hot))
	noPrematureResolve("after scale out")
	assertSettled(t, evs, "after scale out")
	assertOneExporter(t, services, evs, "after scale out")

	// Scale in: the evaluator owning the most burning services leaves.
	count := map[*vigiltest.Instance]int{}
	for _, s := range hot {
		count[owners[s]]++
	}
	var leaving *vigiltest.Instance
	for _, e := range evs {
		if leaving == nil || count[e] > count[leaving] {
			leaving = e
		}
	}
	var rest []*vigiltest.Instance
	for _, e := range evs {
		if e != leaving {
			rest = append(rest, e)
		}
	}
	gw = restartGateway(t, gw, rest)
	c = newClient(t, gw.OTLPGRPCEndpoint())
	if _, err := leaving.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stopping the leaving evaluator: %v", err)
	}
	burnFor(t, c, y, hot, 8*time.Second)
	for _, s := range hot {
		g, b := y.get(s)
		owners[s] = f.owner(s, float64(g+b), rest, 30*time.Second)
	}
	t.Logf("scale in: the leaving evaluator owned %d burning services", count[leaving])
	noPrematureResolve("after scale in")
	assertSettled(t, rest, "after scale in")

	for _, s := range hot {
		recoverService(t, c, y, s)
	}
	for _, s := range hot {
		waitFor(t, 2*notifyWait, s+"'s resolve", func() bool { return f.fake.Count(dedups[s], "resolve") > 0 })
	}
	time.Sleep(3 * time.Second)
	for _, s := range hot {
		if _, triggers, resolves := pages(f.fake, s); triggers != 1 || resolves != 1 {
			t.Errorf("%s: %d page triggers, %d resolves; want 1 and 1", s, triggers, resolves)
		}
	}
}

// settleWindow is how long ownership must stay put once no service's data
// moves: several RED flushes and lease ticks (a second each here), in
// which an evaluator claiming back a service it handed over would have
// it handed back.
const settleWindow = 5 * time.Second

// assertSettled fails the test when, while no data is sent, any of the
// evaluators hands a service over or loses a lease within settleWindow:
// ownership going back and forth (issue 16) rather than settling.
func assertSettled(t *testing.T, evs []*vigiltest.Instance, when string) {
	t.Helper()
	moves := func() (n float64) {
		for _, e := range evs {
			for _, name := range []string{"otelcol_redis_storage_handovers", "otelcol_redis_storage_lease_losses"} {
				v, ok := telemetryValue(e, name)
				if !ok {
					v, ok = telemetryValue(e, name+"_total")
				}
				if !ok {
					t.Fatalf("%s: an evaluator exports no %s", when, name)
				}
				n += v
			}
		}
		return n
	}
	before := moves()
	time.Sleep(settleWindow)
	if after := moves(); after != before {
		t.Fatalf("%s: %v handovers and lost leases within %s while no service's data moved: ownership does not settle", when, after-before, settleWindow)
	}
}

// assertOneExporter fails the test unless, within a few evaluations,
// each service's SLO and anomaly series are exported by one evaluator
// only: an evaluator that handed a service over ends its series (package
// staleness) rather than serving their last values beside the new
// owner's until its exporter's metric_expiration (a minute).
func assertOneExporter(t *testing.T, services []string, evs []*vigiltest.Instance, when string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		last = ""
		for _, s := range services {
			n := 0
			for _, e := range evs {
				if exportsService(t, e, s) {
					n++
				}
			}
			if n != 1 {
				last += fmt.Sprintf(" %s by %d evaluators;", s, n)
			}
		}
		if last == "" {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: series exported twice or not at all:%s", when, last)
}

// exportsService reports whether the evaluator's exporter serves any
// vigil_slo_ or vigil_anomaly_ series of the service.
func exportsService(t *testing.T, inst *vigiltest.Instance, service string) bool {
	t.Helper()
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	if err != nil {
		t.Fatalf("scraping an evaluator: %v", err)
	}
	for name, mf := range fams {
		if !strings.HasPrefix(name, "vigil_slo_") && !strings.HasPrefix(name, "vigil_anomaly_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service_name" && l.GetValue() == service {
					return true
				}
			}
		}
	}
	return false
}

// burstAllUntilPaged sends failing spans of every service until each is
// paged, and returns the dedup key of each page.
func burstAllUntilPaged(t *testing.T, f *fleet, c *client, y *tally, services []string) map[string]string {
	t.Helper()
	dedups := map[string]string{}
	deadline := time.Now().Add(90 * time.Second)
	for len(dedups) < len(services) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d services paged within 90s of their burst", len(dedups), len(services))
		}
		for _, s := range services {
			if dedup, n, _ := pages(f.fake, s); n > 0 {
				dedups[s] = dedup
				continue
			}
			c.mustSend(t, s, 5, true)
			y.add(s, 5, true)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return dedups
}

// burnFor keeps the services burning (all requests failing) for d.
func burnFor(t *testing.T, c *client, y *tally, services []string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, s := range services {
			c.mustSend(t, s, 2, true)
			y.add(s, 2, true)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestStoreRestart (scenario 4): Redis goes down mid-run and comes back.
// The evaluators keep running; a burst while the store is down still
// pages (once); when Redis is back the state is written again; recovery
// resolves the page once.
func TestStoreRestart(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{AppendOnly: true})
	var services []string
	for i := range 20 {
		services = append(services, serviceName(i))
	}
	const hot = "svc-05"
	f := newFleet(t, redis.Addr, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	g, b := y.get(hot)
	owner := f.owner(hot, float64(g+b), evs, 30*time.Second)
	key := f.stateKey(hot)
	waitFor(t, 10*time.Second, "the service's state in Redis", func() bool {
		_, err := redis.Do("GET", key)
		return err == nil
	})

	redis.Stop()
	dedup := burstUntilPaged(t, f, c, y, hot)
	redis.Restart()
	// The owner writes the service's state again: the burst is in it.
	waitFor(t, 15*time.Second, "the state rewritten after the restart", func() bool {
		v, err := redis.Do("GET", key)
		return err == nil && strings.Contains(v, `"total_bad"`)
	})
	// And its notification log, which the restart found without the page.
	waitFor(t, 15*time.Second, "the notification log rewritten after the restart", func() bool {
		v, err := redis.Do("GET", f.nflogKey(hot))
		return err == nil && strings.Contains(v, dedup)
	})
	for _, e := range evs {
		if e.Exited() {
			t.Fatalf("an evaluator exited while Redis was down:\n%s", e.Log())
		}
	}
	if o := f.owner(hot, 0, evs, 10*time.Second); o != owner {
		t.Errorf("the service changed owner while the store was down")
	}
	recoverService(t, c, y, hot)
	waitFor(t, 2*notifyWait, "the page's resolve", func() bool { return f.fake.Count(dedup, "resolve") > 0 })
	time.Sleep(3 * time.Second)
	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 1 {
		t.Errorf("%s: %d page triggers, %d resolves; want 1 and 1", hot, triggers, resolves)
	}
}

// TestGatewayKilled (scenario 5): clients send through two gateways and
// fail over to the other when one refuses; one gateway is SIGKILLed while
// they send. Once it is back on its disk queue, every span a gateway
// accepted has been counted by an evaluator.
func TestGatewayKilled(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 20 {
		services = append(services, serviceName(i))
	}
	f := newFleet(t, redis.Addr, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gws := []*vigiltest.Instance{startGateway(t, evs, nil), startGateway(t, evs, nil)}
	clients := []*client{newClient(t, gws[0].OTLPGRPCEndpoint()), newClient(t, gws[1].OTLPGRPCEndpoint())}
	y := newTally()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	failovers := 0
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += 4 {
				s := services[i%len(services)]
				first := i % 2
				for try := range 2 {
					if err := clients[(first+try)%2].send(ctx, s, 50, false); err == nil {
						y.add(s, 50, false)
						if try > 0 {
							mu.Lock()
							failovers++
							mu.Unlock()
						}
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	gws[0].Kill()
	time.Sleep(4 * time.Second)
	cancel()
	wg.Wait()
	// The killed gateway comes back on its queue and sends what it held.
	startGateway(t, evs, gws[0])

	for _, s := range services {
		good, _ := y.get(s)
		waitFor(t, 30*time.Second, s+"'s accepted spans counted", func() bool {
			var counted float64
			for _, e := range evs {
				g, _, _, err := sloEvents(e, s)
				if err == nil {
					counted += g
				}
			}
			// At least once: a batch the killed gateway had sent but not
			// yet confirmed in its queue goes out again.
			return int(counted) >= good
		})
	}
	if failovers == 0 {
		t.Error("no client failed over to the other gateway: the kill came too late to test anything")
	}
	t.Logf("%d failovers", failovers)
}

// stateKey and nflogKey are the Redis keys of a service's SLO state and
// notification log (extension/redisstorageextension's layout).
func (f *fleet) stateKey(service string) string {
	return f.prefix() + ":connector/slo:slo_state/slo/" + service
}

func (f *fleet) nflogKey(service string) string {
	return f.prefix() + ":connector/alertrouter/nflog:vigil.alerts.nflog/" + service
}
