package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// StoreKey is the key the notification log is kept under in the Store. The
// whole log is one value: it holds only open incidents, so it stays small,
// and one Set keeps it consistent without transactions.
const StoreKey = "vigil.alerts.nflog"

// nflogVersion is bumped when the stored document changes incompatibly.
const nflogVersion = 1

// Action is what a notification asks the receiver to do.
type Action string

// Actions, named as in PagerDuty's Events API v2.
const (
	ActionTrigger Action = "trigger"
	ActionResolve Action = "resolve"
)

// LogEntry records the last notification delivered for one alert at one
// receiver. Only triggers are kept: a delivered resolve deletes the entry,
// so the log holds exactly the incidents still open at receivers.
type LogEntry struct {
	Receiver    string    `json:"receiver"`
	Fingerprint string    `json:"fingerprint"`
	Action      Action    `json:"action"`
	SentAt      time.Time `json:"sent_at"`
	// Alert is the alert as triggered, so its resolve can be sent after a
	// restart even if the alert is never reported again.
	Alert Alert `json:"alert"`
}

// silenceRecord is the engine's state of an until_resolved silence.
type silenceRecord struct {
	// Muted are the fingerprints of alerts the silence has muted.
	Muted map[string]bool `json:"muted,omitempty"`
	// ExpiredAt is when the muted alerts resolved; zero while in force.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
}

// nflogDoc is the stored form of the notification log.
type nflogDoc struct {
	Version  int                       `json:"version"`
	Entries  []LogEntry                `json:"entries"`
	Silences map[string]*silenceRecord `json:"silences,omitempty"`
}

// notificationLog holds entries by fingerprint, then receiver, so that the
// per-alert lookups of a flush do not scan the whole log.
type notificationLog map[string]map[string]*LogEntry

func (l notificationLog) get(receiver, fp string) *LogEntry { return l[fp][receiver] }

func (l notificationLog) put(e *LogEntry) {
	if l[e.Fingerprint] == nil {
		l[e.Fingerprint] = map[string]*LogEntry{}
	}
	l[e.Fingerprint][e.Receiver] = e
}

func (l notificationLog) remove(receiver, fp string) {
	delete(l[fp], receiver)
	if len(l[fp]) == 0 {
		delete(l, fp)
	}
}

// forAlert returns the entries of one alert, ordered by receiver.
func (l notificationLog) forAlert(fp string) []*LogEntry {
	out := make([]*LogEntry, 0, len(l[fp]))
	for _, receiver := range slices.Sorted(maps.Keys(l[fp])) {
		out = append(out, l[fp][receiver])
	}
	return out
}

// all returns every entry, ordered by receiver, then fingerprint.
func (l notificationLog) all() []*LogEntry {
	var out []*LogEntry
	for fp := range l {
		out = append(out, l.forAlert(fp)...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Receiver != out[j].Receiver {
			return out[i].Receiver < out[j].Receiver
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out
}

// pairSet is a set of (receiver, fingerprint) pairs, by fingerprint.
type pairSet map[string]map[string]bool

func (s pairSet) has(receiver, fp string) bool { return s[fp][receiver] }

func (s pairSet) add(receiver, fp string) {
	if s[fp] == nil {
		s[fp] = map[string]bool{}
	}
	s[fp][receiver] = true
}

func (s pairSet) remove(receiver, fp string) {
	delete(s[fp], receiver)
	if len(s[fp]) == 0 {
		delete(s, fp)
	}
}

func encodeLog(l notificationLog, silences map[string]*silenceRecord) ([]byte, error) {
	doc := nflogDoc{Version: nflogVersion, Entries: []LogEntry{}, Silences: silences}
	for _, e := range l.all() {
		doc.Entries = append(doc.Entries, *e)
	}
	return json.Marshal(doc)
}

func decodeLog(data []byte) (*nflogDoc, error) {
	var doc nflogDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decoding notification log: %w", err)
	}
	if doc.Version != nflogVersion {
		return nil, fmt.Errorf("notification log has version %d, want %d", doc.Version, nflogVersion)
	}
	return &doc, nil
}

func loadLog(ctx context.Context, s Store) (*nflogDoc, error) {
	data, err := s.Get(ctx, StoreKey)
	if err != nil {
		return nil, fmt.Errorf("reading notification log: %w", err)
	}
	if data == nil {
		return &nflogDoc{Version: nflogVersion}, nil
	}
	return decodeLog(data)
}
