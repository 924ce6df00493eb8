package anomalyconnector

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
)

// evaluator is one anomaly connector of a fleet over a shared store, with
// its own telemetry.
type evaluator struct {
	h   *harness
	m   *ownershiptest.Member
	tel *componenttest.Telemetry
	// store is the connector's view of the shared store.
	store storage.Client
}

func newEvaluator(t *testing.T, store *ownershiptest.Store) *evaluator {
	t.Helper()
	return newEvaluatorInstance(t, store, "")
}

// newEvaluatorInstance is newEvaluator in a collector whose instance ID
// (service.instance.id of its resource) is instanceID, when not empty.
func newEvaluatorInstance(t *testing.T, store *ownershiptest.Store, instanceID string) *evaluator {
	t.Helper()
	id := component.MustNewID("redis_storage")
	m := ownershiptest.NewMember(store)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := defaultSettings()
	set.ID = component.NewID(set.ID.Type()) // the same component on every evaluator
	set.TelemetrySettings = tel.NewTelemetrySettings()
	if instanceID != "" {
		set.Resource = pcommon.NewResource()
		set.Resource.Attributes().PutStr("service.instance.id", instanceID)
	}
	h := newHarness(t, func(c *Config) {
		c.Storage = &id
		c.ResendInterval = 24 * time.Hour // onsets and resolves only
		c.Detector.WarmupPoints = 30
	}, set, &storageHost{id: id, ext: m})
	client, err := m.GetClient(context.Background(), component.KindConnector, set.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return &evaluator{h: h, m: m, tel: tel, store: client}
}

// warming is the evaluator's otelcol_anomaly_series_warming_up.
func (e *evaluator) warming(t *testing.T) int64 {
	t.Helper()
	m, err := e.tel.GetMetric("otelcol_anomaly_series_warming_up")
	if err != nil {
		t.Fatal(err)
	}
	return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
}

func (e *evaluator) seriesCount() int { return e.h.seriesCount() }

// checkoutOwner starts an evaluator that owns checkout and has fed it 40
// intervals of ordinary calls, and returns it with its driver.
func checkoutOwner(t *testing.T, store *ownershiptest.Store) (*evaluator, *callsDriver) {
	t.Helper()
	a := newEvaluator(t, store)
	if err := a.m.Acquire(context.Background(), "checkout"); err != nil {
		t.Fatal(err)
	}
	d := newCallsDriver(a.h)
	d.normal(40)
	return a, d
}

// moveDriver returns a driver feeding to's connector that continues d's
// counters, as the gateways sending the same service elsewhere.
func moveDriver(d *callsDriver, to *harness) *callsDriver {
	n := newCallsDriver(to)
	n.total, n.errTotal, n.interval, n.rng = d.total, d.errTotal, d.interval, d.rng
	return n
}

// TestFleetTakeover: a service's points are not learned before its
// evaluator owns it; the owner's detectors are checkpointed per service;
// when the owner dies, the evaluator that takes the service over loads
// exactly those detectors and judges the next point against the learned
// baseline, not at warm-up.
func TestFleetTakeover(t *testing.T) {
	store := ownershiptest.NewStore()
	a, b := newEvaluator(t, store), newEvaluator(t, store)
	defer a.h.shutdown()
	defer b.h.shutdown()
	ctx := context.Background()

	d := newCallsDriver(a.h)
	d.normal(3)
	if n := a.seriesCount(); n != 0 {
		t.Fatalf("%d series before a owns the service, want 0: nothing is learned for another evaluator", n)
	}
	if a.m.Observed("checkout") == 0 {
		t.Fatal("the service's points were not observed: it would never be claimed")
	}
	if got := len(a.h.metrics.AllMetrics()); got != 0 {
		t.Fatalf("%d metric batches before a owns the service, want 0", got)
	}

	if err := a.m.Acquire(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	d.normal(1)
	if w := a.warming(t); w != 2 {
		t.Errorf("a's series warming up at their first point: %d, want 2 (rate and error ratio)", w)
	}
	d.normal(60)
	if w := a.warming(t); w != 0 {
		t.Errorf("a's series warming up after 61 points: %d, want 0", w)
	}
	if err := a.h.core.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	checkpointed := snapshot(t, a.h.core)
	if len(checkpointed) != 2 {
		t.Fatalf("a watches %d series, want 2", len(checkpointed))
	}

	// a dies without a word; the gateways send checkout to b, which
	// keeps the counter's baseline but learns nothing before it owns it.
	db := moveDriver(d, b.h)
	db.normal(1)
	if n := b.seriesCount(); n != 0 {
		t.Fatalf("b learned %d series of a service it does not own", n)
	}
	if err := b.m.Acquire(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	loaded := snapshot(t, b.h.core)
	if len(loaded) != len(checkpointed) {
		t.Fatalf("b loaded %d series, want %d", len(loaded), len(checkpointed))
	}
	for k, want := range checkpointed {
		if !bytes.Equal(loaded[k], want) {
			t.Errorf("series %q loaded with another state than a checkpointed", k)
		}
	}
	db.normal(1)
	if w := b.warming(t); w != 0 {
		t.Errorf("b's series warming up after the takeover: %d, want 0", w)
	}
	g := gaugePoints(b.h.metrics)
	exp, ok := g[conventions.MetricAnomalyExpected][MetricRequestRate+"|checkout|POST /pay"]
	if !ok || exp < 90 || exp > 110 {
		t.Errorf("b's expected request rate = %v (present %v), want a's learned ~100/s", exp, ok)
	}
	if score := g[conventions.MetricAnomalyScore][MetricRequestRate+"|checkout|POST /pay"]; score >= 0.5 {
		t.Errorf("b's first request rate scored %v, want an ordinary point", score)
	}
}

// TestFleetHandoverMidAnomaly: the owner of a service whose traffic
// dropped hands it over mid-incident. It writes the detectors, drops them
// without resolving; the new owner loads them still firing, re-sends the
// alert once at its first interval with its start (the old owner's router
// may have forgotten it un-notified; the shared notification log keeps
// the re-send from paging again), sends no second onset, and resolves
// once the traffic is back.
func TestFleetHandoverMidAnomaly(t *testing.T) {
	store := ownershiptest.NewStore()
	a, b := newEvaluator(t, store), newEvaluator(t, store)
	defer a.h.shutdown()
	defer b.h.shutdown()
	ctx := context.Background()
	if err := a.m.Acquire(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	d := newCallsDriver(a.h)
	d.normal(200)
	for range 5 {
		d.step(600, 6) // traffic drops to a tenth
	}
	onset, _ := byState(events(a.h.logs), MetricRequestRate)
	if len(onset) != 1 {
		t.Fatalf("a: %d firing request_rate events after the drop, want 1", len(onset))
	}

	a.m.Release(ctx, "checkout", true)
	if n := a.seriesCount(); n != 0 {
		t.Errorf("a keeps %d series of a service it handed over", n)
	}
	if err := b.m.Acquire(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	b.h.core.mu.Lock()
	s := b.h.core.series[redKey(MetricRequestRate, "checkout", "POST /pay")]
	firing := s != nil && s.firing
	b.h.core.mu.Unlock()
	if !firing {
		t.Fatal("b did not load the request_rate series firing")
	}
	db := moveDriver(d, b.h)
	db.step(600, 6) // the drop goes on
	if firing, _ := byState(events(b.h.logs), MetricRequestRate); len(firing) != 1 {
		t.Errorf("b: %d firing request_rate events at its first interval, want the re-send", len(firing))
	}
	db.normal(150)
	// a goes on closing intervals: it must say nothing of checkout.
	a.h.flushAt(t0.Add(time.Duration(db.interval+1) * time.Minute))

	if evs := events(a.h.logs); len(evs) != 1 {
		t.Errorf("a sent %d alert events, want only its onset (no resolve after the handover)", len(evs))
	}
	firingB, resolvedB := byState(events(b.h.logs), MetricRequestRate)
	if len(firingB) != 1 || len(resolvedB) != 1 {
		t.Fatalf("b: %d firing and %d resolved request_rate events, want 1 (the re-send) and 1", len(firingB), len(resolvedB))
	}
	for _, ev := range append(firingB, resolvedB...) {
		if got, want := ev.startOf(), rfc3339(onset[0].ts); got != want {
			t.Errorf("b's %s event has alert.starts_at %q, want a's onset %s", ev.attrs[conventions.AttrAlertState], got, want)
		}
	}
}

// TestFleetLostLease: an evaluator whose lease was taken over drops the
// service without writing: the state in the store stays what the new
// owner loaded.
func TestFleetLostLease(t *testing.T) {
	store := ownershiptest.NewStore()
	a, d := checkoutOwner(t, store)
	ctx := context.Background()
	if err := a.h.core.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	stored := func() []byte {
		v, err := a.store.Get(ctx, serviceStateKey("checkout"))
		if err != nil || v == nil {
			t.Fatalf("the service's state in the store: %q, %v", v, err)
		}
		return v
	}
	before := stored()
	d.normal(5)
	a.m.Release(ctx, "checkout", false)
	if n := a.seriesCount(); n != 0 {
		t.Errorf("a keeps %d series of a service it lost", n)
	}
	if !bytes.Equal(stored(), before) {
		t.Error("a wrote the state of a service whose lease it lost")
	}
	d.normal(2)
	if n := a.seriesCount(); n != 0 {
		t.Errorf("a learns the service it lost again: %d series", n)
	}
	// Its shutdown checkpoint writes only what it owns: nothing.
	a.h.shutdown()
	if !bytes.Equal(stored(), before) {
		t.Error("a's shutdown wrote the state of a service it lost")
	}
}

// TestFleetObservesOnlyDataFromOutside: a RED point this collector made
// itself (its slo connector's, labelled with its own instance ID) does
// not observe the service: its spans were observed when they arrived, and
// the cumulative series is re-emitted at every flush long after the
// gateways moved the service away, so observing it would claim the
// service back (the ping-pong of issue 16's TestScaleOutThenIn). Points
// of other collectors' span_metrics, or of none, come from outside and
// observe it, owned or not.
func TestFleetObservesOnlyDataFromOutside(t *testing.T) {
	const self = "9cf17a07-2650-47bc-9c1e-f85ce3862d9a"
	tests := []struct {
		name         string
		instance     string // collector.instance.id of the points; "-" for none
		owned        bool
		wantObserved bool
	}{
		{"own RED of a service owned elsewhere", self, false, false},
		{"own RED of an owned service", self, true, false},
		{"another collector's RED", "4b1e6c2a-agent", false, true},
		{"points without an instance ID", "-", false, true},
		{"another collector's RED of an owned service", "4b1e6c2a-agent", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvaluatorInstance(t, ownershiptest.NewStore(), self)
			defer e.h.shutdown()
			if tt.owned {
				if err := e.m.Acquire(context.Background(), "checkout"); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				at := t0.Add(time.Duration(i+1) * e.h.cfg.Interval)
				pt := at.Add(-time.Second)
				md := spanMetrics(
					[]callsPoint{{service: "checkout", op: "POST /pay", start: t0, ts: pt, value: int64(100 * (i + 1))}},
					[]histPoint{{service: "checkout", op: "POST /pay", start: t0, ts: pt, bounds: []float64{10, 100}, counts: []uint64{uint64(100 * (i + 1)), 0, 0}}},
				)
				if tt.instance != "-" {
					labelInstance(md, tt.instance)
				}
				e.h.feed(pt, md)
				e.h.flushAt(at)
			}
			if got := e.m.Observed("checkout") > 0; got != tt.wantObserved {
				t.Errorf("service observed: %v, want %v (%d observations)", got, tt.wantObserved, e.m.Observed("checkout"))
			}
			// Ownership decides what is learned, whoever made the points.
			if n := e.seriesCount(); (n > 0) != tt.owned {
				t.Errorf("%d series watched, owned %v", n, tt.owned)
			}
		})
	}
}

// labelInstance sets collector.instance.id on every datapoint, as
// span_metrics (and the slo connector's RED) do.
func labelInstance(md pmetric.Metrics, id string) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						dp.Attributes().PutStr("collector.instance.id", id)
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						dp.Attributes().PutStr("collector.instance.id", id)
					}
				}
			}
		}
	}
}

// TestFleetReleaseEndsTheServiceGauges: an evaluator that gives a service
// up ends its gauges at once, so that they do not stand beside the next
// owner's until the exporter's metric_expiration.
func TestFleetReleaseEndsTheServiceGauges(t *testing.T) {
	for _, handover := range []bool{true, false} {
		store := ownershiptest.NewStore()
		a, d := checkoutOwner(t, store)
		ctx := context.Background()
		if got := endedGauges(a.h.metrics); len(got) != 0 {
			t.Fatalf("ended before the release: %v", got)
		}
		a.m.Release(ctx, "checkout", handover)
		t.Run(fmt.Sprintf("handover %v", handover), func(t *testing.T) {
			checkEnded(t, a.h, []string{MetricErrorRatio + "|checkout|POST /pay", MetricRequestRate + "|checkout|POST /pay"})
		})
		d.normal(2)
		if got := endedGauges(a.h.metrics); len(got[conventions.MetricAnomalyScore]) != 2 {
			t.Errorf("handover %v: ended again: %v", handover, got)
		}
		a.h.shutdown()
	}
}

// gatedMetrics holds the first batch it is given until release is closed,
// as a slow pipeline would, then passes every batch to next.
type gatedMetrics struct {
	next             consumer.Metrics
	entered, release chan struct{}
	held             atomic.Bool
}

func (g *gatedMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (g *gatedMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if g.held.CompareAndSwap(false, true) {
		close(g.entered)
		<-g.release
	}
	return g.next.ConsumeMetrics(ctx, md)
}

// TestReleaseEndsAfterTheOutputInFlight: a service released while an
// interval's output with its series is on its way down the pipeline has
// its series ended after that output, not before it, which the output
// would undo (the exporter would serve its values until its
// metric_expiration).
func TestReleaseEndsAfterTheOutputInFlight(t *testing.T) {
	store := ownershiptest.NewStore()
	a, d := checkoutOwner(t, store)
	defer a.h.shutdown()
	ctx := context.Background()
	gate := &gatedMetrics{next: a.h.metrics, entered: make(chan struct{}), release: make(chan struct{})}
	a.h.core.metricsOut = gate
	at := d.feedNext(6000, 60)
	a.h.clock.Set(at)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		a.h.core.flushAndSend(ctx, at)
	}()
	<-gate.entered
	released := make(chan struct{})
	go func() {
		defer close(released)
		a.m.Release(ctx, "checkout", true)
	}()
	select {
	case <-released:
		t.Fatal("the release sent its markers while the interval's output was still on its way")
	case <-time.After(200 * time.Millisecond):
	}
	close(gate.release)
	<-flushed
	<-released

	mds := a.h.metrics.AllMetrics()
	lastValues, markers := -1, -1
	var valuesAt, markersAt pcommon.Timestamp
	for i, md := range mds {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					for _, dp := range m.Gauge().DataPoints().All() {
						if dp.Flags().NoRecordedValue() {
							markers, markersAt = i, dp.Timestamp()
						} else {
							lastValues, valuesAt = i, max(valuesAt, dp.Timestamp())
						}
					}
				}
			}
		}
	}
	if lastValues < 0 || markers <= lastValues {
		t.Errorf("the markers (batch %d) do not follow the last values (batch %d)", markers, lastValues)
	}
	// The clock has not moved since the output: the markers still go
	// after it in time, or a receiver refuses them (a marker and a value
	// of one series at one time).
	if markersAt <= valuesAt {
		t.Errorf("the markers are at %s, the last values at %s", markersAt, valuesAt)
	}
}

// routerView keeps, of the alert events it is given, those of services
// owner owns (routed), as the alertrouter connector ingests only those;
// all gets every event.
type routerView struct {
	owner       *ownershiptest.Member
	all, routed *consumertest.LogsSink
}

func (r *routerView) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (r *routerView) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	_ = r.all.ConsumeLogs(ctx, ld)
	owned := plog.NewLogs()
	ld.CopyTo(owned)
	owned.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				svc, _ := lr.Attributes().Get(conventions.AttrServiceName)
				return !r.owner.Owns(svc.Str())
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	if owned.LogRecordCount() == 0 {
		return nil
	}
	return r.routed.ConsumeLogs(ctx, owned)
}

// onTransition calls at, once, when it is given the output of an interval
// for which changed reports a transition (c.mu held), before passing the
// output on to next: the interval's events have not gone out yet.
type onTransition struct {
	next    consumer.Metrics
	c       *core
	changed func() bool
	at      func()
	done    bool
}

func (o *onTransition) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (o *onTransition) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	o.c.mu.Lock()
	changed := o.changed()
	o.c.mu.Unlock()
	if changed && !o.done {
		o.done = true
		o.at()
	}
	return o.next.ConsumeMetrics(ctx, md)
}

// TestFleetTransitionDuringHandover: an alert transition (an onset, a
// resolve, a resolve at expiry) whose events go out while its service is
// being handed over is announced by the new owner at its first interval,
// with its start, once. The coordinator reports the service unowned
// before its handlers run, so the old owner's router drops those events
// (routerView); the old owner must hand the series over to be announced.
// Two orders: the handover done between the interval's close and its
// events (which then go out unowned), and the handover waiting for the
// events, the service reported unowned as they go out. Without the
// announce, the new owner sent an onset only at its next re-send
// (resend_interval) and a resolve never (the router resolved the incident
// at its resolve_timeout).
func TestFleetTransitionDuringHandover(t *testing.T) {
	key := redKey(MetricRequestRate, "checkout", "POST /pay")
	for _, tt := range []struct {
		name       string
		transition string
		expiry     bool // the series forgotten for lack of data, resolved
	}{
		{"onset", conventions.StateFiring, false},
		{"resolve", conventions.StateResolved, false},
		{"resolve at expiry", conventions.StateResolved, true},
	} {
		for _, order := range []string{"released before the events", "released as the events go out"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				store := ownershiptest.NewStore()
				a, b := newEvaluator(t, store), newEvaluator(t, store)
				defer a.h.shutdown()
				defer b.h.shutdown()
				ctx := context.Background()
				require.NoError(t, a.m.Acquire(ctx, "checkout"))
				routedA := new(consumertest.LogsSink)
				view := &routerView{owner: a.m, all: a.h.logs, routed: routedA}
				a.h.core.logsOut = view
				d := newCallsDriver(a.h)
				d.normal(200)
				drop := func(d *callsDriver) { d.step(600, 6) } // traffic drops to a tenth
				next := drop                                    // what the state after the transition gets
				switch {
				case tt.expiry:
					next = func(d *callsDriver) { idle(d, 1) }
				case tt.transition == conventions.StateResolved:
					next = func(d *callsDriver) { d.normal(1) }
				}
				if tt.transition == conventions.StateResolved {
					for range 5 {
						drop(d)
					}
					onset, _ := byState(events(routedA), MetricRequestRate)
					require.Len(t, onset, 1, "a's onset, before the handover")
				}

				// The handover, at the interval of the transition.
				released := make(chan struct{})
				handover := func() {
					go func() {
						defer close(released)
						a.m.Release(ctx, "checkout", true)
					}()
				}
				if order == "released before the events" {
					a.h.core.metricsOut = &onTransition{next: a.h.metrics, c: a.h.core, at: func() {
						handover()
						// Until Released has dropped the series, and
						// those forgotten (it then waits to end their
						// gauges after this output).
						for {
							a.h.core.mu.Lock()
							held := len(a.h.core.series) + len(a.h.core.fleet.gone["checkout"])
							a.h.core.mu.Unlock()
							if held == 0 {
								break
							}
							runtime.Gosched()
						}
					}, changed: func() bool {
						s := a.h.core.series[key]
						return s != nil && s.pending || len(a.h.core.fleet.gone["checkout"]) > 0
					}}
				} else {
					a.h.core.logsOut = &onEvent{next: view, state: tt.transition, at: func() {
						handover()
						for a.m.Owns("checkout") {
							runtime.Gosched()
						}
					}}
				}
				for i := 0; ; i++ {
					require.Less(t, i, 1000, "no %s at a", tt.name)
					next(d)
					firing, resolved := byState(events(a.h.logs), MetricRequestRate)
					if tt.transition == conventions.StateFiring && len(firing) > 0 || len(resolved) > 0 {
						break
					}
				}
				<-released
				firingA, _ := byState(events(a.h.logs), MetricRequestRate)
				onset := firingA[0]
				routedFiring, routedResolved := byState(events(routedA), MetricRequestRate)
				require.Len(t, routedFiring, map[string]int{conventions.StateFiring: 0, conventions.StateResolved: 1}[tt.transition],
					"a's onset reaching its router")
				require.Empty(t, routedResolved, "a's resolve went out after the service was given up: dropped")

				// b, sent the service, takes it over and closes one
				// interval.
				db := moveDriver(d, b.h)
				db.normal(1) // a baseline: b does not own checkout yet
				b.h.logs.Reset()
				require.NoError(t, b.m.Acquire(ctx, "checkout"))
				next(db)
				firingB, resolvedB := byState(events(b.h.logs), MetricRequestRate)
				if tt.transition == conventions.StateFiring {
					require.Len(t, firingB, 1, "firing events at b's first interval")
					assert.Empty(t, resolvedB, "resolved events at b's first interval")
					assert.Equal(t, rfc3339(onset.ts), firingB[0].startOf(), "the start of b's firing event")
				} else {
					require.Len(t, resolvedB, 1, "resolved events at b's first interval")
					assert.Empty(t, firingB, "firing events at b's first interval")
					assert.Equal(t, rfc3339(onset.ts), resolvedB[0].startOf(), "the start of b's resolve")
				}

				// Once: nothing more while the state holds.
				for range 20 {
					next(db)
				}
				firingB2, resolvedB2 := byState(events(b.h.logs), MetricRequestRate)
				assert.Len(t, firingB2, len(firingB), "b fired again")
				assert.Len(t, resolvedB2, len(resolvedB), "b resolved again")
			})
		}
	}
}

// flushingHandler closes an interval, through flush, when a service is
// acquired: registered after the anomaly connector, it runs after the
// connector's Acquired and before the member reports the service owned,
// as an interval boundary that falls while the other handlers (the
// router's, the slo connector's) load the service.
type flushingHandler struct{ flush func() }

func (f flushingHandler) Acquired(context.Context, string) error { f.flush(); return nil }
func (f flushingHandler) Released(context.Context, string, bool) {}

// TestFleetIntervalWhileAcquiring: an interval that closes while the new
// owner is still acquiring a service sends nothing of it, and keeps for
// the first interval that owns it what was to go out then: a resolve
// handed over to be announced, and the re-send of a firing alert taken
// over. Without that, the interval announced them while the router,
// which ingests only services owned, dropped them: the resolve was never
// announced again (the router closed the incident at its
// resolve_timeout), and the re-send waited for resend_interval.
func TestFleetIntervalWhileAcquiring(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state string // of the event b's router takes at b's first interval
	}{
		{"resolve handed over", conventions.StateResolved},
		{"firing alert taken over", conventions.StateFiring},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := ownershiptest.NewStore()
			a, b := newEvaluator(t, store), newEvaluator(t, store)
			defer a.h.shutdown()
			defer b.h.shutdown()
			ctx := context.Background()
			require.NoError(t, a.m.Acquire(ctx, "checkout"))
			routedA := new(consumertest.LogsSink)
			view := &routerView{owner: a.m, all: a.h.logs, routed: routedA}
			a.h.core.logsOut = view
			d := newCallsDriver(a.h)
			d.normal(200)
			for range 5 {
				d.step(600, 6)
			}
			onset, _ := byState(events(routedA), MetricRequestRate)
			require.Len(t, onset, 1, "a's onset")
			next := func(d *callsDriver) { d.step(600, 6) } // the anomaly goes on
			if tt.state == conventions.StateResolved {
				next = func(d *callsDriver) { d.normal(1) }
				// Released as the resolve goes out: a's router drops
				// it, and a hands the series over to be announced.
				released := make(chan struct{})
				a.h.core.logsOut = &onEvent{next: view, state: conventions.StateResolved, at: func() {
					go func() { defer close(released); a.m.Release(ctx, "checkout", true) }()
					for a.m.Owns("checkout") {
						runtime.Gosched()
					}
				}}
				for i := 0; ; i++ {
					require.Less(t, i, 1000, "no resolve at a")
					next(d)
					if _, r := byState(events(a.h.logs), MetricRequestRate); len(r) > 0 {
						break
					}
				}
				<-released
				_, routedResolved := byState(events(routedA), MetricRequestRate)
				require.Empty(t, routedResolved, "a's resolve went out after the service was given up: dropped")
			} else {
				a.m.Release(ctx, "checkout", true)
			}

			db := moveDriver(d, b.h)
			db.normal(1) // a baseline: b does not own checkout yet
			routedB := new(consumertest.LogsSink)
			b.h.core.logsOut = &routerView{owner: b.m, all: b.h.logs, routed: routedB}
			unregister := b.m.Register(flushingHandler{flush: func() { next(db) }})
			require.NoError(t, b.m.Acquire(ctx, "checkout"))
			unregister()
			next(db)
			firing, resolved := byState(events(routedB), MetricRequestRate)
			want := map[string]int{conventions.StateFiring: len(firing), conventions.StateResolved: len(resolved)}
			assert.Equal(t, map[string]int{tt.state: 1, other(tt.state): 0}, want, "events b's router took at b's first interval")
			if tt.state == conventions.StateResolved {
				for range 20 {
					next(db)
				}
				_, resolved := byState(events(routedB), MetricRequestRate)
				assert.Len(t, resolved, 1, "b announced the resolve again")
			}
		})
	}
}

// other is the alert state that is not state.
func other(state string) string {
	if state == conventions.StateFiring {
		return conventions.StateResolved
	}
	return conventions.StateFiring
}
