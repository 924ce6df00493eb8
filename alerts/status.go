package alerts

import (
	"maps"
	"slices"
	"time"
)

// AlertStatus is a firing alert as the API and the status page show it:
// where it goes and what holds back its notifications. Its JSON is a
// fleet's View.
type AlertStatus struct {
	// Alert is a copy.
	Alert Alert `json:"alert"`
	// Receivers are the receivers of the routes it matches.
	Receivers []string `json:"receivers,omitempty"`
	// SilencedBy are the IDs (as in SilenceStatus) of the silences in
	// force that match it.
	SilencedBy []string `json:"silenced_by,omitempty"`
	// InhibitedBy are the fingerprints of the firing alerts inhibiting it.
	InhibitedBy []string `json:"inhibited_by,omitempty"`
	// MutedBy are the time intervals that mute it at its routes now.
	MutedBy []string `json:"muted_by,omitempty"`
	// UpdatedAt is when it was last reported.
	UpdatedAt time.Time `json:"updated_at"`
	// ResolvesBy is when the engine resolves it unless it is reported
	// again (UpdatedAt plus the resolve timeout; zero without one): what
	// Alertmanager reports as a firing alert's end.
	ResolvesBy time.Time `json:"resolves_by,omitzero"`
}

// Suppressed reports whether a silence, an inhibition or a time interval
// holds the alert's notifications back.
func (s *AlertStatus) Suppressed() bool {
	return len(s.SilencedBy) > 0 || len(s.InhibitedBy) > 0 || len(s.MutedBy) > 0
}

// GroupStatus is a group of firing alerts at one route.
type GroupStatus struct {
	Key      string
	Labels   map[string]string
	Receiver string
	Alerts   []AlertStatus
}

// Alerts returns the firing alerts at now, by fingerprint. It changes
// nothing: unlike a Flush it does not record what silences muted.
func (e *Engine) Alerts(now time.Time) []AlertStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.newQuery(now)
	var out []AlertStatus
	for _, fp := range slices.Sorted(maps.Keys(e.alerts)) {
		if st := e.alerts[fp]; st.alert.Firing() {
			out = append(out, q.status(st))
		}
	}
	return out
}

// Groups returns the groups holding firing alerts at now, by group key,
// each with its firing alerts by fingerprint.
func (e *Engine) Groups(now time.Time) []GroupStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.newQuery(now)
	var out []GroupStatus
	for _, g := range e.viewGroupsLocked() {
		gs := GroupStatus{Key: g.Key, Labels: g.Labels, Receiver: g.Receiver}
		for _, fp := range g.Fingerprints {
			gs.Alerts = append(gs.Alerts, q.status(e.alerts[fp]))
		}
		out = append(out, gs)
	}
	return out
}

// query computes alert statuses at one time; e.mu held.
type query struct {
	e           *Engine
	now         time.Time
	inhibitions inhibitIndex
	silences    []*Silence
	fromFile    map[*Silence]bool
}

func (e *Engine) newQuery(now time.Time) *query {
	q := &query{e: e, now: now, inhibitions: e.buildInhibitIndex(), fromFile: map[*Silence]bool{}}
	for _, s := range e.silences {
		q.fromFile[s] = true
	}
	for _, s := range e.allSilences() {
		if rec := e.silState[s.ID]; s.UntilResolved && rec != nil && !rec.ExpiredAt.IsZero() {
			continue
		}
		if s.ActiveAt(now) {
			q.silences = append(q.silences, s)
		}
	}
	return q
}

func (q *query) status(st *alertState) AlertStatus {
	a := st.alert
	out := AlertStatus{Alert: a.Clone(), UpdatedAt: st.lastSeen}
	if timeout := q.e.cfg.ResolveTimeout; timeout > 0 {
		out.ResolvesBy = st.lastSeen.Add(timeout)
	}
	muted := map[string]bool{}
	for _, r := range q.e.cfg.Route.Match(a.Labels) {
		if !slices.Contains(out.Receivers, r.Receiver) {
			out.Receivers = append(out.Receivers, r.Receiver)
		}
		for _, name := range r.MuteTimeIntervals {
			if ti := q.e.cfg.TimeIntervals[name]; ti != nil && ti.Contains(q.now) {
				muted[name] = true
			}
		}
		// Outside all of its active intervals, the route is muted by them.
		inActive := slices.ContainsFunc(r.ActiveTimeIntervals, func(name string) bool {
			ti := q.e.cfg.TimeIntervals[name]
			return ti != nil && ti.Contains(q.now)
		})
		if len(r.ActiveTimeIntervals) > 0 && !inActive {
			for _, name := range r.ActiveTimeIntervals {
				muted[name] = true
			}
		}
	}
	out.MutedBy = slices.Sorted(maps.Keys(muted))
	for _, s := range q.silences {
		if s.Matchers.Matches(a.Labels) {
			id := s.ID
			if q.fromFile[s] {
				id = FileSilenceID(id)
			}
			out.SilencedBy = append(out.SilencedBy, id)
		}
	}
	inhibitedBy := map[string]bool{}
	for i := range q.e.cfg.InhibitRules {
		rule := &q.e.cfg.InhibitRules[i]
		if !rule.TargetMatchers.Matches(a.Labels) {
			continue
		}
		for _, fp := range q.inhibitions[i][equalKey(rule.Equal, a.Labels)] {
			if fp != a.Fingerprint {
				inhibitedBy[fp] = true
			}
		}
	}
	out.InhibitedBy = slices.Sorted(maps.Keys(inhibitedBy))
	return out
}
