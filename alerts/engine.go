package alerts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Notification asks the exporter to send one action for one alert to one
// receiver. The dedup key at the receiver is Alert.Fingerprint: grouping
// decides when notifications go out, never what they are keyed by.
type Notification struct {
	Receiver string
	Action   Action
	Alert    Alert
	// GroupKey and GroupLabels name the group whose flush produced it.
	GroupKey    string
	GroupLabels map[string]string
	// At is the Flush time; MarkSent records it as the send time.
	At time.Time
}

// DedupKey is the key that folds repeated notifications of the same alert
// into one incident at the receiver.
func (n Notification) DedupKey() string { return n.Alert.Fingerprint }

// Engine routes, groups, mutes and deduplicates alerts. It is passive: the
// exporter calls Ingest for each alert event and Flush on a tick (every
// second is plenty), sends what Flush returns and reports each outcome with
// MarkSent. Its methods are safe for concurrent use.
//
// Muting (inhibition, silences, time intervals) only holds back triggers. An
// alert already triggered that becomes muted stays open at the receiver: it
// is neither resolved (that would be a false all-clear) nor re-sent, and its
// resolve still goes out when it resolves, so no incident is left open.
type Engine struct {
	// persistMu orders writes to the store; mu guards everything else.
	persistMu sync.Mutex
	mu        sync.Mutex
	cfg       *Config
	store     Store
	silences  []*Silence
	alerts    map[string]*alertState // by fingerprint
	groups    map[string]*group      // by group key
	log       notificationLog
	inflight  pairSet // returned by Flush, not yet reported to MarkSent
	silState  map[string]*silenceRecord
	// inhibitions is built lazily during a Flush and dropped at its end:
	// the set of firing alerts only changes between flushes.
	inhibitions inhibitIndex
}

type alertState struct {
	alert    Alert
	lastSeen time.Time
	groups   map[string]bool
}

type group struct {
	key       string
	route     *Route
	labels    map[string]string
	alerts    map[string]bool
	nextFlush time.Time
}

// NewEngine returns an engine with cfg (DefaultConfig when nil) persisting
// its notification log in store (a MemStore when nil). Call Restore before
// the first Ingest to pick up the log of a previous run.
func NewEngine(cfg *Config, store Store) *Engine {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if store == nil {
		store = NewMemStore()
	}
	return &Engine{
		cfg:      cfg,
		store:    store,
		alerts:   map[string]*alertState{},
		groups:   map[string]*group{},
		log:      notificationLog{},
		inflight: pairSet{},
		silState: map[string]*silenceRecord{},
	}
}

// Restore loads the notification log from the store. Every alert it shows
// as triggered is taken to be still firing, as of now: the connector that
// raised it either re-reports it (nothing is re-sent), reports its resolve
// (the resolve goes out), or says nothing, and then ResolveTimeout resolves
// it. So a restart neither repeats a trigger nor loses a resolve.
func (e *Engine) Restore(ctx context.Context, now time.Time) error {
	doc, err := loadLog(ctx, e.store)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, entry := range doc.Entries {
		e.log.put(&entry)
		if entry.Action != ActionTrigger || e.alerts[entry.Fingerprint] != nil {
			continue
		}
		a := entry.Alert.Clone()
		a.State, a.EndsAt, a.Fingerprint = StateFiring, time.Time{}, entry.Fingerprint
		st := &alertState{alert: a, lastSeen: now, groups: map[string]bool{}}
		e.alerts[a.Fingerprint] = st
		e.route(st, now, nil)
	}
	for id, rec := range doc.Silences {
		if rec.Muted == nil {
			rec.Muted = map[string]bool{}
		}
		e.silState[id] = rec
	}
	return nil
}

// SetConfig replaces the configuration, as after the config file changed.
// Alerts are routed again; groups that still exist keep their timing.
func (e *Engine) SetConfig(cfg *Config, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	old := e.groups
	e.groups = map[string]*group{}
	for _, fp := range slices.Sorted(maps.Keys(e.alerts)) {
		st := e.alerts[fp]
		st.groups = map[string]bool{}
		e.route(st, now, old)
	}
}

// Config returns the configuration in use, for the exporter to look up the
// receivers of notifications after a reload.
func (e *Engine) Config() *Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// SetSilences replaces the silences, as after the silences file changed.
// The state of an until_resolved silence is kept while its ID stays.
func (e *Engine) SetSilences(silences []*Silence) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.silences = silences
	keep := map[string]bool{}
	for _, s := range silences {
		keep[s.ID] = true
	}
	for id := range e.silState {
		if !keep[id] {
			delete(e.silState, id)
		}
	}
}

// Ingest takes one alert as reported at now. A firing alert refreshes its
// staleness clock; a resolved one is kept until its resolves are delivered.
// A resolve for an alert the engine never saw fire is dropped: there is
// nothing to resolve. An alert without a fingerprint gets Fingerprint of its
// labels.
func (e *Engine) Ingest(a Alert, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a = a.Clone()
	if a.Fingerprint == "" {
		a.Fingerprint = Fingerprint(a.Labels)
	}
	st := e.alerts[a.Fingerprint]
	if a.Firing() {
		if st == nil {
			st = &alertState{groups: map[string]bool{}}
			e.alerts[a.Fingerprint] = st
		} else if st.alert.Firing() && !st.alert.StartsAt.IsZero() && st.alert.StartsAt.Before(a.StartsAt) {
			a.StartsAt = st.alert.StartsAt
		}
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		a.EndsAt = time.Time{}
		st.alert, st.lastSeen = a, now
		e.route(st, now, nil)
		return
	}
	if st == nil || !st.alert.Firing() {
		return
	}
	if len(a.Labels) == 0 {
		a.Labels = st.alert.Labels
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = st.alert.StartsAt
	}
	if a.EndsAt.IsZero() {
		a.EndsAt = now
	}
	a.State = StateResolved
	st.alert = a
	e.route(st, now, nil)
}

// route adds the alert to the groups of every route it matches. A group
// new to the engine waits group_wait, unless it existed in previous (the
// groups before a config change) and keeps that timing.
func (e *Engine) route(st *alertState, now time.Time, previous map[string]*group) {
	for _, r := range e.cfg.Route.Match(st.alert.Labels) {
		labels := r.groupLabels(st.alert.Labels)
		key := r.groupKey(labels)
		g := e.groups[key]
		if g == nil {
			g = &group{key: key, route: r, labels: labels, alerts: map[string]bool{}, nextFlush: now.Add(r.GroupWait)}
			if p := previous[key]; p != nil {
				g.nextFlush = p.nextFlush
			}
			e.groups[key] = g
		}
		g.alerts[st.alert.Fingerprint] = true
		st.groups[key] = true
	}
}

// Flush returns the notifications due at now: for every group whose wait or
// interval has passed, a trigger for each firing, unmuted alert not yet
// triggered at the group's receiver (or last triggered repeat_interval ago),
// and a resolve for each resolved alert triggered there. A notification is
// not returned again until MarkSent reports it.
func (e *Engine) Flush(now time.Time) []Notification {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resolveStale(now)
	e.expireSilences(now)
	defer func() { e.inhibitions = nil }()
	var out []Notification
	for _, key := range slices.Sorted(maps.Keys(e.groups)) {
		g := e.groups[key]
		if now.Before(g.nextFlush) {
			continue
		}
		out = append(out, e.flushGroup(g, now)...)
		g.nextFlush = now.Add(g.route.GroupInterval)
		e.forgetResolved(g)
	}
	return out
}

func (e *Engine) resolveStale(now time.Time) {
	timeout := e.cfg.ResolveTimeout
	if timeout <= 0 {
		return
	}
	for _, st := range e.alerts {
		if st.alert.Firing() && now.Sub(st.lastSeen) >= timeout {
			st.alert.State = StateResolved
			st.alert.EndsAt = st.lastSeen.Add(timeout)
		}
	}
}

func (e *Engine) flushGroup(g *group, now time.Time) []Notification {
	var out []Notification
	emit := func(receiver string, action Action, a Alert) {
		e.inflight.add(receiver, a.Fingerprint)
		out = append(out, Notification{
			Receiver: receiver, Action: action, Alert: a.Clone(),
			GroupKey: g.key, GroupLabels: maps.Clone(g.labels), At: now,
		})
	}
	receiver := g.route.Receiver
	for _, fp := range slices.Sorted(maps.Keys(g.alerts)) {
		st := e.alerts[fp]
		if st == nil {
			continue
		}
		if st.alert.Firing() {
			if e.inflight.has(receiver, fp) || e.muted(st, g.route, now) {
				continue
			}
			entry := e.log.get(receiver, fp)
			if entry == nil || entry.Action != ActionTrigger || now.Sub(entry.SentAt) >= g.route.RepeatInterval {
				emit(receiver, ActionTrigger, st.alert)
			}
			continue
		}
		// Resolve at this group's receiver, and at receivers the alert no
		// longer routes to (the config changed since the trigger), which
		// no other group would ever resolve.
		current := map[string]bool{}
		for _, r := range e.cfg.Route.Match(st.alert.Labels) {
			current[r.Receiver] = true
		}
		for _, entry := range e.log.forAlert(fp) {
			if entry.Receiver != receiver && current[entry.Receiver] {
				continue
			}
			if entry.Action == ActionTrigger && !e.inflight.has(entry.Receiver, fp) {
				emit(entry.Receiver, ActionResolve, st.alert)
			}
		}
	}
	return out
}

// forgetResolved drops from g the resolved alerts with nothing left to
// deliver, and drops alerts and groups left empty.
func (e *Engine) forgetResolved(g *group) {
	for fp := range g.alerts {
		st := e.alerts[fp]
		if st != nil && (st.alert.Firing() || len(e.log[fp]) > 0 || len(e.inflight[fp]) > 0) {
			continue
		}
		delete(g.alerts, fp)
		if st != nil {
			delete(st.groups, g.key)
			if len(st.groups) == 0 {
				delete(e.alerts, fp)
			}
		}
	}
	if len(g.alerts) == 0 {
		delete(e.groups, g.key)
	}
}

// MarkSent records the outcome of sending n. Only a delivered notification
// enters the notification log, which is then persisted; a failed one is
// produced again by the group's next flush, so it is retried, not lost. The
// returned error is a persistence failure: the in-memory log is updated
// anyway, and the next successful MarkSent or Persist stores it.
//
// A trigger delivered but not persisted (a crash in between) is sent again
// after the restart; PagerDuty folds it into the open incident by its dedup
// key, so the worst case is a duplicate event, never a missing one.
func (e *Engine) MarkSent(ctx context.Context, n Notification, sendErr error) error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	e.inflight.remove(n.Receiver, n.Alert.Fingerprint)
	if sendErr != nil {
		e.mu.Unlock()
		return nil
	}
	switch n.Action {
	case ActionTrigger:
		e.log.put(&LogEntry{Receiver: n.Receiver, Fingerprint: n.Alert.Fingerprint, Action: ActionTrigger, SentAt: n.At, Alert: n.Alert.Clone()})
	case ActionResolve:
		e.log.remove(n.Receiver, n.Alert.Fingerprint)
	}
	data, err := encodeLog(e.log, e.silState)
	e.mu.Unlock()
	return e.write(ctx, data, err)
}

// Persist writes the notification log and the state of until_resolved
// silences to the store. MarkSent already persists every delivery; call
// Persist at shutdown so silence state changed since is kept too.
func (e *Engine) Persist(ctx context.Context) error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	data, err := encodeLog(e.log, e.silState)
	e.mu.Unlock()
	return e.write(ctx, data, err)
}

// write stores an encoded log. Callers hold persistMu from encoding to
// here, so writes land in the order their snapshots were taken and an older
// snapshot never overwrites a newer one; e.mu is not held, so store latency
// never blocks Ingest or Flush.
func (e *Engine) write(ctx context.Context, data []byte, encodeErr error) error {
	if encodeErr != nil {
		return encodeErr
	}
	if err := e.store.Set(ctx, StoreKey, data); err != nil {
		return fmt.Errorf("persisting notification log: %w", err)
	}
	return nil
}

// Log returns the notification log, ordered by receiver and fingerprint.
func (e *Engine) Log() []LogEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []LogEntry
	for _, stored := range e.log.all() {
		entry := *stored
		entry.Alert = entry.Alert.Clone()
		out = append(out, entry)
	}
	return out
}
