package tracker

import (
	"time"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// WindowStatus is the state of one burn-rate window of a series.
type WindowStatus struct {
	Window time.Duration
	// Good and Bad are the events that ended within the window. They are
	// fractional because the bucket straddling the window's start counts
	// in proportion to its overlap.
	Good, Bad float64
	// BurnRate is the bad ratio over the window divided by the error
	// budget ratio: 1 spends the budget exactly over the SLO period. It is
	// 0 when the window holds no event.
	BurnRate float64
}

// AlertStatus is the state of one severity's alert of a series.
type AlertStatus struct {
	Severity string
	// Firing is the reported state: the condition holds (or held less
	// than ResolveHoldDown ago) and, for a ticket that was not already
	// firing, the page neither fires nor fired for the burst the
	// ticket's condition comes from (see the package doc, "One problem,
	// one incident").
	Firing bool
	// Inhibited is set on a ticket whose condition holds but which does
	// not fire because the page of the same series fires, or because the
	// page's condition holds while the page waits to fire (its rows'
	// For).
	Inhibited bool
	// PagedBurst is set on a ticket whose condition holds, after the page
	// of the same series resolved, but comes from the burst that page
	// fired for: the ticket stays quiet until its condition clears once.
	PagedBurst bool
	// Since is when the alert started firing; zero when not firing.
	Since time.Time
	// Window is the first window pair that held at the last evaluation
	// where one did (the pair that fired the alert, or a slower one that
	// keeps it firing), with its burn rates now; zero when not firing.
	Window                      slo.AlertWindow
	BurnRateLong, BurnRateShort float64
}

// Status is the state of one SLO series at an evaluation.
type Status struct {
	SLOID string
	// SLO is the tracker's definition of the SLO. It is shared: read it,
	// don't modify it.
	SLO *slo.SLO
	// Group holds the series' GroupBy values, nil for an SLO without GroupBy.
	Group []string
	// Windows holds the burn-rate windows of slo.BurnRateWindows, shortest
	// first.
	Windows []WindowStatus
	// BudgetStart is the start of the error-budget window: now minus the
	// period for a rolling window, the start of the week or month for a
	// calendar one.
	BudgetStart time.Time
	// Good and Bad are the events of the error-budget window.
	Good, Bad float64
	// ErrorBudgetRemaining is 1 - (bad ratio / error budget ratio) over
	// the error-budget window: 1 untouched, 0 spent, negative overspent.
	// It is computed over the events the window holds, as Sloth's and
	// Pyrra's rules compute it over the samples Prometheus holds: a series
	// two minutes old has its budget judged on those two minutes (see
	// DataSince).
	ErrorBudgetRemaining float64
	// DataSince is when the oldest event of the error-budget window ended,
	// to the resolution of the finest ring that holds every one of them
	// (the start of its bucket, not before BudgetStart): the figures above
	// come from the events since then only, which alerts and the console
	// say while they cover little of the period (slo.DataSeen). Zero when
	// the window holds no event.
	DataSince time.Time
	// TotalGood and TotalBad count every event the series accepted since
	// it was created (or restored), for a monotonic counter.
	TotalGood, TotalBad uint64
	// Alerts holds one entry per severity the SLO alerts on, page first.
	Alerts []AlertStatus
}

// BurnRate returns the burn rate over window, and false when the series
// has no such window.
func (s *Status) BurnRate(window time.Duration) (float64, bool) {
	for _, w := range s.Windows {
		if w.Window == window {
			return w.BurnRate, true
		}
	}
	return 0, false
}

// Alert returns the state of the severity's alert, and false when the SLO
// does not alert at that severity.
func (s *Status) Alert(severity string) (AlertStatus, bool) {
	for _, a := range s.Alerts {
		if a.Severity == severity {
			return a, true
		}
	}
	return AlertStatus{}, false
}

// Transition is an alert that changed state at an evaluation.
type Transition struct {
	SLOID string
	// SLO is the definition the alert belongs to (shared, read only).
	SLO      *slo.SLO
	Group    []string
	Severity string
	// State is conventions.StateFiring or conventions.StateResolved.
	State string
	At    time.Time
	// Since is when the alert started firing: At for a firing alert; for
	// a resolution, the start of the firing it ends (AlertStatus.Since
	// until then, restored with it from a Snapshot or a Merge; zero only
	// if the snapshot held none).
	Since time.Time
	// Window is the pair that holds, with its burn rates at this
	// evaluation: for a firing alert the first pair that holds, in the
	// table's order; for a resolution the last pair that held, now below
	// its threshold or below MinEvents.
	Window                      slo.AlertWindow
	BurnRateLong, BurnRateShort float64
	ErrorBudgetRemaining        float64
	// DataSince is Status.DataSince of the series at this evaluation.
	DataSince time.Time
}

// Evaluate computes the state of every series at now and returns it, with
// the alerts that changed state since the previous Evaluate. Statuses come
// in SLO definition order, then by group values. now should not go
// backwards from one call to the next.
func (t *Tracker) Evaluate(now time.Time) ([]Status, []Transition) {
	t.pendingMu.Lock()
	transitions := t.pending
	t.pending = nil
	t.pendingMu.Unlock()

	t.mu.RLock()
	defer t.mu.RUnlock()
	var statuses []Status
	for _, st := range t.order {
		st.mu.Lock()
		for i := 0; i < len(st.keys); {
			key := st.keys[i]
			s := st.series[key]
			if t.idle(st, s, now) {
				st.remove(key) // shifts the next key to i
				continue
			}
			statuses = append(statuses, t.evaluateSeries(st, s, now, &transitions))
			i++
		}
		st.mu.Unlock()
	}
	return statuses, transitions
}

// idle reports whether a GroupBy series has had no event in its whole
// budget window and fires no alert: it is dropped, freeing its place
// under MaxGroups. An SLO's single series is never idle, so that its
// untouched budget is still reported.
func (t *Tracker) idle(st *sloState, s *series, now time.Time) bool {
	if len(st.def.GroupBy) == 0 {
		return false
	}
	for _, a := range s.alerts {
		if a.firing {
			return false
		}
	}
	if s.rings == nil {
		return true
	}
	r := &s.rings[st.layout.budget]
	return r.head <= bucketIndex(now.UnixNano(), r.res)-int64(r.n)
}

func (t *Tracker) evaluateSeries(st *sloState, s *series, now time.Time, transitions *[]Transition) Status {
	def := &st.def
	to := now.UnixNano()
	budgetRatio := st.budget
	status := Status{
		SLOID:     def.ID(),
		SLO:       def,
		Group:     s.group,
		Windows:   make([]WindowStatus, len(st.layout.burn)),
		TotalGood: s.totalGood,
		TotalBad:  s.totalBad,
	}
	for i, w := range st.layout.burn {
		good, bad := s.sum(w.ring, to-int64(w.window), to)
		status.Windows[i] = WindowStatus{Window: w.window, Good: good, Bad: bad, BurnRate: burnRate(good, bad, budgetRatio)}
	}
	status.BudgetStart = def.Window.Start(now)
	status.Good, status.Bad = s.sum(st.layout.budget, status.BudgetStart.UnixNano(), to)
	status.ErrorBudgetRemaining = 1 - burnRate(status.Good, status.Bad, budgetRatio)
	// The transitions of this series are those appended from here on.
	firstTransition := len(*transitions)

	pageHolds := false // the page's condition, which stops the ticket's timers
	for i, severity := range severities {
		policy := policyOf(def.Alerting, i)
		a := &s.alerts[i]
		if policy == nil {
			// The policy was removed by Update: resolve what still fires.
			if a.firing {
				*transitions = append(*transitions, resolvedTransition(st, s, i, now, &status))
			}
			// A policy added again waits anew, as a new rule does.
			a.pending = nil
			continue
		}
		w, long, short, holds := condition(st.windows, severity, policy, &status)
		if i == pageIdx {
			pageHolds = holds
		}
		// A ticket not firing waits while the page's condition holds,
		// even before the page fires (it may wait, see wait.go), as the
		// ticket rule's `unless` on the page's condition does.
		blocked := i == ticketIdx && pageHolds && !a.firing
		fires := holds && !blocked
		if plan := &st.waits[i]; plan.waits {
			rows := rowsHolding(st.windows, policy, &status)
			r := a.waited(plan, st.windows, rows, !blocked, now)
			if r < 0 && a.firing {
				// A firing alert stays while its rule's condition holds,
				// without waiting again (also when restored from a
				// snapshot, which holds no timers, or back within its
				// hold-down).
				r = plan.keeping(st.windows, rows, a.window)
			}
			fires = r >= 0
			if fires {
				w = st.windows[r]
				long, short = windowOf(&status, w.Long).BurnRate, windowOf(&status, w.Short).BurnRate
			}
		}
		var heldByPage bool // the ticket's condition holds but the page covers it
		if i == ticketIdx {
			heldByPage = holdTicket(s, def.Alerting.Page != nil, holds)
		}
		switch {
		case heldByPage:
			// Not firing (holdTicket never holds a firing ticket): the
			// page covers this burst.
		case fires:
			a.clearSince = time.Time{}
			if a.firing {
				a.window = w
			} else {
				a.firing, a.since, a.window = true, now, w
				*transitions = append(*transitions, Transition{
					SLOID: status.SLOID, SLO: def, Group: s.group, Severity: severity,
					State: conventions.StateFiring, At: now, Since: now, Window: w,
					BurnRateLong: long, BurnRateShort: short,
					ErrorBudgetRemaining: status.ErrorBudgetRemaining,
				})
			}
		case a.firing:
			if a.clearSince.IsZero() {
				a.clearSince = now
			}
			if now.Sub(a.clearSince) >= t.opts.ResolveHoldDown {
				*transitions = append(*transitions, resolvedTransition(st, s, i, now, &status))
			}
		}
		as := AlertStatus{Severity: severity, Firing: a.firing}
		switch {
		case heldByPage:
			as.Inhibited = s.alerts[pageIdx].firing
			as.PagedBurst = !as.Inhibited
		case blocked && holds:
			as.Inhibited = true
		}
		if a.firing {
			as.Since, as.Window = a.since, a.window
			as.BurnRateLong, _ = status.BurnRate(a.window.Long)
			as.BurnRateShort, _ = status.BurnRate(a.window.Short)
		}
		status.Alerts = append(status.Alerts, as)
	}
	status.DataSince = s.dataSince(st.layout, status.Windows, status.Good+status.Bad, status.BudgetStart.UnixNano(), to)
	for i := firstTransition; i < len(*transitions); i++ {
		(*transitions)[i].DataSince = status.DataSince
	}
	return status
}

// dataSince is Status.DataSince: when the oldest event of the
// error-budget window (from, to] ended. events is the budget window's
// count and windows the burn-rate windows' status at to.
// The shortest burn-rate window holding as many events holds them all (a
// window's sum falls short when events are older, or in its oldest,
// prorated bucket), so its ring is scanned from that window's start; when
// none does, the budget ring from the budget window's start. It runs for
// every series at every evaluation, as the console shows every budget: the
// scan skips empty buckets a lane word at a time (ring.firstEvents), and
// a series with traffic all along stops at its first bucket.
func (s *series) dataSince(l *layout, windows []WindowStatus, events float64, from, to int64) time.Time {
	if s.rings == nil || events <= 0 {
		return time.Time{}
	}
	ringIdx, start := l.budget, from
	for i, w := range l.burn {
		if i < len(windows) && windows[i].Good+windows[i].Bad >= events {
			ringIdx, start = w.ring, to-int64(w.window)
			break
		}
	}
	r := &s.rings[ringIdx]
	if k, ok := r.firstEvents(bucketIndex(start, r.res), r.head); ok {
		return time.Unix(0, max(k*r.res, from)).UTC()
	}
	return time.Time{}
}

// holdTicket applies "one problem, one incident" (see the package doc) to
// the ticket of s, after the page of this evaluation is decided: it
// reports whether the ticket, whose condition is holds, must stay quiet
// because the page covers its burst. hasPage says whether the SLO still
// pages.
//
// A ticket not firing when the page fires is held while the page fires
// and afterwards, until its own condition has been false at an evaluation
// where no page fires: only then is its burst over, and a later slow burn
// is a new problem that opens a ticket. A ticket already firing when the
// page starts is never held: it is the incident someone is working on,
// and resolving it while the problem grows would tell them it is over; it
// resolves through its own condition, and routing's inhibit rule
// (alerts/alertmanager.example.yml) mutes its notifications while the
// page fires.
func holdTicket(s *series, hasPage, holds bool) bool {
	pageFiring := s.alerts[pageIdx].firing
	switch {
	case !hasPage:
		// No page (its policy was removed): nothing else tells of the
		// problem.
		s.pagedBurst = false
	case s.alerts[ticketIdx].firing:
		// Already open; see above.
	case pageFiring:
		s.pagedBurst = true
	case !holds:
		s.pagedBurst = false
	}
	return holds && s.pagedBurst && !s.alerts[ticketIdx].firing
}

// condition reports whether any window pair of the severity holds: the
// burn rate exceeds the pair's threshold over both windows and the long
// window holds at least MinEvents events. It returns the first pair that
// holds, in the table's order (fastest first).
func condition(windows []slo.AlertWindow, severity string, policy *slo.AlertPolicy, status *Status) (slo.AlertWindow, float64, float64, bool) {
	minEvents := minEventsOf(policy)
	for _, w := range windows {
		if w.Severity != severity {
			continue
		}
		if rowHolds(w, minEvents, status) {
			return w, windowOf(status, w.Long).BurnRate, windowOf(status, w.Short).BurnRate, true
		}
	}
	return slo.AlertWindow{}, 0, 0, false
}

// minEventsOf is the events the long window of policy's rows must hold.
func minEventsOf(policy *slo.AlertPolicy) int {
	if policy.MinEvents > 0 {
		return policy.MinEvents
	}
	return slo.DefaultMinEvents
}

// rowHolds reports whether the burn rate meets w's threshold (above it,
// or at it too when Inclusive) over both its windows, the long one
// holding at least minEvents events.
func rowHolds(w slo.AlertWindow, minEvents int, status *Status) bool {
	long, short := windowOf(status, w.Long), windowOf(status, w.Short)
	return w.Holds(long.BurnRate) && w.Holds(short.BurnRate) && long.Good+long.Bad >= float64(minEvents)
}

// rowsHolding reports, for each row of windows, whether it holds under
// policy (the rows of the policy's severity matter).
func rowsHolding(windows []slo.AlertWindow, policy *slo.AlertPolicy, status *Status) []bool {
	minEvents := minEventsOf(policy)
	holds := make([]bool, len(windows))
	for i, w := range windows {
		holds[i] = rowHolds(w, minEvents, status)
	}
	return holds
}

func windowOf(status *Status, d time.Duration) WindowStatus {
	for _, w := range status.Windows {
		if w.Window == d {
			return w
		}
	}
	return WindowStatus{Window: d}
}

// resolvedTransition clears the severity's alert of s and describes its
// resolution. status, when given, supplies the current burn rates.
func resolvedTransition(st *sloState, s *series, idx int, now time.Time, status *Status) Transition {
	a := &s.alerts[idx]
	tr := Transition{
		SLOID: st.def.ID(), SLO: &st.def, Group: s.group, Severity: severities[idx],
		State: conventions.StateResolved, At: now, Since: a.since, Window: a.window,
	}
	if status != nil {
		tr.BurnRateLong, _ = status.BurnRate(a.window.Long)
		tr.BurnRateShort, _ = status.BurnRate(a.window.Short)
		tr.ErrorBudgetRemaining = status.ErrorBudgetRemaining
	}
	// The timers keep running: another row may still be on its way.
	*a = alertState{pending: a.pending}
	return tr
}

// burnRate is the bad ratio divided by the error budget ratio, 0 without
// events.
func burnRate(good, bad, budgetRatio float64) float64 {
	total := good + bad
	if total <= 0 || budgetRatio <= 0 {
		return 0
	}
	return bad / total / budgetRatio
}
