package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// t0 is a Monday at midnight UTC, the start of a calendar week, a day
// and a bucket of every resolution.
var t0 = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

func testSLO(name string, objective float64, window slo.Window) slo.SLO {
	return slo.SLO{
		Name:      name,
		Service:   "checkout",
		Objective: objective,
		Window:    window,
		SLI:       slo.SLI{Spans: &slo.SpanSLI{Bad: slo.SpanBad{StatusError: true}}},
	}
}

func rolling30d() slo.Window { return slo.Window{Rolling: 30 * 24 * time.Hour} }

func alerting(minEvents int) slo.Alerting {
	return slo.Alerting{
		Page:   &slo.AlertPolicy{MinEvents: minEvents},
		Ticket: &slo.AlertPolicy{MinEvents: minEvents},
	}
}

// newTestTracker returns a tracker of the SLOs on a simulated clock at start.
func newTestTracker(t testing.TB, slos []slo.SLO, opts Options, start time.Time) (*Tracker, *SimClock) {
	t.Helper()
	clock := NewSimClock(start)
	opts.Clock = clock.Now
	return New(slos, opts), clock
}

// steady returns traffic of perTick events per tick for the SLO, bad
// while bad(t) says so.
func steady(sloID string, perTick uint64, bad func(t time.Time) bool) func(time.Time) []ReplayEvent {
	return func(t time.Time) []ReplayEvent {
		if bad != nil && bad(t) {
			return []ReplayEvent{{SLOID: sloID, Bad: perTick}}
		}
		return []ReplayEvent{{SLOID: sloID, Good: perTick}}
	}
}

// between says whether t lies in (from, to]: the ticks whose events end
// within a burst that starts at from and ends at to.
func between(from, to time.Time) func(time.Time) bool {
	return func(t time.Time) bool { return t.After(from) && !t.After(to) }
}

type transitionKey struct {
	Severity string
	State    string
	At       time.Time
}

func transitionKeys(steps []ReplayStep) []transitionKey {
	var out []transitionKey
	for _, s := range steps {
		for _, tr := range s.Transitions {
			out = append(out, transitionKey{tr.Severity, tr.State, tr.At})
		}
	}
	return out
}

// transitionStarts are the Since of every transition of steps, in order:
// when the alert that fired or resolved started firing.
func transitionStarts(steps []ReplayStep) []time.Time {
	var out []time.Time
	for _, s := range steps {
		for _, tr := range s.Transitions {
			out = append(out, tr.Since)
		}
	}
	return out
}

// equalTimes reports whether a and b hold the same instants.
func equalTimes(a, b []time.Time) bool {
	return slices.EqualFunc(a, b, time.Time.Equal)
}

func approx(a, b, tol float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= tol
}
