package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"time"
)

// Keys of the engine's state in the Store. The notification log is kept
// per service: one value per service holds the entries of that service's
// alerts, and an index lists the services that have one. A notification
// then rewrites only its own service's value, and whoever owns a service
// (one node today; one evaluator of a fleet, reading a shared store) can
// load exactly that service's state. The state of until_resolved silences,
// which are not per service, has a value of its own.
const (
	// StoreKeyIndex lists the services with a log value.
	StoreKeyIndex = "vigil.alerts.nflog.index"
	// StoreKeyServicePrefix starts the key of a service's log value; see
	// ServiceKey.
	StoreKeyServicePrefix = "vigil.alerts.nflog/"
	// StoreKeySilences holds the state of until_resolved silences and the
	// silences created through the API.
	StoreKeySilences = "vigil.alerts.silences"
)

// ServiceKey is the Store key of the notification log of service (the
// alert's service label; alerts without one share the key of "").
func ServiceKey(service string) string {
	return StoreKeyServicePrefix + url.PathEscape(service)
}

// nflogVersion is bumped when a stored document changes incompatibly.
// Version 1 kept the whole log in one value.
const nflogVersion = 2

// Action is what a notification asks the receiver to do.
type Action string

// Actions, named as in PagerDuty's Events API v2.
const (
	ActionTrigger Action = "trigger"
	ActionResolve Action = "resolve"
)

// LogEntry records the last notification handed over for one alert at one
// integration of one receiver. A delivered resolve deletes the entry, so
// the log holds exactly the incidents open, or possibly open, at each
// integration.
//
// Pending marks a notification recorded by MarkSending and not yet
// confirmed by MarkSent: it may or may not have reached the receiver (the
// process may have died in between). A pending trigger is sent again, and
// the alert's resolve still goes out; a pending resolve is sent again. So a
// crash can repeat a notification, which the receiver folds by its dedup
// key, and never loses one. A notification its receiver refused after the
// handover (MarkRefused) is pending again, for the same reasons: it did
// not reach the receiver, and is owed.
type LogEntry struct {
	Receiver string `json:"receiver"`
	// Integration is the receiver's integration the entry is for (see
	// Engine.SetIntegrations). Entries written before integrations
	// existed have none: they stand for every integration of their
	// receiver, and loading them makes one entry per integration.
	Integration string    `json:"integration,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Action      Action    `json:"action"`
	Pending     bool      `json:"pending,omitempty"`
	SentAt      time.Time `json:"sent_at"`
	// ResolvedAt, on a trigger, is when the alert was reported resolved
	// while its resolve is not yet delivered (it waits for the group's
	// next flush): a restart restores the alert resolved, so the resolve
	// goes out then instead of at ResolveTimeout, the connector that
	// raised the alert having said all it will say.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Alert is the alert as triggered, so its resolve can be sent after a
	// restart even if the alert is never reported again.
	Alert Alert `json:"alert"`
}

// silenceRecord is the engine's state of an until_resolved silence.
type silenceRecord struct {
	// Alerts are the alerts the silence has muted, by fingerprint, and
	// whether each still fires (merged between the evaluators of a
	// fleet: silencesync.go).
	Alerts map[string]mutedAlert `json:"alerts,omitempty"`
	// Muted, in documents written before Alerts, are the fingerprints of
	// the alerts muted; read as Alerts still firing (upgrade).
	Muted map[string]bool `json:"muted,omitempty"`
	// ExpiredAt is when the muted alerts resolved; zero while in force.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
}

// indexDoc is the stored list of services with a log value.
type indexDoc struct {
	Version  int      `json:"version"`
	Services []string `json:"services"`
}

// serviceDoc is the stored log of one service.
type serviceDoc struct {
	Version int        `json:"version"`
	Entries []LogEntry `json:"entries"`
}

// silencesDoc is the stored state of until_resolved silences and the
// silences created through the API.
type silencesDoc struct {
	Version  int                       `json:"version"`
	Silences map[string]*silenceRecord `json:"silences"`
	// API holds the silences created through the API, by ID. Absent in
	// documents written before the API existed, which read as none.
	API map[string]storedSilence `json:"api,omitempty"`
}

// destination is where a notification goes: one integration of one
// receiver. Each destination keeps its own log entry and its own
// notification in flight, so a destination that fails or blocks holds
// back and repeats nothing at the others.
type destination struct {
	receiver, integration string
}

func (d destination) less(o destination) bool {
	if d.receiver != o.receiver {
		return d.receiver < o.receiver
	}
	return d.integration < o.integration
}

func (d destination) compare(o destination) int {
	switch {
	case d.less(o):
		return -1
	case o.less(d):
		return 1
	}
	return 0
}

func (e *LogEntry) destination() destination {
	return destination{receiver: e.Receiver, integration: e.Integration}
}

// notificationLog holds entries by fingerprint, then destination, so that
// the per-alert lookups of a flush do not scan the whole log.
type notificationLog map[string]map[destination]*LogEntry

func (l notificationLog) get(d destination, fp string) *LogEntry { return l[fp][d] }

func (l notificationLog) put(e *LogEntry) {
	if l[e.Fingerprint] == nil {
		l[e.Fingerprint] = map[destination]*LogEntry{}
	}
	l[e.Fingerprint][e.destination()] = e
}

func (l notificationLog) remove(d destination, fp string) {
	delete(l[fp], d)
	if len(l[fp]) == 0 {
		delete(l, fp)
	}
}

// forAlert returns the entries of one alert, ordered by receiver, then
// integration.
func (l notificationLog) forAlert(fp string) []*LogEntry {
	out := make([]*LogEntry, 0, len(l[fp]))
	for _, d := range slices.SortedFunc(maps.Keys(l[fp]), destination.compare) {
		out = append(out, l[fp][d])
	}
	return out
}

// all returns every entry, ordered by receiver, integration, then
// fingerprint.
func (l notificationLog) all() []*LogEntry {
	var out []*LogEntry
	for fp := range l {
		out = append(out, l.forAlert(fp)...)
	}
	sort.Slice(out, func(i, j int) bool {
		if di, dj := out[i].destination(), out[j].destination(); di != dj {
			return di.less(dj)
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out
}

// inflightSet holds the notifications returned by Flush and not yet
// reported to MarkSent: by fingerprint and destination, the notification
// in flight there, so that a report of a notification the engine has
// since forgotten (ForgetService) is told apart from the one in flight
// now.
type inflightSet map[string]map[destination]*flight

// flight is a notification in flight: its id, and what MarkRefused
// matches it by.
type flight struct {
	id     uint64
	action Action
	at     time.Time
	// refused is set when its receiver refused it before MarkSent was
	// told of the handover (MarkRefused): MarkSent then takes it as
	// failed.
	refused bool
}

func (s inflightSet) has(d destination, fp string) bool {
	_, ok := s[fp][d]
	return ok
}

// get returns the notification in flight to d for fp, nil when none is.
func (s inflightSet) get(d destination, fp string) *flight { return s[fp][d] }

// is reports whether the notification in flight to d for fp is id.
func (s inflightSet) is(d destination, fp string, id uint64) bool {
	got, ok := s[fp][d]
	return ok && got.id == id
}

func (s inflightSet) add(d destination, fp string, f *flight) {
	if s[fp] == nil {
		s[fp] = map[destination]*flight{}
	}
	s[fp][d] = f
}

func (s inflightSet) remove(d destination, fp string) {
	delete(s[fp], d)
	if len(s[fp]) == 0 {
		delete(s, fp)
	}
}

// serviceOf is the service an entry is stored under.
func serviceOf(a Alert) string { return a.Labels[LabelService] }

// load reads and decodes the value under key into doc, which must carry a
// Version field; found is false when there is no value.
func load(ctx context.Context, s Store, key string, doc any, version func() int) (found bool, err error) {
	data, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("reading notification log %s: %w", key, err)
	}
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, doc); err != nil {
		return false, fmt.Errorf("decoding notification log %s: %w", key, err)
	}
	if v := version(); v != nflogVersion {
		return false, fmt.Errorf("notification log %s has version %d, want %d", key, v, nflogVersion)
	}
	return true, nil
}
