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
//   - the ticket's condition holds from 5m into the burst but the page
//     inhibits it; it fires when the page resolves, as its 2h window still
//     holds the burst, and resolves when the 6h window of its 3d/6h pair
//     (burn 1: 21.6s of burst) empties, 6h after the burst.
func TestBurstFiresAndResolves(t *testing.T) {
	b := newBurst()
	tests := []struct {
		holdDown time.Duration
		want     []transitionKey
	}{
		{
			holdDown: 0,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute), false},
				{page, resolved, b.burstEnd.Add(30 * time.Minute), false},
				{ticket, firing, b.burstEnd.Add(30 * time.Minute), false},
				{ticket, resolved, b.burstEnd.Add(6 * time.Hour), false},
			},
		},
		{
			holdDown: 2 * time.Minute,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute), false},
				{page, resolved, b.burstEnd.Add(32 * time.Minute), false},
				{ticket, firing, b.burstEnd.Add(32 * time.Minute), false},
				{ticket, resolved, b.burstEnd.Add(6*time.Hour + 2*time.Minute), false},
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
			// but the page inhibits it.
			mid := stepAt(t, steps, b.burstStart.Add(5*time.Minute))
			pageStatus, _ := mid.Statuses[0].Alert(page)
			ticketStatus, _ := mid.Statuses[0].Alert(ticket)
			if !pageStatus.Firing || ticketStatus.Firing || !ticketStatus.Inhibited {
				t.Errorf("mid-burst page %+v ticket %+v, want page firing and ticket inhibited", pageStatus, ticketStatus)
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
			want = []transitionKey{{page, firing, t0.Add(tt.firesAt), false}}
		}
		if got := transitionKeys(steps); !slices.Equal(got, want) {
			t.Errorf("MinEvents %d: transitions %v, want %v", tt.minEvents, got, want)
		}
	}
}

// TestPageInhibitsFiringTicket starts with a slow burn (rate 4) that
// raises a ticket, then adds a burst: the page fires and the ticket is
// resolved as inhibited in the same evaluation; when the page resolves,
// the still-burning ticket fires again.
func TestPageInhibitsFiringTicket(t *testing.T) {
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
	if len(got) != 5 {
		t.Fatalf("transitions %v, want 5", got)
	}
	shape := []struct {
		severity, state string
		inhibited       bool
	}{
		{ticket, firing, false},
		{page, firing, false},
		{ticket, resolved, true},
		{page, resolved, false},
		{ticket, firing, false},
	}
	for i, want := range shape {
		if got[i].Severity != want.severity || got[i].State != want.state || got[i].Inhibited != want.inhibited {
			t.Errorf("transition %d = %+v, want %+v", i, got[i], want)
		}
	}
	if !got[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("ticket fired at %v, want at the first evaluation with events", got[0].At)
	}
	if !got[1].At.Equal(got[2].At) || !got[1].At.After(burstStart) || got[1].At.After(burstStart.Add(2*time.Minute)) {
		t.Errorf("page fired at %v, ticket inhibited at %v; want together, within 2m of the burst at %v", got[1].At, got[2].At, burstStart)
	}
	if !got[3].At.Equal(got[4].At) {
		t.Errorf("page resolved at %v, ticket fired again at %v; want together", got[3].At, got[4].At)
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
				{page, firing, b.burstStart.Add(time.Minute), false},
				{page, resolved, b.burstEnd.Add(30 * time.Minute), false},
				{page, firing, second.Add(30 * time.Second), false},
				{page, resolved, secondEnd.Add(30 * time.Minute), false},
			},
		},
		{
			holdDown: 5 * time.Minute,
			want: []transitionKey{
				{page, firing, b.burstStart.Add(time.Minute), false},
				{page, resolved, secondEnd.Add(35 * time.Minute), false},
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
