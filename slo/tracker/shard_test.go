package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// TestHandoverMidIncident moves the burst's service between two trackers
// while the page fires, as a fleet moves a service between evaluators:
// the first accounts until cut; the second accounts from cut on, without
// the first's state, and merges the first's snapshot at merge (the old
// owner wrote it once the service's traffic had moved). From merge on,
// every evaluation must equal an uninterrupted run's: no second page, the
// resolve when it is due, the same counts and budget.
func TestHandoverMidIncident(t *testing.T) {
	b := newBurst()
	tests := []struct {
		name string
		cut  time.Time
		// proves reports whether the uninterrupted run does something
		// after the handover that a lost state would change.
		proves func(tail []ReplayStep) bool
	}{
		{
			name: "while the page fires",
			cut:  b.burstStart.Add(5 * time.Minute),
			proves: func(tail []ReplayStep) bool {
				return len(transitionKeys(tail)) > 0 // the page resolves
			},
		},
		{
			// The ticket's condition still holds from the paged burst:
			// the hold must move with the service, or the new owner opens
			// the ticket as a second incident.
			name: "after the page resolved, the ticket held as the paged burst's",
			cut:  b.burstEnd.Add(time.Hour),
			proves: func(tail []ReplayStep) bool {
				a, _ := tail[0].Statuses[0].Alert(ticket)
				return a.PagedBurst
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testHandover(t, b, tt.cut, tt.proves)
		})
	}
}

func testHandover(t *testing.T, b burst, cut time.Time, proves func(tail []ReplayStep) bool) {
	t.Helper()
	merge := cut.Add(20 * time.Second)

	whole, wholeClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, b.start)
	want, err := RunReplay(whole, wholeClock, b.replay(b.start, b.end))
	if err != nil {
		t.Fatal(err)
	}

	old, oldClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, b.start)
	if _, err := RunReplay(old, oldClock, b.replay(b.start, cut)); err != nil {
		t.Fatal(err)
	}
	next, nextClock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, cut)
	// The new owner accounts the traffic that reaches it before it owns
	// the service; what it evaluates meanwhile is not reported.
	noEval := b.replay(cut, merge)
	noEval.EvaluateAt = nil
	if _, err := RunReplay(next, nextClock, noEval); err != nil {
		t.Fatal(err)
	}
	data, err := old.SnapshotService(b.slo.Service)
	if err != nil {
		t.Fatal(err)
	}
	old.ForgetService(b.slo.Service)
	if err := next.Merge(data); err != nil {
		t.Fatal(err)
	}
	after, err := RunReplay(next, nextClock, b.replay(merge, b.end))
	if err != nil {
		t.Fatal(err)
	}

	var tail []ReplayStep
	for _, s := range want {
		if !s.At.Before(merge) {
			tail = append(tail, s)
		}
	}
	if gk, wk := transitionKeys(after), transitionKeys(tail); !slices.Equal(gk, wk) {
		t.Errorf("transitions after the handover\n got %v\nwant %v", gk, wk)
	}
	// The new owner's resolve ends the firing the old owner started.
	if gs, ws := transitionStarts(after), transitionStarts(tail); !equalTimes(gs, ws) {
		t.Errorf("starts of the transitions after the handover\n got %v\nwant %v", gs, ws)
	}
	if !proves(tail) {
		t.Fatal("the uninterrupted run does nothing after the handover that lost state would change: the test proves nothing")
	}
	if len(after) != len(tail) {
		t.Fatalf("%d evaluations, want %d", len(after), len(tail))
	}
	for i := range tail {
		g, w := after[i].Statuses[0], tail[i].Statuses[0]
		if g.TotalGood != w.TotalGood || g.TotalBad != w.TotalBad || !approx(g.ErrorBudgetRemaining, w.ErrorBudgetRemaining, 1e-9) {
			t.Fatalf("at %v: good %d bad %d budget %v, want %d %d %v", tail[i].At,
				g.TotalGood, g.TotalBad, g.ErrorBudgetRemaining, w.TotalGood, w.TotalBad, w.ErrorBudgetRemaining)
		}
	}

	// The old owner keeps no trace of the service: no series with counts,
	// no alert to resolve.
	statuses, transitions := old.Evaluate(merge)
	if len(transitions) != 0 {
		t.Errorf("the old owner reported %v after forgetting the service", transitions)
	}
	for _, st := range statuses {
		if st.TotalGood+st.TotalBad != 0 {
			t.Errorf("the old owner still counts %d events of %s", st.TotalGood+st.TotalBad, st.SLOID)
		}
	}
	if got := old.Services(); !slices.Equal(got, []string{b.slo.Service}) {
		t.Errorf("Services() = %v", got)
	}
}
