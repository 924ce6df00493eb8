package tracker

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// SimClock is a settable clock for Options.Clock, so that tests and
// replays move time by hand. It is safe for concurrent use.
type SimClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSimClock returns a clock that reads t until Set moves it.
func NewSimClock(t time.Time) *SimClock { return &SimClock{t: t} }

// Now returns the clock's time; pass it as Options.Clock.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// ReplayEvent is the traffic of one SLO series during one replay tick.
type ReplayEvent struct {
	SLOID     string
	Group     []string
	Good, Bad uint64
}

// Replay is a pattern of traffic over simulated time, and when to evaluate
// it. Traffic is generated tick by tick: the events of the tick (t-Tick, t]
// are recorded as ending at t, with the clock at t. Feeding the same
// function into Prometheus as counter samples makes both sides comparable.
type Replay struct {
	Start, End time.Time
	Tick       time.Duration
	// Traffic returns the events of the tick that ends at t.
	Traffic func(t time.Time) []ReplayEvent
	// EvaluateEvery evaluates at Start+k·EvaluateEvery up to End; zero
	// means no periodic evaluation.
	EvaluateEvery time.Duration
	// EvaluateAt adds evaluations at arbitrary times within [Start, End],
	// such as a Prometheus rule evaluation schedule.
	EvaluateAt []time.Time
}

// ReplayStep is the outcome of one evaluation of a replay.
type ReplayStep struct {
	At          time.Time
	Statuses    []Status
	Transitions []Transition
}

// RunReplay plays r into tr, whose Options.Clock must be clock.Now, and
// returns the evaluations in time order. An evaluation at time e sees
// every tick that ends at or before e. It stops at the first refused
// event: a replay's traffic is meant to be valid.
func RunReplay(tr *Tracker, clock *SimClock, r Replay) ([]ReplayStep, error) {
	if r.Tick <= 0 {
		return nil, fmt.Errorf("tracker: replay tick %v, want > 0", r.Tick)
	}
	evals := slices.Clone(r.EvaluateAt)
	if r.EvaluateEvery > 0 {
		for e := r.Start; !e.After(r.End); e = e.Add(r.EvaluateEvery) {
			evals = append(evals, e)
		}
	}
	slices.SortFunc(evals, func(a, b time.Time) int { return a.Compare(b) })
	evals = slices.CompactFunc(evals, func(a, b time.Time) bool { return a.Equal(b) })

	var steps []ReplayStep
	evaluateUntil := func(limit time.Time, inclusive bool) {
		for len(evals) > 0 && (evals[0].Before(limit) || (inclusive && evals[0].Equal(limit))) {
			clock.Set(evals[0])
			statuses, transitions := tr.Evaluate(evals[0])
			steps = append(steps, ReplayStep{At: evals[0], Statuses: statuses, Transitions: transitions})
			evals = evals[1:]
		}
	}
	for t := r.Start.Add(r.Tick); !t.After(r.End); t = t.Add(r.Tick) {
		evaluateUntil(t, false)
		clock.Set(t)
		for _, ev := range r.Traffic(t) {
			if err := tr.Record(ev.SLOID, ev.Group, t, ev.Good, ev.Bad); err != nil {
				return steps, fmt.Errorf("tracker: replay at %v: %s: %w", t, ev.SLOID, err)
			}
		}
		evaluateUntil(t, true)
	}
	evaluateUntil(r.End, true)
	return steps, nil
}
