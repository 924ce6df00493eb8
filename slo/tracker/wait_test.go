package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// waitingWindows is the table scaled for 30 days with each severity's
// rows waiting pageFor and ticketFor.
func waitingWindows(pageFor, ticketFor time.Duration) []slo.AlertWindow {
	windows := slices.Clone(slo.AlertWindows(30 * 24 * time.Hour))
	for i := range windows {
		if windows[i].Severity == page {
			windows[i].For = pageFor
		} else {
			windows[i].For = ticketFor
		}
	}
	return windows
}

// TestWaitedTimers: rows that wait alike share one timer on "any row
// holds"; rows that wait differently (Pyrra's table) have a timer each;
// a timer starts at the first evaluation its condition holds, resets at
// the first where it does not, and does not run while stopped.
func TestWaitedTimers(t *testing.T) {
	alike := []slo.AlertWindow{
		{Severity: page, Long: time.Hour, Short: 5 * time.Minute, For: 2 * time.Minute},
		{Severity: page, Long: 6 * time.Hour, Short: 30 * time.Minute, For: 2 * time.Minute},
	}
	split := []slo.AlertWindow{
		{Severity: page, Long: time.Hour, Short: 5 * time.Minute, For: 2 * time.Minute},
		{Severity: page, Long: 6 * time.Hour, Short: 30 * time.Minute, For: 15 * time.Minute},
	}
	type eval struct {
		holds   []bool
		stopped bool
		want    int
	}
	tests := []struct {
		name    string
		windows []slo.AlertWindow
		evals   []eval // one a minute
	}{
		{"alike: the rows' condition together", alike, []eval{
			{holds: []bool{true, false}, want: -1},
			{holds: []bool{false, true}, want: -1},
			{holds: []bool{false, true}, want: 1}, // held 2m, by either row
			{holds: []bool{true, true}, want: 0},  // the first row that holds
			{holds: []bool{false, false}, want: -1},
			{holds: []bool{true, false}, want: -1}, // reset
		}},
		{"split: a timer per row", split, []eval{
			{holds: []bool{true, true}, want: -1},
			{holds: []bool{true, true}, want: -1},
			{holds: []bool{false, true}, want: -1}, // the first row's timer reset at 2m
			{holds: []bool{true, true}, want: -1},
		}},
		{"split: the slower row in its time", split, append(slices.Repeat([]eval{{holds: []bool{false, true}, want: -1}}, 15),
			eval{holds: []bool{false, true}, want: 1},
			eval{holds: []bool{true, true}, want: 1},
		)},
		{"stopped timers reset", alike, []eval{
			{holds: []bool{true, false}, want: -1},
			{holds: []bool{true, false}, want: -1},
			{holds: []bool{true, false}, stopped: true, want: -1},
			{holds: []bool{true, false}, want: -1},
			{holds: []bool{true, false}, want: -1},
			{holds: []bool{true, false}, want: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := planWaits(tt.windows)[pageIdx]
			var a alertState
			for i, e := range tt.evals {
				if got := a.waited(&plan, tt.windows, e.holds, !e.stopped, t0.Add(time.Duration(i)*time.Minute)); got != e.want {
					t.Errorf("evaluation %d (%v): row %d, want %d", i, e.holds, got, e.want)
				}
			}
		})
	}
	if p := planWaits(slo.AlertWindows(30 * 24 * time.Hour)); p[pageIdx].waits || p[ticketIdx].waits {
		t.Errorf("the scaled table waits: %+v", p)
	}
}

// TestForDelaysThePage replays the burst of TestBurstFiresAndResolves with
// the page's rows waiting: its condition holds from the second step (60s
// in), so with for: 2m the page fires at 3m and resolves as before; with
// for: 40m, longer than the burst's hold on the 1h/5m pair and on the
// 6h/30m pair together, it never fires, and the ticket, whose condition
// the burst raised too, fires once the page's condition clears (30m after
// the burst: no page covered it) and resolves with its own, 6h after.
func TestForDelaysThePage(t *testing.T) {
	b := newBurst()
	tests := []struct {
		pageFor time.Duration
		want    []transitionKey
	}{
		{2 * time.Minute, []transitionKey{
			{page, firing, b.burstStart.Add(3 * time.Minute)},
			{page, resolved, b.burstEnd.Add(30 * time.Minute)},
		}},
		{40 * time.Minute, []transitionKey{
			{ticket, firing, b.burstEnd.Add(30 * time.Minute)},
			{ticket, resolved, b.burstEnd.Add(6 * time.Hour)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pageFor.String(), func(t *testing.T) {
			s := b.slo
			s.Windows = waitingWindows(tt.pageFor, 0)
			tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, b.start)
			steps, err := RunReplay(tr, clock, b.replay(b.start, b.end))
			if err != nil {
				t.Fatal(err)
			}
			if got := transitionKeys(steps); !slices.Equal(got, tt.want) {
				t.Errorf("transitions\n got %v\nwant %v", got, tt.want)
			}
			for _, step := range steps {
				for _, tr := range step.Transitions {
					if tr.Severity == page && tr.State == firing && (tr.Window.For != tt.pageFor || tr.BurnRateLong <= tr.Window.BurnRate) {
						t.Errorf("page fired on %+v at %v/%v", tr.Window, tr.BurnRateLong, tr.BurnRateShort)
					}
				}
			}
		})
	}
}

// TestTicketWaitsOutsideThePageCondition: a ticket's timer runs only while
// no page condition holds, as the ticket rule's `unless` on the page's
// condition stops it in Prometheus, even while the page itself still
// waits and fires nothing. A slow burn (rate 4: the ticket's 1d/2h pair)
// with a short burst on top that raises the page's condition for a while
// (the page waits longer than that): the ticket fires a minute after its
// condition holds, and the burst, starting later, does not reset it; in a
// second run the burst comes first and the ticket's minute starts after
// the page's condition cleared.
func TestTicketWaitsOutsideThePageCondition(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	s.Alerting = alerting(0)
	s.Windows = waitingWindows(time.Hour, time.Minute)
	burstStart := t0.Add(3 * time.Hour)
	inBurst := between(burstStart, burstStart.Add(2*time.Minute))
	run := func(slowFrom time.Time) ([]ReplayStep, []transitionKey) {
		tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
		steps, err := RunReplay(tr, clock, Replay{
			Start: t0, End: t0.Add(5 * time.Hour), Tick: 10 * time.Second,
			Traffic: func(at time.Time) []ReplayEvent {
				switch {
				case inBurst(at):
					return []ReplayEvent{{SLOID: s.ID(), Bad: 250}}
				case at.After(slowFrom):
					return []ReplayEvent{{SLOID: s.ID(), Good: 249, Bad: 1}} // 0.4%: burn rate 4
				}
				return []ReplayEvent{{SLOID: s.ID(), Good: 250}}
			},
			EvaluateEvery: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		return steps, transitionKeys(steps)
	}
	pageHolds := func(st Status) bool {
		for _, w := range s.Windows {
			if w.Severity == page && rowHolds(w, 10, &st) {
				return true
			}
		}
		return false
	}
	ticketHolds := func(st Status) bool {
		for _, w := range s.Windows {
			if w.Severity == ticket && rowHolds(w, 10, &st) {
				return true
			}
		}
		return false
	}

	// The slow burn from the start: the ticket's condition holds before
	// the burst.
	steps, got := run(t0)
	var first time.Time
	for _, step := range steps {
		if ticketHolds(step.Statuses[0]) {
			first = step.At
			break
		}
	}
	if first.IsZero() || !first.Before(burstStart) {
		t.Fatalf("the ticket's condition first holds at %v, want before the burst at %v", first, burstStart)
	}
	if want := []transitionKey{{ticket, firing, first.Add(time.Minute)}}; !slices.Equal(got, want) {
		t.Errorf("slow burn first: transitions %v, want %v", got, want)
	}

	// The burst first, on clean traffic, and the slow burn from its end.
	steps, got = run(burstStart.Add(2 * time.Minute))
	var cleared, ticketFrom time.Time
	held := 0
	for _, step := range steps {
		st := step.Statuses[0]
		p, tk := pageHolds(st), ticketHolds(st)
		if p && tk {
			held++
		}
		if step.At.After(burstStart) && !p && cleared.IsZero() {
			cleared = step.At
		}
		if tk && ticketFrom.IsZero() {
			ticketFrom = step.At
		}
	}
	if held == 0 || cleared.IsZero() {
		t.Fatalf("the ticket's condition never held under the page's (%d steps), the page's cleared at %v", held, cleared)
	}
	start := cleared
	if ticketFrom.After(start) {
		start = ticketFrom
	}
	if want := []transitionKey{{ticket, firing, start.Add(time.Minute)}}; !slices.Equal(got, want) {
		t.Errorf("burst first: transitions %v, want %v (the page's condition cleared at +%v)", got, want, cleared.Sub(burstStart))
	}
}

// TestWaitingAlertStaysFiring: a firing alert whose rows wait stays
// firing while its condition holds without waiting again: after a restart
// from a snapshot (which holds no timers), and when the condition returns
// within ResolveHoldDown; a policy removed and added again waits anew.
func TestWaitingAlertStaysFiring(t *testing.T) {
	b := newBurst()
	s := b.slo
	s.Windows = waitingWindows(2*time.Minute, 0)

	// A restart 5 minutes into the burst: the page fired at 3m and stays.
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, b.start)
	restartAt := b.burstStart.Add(5 * time.Minute)
	steps, err := RunReplay(tr, clock, b.replay(b.start, restartAt))
	if err != nil {
		t.Fatal(err)
	}
	before := transitionKeys(steps)
	data, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, clock2 := newTestTracker(t, []slo.SLO{s}, Options{}, restartAt)
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	steps, err = RunReplay(restored, clock2, b.replay(restartAt, b.end))
	if err != nil {
		t.Fatal(err)
	}
	got := append(before, transitionKeys(steps)...)
	want := []transitionKey{
		{page, firing, b.burstStart.Add(3 * time.Minute)},
		{page, resolved, b.burstEnd.Add(30 * time.Minute)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("across a restart: transitions\n got %v\nwant %v", got, want)
	}

	// The page's rows alike again; a removed policy's timers go with it.
	tr, clock = newTestTracker(t, []slo.SLO{s}, Options{}, b.start)
	if _, err := RunReplay(tr, clock, b.replay(b.start, b.burstStart.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	noPage := s
	noPage.Alerting.Page = nil
	tr.Update([]slo.SLO{noPage})
	tr.Evaluate(clock.Now())
	tr.Update([]slo.SLO{s})
	clock.Set(b.burstStart.Add(3 * time.Minute))
	_, transitions := tr.Evaluate(clock.Now())
	for _, tr := range transitions {
		if tr.Severity == page && tr.State == firing {
			t.Errorf("the page added again fired at once, at +%v, without waiting its 2m", tr.At.Sub(b.burstStart))
		}
	}
}

// TestHoldDownKeepsAWaitingAlert: with ResolveHoldDown, a firing alert
// whose condition returns within the hold-down keeps firing, as
// keep_firing_for does, rather than waiting its for: again and resolving
// meanwhile.
func TestHoldDownKeepsAWaitingAlert(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	s.Alerting = slo.Alerting{Page: &slo.AlertPolicy{MinEvents: 1}}
	s.Windows = []slo.AlertWindow{{Severity: page, Long: 10 * time.Minute, Short: time.Minute, BurnRate: 10, For: 5 * time.Minute}}
	// All bad, except one clean minute (short window clear) at 12m.
	clean := between(t0.Add(11*time.Minute), t0.Add(12*time.Minute))
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{ResolveHoldDown: 3 * time.Minute}, t0)
	steps, err := RunReplay(tr, clock, Replay{
		Start: t0, End: t0.Add(30 * time.Minute), Tick: 10 * time.Second,
		Traffic: func(at time.Time) []ReplayEvent {
			if clean(at) {
				return []ReplayEvent{{SLOID: s.ID(), Good: 10}}
			}
			return []ReplayEvent{{SLOID: s.ID(), Bad: 10}}
		},
		EvaluateEvery: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := transitionKeys(steps)
	if len(got) != 1 || got[0].State != firing {
		t.Errorf("transitions %v, want the page firing once and staying", got)
	}
}
