package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Notification asks the exporter to send one action for one alert to one
// integration of one receiver. The dedup key at the receiver is
// Alert.Fingerprint: grouping decides when notifications go out, never
// what they are keyed by.
type Notification struct {
	Receiver string
	// Integration is the receiver's integration it is for (see
	// Engine.SetIntegrations; "" without integrations).
	Integration string
	Action      Action
	Alert       Alert
	// GroupKey and GroupLabels name the group whose flush produced it.
	GroupKey    string
	GroupLabels map[string]string
	// At is the Flush time; MarkSent records it as the send time.
	At time.Time
	// id tells this notification from a later one of the same alert to
	// the same destination: MarkSending and MarkSent act only on the one
	// in flight.
	id uint64
}

// DedupKey is the key that folds repeated notifications of the same alert
// into one incident at the receiver.
func (n Notification) DedupKey() string { return n.Alert.Fingerprint }

func (n Notification) destination() destination {
	return destination{receiver: n.Receiver, integration: n.Integration}
}

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
	silences  []*Silence // of the silences file
	// fileRead is when this process first read each silence of the file
	// (by its id) as it is now: by this engine, or by the one it replaced
	// (ResumeFileSilences).
	fileRead map[string]fileSilenceRead
	// apiSilences are the silences created through the API, by ID; they
	// are persisted with silState.
	apiSilences map[string]*Silence
	alerts      map[string]*alertState // by fingerprint
	groups      map[string]*group      // by group key
	log         notificationLog
	// integrations are the integrations of each receiver (nil: one, "",
	// each); dropped is told of log entries loaded for an integration a
	// receiver no longer has. See SetIntegrations.
	integrations map[string][]string
	dropped      func(LogEntry)
	// services lists, per service, the fingerprints with log entries, so
	// persisting one service's log does not scan the whole log.
	services map[string]map[string]bool
	inflight inflightSet // returned by Flush, not yet reported to MarkSent
	// lastID numbers the notifications Flush returns.
	lastID   uint64
	silState map[string]*silenceRecord
	// silDirty is set when silState changed since it was last stored.
	silDirty bool
	// dirty are the services whose log changed since it was last stored.
	dirty map[string]bool
	// indexed are the services in the stored index; guarded by persistMu.
	indexed map[string]bool
	// sharded: one evaluator of a fleet (see shard.go); no index is
	// written. Guarded by persistMu.
	sharded bool
	// inhibitions is built lazily during a Flush and dropped at its end:
	// the set of firing alerts only changes between flushes.
	inhibitions inhibitIndex
	// lastNow is the latest time the engine was given (Flush,
	// SyncSilences): silences merged from the store are forgotten
	// SilenceRetention after their end, as collectSilences does.
	lastNow time.Time
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
		services: map[string]map[string]bool{},
		inflight: inflightSet{},
		silState: map[string]*silenceRecord{},
		dirty:    map[string]bool{},

		apiSilences: map[string]*Silence{},
		indexed:     map[string]bool{},
	}
}

// Restore loads the notification log from the store. Every alert it shows
// as triggered (delivered or pending) is taken to be still firing, as of
// now: the connector that raised it either re-reports it (nothing is
// re-sent, unless the trigger was pending), reports its resolve (the
// resolve goes out), or says nothing, and then ResolveTimeout resolves it.
// An alert reported resolved before the restart, its resolve waiting for
// the group's next flush, is restored resolved (LogEntry.ResolvedAt, which
// Persist stores): its connector will not say so again.
// An alert whose resolve was pending is taken as resolved, so the resolve
// goes out again. So a restart never loses a trigger or a resolve, and
// repeats one only when the process died between handing it over and
// confirming it (see MarkSending). A log of version 1 is first rewritten
// in the current layout (migrateV1). Entries are fitted to the declared
// integrations (SetIntegrations): an entry written before integrations
// existed stands for every integration of its receiver.
func (e *Engine) Restore(ctx context.Context, now time.Time) error {
	if err := e.migrateV1(ctx); err != nil {
		return err
	}
	var index indexDoc
	// A fleet's engine (ShardByService) loads each service's log when its
	// evaluator takes the service over; here only the silences.
	if !e.sharded {
		if _, err := load(ctx, e.store, StoreKeyIndex, &index, func() int { return index.Version }); err != nil {
			return err
		}
	}
	var entries []LogEntry
	for _, service := range index.Services {
		var doc serviceDoc
		if _, err := load(ctx, e.store, ServiceKey(service), &doc, func() int { return doc.Version }); err != nil {
			return err
		}
		entries = append(entries, doc.Entries...)
	}
	data, err := e.store.Get(ctx, StoreKeySilences)
	if err != nil {
		return fmt.Errorf("reading silence state %s: %w", StoreKeySilences, err)
	}
	sil, err := decodeSilences(data)
	if err != nil {
		return err
	}
	var dropped []LogEntry
	var report func(LogEntry)
	// After the locks are released.
	defer func() { e.reportDropped(report, dropped) }()
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	report = e.dropped
	for _, service := range index.Services {
		e.indexed[service] = true
	}
	var fitted []LogEntry
	for _, entry := range entries {
		fitted = append(fitted, e.fit(entry, &dropped)...)
	}
	for _, entry := range dropped {
		e.dirty[serviceOf(entry.Alert)] = true
	}
	for i := range fitted {
		e.logPut(&fitted[i])
	}
	e.restoreAlerts(fitted, now)
	for id, rec := range sil.Silences {
		if rec != nil {
			e.silState[id] = rec
		}
	}
	for id, stored := range sil.API {
		s, err := stored.silence(id)
		if err != nil {
			return fmt.Errorf("restoring silence %s: %w", id, err)
		}
		e.apiSilences[id] = s
	}
	return nil
}

// restoreAlert makes the alert of a restored log entry: firing if its
// trigger was sent (or pending) and it was not reported resolved since,
// resolved otherwise (its resolve was reported, or was pending).
func (e *Engine) restoreAlert(entry LogEntry, now time.Time) {
	a := entry.Alert.Clone()
	a.Fingerprint = entry.Fingerprint
	switch {
	case entry.Action == ActionTrigger && entry.ResolvedAt.IsZero():
		a.State, a.EndsAt = StateFiring, time.Time{}
	case entry.Action == ActionTrigger:
		// Reported resolved before the restart, the resolve not sent.
		a.State, a.EndsAt = StateResolved, entry.ResolvedAt
	default:
		a.State = StateResolved
		if a.EndsAt.IsZero() {
			a.EndsAt = now
		}
	}
	st := &alertState{alert: a, lastSeen: now, groups: map[string]bool{}}
	e.alerts[a.Fingerprint] = st
	e.route(st, now, nil)
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

// SetSilences replaces the silences of the silences file, as after it
// changed at now. The state of an until_resolved silence is kept while
// its ID stays, and when the silence was first read as it is (what the
// API shows as its update, and as its start when the file gives none)
// while its content stays.
// Silences created through the API (SetSilence) are not touched.
func (e *Engine) SetSilences(silences []*Silence, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setSilences(silences, now)
}

// setSilences is SetSilences with e.mu held.
func (e *Engine) setSilences(silences []*Silence, now time.Time) {
	e.silences = silences
	keep := map[string]bool{}
	read := make(map[string]fileSilenceRead, len(silences))
	for _, s := range silences {
		keep[s.ID] = true
		r := fileSilenceRead{at: now, content: s.content()}
		if prev, ok := e.fileRead[s.ID]; ok && prev.content == r.content {
			r.at = prev.at
		}
		read[s.ID] = r
	}
	e.fileRead = read
	for id := range e.silState {
		if !keep[id] && e.apiSilences[id] == nil {
			delete(e.silState, id)
			e.silDirty = true
		}
	}
}

// FileSilences are the silences of the silences file an engine runs, with
// when the process first read each as it is: what an engine built to
// replace that one in the same process starts from
// (Engine.ResumeFileSilences), as the alertrouter connector's does when
// the collector rebuilds its pipelines and the file no longer parses.
type FileSilences struct {
	silences []*Silence
	read     map[string]fileSilenceRead
}

// Len returns the number of silences.
func (f FileSilences) Len() int { return len(f.silences) }

// FileSilences returns the silences of the silences file in force, as
// last given to SetSilences (or ResumeFileSilences), with when each was
// first read as it is.
func (e *Engine) FileSilences() FileSilences {
	e.mu.Lock()
	defer e.mu.Unlock()
	return FileSilences{silences: slices.Clone(e.silences), read: maps.Clone(e.fileRead)}
}

// ResumeFileSilences makes f, taken from the engine this one replaces in
// the same process (Engine.FileSilences), the silences of the file in
// force, as SetSilences at now would, except that each silence keeps
// when it was first read: the API shows the same update and start as
// before (a SetSilences of the same content afterwards keeps them too),
// not the time of the replacement, which is no new reading of the file.
func (e *Engine) ResumeFileSilences(f FileSilences, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fileRead = maps.Clone(f.read)
	e.setSilences(f.silences, now)
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
		} else if st.alert.Firing() && !st.alert.StartsAt.IsZero() && (a.StartsAt.IsZero() || st.alert.StartsAt.Before(a.StartsAt)) {
			// Still the same firing: it started when first reported, as
			// Alertmanager merges a re-posted alert, also when the
			// report says no start.
			a.StartsAt = st.alert.StartsAt
		} else if !st.alert.Firing() && !a.StartsAt.IsZero() && !a.StartsAt.After(st.alert.EndsAt) {
			// Firing again after the end this engine announced (the
			// source fell quiet for resolve_timeout, or a re-send arrived
			// after its resolve): for the receivers a new firing, which
			// starts now. With the source's older start it would begin
			// before the resolve they were sent, and a receiver that
			// orders a trigger after a resolve by their times (the
			// pagerduty exporter) would drop it: a page lost.
			a.StartsAt = now
		}
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		a.EndsAt = time.Time{}
		st.alert, st.lastSeen = a, now
		e.markResolved(a.Fingerprint, time.Time{})
		e.route(st, now, nil)
		return
	}
	if st == nil && e.sharded {
		// Resolved where this evaluator never held it firing (it took
		// the service over since): an until_resolved silence that muted
		// it elsewhere learns it resolved.
		e.noteResolvedLocked(a.Fingerprint, now)
	}
	if st == nil || !st.alert.Firing() {
		return
	}
	if len(a.Labels) == 0 {
		a.Labels = st.alert.Labels
	}
	if a.StartsAt.IsZero() || st.alert.StartsAt.Before(a.StartsAt) {
		// It ends the firing the trigger announced, as a re-report keeps
		// its start: a later start of its own is that of a source's new
		// episode whose earlier resolve never came.
		a.StartsAt = st.alert.StartsAt
	}
	if a.EndsAt.IsZero() {
		a.EndsAt = now
	}
	a.State = StateResolved
	st.alert = a
	e.markResolved(a.Fingerprint, a.EndsAt)
	e.route(st, now, nil)
}

// markResolved records on the alert's delivered triggers when it was
// reported resolved (zero: firing again), for the persist loop to store
// (LogEntry.ResolvedAt), so that a resolve received but not yet sent
// survives a restart. e.mu held.
func (e *Engine) markResolved(fp string, at time.Time) {
	for _, entry := range e.log.forAlert(fp) {
		if entry.Action == ActionTrigger && !entry.ResolvedAt.Equal(at) {
			entry.ResolvedAt = at
			e.dirty[serviceOf(entry.Alert)] = true
		}
	}
}

// resolvedAt is when the alert was reported resolved, if it is now; zero
// while it fires or when the engine does not hold it. e.mu held.
func (e *Engine) resolvedAt(fp string) time.Time {
	if st := e.alerts[fp]; st != nil && !st.alert.Firing() {
		return st.alert.EndsAt
	}
	return time.Time{}
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
// triggered at an integration of the group's receiver (or last triggered
// there repeat_interval ago), and a resolve for each resolved alert
// triggered there, each for that integration (see SetIntegrations). A
// notification is not returned again until MarkSent reports it; the other
// integrations' are.
func (e *Engine) Flush(now time.Time) []Notification {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.After(e.lastNow) {
		e.lastNow = now
	}
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
	emit := func(d destination, action Action, a Alert) {
		e.lastID++
		e.inflight.add(d, a.Fingerprint, &flight{id: e.lastID, action: action, at: now})
		out = append(out, Notification{
			Receiver: d.receiver, Integration: d.integration, Action: action, Alert: a.Clone(),
			GroupKey: g.key, GroupLabels: maps.Clone(g.labels), At: now, id: e.lastID,
		})
	}
	receiver := g.route.Receiver
	integrations := e.integrationsOf(receiver)
	for _, fp := range slices.Sorted(maps.Keys(g.alerts)) {
		st := e.alerts[fp]
		if st == nil {
			continue
		}
		if st.alert.Firing() {
			// Each integration on its own: one still taking an earlier
			// notification, or sent this one already, is skipped; the
			// alert is muted, or not, for all of them.
			idle := slices.ContainsFunc(integrations, func(in string) bool {
				return !e.inflight.has(destination{receiver, in}, fp)
			})
			if !idle || e.muted(st, g.route, now) {
				continue
			}
			for _, in := range integrations {
				d := destination{receiver, in}
				if e.inflight.has(d, fp) {
					continue
				}
				entry := e.log.get(d, fp)
				if entry == nil || entry.Action != ActionTrigger || entry.Pending || now.Sub(entry.SentAt) >= g.route.RepeatInterval {
					emit(d, ActionTrigger, st.alert)
				}
			}
			continue
		}
		// Resolve at each integration of this group's receiver the alert
		// was triggered at, and at receivers the alert no longer routes
		// to (the config changed since the trigger), which no other group
		// would ever resolve.
		current := map[string]bool{}
		for _, r := range e.cfg.Route.Match(st.alert.Labels) {
			current[r.Receiver] = true
		}
		for _, entry := range e.log.forAlert(fp) {
			if entry.Receiver != receiver && current[entry.Receiver] {
				continue
			}
			// Every entry is an incident open (or possibly open) at its
			// integration: a trigger, or a resolve not yet confirmed.
			if d := entry.destination(); !e.inflight.has(d, fp) {
				emit(d, ActionResolve, st.alert)
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

// ErrNotInFlight is MarkSending's answer for a notification the engine no
// longer has in flight.
var ErrNotInFlight = errors.New("alerts: notification no longer in flight (its service was forgotten since the flush)")

// MarkSending records, before n is handed to its integration, that it may
// be delivered: a pending entry, persisted before MarkSending returns.
// Call it just before sending, and MarkSent with the outcome after, with
// n as Flush returned it. Each integration of a receiver has its own
// entry: what one was handed, or failed to take, changes nothing for the
// others.
//
// Why both: the caller's "sent" is a handover (to a persistent queue, say)
// that cannot be made atomic with this log. Recorded only after the
// handover, a crash in between would leave a delivered trigger unknown
// here, and its resolve would be dropped as the resolve of an alert never
// triggered. Recorded only before, a crash in between would lose the
// notification. Pending, then confirmed, it is sent again after such a
// crash: a duplicate the receiver folds by its dedup key, never a loss.
//
// The returned error is a persistence failure; send anyway (a page matters
// more than the bookkeeping), the next successful write stores the log.
// A notification the engine no longer has in flight (its service was
// forgotten since the Flush: ForgetService) changes nothing and gets
// ErrNotInFlight: do not send it. Its service's log is another owner's,
// or, when the service came back, a new one, which would not know of it
// (a trigger sent then would never be resolved).
func (e *Engine) MarkSending(ctx context.Context, n Notification) error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	if !e.inflight.is(n.destination(), n.Alert.Fingerprint, n.id) {
		e.mu.Unlock()
		return ErrNotInFlight
	}
	entry := &LogEntry{
		Receiver: n.Receiver, Integration: n.Integration, Fingerprint: n.Alert.Fingerprint, Action: n.Action,
		Pending: true, SentAt: n.At, Alert: n.Alert.Clone(),
	}
	if n.Action == ActionTrigger {
		// Resolved while the trigger was being flushed.
		entry.ResolvedAt = e.resolvedAt(n.Alert.Fingerprint)
	}
	e.logPut(entry)
	e.mu.Unlock()
	return e.persist(ctx, serviceOf(n.Alert))
}

// MarkSent records the outcome of sending n. A delivered trigger is
// confirmed in the notification log and a delivered resolve removes the
// alert's entry, which is then persisted. A failed notification is left as
// MarkSending recorded it (pending), or absent, and the group's next flush
// produces it again, so it is retried, not lost; only to its integration.
// So is one reported refused (MarkRefused) while in flight, whatever
// sendErr says.
// The returned error is a persistence failure: the in-memory log is
// updated anyway, and the next successful write stores it. A notification
// the engine no longer has in flight (its service was forgotten since the
// Flush: ForgetService) changes nothing, whatever its outcome: the log it
// would change is the next owner's.
func (e *Engine) MarkSent(ctx context.Context, n Notification, sendErr error) error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	d := n.destination()
	if !e.inflight.is(d, n.Alert.Fingerprint, n.id) {
		e.mu.Unlock()
		return nil
	}
	refused := e.inflight.get(d, n.Alert.Fingerprint).refused
	e.inflight.remove(d, n.Alert.Fingerprint)
	if sendErr != nil || refused {
		e.mu.Unlock()
		return nil
	}
	switch n.Action {
	case ActionTrigger:
		e.logPut(&LogEntry{
			Receiver: n.Receiver, Integration: n.Integration, Fingerprint: n.Alert.Fingerprint, Action: ActionTrigger, SentAt: n.At, Alert: n.Alert.Clone(),
			ResolvedAt: e.resolvedAt(n.Alert.Fingerprint),
		})
	case ActionResolve:
		e.logRemove(d, n.Alert.Fingerprint)
	}
	e.mu.Unlock()
	return e.persist(ctx, serviceOf(n.Alert))
}

// Persist writes what changed since it was last stored: the logs of
// services whose write failed or whose alerts were reported resolved
// since (LogEntry.ResolvedAt, which Ingest records in memory only), and
// the state of until_resolved silences. MarkSending and MarkSent already
// persist the log of their service; call Persist periodically (the
// router does every flush_interval) and at shutdown.
func (e *Engine) Persist(ctx context.Context) error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	services := slices.Sorted(maps.Keys(e.dirty))
	e.mu.Unlock()
	var errs []error
	for _, service := range services {
		errs = append(errs, e.persist(ctx, service))
	}
	errs = append(errs, e.persistSilences(ctx))
	return errors.Join(errs...)
}

// persist stores the log of one service, and the silence state when it
// changed. Callers hold persistMu from their update to the end of the
// write, so writes land in the order of the updates and an older snapshot
// never overwrites a newer one; e.mu is held only to take the snapshot, so
// store latency never blocks Ingest or Flush.
//
// The index is written before a new service's value and after a removed
// one's deletion, so a crash between the two writes leaves at worst an
// index entry without a value, never a value the index does not list.
func (e *Engine) persist(ctx context.Context, service string) error {
	e.mu.Lock()
	delete(e.dirty, service)
	doc := serviceDoc{Version: nflogVersion, Entries: []LogEntry{}}
	for _, fp := range slices.Sorted(maps.Keys(e.services[service])) {
		for _, entry := range e.log.forAlert(fp) {
			doc.Entries = append(doc.Entries, *entry)
		}
	}
	e.mu.Unlock()
	var errs []error
	key := ServiceKey(service)
	if len(doc.Entries) > 0 {
		if !e.indexed[service] && !e.sharded {
			e.indexed[service] = true
			if err := e.writeIndex(ctx); err != nil {
				delete(e.indexed, service)
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			errs = append(errs, e.set(ctx, key, doc))
		}
	} else {
		if err := e.store.Delete(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("persisting notification log: %w", err))
		} else if e.indexed[service] && !e.sharded {
			delete(e.indexed, service)
			if err := e.writeIndex(ctx); err != nil {
				e.indexed[service] = true
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.mu.Lock()
		e.dirty[service] = true
		e.mu.Unlock()
		return err
	}
	return e.persistSilences(ctx)
}

func (e *Engine) writeIndex(ctx context.Context) error {
	return e.set(ctx, StoreKeyIndex, indexDoc{Version: nflogVersion, Services: slices.Sorted(maps.Keys(e.indexed))})
}

// persistSilences stores the silence state if it changed; persistMu held.
func (e *Engine) persistSilences(ctx context.Context) error {
	e.mu.Lock()
	if !e.silDirty {
		e.mu.Unlock()
		return nil
	}
	doc := e.silencesDocLocked()
	horizon := e.horizonLocked()
	e.silDirty = false
	e.mu.Unlock()
	if err := e.writeSilences(ctx, doc, horizon); err != nil {
		e.mu.Lock()
		e.silDirty = true
		e.mu.Unlock()
		return fmt.Errorf("persisting silence state: %w", err)
	}
	return nil
}

func (e *Engine) set(ctx context.Context, key string, doc any) error {
	data, err := json.Marshal(doc)
	if err == nil {
		err = e.store.Set(ctx, key, data)
	}
	if err != nil {
		return fmt.Errorf("persisting notification log: %w", err)
	}
	return nil
}

// logPut and logRemove change the log and the per-service index together.
func (e *Engine) logPut(entry *LogEntry) {
	e.log.put(entry)
	svc := serviceOf(entry.Alert)
	e.dirty[svc] = true
	if e.services[svc] == nil {
		e.services[svc] = map[string]bool{}
	}
	e.services[svc][entry.Fingerprint] = true
}

func (e *Engine) logRemove(d destination, fp string) {
	entry := e.log.get(d, fp)
	if entry == nil {
		return
	}
	e.log.remove(d, fp)
	svc := serviceOf(entry.Alert)
	e.dirty[svc] = true
	if len(e.log[fp]) > 0 {
		return
	}
	delete(e.services[svc], fp)
	if len(e.services[svc]) == 0 {
		delete(e.services, svc)
	}
}

// Log returns the notification log, ordered by receiver, integration and
// fingerprint.
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
