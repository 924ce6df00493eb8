package fleet

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// background sends good spans of every service, round robin over the
// clients, until ctx ends; each batch accepted is tallied.
func background(ctx context.Context, t *testing.T, clients []*client, y *tally, services []string, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			s := services[i%len(services)]
			c := clients[i%len(clients)]
			if err := c.send(ctx, s, 10, false); err == nil {
				y.add(s, 10, false)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

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
