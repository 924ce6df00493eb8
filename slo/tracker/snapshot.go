package tracker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// snapshotVersion is the format version Snapshot writes. Restore and
// Merge read it and every earlier one and refuse any other, so that a
// format change is a deliberate migration. Version 1 held the buckets as
// JSON arrays of numbers; version 2 packs them (snapshotRing.Packed), for
// less than half the size, a third of the time and under a third of the
// allocation (BenchmarkSnapshot): the connector writes a snapshot at
// every alert transition and every checkpoint interval.
const snapshotVersion = 2

// snapshot is the serialized state of a tracker, as JSON. Buckets are
// stored by ring, newest first, with the zeros after the oldest non-zero
// bucket trimmed, so that a young or quiet series costs a few bytes.
type snapshot struct {
	Version int           `json:"version"`
	SLOs    []snapshotSLO `json:"slos"`
}

type snapshotSLO struct {
	ID string `json:"id"`
	// Fingerprint is the accounting fingerprint: a restore into an SLO
	// whose window, GroupBy or SLI changed would give the counts a new
	// meaning, so such state is dropped.
	Fingerprint string           `json:"fingerprint"`
	Refused     Refusals         `json:"refused"`
	Series      []snapshotSeries `json:"series"`
}

type snapshotSeries struct {
	Group     []string        `json:"group,omitempty"`
	TotalGood uint64          `json:"total_good"`
	TotalBad  uint64          `json:"total_bad"`
	Rings     []snapshotRing  `json:"rings"`
	Alerts    []snapshotAlert `json:"alerts,omitempty"`
	// PagedBurst carries the hold on the ticket of a paged burst (see
	// holdTicket), so that a restart does not open the ticket the page
	// already covered. Absent in snapshots written before it: false.
	PagedBurst bool `json:"paged_burst,omitempty"`
}

type snapshotRing struct {
	Resolution time.Duration `json:"resolution"`
	// Head is the index of the newest bucket; the i-th bucket held, newest
	// first, is bucket Head-i. Len is the ring's length.
	Head int64 `json:"head"`
	Len  int   `json:"len"`
	// Packed holds the buckets from version 2 on, newest first, as
	// unsigned varints (base64 in the JSON): a run of n empty buckets as
	// 2n+1; any other bucket as 2·good, then bad. Counts are mostly small
	// numbers of a byte or two, and a quiet stretch takes a byte. (A
	// bucket of 2⁶³ good events or more would not round-trip; at a
	// billion events a second that takes three centuries.)
	Packed []byte `json:"packed,omitempty"`
	// Good and Bad held them in version 1.
	Good []uint64 `json:"good,omitempty"`
	Bad  []uint64 `json:"bad,omitempty"`
}

type snapshotAlert struct {
	Severity   string        `json:"severity"`
	Since      time.Time     `json:"since"`
	ClearSince time.Time     `json:"clear_since,omitzero"`
	Long       time.Duration `json:"long"`
	Short      time.Duration `json:"short"`
	BurnRate   float64       `json:"burn_rate"`
}

// Snapshot serializes the tracker's counts and alert states (versioned
// JSON), for a checkpoint that Restore reads back after a restart.
func (t *Tracker) Snapshot() ([]byte, error) {
	return t.snapshot(func(*sloState) bool { return true })
}

// snapshot serializes the SLOs that in selects.
func (t *Tracker) snapshot(in func(*sloState) bool) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	snap := snapshot{Version: snapshotVersion, SLOs: []snapshotSLO{}}
	for _, st := range t.order {
		if !in(st) {
			continue
		}
		st.mu.Lock()
		ss := snapshotSLO{ID: st.def.ID(), Fingerprint: st.fingerprint, Refused: st.refused}
		for _, key := range st.keys {
			ss.Series = append(ss.Series, snapshotOfSeries(st.series[key]))
		}
		st.mu.Unlock()
		snap.SLOs = append(snap.SLOs, ss)
	}
	return json.Marshal(snap)
}

func snapshotOfSeries(s *series) snapshotSeries {
	out := snapshotSeries{Group: s.group, TotalGood: s.totalGood, TotalBad: s.totalBad, PagedBurst: s.pagedBurst}
	for i := range s.rings {
		r := &s.rings[i]
		n := r.n
		sr := snapshotRing{Resolution: time.Duration(r.res), Head: r.head, Len: n}
		var packed []byte
		empty := 0 // empty buckets not yet written
		for j := range n {
			c := r.get(r.head - int64(j))
			if c == (counts{}) {
				empty++
				continue
			}
			if packed == nil {
				packed = make([]byte, 0, 3*(n-j)+binary.MaxVarintLen64)
			}
			if empty > 0 {
				packed = binary.AppendUvarint(packed, 2*uint64(empty)+1)
				empty = 0
			}
			packed = binary.AppendUvarint(binary.AppendUvarint(packed, 2*c.good), c.bad)
		}
		// Empty buckets after the oldest non-empty one are not written.
		sr.Packed = packed
		out.Rings = append(out.Rings, sr)
	}
	for i, a := range s.alerts {
		if !a.firing {
			continue
		}
		out.Alerts = append(out.Alerts, snapshotAlert{
			Severity: severities[i], Since: a.since, ClearSince: a.clearSince,
			Long: a.window.Long, Short: a.window.Short, BurnRate: a.window.BurnRate,
		})
	}
	return out
}

// Restore replaces the state of the tracker's SLOs with the state in a
// Snapshot: counts and firing alerts, so that a restarted collector loses
// no budget, does not fire again an alert that was firing, and still
// resolves it. State of SLOs no longer tracked, or whose window, GroupBy
// or SLI changed, is skipped; SLOs absent from the snapshot keep their
// state. Call it before recording.
func (t *Tracker) Restore(data []byte) error {
	snap, err := decodeSnapshot(data, "restore")
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.opts.Clock().UnixNano()
	var errs []error
	for _, ss := range snap.SLOs {
		st := t.slos[ss.ID]
		if st == nil || st.fingerprint != ss.Fingerprint {
			continue
		}
		st.mu.Lock()
		st.series, st.keys, st.refused = map[string]*series{}, nil, ss.Refused
		for _, sser := range ss.Series {
			if len(sser.Group) != len(st.def.GroupBy) {
				errs = append(errs, fmt.Errorf("tracker: restore %s: group %q does not match group_by", ss.ID, sser.Group))
				continue
			}
			key := string(appendGroupKey(nil, sser.Group))
			if st.series[key] != nil {
				errs = append(errs, fmt.Errorf("tracker: restore %s: group %q twice", ss.ID, sser.Group))
				continue
			}
			s := st.insert(key, slices.Clone(sser.Group))
			s.restore(st, sser, now)
		}
		if len(st.def.GroupBy) == 0 && st.series[""] == nil {
			st.insert("", nil)
		}
		st.mu.Unlock()
	}
	return errors.Join(errs...)
}

// restore fills a fresh series from its snapshot. Rings are matched by
// resolution; each bucket goes to its index, so a ring whose length
// changed keeps what still fits.
func (s *series) restore(st *sloState, ss snapshotSeries, now int64) {
	s.totalGood, s.totalBad = ss.TotalGood, ss.TotalBad
	if len(ss.Rings) > 0 {
		s.allocate(st.layout, now)
	}
	for _, sr := range ss.Rings {
		if r := s.ring(sr.Resolution); r != nil {
			r.setHead(sr.Head)
			r.reset()
			sr.each(r.n, r.put)
		}
	}
	s.takeAlerts(st, ss)
}

// decodeSnapshot parses a Snapshot for op (restore, merge), refusing
// other format versions.
func decodeSnapshot(data []byte, op string) (snapshot, error) {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return snap, fmt.Errorf("tracker: %s: %w", op, err)
	}
	if snap.Version < 1 || snap.Version > snapshotVersion {
		return snap, fmt.Errorf("tracker: %s: snapshot version %d, want 1 to %d", op, snap.Version, snapshotVersion)
	}
	for _, ss := range snap.SLOs {
		for _, sser := range ss.Series {
			for _, sr := range sser.Rings {
				if err := sr.check(); err != nil {
					return snap, fmt.Errorf("tracker: %s: %s group %q ring %v: %w", op, ss.ID, sser.Group, sr.Resolution, err)
				}
			}
		}
	}
	return snap, nil
}

// check refuses packed buckets that do not decode whole or hold more
// than Len buckets, so that each need not check.
func (sr snapshotRing) check() error {
	b := sr.Packed
	for n := 0; len(b) > 0; {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return fmt.Errorf("packed bucket %d is malformed", n)
		}
		b = b[k:]
		if x&1 == 1 {
			n += int(min(x>>1, uint64(sr.Len)+1))
		} else {
			if _, k = binary.Uvarint(b); k <= 0 {
				return fmt.Errorf("packed bucket %d is malformed", n)
			}
			b = b[k:]
			n++
		}
		if n > sr.Len {
			return fmt.Errorf("more packed buckets than its length %d", sr.Len)
		}
	}
	return nil
}

// ring returns the series' ring of resolution res, or nil when its
// layout has none (the SLO's windows changed since the snapshot).
func (s *series) ring(res time.Duration) *ring {
	for i := range s.rings {
		if s.rings[i].res == int64(res) {
			return &s.rings[i]
		}
	}
	return nil
}

// each calls fn with every bucket the snapshot holds, newest first, at
// most limit of them.
func (sr snapshotRing) each(limit int, fn func(k int64, c counts)) {
	if sr.Packed != nil {
		// Checked by decodeSnapshot: whole buckets, at most Len.
		b := sr.Packed
		for j := 0; j < limit && len(b) > 0; {
			x, k := binary.Uvarint(b)
			b = b[k:]
			if x&1 == 1 {
				j += int(x >> 1)
				continue
			}
			bad, k := binary.Uvarint(b)
			b = b[k:]
			fn(sr.Head-int64(j), counts{good: x >> 1, bad: bad})
			j++
		}
		return
	}
	for j := range min(max(len(sr.Good), len(sr.Bad)), sr.Len, limit) {
		var c counts
		if j < len(sr.Good) {
			c.good = sr.Good[j]
		}
		if j < len(sr.Bad) {
			c.bad = sr.Bad[j]
		}
		fn(sr.Head-int64(j), c)
	}
}

// takeAlerts sets the series' alert states to the snapshot's: the firing
// alerts and the ticket's paged-burst hold, as the snapshot's owner
// reported them.
func (s *series) takeAlerts(st *sloState, ss snapshotSeries) {
	s.alerts = [len(severities)]alertState{}
	s.pagedBurst = ss.PagedBurst
	for _, sa := range ss.Alerts {
		idx := slices.Index(severities[:], sa.Severity)
		if idx < 0 {
			continue
		}
		w := st.alertWindow(sa.Severity, sa.Long, sa.Short, sa.BurnRate)
		s.alerts[idx] = alertState{firing: true, since: sa.Since, clearSince: sa.ClearSince, window: w}
	}
}

// alertWindow finds the SLO's alert window with the given pair, falling
// back to the stored values when the table no longer has it.
func (st *sloState) alertWindow(severity string, long, short time.Duration, burnRate float64) slo.AlertWindow {
	for _, w := range st.windows {
		if w.Severity == severity && w.Long == long && w.Short == short {
			return w
		}
	}
	return slo.AlertWindow{Severity: severity, Long: long, Short: short, BurnRate: burnRate}
}
