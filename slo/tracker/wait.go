package tracker

import (
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// Waiting before an alert fires (slo.AlertWindow.For), as the Prometheus
// rules of package slo/rules do with `for:`, so an SLO whose table waits
// (Pyrra's does, row by row; OpenSLO's alertAfter) pages when its rules
// would, not on the first evaluation a short burst holds:
//
//   - rows of a severity that wait alike are one rule there, whose
//     condition (any row holds) must hold at every evaluation for the
//     wait; rows that wait differently are a rule each, with a timer
//     each, and the alert fires when any row's timer has run out;
//   - a ticket's timers run only while no page condition holds, as the
//     ticket rule's `unless` on the page's condition stops it, unless the
//     ticket already fires (one problem, one incident: it resolves
//     through its own condition);
//   - a firing alert keeps firing while its rule's condition holds (any
//     row where the rows wait alike; the row that fired it where each
//     has its own rule), without waiting again: also when it was
//     restored from a snapshot, and when the condition returns within
//     ResolveHoldDown, as keep_firing_for does; its resolution follows
//     as before.
//
// Timers start at the first evaluation a condition holds and reset at
// the first where it does not, as Prometheus's pending state does; they
// are not in Snapshot, so after a restart an alert not yet firing waits
// its whole wait again (a firing one stays firing). A policy removed by
// a reload and added again waits anew.

// waitPlan is how the rows of one severity wait.
type waitPlan struct {
	// rows are the indices in sloState.windows of the severity's rows.
	rows []int
	// waits: some row has a For; without, the alert fires at once.
	waits bool
	// split: the rows wait differently, each with its own timer.
	split bool
}

// planWaits returns the wait plan of each severity of windows.
func planWaits(windows []slo.AlertWindow) [len(severities)]waitPlan {
	var plans [len(severities)]waitPlan
	for i, severity := range severities {
		p := &plans[i]
		for j, w := range windows {
			if w.Severity != severity {
				continue
			}
			p.rows = append(p.rows, j)
			p.waits = p.waits || w.For > 0
			p.split = p.split || w.For != windows[p.rows[0]].For
		}
	}
	return plans
}

// timers returns the alert's timers for plan, one per row when split,
// one otherwise; allocated at first use, so an SLO without waits keeps
// none.
func (a *alertState) timers(plan *waitPlan) []time.Time {
	n := 1
	if plan.split {
		n = len(plan.rows)
	}
	if len(a.pending) != n {
		a.pending = make([]time.Time, n)
	}
	return a.pending
}

// keeping returns the row that keeps a firing alert firing, which fired
// from the row fired (-1 if none holds): the first row that holds where
// the rows wait alike (one rule), fired itself otherwise (a rule each).
func (p *waitPlan) keeping(windows []slo.AlertWindow, holds []bool, fired slo.AlertWindow) int {
	for _, r := range p.rows {
		if holds[r] && (!p.split || windows[r] == fired) {
			return r
		}
	}
	return -1
}

// waited applies the plan to the rows that hold now (holds, indexed like
// st.windows): it runs the timers and returns the first row whose timer
// ran out and which holds (-1 if none). running says whether the timers
// run at this evaluation (a ticket's stop while a page condition holds).
func (a *alertState) waited(plan *waitPlan, windows []slo.AlertWindow, holds []bool, running bool, now time.Time) int {
	timers := a.timers(plan)
	if !plan.split {
		first := -1
		for _, r := range plan.rows {
			if holds[r] {
				first = r
				break
			}
		}
		if first < 0 || !running {
			timers[0] = time.Time{}
			return -1
		}
		if timers[0].IsZero() {
			timers[0] = now
		}
		if now.Sub(timers[0]) >= windows[first].For {
			return first
		}
		return -1
	}
	fired := -1
	for k, r := range plan.rows {
		if !holds[r] || !running {
			timers[k] = time.Time{}
			continue
		}
		if timers[k].IsZero() {
			timers[k] = now
		}
		if fired < 0 && now.Sub(timers[k]) >= windows[r].For {
			fired = r
		}
	}
	return fired
}
