package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"
)

// The alerts of a fleet (issue 16) in one console. Each evaluator holds
// the alerts of the services it owns, and a console behind a Service in
// front of every evaluator answers from whichever one the request
// reaches, so each console also shows the alerts the others hold: every
// evaluator publishes its own (a View, one value per evaluator) from its
// persist loop, and a console reads the others' when it is asked.
//
//   - Liveness is in an index value listing the evaluators: each bumps a
//     sequence number in its entry every refresh period (ViewRefresh, or
//     its flush_interval when longer), and every evaluator notes, on its
//     own clock, when it last saw each entry change. A view whose entry
//     has not changed for three of its evaluator's periods (a dead
//     evaluator's) is not shown, whatever the clocks of the hosts say,
//     and an evaluator that stops cleanly withdraws its view at once. The
//     alerts of a dead evaluator's services are missing from the consoles
//     from then until their takeover (lease_ttl), and shown again from
//     the new owner, which restores them from the notification log.
//   - A view is written when its alerts or groups change; when only the
//     alerts' report times changed (an alert re-reported), at most every
//     viewVolatileRefresh, so a console may show a peer's alert as last
//     reported up to that long before it was; an attachment (the router's
//     SLO and anomaly status) is a value of its own, written when it
//     changed, at most every viewAttachmentRefresh.
//   - An alert held by two evaluators at once (during a handover) is
//     shown once: as this evaluator holds it, else as the evaluator that
//     saw it reported last holds it.
//   - Inhibition is judged by the evaluator holding the target alert
//     against the alerts it holds: rules whose equal labels include the
//     service (the built-in one's) see every candidate source.
//
// This is written here because a storage extension has no listing of
// keys or expiry of values: the index lists the evaluators, and entries
// not seen changing for viewForget are removed with their values. The
// keys carry the format's version, so evaluators of two versions during
// a rolling upgrade never read or rewrite each other's values.

// ViewRefresh is how often an evaluator refreshes its index entry (at
// its persist loop's pace when that is slower).
const ViewRefresh = 5 * time.Second

// viewStaleRefreshes is how many refresh periods an index entry may stay
// unchanged before its view is no longer shown.
const viewStaleRefreshes = 3

// viewVolatileRefresh bounds how often a view is rewritten for report
// times alone.
const viewVolatileRefresh = 30 * time.Second

// viewAttachmentRefresh bounds how often an attachment is rewritten: the
// SLO connector's default evaluation interval, at which the router's
// attachment changes.
const viewAttachmentRefresh = 10 * time.Second

// viewForget is how long an index entry may stay unchanged, as this
// evaluator observes it, before it is removed with its values.
const viewForget = 10 * time.Minute

const (
	// StoreKeyViewIndex lists the evaluators that publish a view.
	StoreKeyViewIndex = "vigil.alerts.view.v1.index"
	// StoreKeyViewPrefix starts the key of an evaluator's view.
	StoreKeyViewPrefix = "vigil.alerts.view.v1/"
	// StoreKeyViewAttachmentPrefix starts the key of an evaluator's
	// attachment.
	StoreKeyViewAttachmentPrefix = "vigil.alerts.view.v1.attachment/"
)

// View is the firing alerts one evaluator holds, and their groups.
type View struct {
	Evaluator string `json:"evaluator"`
	// Alerts are the firing alerts by fingerprint, as Engine.Alerts
	// returns them.
	Alerts []AlertStatus `json:"alerts"`
	// Groups name the alerts of each group by fingerprint.
	Groups []ViewGroup `json:"groups"`
}

// ViewGroup is a group of a View.
type ViewGroup struct {
	Key          string            `json:"key"`
	Labels       map[string]string `json:"labels"`
	Receiver     string            `json:"receiver"`
	Fingerprints []string          `json:"fingerprints"`
}

// Attachment is what an evaluator publishes beside its view (the alert
// router: its SLO and anomaly status for the status page).
type Attachment struct {
	Evaluator string
	Data      json.RawMessage
}

// viewIndex lists the evaluators that publish.
type viewIndex struct {
	Evaluators map[string]viewEntry `json:"evaluators"`
}

// viewEntry is an evaluator's entry in the index: Seq changes at every
// refresh, every Every.
type viewEntry struct {
	Seq   uint64        `json:"seq"`
	Every time.Duration `json:"every"`
}

// sighting is when this evaluator saw an index entry change, on its own
// clock.
type sighting struct {
	entry viewEntry
	at    time.Time
}

// FleetView publishes the view of an engine, one evaluator of a fleet,
// and lists the alerts of the whole fleet. Its methods are safe for
// concurrent use.
type FleetView struct {
	engine    *Engine
	store     Store
	evaluator string
	every     time.Duration

	mu         sync.Mutex
	seq        uint64
	indexedAt  time.Time
	stable     []byte // the view last written, report times left out
	written    []byte // the view last written
	writtenAt  time.Time
	attached   []byte
	attachedAt time.Time
	seen       map[string]sighting
}

// NewFleetView returns the fleet view of engine, whose store is shared by
// the fleet, as evaluator (unique among the evaluators of the fleet),
// which calls Publish every interval.
func NewFleetView(engine *Engine, store Store, evaluator string, interval time.Duration) *FleetView {
	return &FleetView{engine: engine, store: store, evaluator: evaluator, every: max(interval, ViewRefresh), seen: map[string]sighting{}}
}

// ViewKey is the Store key of evaluator's view.
func ViewKey(evaluator string) string {
	return StoreKeyViewPrefix + url.PathEscape(evaluator)
}

// ViewAttachmentKey is the Store key of evaluator's attachment.
func ViewAttachmentKey(evaluator string) string {
	return StoreKeyViewAttachmentPrefix + url.PathEscape(evaluator)
}

// Publish refreshes the evaluator's index entry when its period has
// passed, writes the engine's view at now when it changed, and writes
// attachment when it changed (nil: none).
func (v *FleetView) Publish(ctx context.Context, now time.Time, attachment json.RawMessage) error {
	view := View{Evaluator: v.evaluator, Alerts: v.engine.Alerts(now), Groups: v.engine.viewGroups()}
	written, err := json.Marshal(view)
	if err != nil {
		return err
	}
	for i := range view.Alerts {
		view.Alerts[i].UpdatedAt, view.Alerts[i].ResolvesBy = time.Time{}, time.Time{}
	}
	stable, err := json.Marshal(view)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	if now.Sub(v.indexedAt) >= v.every {
		if err := v.refreshIndex(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			v.indexedAt = now
		}
	}
	if !bytes.Equal(stable, v.stable) || (!bytes.Equal(written, v.written) && now.Sub(v.writtenAt) >= viewVolatileRefresh) {
		if err := v.store.Set(ctx, ViewKey(v.evaluator), written); err != nil {
			errs = append(errs, fmt.Errorf("publishing the alert view %s: %w", ViewKey(v.evaluator), err))
		} else {
			v.stable, v.written, v.writtenAt = stable, written, now
		}
	}
	if attachment != nil && !bytes.Equal(attachment, v.attached) && (v.attached == nil || now.Sub(v.attachedAt) >= viewAttachmentRefresh) {
		if err := v.store.Set(ctx, ViewAttachmentKey(v.evaluator), attachment); err != nil {
			errs = append(errs, fmt.Errorf("publishing %s: %w", ViewAttachmentKey(v.evaluator), err))
		} else {
			v.attached, v.attachedAt = bytes.Clone(attachment), now
		}
	}
	return errors.Join(errs...)
}

// viewGroups returns the groups holding firing alerts, by group key, each
// with its firing alerts by fingerprint: Groups without the alerts'
// statuses, which the view holds once in its Alerts.
func (e *Engine) viewGroups() []ViewGroup {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.viewGroupsLocked()
}

// viewGroupsLocked is viewGroups with e.mu held.
func (e *Engine) viewGroupsLocked() []ViewGroup {
	var out []ViewGroup
	for _, key := range slices.Sorted(maps.Keys(e.groups)) {
		g := e.groups[key]
		vg := ViewGroup{Key: key, Labels: maps.Clone(g.labels), Receiver: g.route.Receiver}
		for _, fp := range slices.Sorted(maps.Keys(g.alerts)) {
			if st := e.alerts[fp]; st != nil && st.alert.Firing() {
				vg.Fingerprints = append(vg.Fingerprints, fp)
			}
		}
		if len(vg.Fingerprints) > 0 {
			out = append(out, vg)
		}
	}
	return out
}

// Withdraw removes the evaluator's view and attachment, when it stops:
// its services' alerts are shown by their next owners.
func (v *FleetView) Withdraw(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stable, v.written, v.attached, v.indexedAt = nil, nil, nil, time.Time{}
	var errs []error
	for _, key := range []string{ViewKey(v.evaluator), ViewAttachmentKey(v.evaluator)} {
		if err := v.store.Delete(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("withdrawing %s: %w", key, err))
		}
	}
	err := v.updateIndex(ctx, func(index *viewIndex) { delete(index.Evaluators, v.evaluator) })
	return errors.Join(append(errs, err)...)
}

// refreshIndex bumps the evaluator's entry, notes the others' as of now
// and removes those not seen changing for viewForget, deleting their
// values. v.mu held.
func (v *FleetView) refreshIndex(ctx context.Context, now time.Time) error {
	var forgotten []string
	err := v.updateIndex(ctx, func(index *viewIndex) {
		if _, ok := index.Evaluators[v.evaluator]; !ok && v.seq > 0 {
			// The store lost the index (a Redis without persistence
			// restarted): write the view and attachment again too.
			v.stable, v.written, v.attached = nil, nil, nil
		}
		v.observeLocked(index, now)
		forgotten = forgotten[:0]
		for id := range index.Evaluators {
			if id != v.evaluator && now.Sub(v.seen[id].at) > viewForget {
				forgotten = append(forgotten, id)
				delete(index.Evaluators, id)
			}
		}
		index.Evaluators[v.evaluator] = viewEntry{Seq: v.seq + 1, Every: v.every}
	})
	if err != nil {
		return err
	}
	v.seq++
	var errs []error
	for _, id := range forgotten {
		for _, key := range []string{ViewKey(id), ViewAttachmentKey(id)} {
			if err := v.store.Delete(ctx, key); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// updateIndex changes the index with change, atomically when the store is
// an Updater. An index that does not decode is rebuilt: every evaluator
// adds itself back within its period.
func (v *FleetView) updateIndex(ctx context.Context, change func(*viewIndex)) error {
	update := func(current []byte) ([]byte, error) {
		index := viewIndex{}
		if len(current) > 0 {
			_ = json.Unmarshal(current, &index)
		}
		if index.Evaluators == nil {
			index.Evaluators = map[string]viewEntry{}
		}
		change(&index)
		return json.Marshal(index)
	}
	var err error
	if u, ok := v.store.(Updater); ok {
		err = u.Update(ctx, StoreKeyViewIndex, update)
	} else {
		var current, next []byte
		if current, err = v.store.Get(ctx, StoreKeyViewIndex); err == nil {
			if next, err = update(current); err == nil {
				err = v.store.Set(ctx, StoreKeyViewIndex, next)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("updating the alert view index %s: %w", StoreKeyViewIndex, err)
	}
	return nil
}

// observeLocked notes when each entry of index changed, on this
// evaluator's clock; v.mu held.
func (v *FleetView) observeLocked(index *viewIndex, now time.Time) {
	for id, entry := range index.Evaluators {
		if s, ok := v.seen[id]; !ok || s.entry != entry {
			v.seen[id] = sighting{entry: entry, at: now}
		}
	}
	for id := range v.seen {
		if _, ok := index.Evaluators[id]; !ok {
			delete(v.seen, id)
		}
	}
}

// livePeers reads the index and returns the other evaluators whose entry
// changed within three of their periods, as of now.
func (v *FleetView) livePeers(ctx context.Context, now time.Time) ([]string, error) {
	data, err := v.store.Get(ctx, StoreKeyViewIndex)
	if err != nil {
		return nil, fmt.Errorf("reading the alert view index %s: %w", StoreKeyViewIndex, err)
	}
	var index viewIndex
	if len(data) > 0 {
		if err := json.Unmarshal(data, &index); err != nil {
			return nil, fmt.Errorf("decoding the alert view index %s: %w", StoreKeyViewIndex, err)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.observeLocked(&index, now)
	var live []string
	for _, id := range slices.Sorted(maps.Keys(index.Evaluators)) {
		s := v.seen[id]
		if id != v.evaluator && now.Sub(s.at) <= viewStaleRefreshes*max(s.entry.Every, ViewRefresh) {
			live = append(live, id)
		}
	}
	return live, nil
}

// Views reads the views of the other live evaluators at now. With an
// error (a view could not be read), the views it could read.
func (v *FleetView) Views(ctx context.Context, now time.Time) ([]View, error) {
	values, err := v.readPeers(ctx, now, ViewKey)
	var views []View
	errs := []error{err}
	for _, a := range values {
		var view View
		if err := json.Unmarshal(a.Data, &view); err != nil {
			errs = append(errs, fmt.Errorf("decoding the alert view %s: %w", ViewKey(a.Evaluator), err))
			continue
		}
		views = append(views, view)
	}
	return views, errors.Join(errs...)
}

// Attachments reads the attachments of the other live evaluators at now.
// With an error, those it could read.
func (v *FleetView) Attachments(ctx context.Context, now time.Time) ([]Attachment, error) {
	return v.readPeers(ctx, now, ViewAttachmentKey)
}

// readPeers reads the value under key(id) of each other live evaluator
// at now, skipping those without one (withdrawn).
func (v *FleetView) readPeers(ctx context.Context, now time.Time, key func(string) string) ([]Attachment, error) {
	peers, err := v.livePeers(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Attachment
	var errs []error
	for _, id := range peers {
		data, err := v.store.Get(ctx, key(id))
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", key(id), err))
			continue
		}
		if data != nil {
			out = append(out, Attachment{Evaluator: id, Data: data})
		}
	}
	return out, errors.Join(errs...)
}

// Alerts returns the firing alerts of the fleet at now by fingerprint:
// the engine's, and those of the other evaluators' views not already
// among them. With an error (a view could not be read), the alerts it
// could read.
func (v *FleetView) Alerts(ctx context.Context, now time.Time) ([]AlertStatus, error) {
	peers, err := v.Views(ctx, now)
	byFP := fleetAlerts(v.engine.Alerts(now), peers)
	out := make([]AlertStatus, 0, len(byFP))
	for _, fp := range slices.Sorted(maps.Keys(byFP)) {
		out = append(out, byFP[fp])
	}
	return out, err
}

// Groups returns the groups of the fleet holding firing alerts at now, by
// group key, each with its alerts by fingerprint, merged as Alerts merges
// alerts. With an error, the groups it could read.
func (v *FleetView) Groups(ctx context.Context, now time.Time) ([]GroupStatus, error) {
	peers, err := v.Views(ctx, now)
	local := v.engine.Groups(now)
	var localAlerts []AlertStatus
	for _, g := range local {
		localAlerts = append(localAlerts, g.Alerts...)
	}
	byFP := fleetAlerts(localAlerts, peers)
	groups := map[string]*GroupStatus{}
	members := map[string]map[string]bool{}
	add := func(key string, labels map[string]string, receiver string, fps []string) {
		g := groups[key]
		if g == nil {
			g = &GroupStatus{Key: key, Labels: maps.Clone(labels), Receiver: receiver}
			groups[key], members[key] = g, map[string]bool{}
		}
		for _, fp := range fps {
			members[key][fp] = true
		}
	}
	for _, g := range local {
		fps := make([]string, 0, len(g.Alerts))
		for _, st := range g.Alerts {
			fps = append(fps, st.Alert.Fingerprint)
		}
		add(g.Key, g.Labels, g.Receiver, fps)
	}
	for _, view := range peers {
		for _, g := range view.Groups {
			add(g.Key, g.Labels, g.Receiver, g.Fingerprints)
		}
	}
	out := make([]GroupStatus, 0, len(groups))
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		for _, fp := range slices.Sorted(maps.Keys(members[key])) {
			if st, ok := byFP[fp]; ok {
				g.Alerts = append(g.Alerts, st)
			}
		}
		if len(g.Alerts) > 0 {
			out = append(out, *g)
		}
	}
	return out, err
}

// fleetAlerts merges the alerts of this evaluator with those of the
// views: this evaluator's copy of an alert wins, else the copy reported
// last.
func fleetAlerts(local []AlertStatus, views []View) map[string]AlertStatus {
	out := make(map[string]AlertStatus, len(local))
	for _, st := range local {
		out[st.Alert.Fingerprint] = st
	}
	peers := map[string]AlertStatus{}
	for _, view := range views {
		for _, st := range view.Alerts {
			fp := st.Alert.Fingerprint
			if _, ok := out[fp]; ok || !st.Alert.Firing() {
				continue
			}
			if have, ok := peers[fp]; !ok || st.UpdatedAt.After(have.UpdatedAt) {
				peers[fp] = st
			}
		}
	}
	maps.Copy(out, peers)
	return out
}
