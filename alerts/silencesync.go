package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Silences shared by the evaluators of a fleet (issue 16). Every
// evaluator's console creates, updates and expires silences, and all of
// them apply every silence, so the silences live in one value of the
// shared store (StoreKeySilences) that each evaluator merges into, never
// overwrites:
//
//   - a write is a read-merge-write of that value, atomic when the store
//     is an Updater (redis_storage: WATCH/MULTI), so two consoles writing
//     at once both keep their silences;
//   - each evaluator reads the value every flush_interval (SyncSilences)
//     and merges it into its own, so a silence set anywhere applies
//     everywhere within one flush_interval and a store round trip;
//   - the merge is per silence and the same on every evaluator, whatever
//     the order: a silence ended by expiry (EndsAt at or before its
//     UpdatedAt) wins over one not ended, since an expired silence is
//     never revived (an update of it is a new silence), so an expiry wins
//     over an edit in place made at the same time by an evaluator that had
//     not seen it, even between clocks that disagree; otherwise the later
//     UpdatedAt wins, as in Alertmanager's own gossip. An edit made where
//     the expiry is known is a new silence (SetSilence), which the merge
//     keeps: the API does not say which version a client read, so that
//     cannot be told from a renewal (TestExpiryRacingAnUpdate). Silences
//     ended longer than SilenceRetention ago are dropped by every merge,
//     so the one that collected them does not get them back;
//   - the state of until_resolved silences is merged too: the alerts each
//     one muted, per alert the later of "firing" and "resolved" as seen by
//     the evaluator that holds the alert, and the earliest end. Such a
//     silence ends once every alert it muted is seen resolved by its
//     evaluator, not when the alerts of one evaluator resolve.
//
// This is written here because the collector's storage extensions have
// no merge: their clients get, set and delete whole values.

// Updater is a Store that replaces a value atomically with a function of
// its current one: if the value changes between the read and the write
// (another process wrote it), the update runs again on the new value.
// redis_storage's clients are Updaters; a Store that is not one is taken
// to have a single writer, this engine, and is written with Set.
type Updater interface {
	Update(ctx context.Context, key string, update func(current []byte) ([]byte, error)) error
}

// mutedAlert is what an until_resolved silence knows of an alert it
// muted: whether it still fires, as of At.
type mutedAlert struct {
	Firing bool      `json:"firing"`
	At     time.Time `json:"at"`
}

// decodeSilences reads a stored silences document; nil is an empty one.
func decodeSilences(data []byte) (silencesDoc, error) {
	doc := silencesDoc{Version: nflogVersion}
	if len(data) == 0 {
		return doc, nil
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return silencesDoc{}, fmt.Errorf("decoding silence state %s: %w", StoreKeySilences, err)
	}
	if doc.Version != nflogVersion {
		return silencesDoc{}, fmt.Errorf("silence state %s has version %d, want %d", StoreKeySilences, doc.Version, nflogVersion)
	}
	for _, rec := range doc.Silences {
		rec.upgrade()
	}
	return doc, nil
}

// upgrade turns the muted set written before the state was merged into
// the alerts it muted, still firing.
func (r *silenceRecord) upgrade() {
	for fp := range r.Muted {
		if _, ok := r.Alerts[fp]; !ok {
			if r.Alerts == nil {
				r.Alerts = map[string]mutedAlert{}
			}
			r.Alerts[fp] = mutedAlert{Firing: true}
		}
	}
	r.Muted = nil
}

func (r *silenceRecord) clone() *silenceRecord {
	return &silenceRecord{Alerts: maps.Clone(r.Alerts), ExpiredAt: r.ExpiredAt}
}

// silencesDocLocked is the engine's silences as stored; e.mu held. The
// document shares nothing with the engine.
func (e *Engine) silencesDocLocked() silencesDoc {
	doc := silencesDoc{Version: nflogVersion, Silences: make(map[string]*silenceRecord, len(e.silState)), API: make(map[string]storedSilence, len(e.apiSilences))}
	for id, rec := range e.silState {
		doc.Silences[id] = rec.clone()
	}
	for id, s := range e.apiSilences {
		doc.API[id] = storeSilence(s)
	}
	return doc
}

// ended reports whether s was ended by an expiry: ExpireSilence sets its
// end to its update time, and an update ends after it.
func (s storedSilence) ended() bool { return !s.EndsAt.After(s.UpdatedAt) }

// newer reports whether s is to be kept over o, two versions of one
// silence; the same answer on every evaluator.
func (s storedSilence) newer(o storedSilence) bool {
	if s.ended() != o.ended() {
		return s.ended()
	}
	if !s.UpdatedAt.Equal(o.UpdatedAt) {
		return s.UpdatedAt.After(o.UpdatedAt)
	}
	if !s.EndsAt.Equal(o.EndsAt) {
		return s.EndsAt.Before(o.EndsAt)
	}
	js, _ := json.Marshal(s)
	jo, _ := json.Marshal(o)
	return bytes.Compare(js, jo) > 0
}

// mergeSilences merges two silences documents. Silences whose end is
// before horizon (when not zero) are dropped with their state.
func mergeSilences(a, b silencesDoc, horizon time.Time) silencesDoc {
	out := silencesDoc{Version: nflogVersion, Silences: map[string]*silenceRecord{}, API: map[string]storedSilence{}}
	for _, d := range []silencesDoc{a, b} {
		for id, s := range d.API {
			if cur, ok := out.API[id]; !ok || s.newer(cur) {
				out.API[id] = s
			}
		}
		for id, rec := range d.Silences {
			if rec == nil {
				continue
			}
			cur := out.Silences[id]
			if cur == nil {
				out.Silences[id] = rec.clone()
				continue
			}
			if !rec.ExpiredAt.IsZero() && (cur.ExpiredAt.IsZero() || rec.ExpiredAt.Before(cur.ExpiredAt)) {
				cur.ExpiredAt = rec.ExpiredAt
			}
			for fp, m := range rec.Alerts {
				c, ok := cur.Alerts[fp]
				if !ok || m.At.After(c.At) || m.At.Equal(c.At) && !m.Firing {
					if cur.Alerts == nil {
						cur.Alerts = map[string]mutedAlert{}
					}
					cur.Alerts[fp] = m
				}
			}
		}
	}
	if !horizon.IsZero() {
		for id, s := range out.API {
			end := s.EndsAt
			if rec := out.Silences[id]; s.Until && rec != nil && !rec.ExpiredAt.IsZero() && rec.ExpiredAt.Before(end) {
				end = rec.ExpiredAt
			}
			if end.Before(horizon) {
				delete(out.API, id)
				delete(out.Silences, id)
			}
		}
	}
	for id, rec := range out.Silences {
		if !rec.ExpiredAt.IsZero() {
			// Ended: which alerts it muted no longer matters.
			rec.Alerts = nil
		}
		out.Silences[id] = rec
	}
	return out
}

// horizonLocked is the end before which silences are forgotten: the
// retention before the last time the engine was given; e.mu held.
func (e *Engine) horizonLocked() time.Time {
	if e.lastNow.IsZero() {
		return time.Time{}
	}
	return e.lastNow.Add(-SilenceRetention)
}

// adoptSilencesLocked makes d the engine's silences: the API silences of
// d, and the state of d's silences that the engine knows (of the API or
// the silences file). e.mu held.
func (e *Engine) adoptSilencesLocked(d silencesDoc) {
	api := make(map[string]*Silence, len(d.API))
	for _, id := range slices.Sorted(maps.Keys(d.API)) {
		s, err := d.API[id].silence(id)
		if err != nil {
			// Written by a newer or broken evaluator: keep what this one
			// has of it, if anything.
			if old := e.apiSilences[id]; old != nil {
				api[id] = old
			}
			continue
		}
		api[id] = s
	}
	e.apiSilences = api
	state := make(map[string]*silenceRecord, len(d.Silences))
	for id, rec := range d.Silences {
		if api[id] != nil || e.fileSilenceByID(id) {
			state[id] = rec.clone()
		}
	}
	e.silState = state
}

func (e *Engine) fileSilenceByID(id string) bool {
	for _, s := range e.silences {
		if s.ID == id {
			return true
		}
	}
	return false
}

// SyncSilences merges the silences in the store, which other evaluators
// of a fleet write, into the engine's, so that theirs apply here from the
// next Flush on. What the engine has that the store lacks is written at
// the next Persist. Call it every flush interval in a fleet; alone, the
// engine needs none of it.
func (e *Engine) SyncSilences(ctx context.Context, now time.Time) error {
	data, err := e.store.Get(ctx, StoreKeySilences)
	if err != nil {
		return fmt.Errorf("reading silence state %s: %w", StoreKeySilences, err)
	}
	stored, err := decodeSilences(data)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.After(e.lastNow) {
		e.lastNow = now
	}
	merged := mergeSilences(e.silencesDocLocked(), stored, e.horizonLocked())
	e.adoptSilencesLocked(merged)
	if !sameSilences(merged, stored) {
		e.silDirty = true
	}
	return nil
}

// sameSilences reports whether two documents hold the same silences.
func sameSilences(a, b silencesDoc) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// writeSilences stores doc: merged into the stored value when the store
// is an Updater, whose result the engine then adopts; set whole
// otherwise. persistMu held.
func (e *Engine) writeSilences(ctx context.Context, doc silencesDoc, horizon time.Time) error {
	u, ok := e.store.(Updater)
	if !ok {
		data, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		return e.store.Set(ctx, StoreKeySilences, data)
	}
	var merged silencesDoc
	err := u.Update(ctx, StoreKeySilences, func(current []byte) ([]byte, error) {
		stored, err := decodeSilences(current)
		if err != nil {
			// Unreadable: this engine's silences replace it.
			stored = silencesDoc{Version: nflogVersion}
		}
		merged = mergeSilences(doc, stored, horizon)
		return json.Marshal(merged)
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Changes made here since doc was taken are kept: merging is
	// idempotent, and they are written next time (silDirty).
	e.adoptSilencesLocked(mergeSilences(e.silencesDocLocked(), merged, e.horizonLocked()))
	return nil
}
