package alerts

import (
	"strings"
	"time"
)

// muted reports whether a firing alert's trigger is held back at route r.
// The silences are consulted whatever else mutes the alert: an
// until_resolved silence records the alerts it muted, and one whose alert
// was also inhibited would otherwise record nothing and, never ending,
// mute the next incident.
func (e *Engine) muted(st *alertState, r *Route, now time.Time) bool {
	silenced := e.silenced(st.alert, now)
	return silenced || e.inhibited(st.alert) || e.outsideTime(r, now)
}

// inhibitIndex holds, per inhibit rule, the firing alerts matching its
// source matchers, by the values of its equal labels. Built once per Flush,
// it makes checking a target cost one lookup per rule instead of a scan of
// every alert.
type inhibitIndex []map[string][]string

func (e *Engine) buildInhibitIndex() inhibitIndex {
	idx := make(inhibitIndex, len(e.cfg.InhibitRules))
	for i := range e.cfg.InhibitRules {
		rule := &e.cfg.InhibitRules[i]
		idx[i] = map[string][]string{}
		for fp, st := range e.alerts {
			if st.alert.Firing() && rule.SourceMatchers.Matches(st.alert.Labels) {
				key := equalKey(rule.Equal, st.alert.Labels)
				idx[i][key] = append(idx[i][key], fp)
			}
		}
	}
	return idx
}

// equalKey joins the values of names; 0xFF cannot occur in UTF-8, so
// different values never join to the same key.
func equalKey(names []string, labels map[string]string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(labels[n])
		b.WriteByte(0xFF)
	}
	return b.String()
}

// inhibited reports whether a firing alert other than a inhibits it.
func (e *Engine) inhibited(a Alert) bool {
	if e.inhibitions == nil {
		e.inhibitions = e.buildInhibitIndex()
	}
	for i := range e.cfg.InhibitRules {
		rule := &e.cfg.InhibitRules[i]
		if !rule.TargetMatchers.Matches(a.Labels) {
			continue
		}
		for _, fp := range e.inhibitions[i][equalKey(rule.Equal, a.Labels)] {
			if fp != a.Fingerprint {
				return true
			}
		}
	}
	return false
}

// silenced reports whether a silence in force mutes a, and remembers which
// alerts each until_resolved silence muted so it can end with them.
func (e *Engine) silenced(a Alert, now time.Time) bool {
	silenced := false
	for _, s := range e.allSilences() {
		if !s.ActiveAt(now) || !s.Matchers.Matches(a.Labels) {
			continue
		}
		if s.UntilResolved {
			rec := e.silState[s.ID]
			if rec == nil {
				rec = &silenceRecord{}
				e.silState[s.ID] = rec
			}
			if !rec.ExpiredAt.IsZero() {
				continue
			}
			if m, ok := rec.Alerts[a.Fingerprint]; !ok || !m.Firing {
				if rec.Alerts == nil {
					rec.Alerts = map[string]mutedAlert{}
				}
				rec.Alerts[a.Fingerprint] = mutedAlert{Firing: true, At: now}
				e.silDirty = true
			}
		}
		silenced = true
	}
	return silenced
}

// expireSilences ends each until_resolved silence whose muted alerts have
// all resolved while no alert it matches still fires. A silence that has
// muted nothing yet stays in force: it was created for an incident that has
// not started.
//
// An alert this engine no longer holds resolved and was forgotten, on one
// node. In a fleet (sharded) it may be another evaluator's: it counts as
// resolved only once that evaluator said so (silencesync.go).
func (e *Engine) expireSilences(now time.Time) {
	e.collectSilences(now)
	for _, s := range e.allSilences() {
		rec := e.silState[s.ID]
		if !s.UntilResolved || rec == nil || !rec.ExpiredAt.IsZero() || len(rec.Alerts) == 0 {
			continue
		}
		done := true
		for fp, m := range rec.Alerts {
			st := e.alerts[fp]
			switch {
			case st != nil && st.alert.Firing():
				done = false
			case st != nil || !e.sharded:
				if m.Firing {
					rec.Alerts[fp] = mutedAlert{Firing: false, At: now}
					e.silDirty = true
				}
			case m.Firing:
				done = false
			}
		}
		for _, st := range e.alerts {
			if st.alert.Firing() && s.Matchers.Matches(st.alert.Labels) {
				done = false
			}
		}
		if done {
			rec.ExpiredAt = now
			rec.Alerts = nil
			e.silDirty = true
		}
	}
}

// noteResolvedLocked records, in every until_resolved silence that muted
// the alert fp, that it resolved; e.mu held.
func (e *Engine) noteResolvedLocked(fp string, now time.Time) {
	for _, rec := range e.silState {
		if m, ok := rec.Alerts[fp]; ok && m.Firing && rec.ExpiredAt.IsZero() {
			rec.Alerts[fp] = mutedAlert{Firing: false, At: now}
			e.silDirty = true
		}
	}
}

// outsideTime reports whether r must not send at now: inside one of its
// mute intervals, or outside all of its active intervals.
func (e *Engine) outsideTime(r *Route, now time.Time) bool {
	for _, name := range r.MuteTimeIntervals {
		if ti := e.cfg.TimeIntervals[name]; ti != nil && ti.Contains(now) {
			return true
		}
	}
	if len(r.ActiveTimeIntervals) == 0 {
		return false
	}
	for _, name := range r.ActiveTimeIntervals {
		if ti := e.cfg.TimeIntervals[name]; ti != nil && ti.Contains(now) {
			return false
		}
	}
	return true
}
