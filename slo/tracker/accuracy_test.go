package tracker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// TestWindowsAgainstBruteForce replays 26 hours of random traffic and
// compares every window with counts summed from the raw event log. At
// whole-minute evaluation times, windows up to a day must be exact; at
// other times each window may be off by at most the events of one bucket
// of its ring, the bound the package doc states.
func TestWindowsAgainstBruteForce(t *testing.T) {
	const (
		tick    = 5 * time.Second
		maxGood = 20
		maxBad  = 4
	)
	s := testSLO("availability", 99, rolling30d())
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	rng := rand.New(rand.NewPCG(1, 2))
	type tickCounts struct {
		at        time.Time
		good, bad uint64
	}
	var log []tickCounts
	var evals []time.Time
	end := t0.Add(26 * time.Hour)
	for e := t0.Add(23 * time.Hour); e.Before(end); e = e.Add(7 * time.Minute) {
		evals = append(evals, e, e.Add(17*time.Second))
	}
	steps, err := RunReplay(tr, clock, Replay{
		Start: t0, End: end, Tick: tick,
		Traffic: func(at time.Time) []ReplayEvent {
			c := tickCounts{at: at, good: rng.Uint64N(maxGood + 1), bad: rng.Uint64N(maxBad + 1)}
			if rng.IntN(50) == 0 {
				c.bad += 100 // a spike, so that edge buckets are uneven
			}
			log = append(log, c)
			return []ReplayEvent{{SLOID: s.ID(), Good: c.good, Bad: c.bad}}
		},
		EvaluateAt: evals,
	})
	if err != nil {
		t.Fatal(err)
	}
	exact := func(from, to time.Time) (good, bad float64) {
		for _, c := range log {
			if c.at.After(from) && !c.at.After(to) {
				good += float64(c.good)
				bad += float64(c.bad)
			}
		}
		return good, bad
	}
	l := newLayout(s.Window)
	for _, step := range steps {
		st := step.Statuses[0]
		aligned := step.At.Truncate(time.Minute).Equal(step.At)
		for i, w := range st.Windows {
			good, bad := exact(step.At.Add(-w.Window), step.At)
			res := l.rings[l.burn[i].ring].res
			tol := 0.0
			if !aligned || w.Window > minuteReach {
				ticks := float64((res + tick - 1) / tick)
				tol = ticks * (maxGood + maxBad + 100)
			}
			if !approx(w.Good, good, tol+1e-9) || !approx(w.Bad, bad, tol+1e-9) {
				t.Errorf("at %v window %v: %v good %v bad, want %v %v (±%v)", step.At.Sub(t0), w.Window, w.Good, w.Bad, good, bad, tol)
			}
		}
		good, bad := exact(step.At.Add(-30*24*time.Hour), step.At)
		if st.Good != good || st.Bad != bad {
			t.Errorf("at %v budget window: %v good %v bad, want %v %v", step.At.Sub(t0), st.Good, st.Bad, good, bad)
		}
	}
	if len(steps) != len(evals) {
		t.Errorf("%d evaluations, want %d", len(steps), len(evals))
	}
}
