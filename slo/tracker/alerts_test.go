package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

const (
	page     = conventions.SeverityPage
	ticket   = conventions.SeverityTicket
	firing   = conventions.StateFiring
	resolved = conventions.StateResolved
)

// burst is the replay scenario of the brief: a 99.9% SLO at 50 events/s
// (500 per 10s tick) with a 10-minute burst of 100% errors after three
// days of clean traffic, so that every alert window is full, evaluated
// every 30s.
type burst struct {
	slo                    slo.SLO
	start, burstStart, end time.Time
	burstEnd               time.Time
}

func newBurst() burst {
	s := testSLO("availability", 99.9, rolling30d())
	s.Alerting = alerting(0)
	b := burst{slo: s, start: t0, burstStart: t0.Add(72 * time.Hour)}
	b.burstEnd = b.burstStart.Add(10 * time.Minute)
	b.end = b.burstEnd.Add(7 * time.Hour)
	return b
}

// replay plays the scenario from from to to. Evaluations run every 30s
// from half an hour before the burst: clean traffic before it fires
// nothing, and skipping three days of evaluations keeps -race runs short.
func (b burst) replay(from, to time.Time) Replay {
	var evals []time.Time
	for e := b.burstStart.Add(-30 * time.Minute); !e.After(to); e = e.Add(30 * time.Second) {
		if !e.Before(from) {
			evals = append(evals, e)
		}
	}
	return Replay{
		Start: from, End: to, Tick: 10 * time.Second,
		Traffic:    steady(b.slo.ID(), 500, between(b.burstStart, b.burstEnd)),
		EvaluateAt: evals,
	}
}

// TestBurstFiresAndResolves replays the burst and checks each transition
// against the hand computation:
//   - the page fires 60s in: the 1h burn rate is x/3.6 after x seconds of
//     burst and passes 14.4 at x = 51.84s, so at the second 30s step;
//   - it resolves 30m after the burst: the 1h/5m pair clears after 5m, but
//     the 6h/30m pair holds until the 30m window no longer holds 10.8s of
//     burst (burn 6), i.e. at the first step where it holds none;
//   - the ticket's condition holds from 5m into the burst, while the page
//     fires, and still holds when the page resolves (its 2h window holds
//     the burst) until the 6h window of its 3d/6h pair (burn 1: 21.6s of
//     burst) empties, 6h after the burst; all of it comes from the paged
//     burst, so the ticket never fires: one problem, one incident.
func TestBurstFiresAndResolves(t *testing.T) {
	b := newBurst()
	tests := []struct {
		holdDown time.Duration
		want     []transitionKey
	}{
		{
			holdDown: 0,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute)},
				{page, resolved, b.burstEnd.Add(30 * time.Minute)},
			},
		},
		{
			holdDown: 2 * time.Minute,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute)},
				{page, resolved, b.burstEnd.Add(32 * time.Minute)},
			},
		},
	}
	for _, tt := range tests {
		t.Run("hold-down "+tt.holdDown.String(), func(t *testing.T) {
			tr, clock := newTestTracker(t, []slo.SLO{b.slo}, Options{ResolveHoldDown: tt.holdDown}, b.start)
			steps, err := RunReplay(tr, clock, b.replay(b.start, b.end))
			if err != nil {
				t.Fatal(err)
			}
			if got := transitionKeys(steps); !slices.Equal(got, tt.want) {
				t.Errorf("transitions\n got %v\nwant %v", got, tt.want)
			}
			// Both say when the page started firing: the resolve ends
			// the firing that started then.
			fired := b.burstStart.Add(time.Minute)
			if got := transitionStarts(steps); !equalTimes(got, []time.Time{fired, fired}) {
				t.Errorf("the transitions' starts are %v, want the firing's %v for both", got, fired)
			}
			for _, step := range steps {
				for _, tr := range step.Transitions {
					switch {
					case tr.Severity == page && tr.State == firing:
						if tr.Window.Long != time.Hour || tr.Window.Short != 5*time.Minute || tr.BurnRateLong <= 14.4 || tr.BurnRateShort <= 14.4 {
							t.Errorf("page fired on %+v at %v/%v", tr.Window, tr.BurnRateLong, tr.BurnRateShort)
						}
					case tr.Severity == page && tr.State == resolved:
						// The 6h/30m pair held last; its short window is clear.
						if tr.Window.Long != 6*time.Hour || tr.Window.Short != 30*time.Minute || tr.BurnRateShort != 0 {
							t.Errorf("page resolved on %+v at %v/%v", tr.Window, tr.BurnRateLong, tr.BurnRateShort)
						}
					}
				}
			}
			// Five minutes into the burst the ticket's condition holds,
			// but the page inhibits it; after the page resolved it still
			// holds, held back as the paged burst's; once it cleared, the
			// hold is gone.
			for _, c := range []struct {
				at                    time.Time
				inhibited, pagedBurst bool
			}{
				{b.burstStart.Add(5 * time.Minute), true, false},
				{b.burstEnd.Add(time.Hour), false, true},
				{b.burstEnd.Add(6*time.Hour + 30*time.Minute), false, false},
			} {
				st := stepAt(t, steps, c.at).Statuses[0]
				a, _ := st.Alert(ticket)
				if a.Firing || a.Inhibited != c.inhibited || a.PagedBurst != c.pagedBurst {
					t.Errorf("ticket at %v: %+v, want not firing, inhibited %v, paged burst %v", c.at.Sub(b.burstStart), a, c.inhibited, c.pagedBurst)
				}
			}
		})
	}
}

func stepAt(t *testing.T, steps []ReplayStep, at time.Time) ReplayStep {
	t.Helper()
	for _, s := range steps {
		if s.At.Equal(at) {
			return s
		}
	}
	t.Fatalf("no evaluation at %v", at)
	return ReplayStep{}
}

// TestMinEventsGuard replays a quiet hour where every event fails, one a
// minute: the page fires once the long window holds MinEvents events, or
// never when MinEvents is out of reach.
func TestMinEventsGuard(t *testing.T) {
	tests := []struct {
		minEvents int
		firesAt   time.Duration // zero: never
	}{
		{minEvents: 0, firesAt: 10 * time.Minute}, // DefaultMinEvents
		{minEvents: 1, firesAt: time.Minute},
		{minEvents: 25, firesAt: 25 * time.Minute},
		{minEvents: 61},
	}
	for _, tt := range tests {
		s := testSLO("availability", 99.9, rolling30d())
		s.Alerting = slo.Alerting{Page: &slo.AlertPolicy{MinEvents: tt.minEvents}}
		tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
		steps, err := RunReplay(tr, clock, Replay{
			Start: t0, End: t0.Add(time.Hour), Tick: time.Minute,
			Traffic:       steady(s.ID(), 1, func(time.Time) bool { return true }),
			EvaluateEvery: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []transitionKey
		if tt.firesAt > 0 {
			want = []transitionKey{{page, firing, t0.Add(tt.firesAt)}}
		}
		if got := transitionKeys(steps); !slices.Equal(got, want) {
			t.Errorf("MinEvents %d: transitions %v, want %v", tt.minEvents, got, want)
		}
	}
}

// TestPageKeepsFiringTicket starts with a slow burn (rate 4) that raises
// a ticket, then adds a burst: the page fires, and the ticket, already an
// open incident, keeps firing through the page and after it, as the slow
// burn goes on; it is neither resolved nor fired again.
func TestPageKeepsFiringTicket(t *testing.T) {
	s := testSLO("availability", 99.9, rolling30d())
	s.Alerting = alerting(0)
	burstStart := t0.Add(3 * time.Hour)
	inBurst := between(burstStart, burstStart.Add(5*time.Minute))
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	steps, err := RunReplay(tr, clock, Replay{
		Start: t0, End: t0.Add(5 * time.Hour), Tick: 10 * time.Second,
		Traffic: func(at time.Time) []ReplayEvent {
			if inBurst(at) {
				return []ReplayEvent{{SLOID: s.ID(), Bad: 250}}
			}
			return []ReplayEvent{{SLOID: s.ID(), Good: 249, Bad: 1}} // 0.4%: burn rate 4
		},
		EvaluateEvery: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := transitionKeys(steps)
	shape := []struct{ severity, state string }{{ticket, firing}, {page, firing}, {page, resolved}}
	if len(got) != len(shape) {
		t.Fatalf("transitions %v, want %v", got, shape)
	}
	for i, want := range shape {
		if got[i].Severity != want.severity || got[i].State != want.state {
			t.Errorf("transition %d = %+v, want %+v", i, got[i], want)
		}
	}
	if !got[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("ticket fired at %v, want at the first evaluation with events", got[0].At)
	}
	if !got[1].At.After(burstStart) || got[1].At.After(burstStart.Add(2*time.Minute)) {
		t.Errorf("page fired at %v, want within 2m of the burst at %v", got[1].At, burstStart)
	}
	mid := stepAt(t, steps, burstStart.Add(3*time.Minute)).Statuses[0]
	if a, _ := mid.Alert(ticket); !a.Firing || a.Inhibited || a.PagedBurst || !a.Since.Equal(got[0].At) {
		t.Errorf("ticket while the page fires: %+v, want still firing since %v", a, got[0].At)
	}
}

// TestNewSlowBurnAfterPagedBurst follows the burst, once the ticket's
// condition has cleared, with a slow burn (rate 4) of its own: a new
// problem, which opens a ticket though the same series paged hours ago.
// A slow burn that starts while the burst's ticket condition still holds
// stays with the paged burst.
func TestNewSlowBurnAfterPagedBurst(t *testing.T) {
	b := newBurst()
	tests := []struct {
		name      string
		slowStart time.Time
		wantFires bool
	}{
		{"after the burst's ticket condition cleared", b.burstEnd.Add(7 * time.Hour), true},
		{"while the burst's ticket condition holds", b.burstEnd.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := tt.slowStart.Add(2 * time.Hour)
			r := b.replay(b.start, end)
			burst := between(b.burstStart, b.burstEnd)
			r.Traffic = func(at time.Time) []ReplayEvent {
				switch {
				case burst(at):
					return []ReplayEvent{{SLOID: b.slo.ID(), Bad: 500}}
				case at.After(tt.slowStart):
					return []ReplayEvent{{SLOID: b.slo.ID(), Good: 498, Bad: 2}} // 0.4%: burn rate 4
				}
				return []ReplayEvent{{SLOID: b.slo.ID(), Good: 500}}
			}
			tr, clock := newTestTracker(t, []slo.SLO{b.slo}, Options{}, b.start)
			steps, err := RunReplay(tr, clock, r)
			if err != nil {
				t.Fatal(err)
			}
			var tickets []transitionKey
			for _, k := range transitionKeys(steps) {
				if k.Severity == ticket {
					tickets = append(tickets, k)
				}
			}
			switch {
			case tt.wantFires && (len(tickets) != 1 || tickets[0].State != firing || !tickets[0].At.After(tt.slowStart)):
				t.Errorf("ticket transitions %v, want one firing after the slow burn began at %v", tickets, tt.slowStart)
			case !tt.wantFires && len(tickets) != 0:
				t.Errorf("ticket transitions %v, want none", tickets)
			}
		})
	}
}

// TestHoldDownAbsorbsRefiring follows the burst with a second, 2-minute
// burst that starts a minute after the page resolved. Without hold-down
// the page resolves and fires again (the 1h window still holds the first
// burst, the 5m window fills within 30s); a 5-minute hold-down keeps it
// firing through the gap, and it resolves once, when the second burst has
// left the 30m window and the hold-down has passed.
func TestHoldDownAbsorbsRefiring(t *testing.T) {
	b := newBurst()
	second, secondEnd := b.burstEnd.Add(31*time.Minute), b.burstEnd.Add(33*time.Minute)
	first := between(b.burstStart, b.burstEnd)
	inSecond := between(second, secondEnd)
	tests := []struct {
		holdDown time.Duration
		want     []transitionKey
	}{
		{
			holdDown: 0,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute)},
				{page, resolved, b.burstEnd.Add(30 * time.Minute)},
				{page, firing, second.Add(30 * time.Second)},
				{page, resolved, secondEnd.Add(30 * time.Minute)},
			},
		},
		{
			holdDown: 5 * time.Minute,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute)},
				{page, resolved, secondEnd.Add(35 * time.Minute)},
			},
		},
	}
	for _, tt := range tests {
		t.Run("hold-down "+tt.holdDown.String(), func(t *testing.T) {
			r := b.replay(b.start, secondEnd.Add(time.Hour))
			r.Traffic = steady(b.slo.ID(), 500, func(at time.Time) bool { return first(at) || inSecond(at) })
			tr, clock := newTestTracker(t, []slo.SLO{b.slo}, Options{ResolveHoldDown: tt.holdDown}, b.start)
			steps, err := RunReplay(tr, clock, r)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.DeleteFunc(transitionKeys(steps), func(k transitionKey) bool { return k.Severity != page })
			if !slices.Equal(got, tt.want) {
				t.Errorf("page transitions\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}
