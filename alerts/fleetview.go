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
// evaluator publishes its own (a View, one value per evaluator, written
// from its persist loop every flush_interval when it changed and every
// ViewRefresh at least) and a console reads the others' when it is asked.
//
//   - A view is as fresh as its evaluator's last flush_interval; one not
//     refreshed for ViewStale (a dead evaluator's) is not shown, and an
//     evaluator that stops cleanly withdraws its own at once. The alerts
//     of a dead evaluator's services are missing from the consoles
//     between ViewStale and their takeover (lease_ttl), and shown again
//     from the new owner, which restores them from the notification log.
//   - An alert held by two evaluators at once (during a handover) is
//     shown once: as this evaluator holds it, else as the most recently
//     published view holds it.
//   - Inhibition is judged by the evaluator holding the target alert
//     against the alerts it holds: rules whose equal labels include the
//     service (the built-in one's) see every candidate source.
//
// This is written here because a storage extension has no listing of
// keys or expiry of values: an index value lists the evaluators that
// published, each with the time it last did, and views long gone are
// pruned from it.

// ViewRefresh is how often an evaluator republishes its view when
// nothing in it changed, so the others can tell it is alive.
const ViewRefresh = 5 * time.Second

// ViewStale is the age past which a view is not shown.
const ViewStale = 3 * ViewRefresh

// viewForget is the age past which a view is removed from the store.
const viewForget = time.Hour

const (
	// StoreKeyViewIndex lists the evaluators that publish a view.
	StoreKeyViewIndex = "vigil.alerts.view.index"
	// StoreKeyViewPrefix starts the key of an evaluator's view.
	StoreKeyViewPrefix = "vigil.alerts.view/"
)

// viewVersion is bumped when a view or the index changes incompatibly.
const viewVersion = 1

// View is the firing alerts one evaluator holds, and their groups.
type View struct {
	Version   int       `json:"version"`
	Evaluator string    `json:"evaluator"`
	UpdatedAt time.Time `json:"updated_at"`
	// Alerts are the firing alerts by fingerprint, as Engine.Alerts
	// returns them.
	Alerts []AlertStatus `json:"alerts"`
	// Groups name the alerts of each group by fingerprint.
	Groups []ViewGroup `json:"groups"`
	// Attachment is what the evaluator publishes beside its alerts (the
	// alert router: its SLO and anomaly status for the status page).
	Attachment json.RawMessage `json:"attachment,omitempty"`
}

// ViewGroup is a group of a View.
type ViewGroup struct {
	Key          string            `json:"key"`
	Labels       map[string]string `json:"labels"`
	Receiver     string            `json:"receiver"`
	Fingerprints []string          `json:"fingerprints"`
}

type viewIndex struct {
	Version int `json:"version"`
	// Evaluators are the evaluators that publish, with the time each
	// last refreshed its entry.
	Evaluators map[string]time.Time `json:"evaluators"`
}

// FleetView publishes the view of an engine, one evaluator of a fleet,
// and lists the alerts of the whole fleet. Its methods are safe for
// concurrent use.
type FleetView struct {
	engine    *Engine
	store     Store
	evaluator string

	mu        sync.Mutex
	published []byte // the alerts and groups last written
	at        time.Time
	indexedAt time.Time
}

// NewFleetView returns the fleet view of engine, whose store is shared by
// the fleet, as evaluator (unique among the evaluators of the fleet).
func NewFleetView(engine *Engine, store Store, evaluator string) *FleetView {
	return &FleetView{engine: engine, store: store, evaluator: evaluator}
}

// ViewKey is the Store key of evaluator's view.
func ViewKey(evaluator string) string {
	return StoreKeyViewPrefix + url.PathEscape(evaluator)
}

// Publish writes the engine's view at now, with attachment, if it
// changed since it was last written or is ViewRefresh old, and refreshes
// the evaluator's entry in the index every ViewRefresh.
func (v *FleetView) Publish(ctx context.Context, now time.Time, attachment json.RawMessage) error {
	view := View{Version: viewVersion, Evaluator: v.evaluator, UpdatedAt: now, Alerts: v.engine.Alerts(now),
		Groups: v.engine.viewGroups(), Attachment: attachment}
	content, err := json.Marshal([]any{view.Alerts, view.Groups, view.Attachment})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	if now.Sub(v.indexedAt) >= ViewRefresh {
		if err := v.updateIndex(ctx, now, true); err != nil {
			errs = append(errs, err)
		} else {
			v.indexedAt = now
		}
	}
	if bytes.Equal(content, v.published) && now.Sub(v.at) < ViewRefresh {
		return errors.Join(errs...)
	}
	data, err := json.Marshal(view)
	if err != nil {
		return err
	}
	if err := v.store.Set(ctx, ViewKey(v.evaluator), data); err != nil {
		errs = append(errs, fmt.Errorf("publishing the alert view %s: %w", ViewKey(v.evaluator), err))
	} else {
		v.published, v.at = content, now
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

// Withdraw removes the evaluator's view, when it stops: its services'
// alerts are shown by their next owners.
func (v *FleetView) Withdraw(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.published, v.at, v.indexedAt = nil, time.Time{}, time.Time{}
	if err := v.store.Delete(ctx, ViewKey(v.evaluator)); err != nil {
		return fmt.Errorf("withdrawing the alert view %s: %w", ViewKey(v.evaluator), err)
	}
	return v.updateIndex(ctx, time.Time{}, false)
}

// updateIndex adds the evaluator to the index as of now (add) or removes
// it, and removes the evaluators not seen for viewForget, deleting their
// views. v.mu held.
func (v *FleetView) updateIndex(ctx context.Context, now time.Time, add bool) error {
	var forgotten []string
	update := func(current []byte) ([]byte, error) {
		index := viewIndex{Version: viewVersion, Evaluators: map[string]time.Time{}}
		if len(current) > 0 {
			if err := json.Unmarshal(current, &index); err != nil || index.Version != viewVersion {
				// An index this version cannot read is rebuilt: every
				// evaluator adds itself back within ViewRefresh.
				index = viewIndex{Version: viewVersion, Evaluators: map[string]time.Time{}}
			}
		}
		forgotten = forgotten[:0]
		for id, seen := range index.Evaluators {
			if !now.IsZero() && now.Sub(seen) > viewForget {
				forgotten = append(forgotten, id)
				delete(index.Evaluators, id)
			}
		}
		if add {
			index.Evaluators[v.evaluator] = now
		} else {
			delete(index.Evaluators, v.evaluator)
		}
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
	errs := []error{}
	for _, id := range forgotten {
		if err := v.store.Delete(ctx, ViewKey(id)); err != nil {
			errs = append(errs, fmt.Errorf("removing the alert view %s: %w", ViewKey(id), err))
		}
	}
	return errors.Join(errs...)
}

// Views reads the views of the other evaluators not older than ViewStale
// at now, the most recent first. With an error (a view could not be
// read), the views it could read.
func (v *FleetView) Views(ctx context.Context, now time.Time) ([]View, error) {
	data, err := v.store.Get(ctx, StoreKeyViewIndex)
	if err != nil {
		return nil, fmt.Errorf("reading the alert view index %s: %w", StoreKeyViewIndex, err)
	}
	if data == nil {
		return nil, nil
	}
	var index viewIndex
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("decoding the alert view index %s: %w", StoreKeyViewIndex, err)
	}
	if index.Version != viewVersion {
		return nil, fmt.Errorf("alert view index %s has version %d, want %d", StoreKeyViewIndex, index.Version, viewVersion)
	}
	var views []View
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(index.Evaluators)) {
		if id == v.evaluator || now.Sub(index.Evaluators[id]) > ViewStale {
			continue
		}
		data, err := v.store.Get(ctx, ViewKey(id))
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the alert view %s: %w", ViewKey(id), err))
			continue
		}
		if data == nil {
			continue // withdrawn
		}
		var view View
		if err := json.Unmarshal(data, &view); err != nil {
			errs = append(errs, fmt.Errorf("decoding the alert view %s: %w", ViewKey(id), err))
			continue
		}
		if view.Version != viewVersion {
			errs = append(errs, fmt.Errorf("alert view %s has version %d, want %d", ViewKey(id), view.Version, viewVersion))
			continue
		}
		if now.Sub(view.UpdatedAt) <= ViewStale {
			views = append(views, view)
		}
	}
	slices.SortStableFunc(views, func(a, b View) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return views, errors.Join(errs...)
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
// views, the most recent first: the first holder of an alert wins.
func fleetAlerts(local []AlertStatus, views []View) map[string]AlertStatus {
	out := make(map[string]AlertStatus, len(local))
	for _, st := range local {
		out[st.Alert.Fingerprint] = st
	}
	for _, view := range views {
		for _, st := range view.Alerts {
			if _, ok := out[st.Alert.Fingerprint]; !ok && st.Alert.Firing() {
				out[st.Alert.Fingerprint] = st
			}
		}
	}
	return out
}
