package tracker

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// Tracker accounts the events of a set of SLOs and evaluates their burn
// rates, error budgets and alerts. It is a passive data structure: it
// starts no goroutine, and time moves only through Options.Clock and the
// now given to Evaluate.
//
// Record may be called from many goroutines at once, also while Evaluate,
// Stats or Snapshot run. Evaluate is meant to be called from one goroutine
// at a time, as transitions are reported to the caller that sees them.
type Tracker struct {
	opts Options

	// mu guards slos and order. Record holds it for reading, so that
	// Update and Restore, which hold it for writing, never race with an
	// event landing in state that is being replaced.
	mu    sync.RWMutex
	slos  map[string]*sloState
	order []*sloState

	// pendingMu guards pending: resolutions of alerts whose SLO Update
	// removed, reported by the next Evaluate.
	pendingMu sync.Mutex
	pending   []Transition

	unknown atomic.Uint64
}

// New returns a tracker of the SLOs. SLOs whose SLI cannot be evaluated on
// the stream (PromQL SLIs that only Prometheus rules evaluate, see
// slo.SLO.Evaluation) are left out, so that no in-stream budget is
// reported for them. When two SLOs
// share an ID, the last one wins.
func New(slos []slo.SLO, opts Options) *Tracker {
	t := &Tracker{opts: opts.withDefaults()}
	t.slos, t.order = t.build(slos, nil)
	return t
}

// build makes the state of the SLOs, reusing the state in keep of any SLO
// whose accounting is unchanged.
func (t *Tracker) build(defs []slo.SLO, keep map[string]*sloState) (map[string]*sloState, []*sloState) {
	byID := make(map[string]*sloState, len(defs))
	order := make([]*sloState, 0, len(defs))
	for _, def := range defs {
		if !def.Evaluation().InStream {
			continue
		}
		id := def.ID()
		var st *sloState
		if old := keep[id]; old != nil && old.fingerprint == accountingFingerprint(def) {
			st = old.withDefinition(def)
		} else {
			st = newSLOState(def)
		}
		if prev, dup := byID[id]; dup {
			order = slices.DeleteFunc(order, func(s *sloState) bool { return s == prev })
		}
		byID[id] = st
		order = append(order, st)
	}
	return byID, order
}

// withDefinition returns a state holding st's series under a new
// definition whose accounting is unchanged (objective, alerting, labels
// may differ).
func (st *sloState) withDefinition(def slo.SLO) *sloState {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := &sloState{
		def:         def,
		budget:      def.ErrorBudget(),
		fingerprint: st.fingerprint,
		layout:      st.layout,
		windows:     st.windows,
		waits:       st.waits,
		maxGroups:   def.MaxGroups,
		series:      st.series,
		keys:        st.keys,
		refused:     st.refused,
	}
	n.def.GroupBy = slices.Clone(def.GroupBy)
	if n.maxGroups <= 0 {
		n.maxGroups = slo.DefaultMaxGroups
	}
	return n
}

// Record counts good and bad events of an SLO series that ended at end.
// group holds the values of the SLO's GroupBy attributes, in order (nil
// for an SLO without GroupBy). It returns nil, or one of the Err values
// when the events were refused; refusals are counted in Stats either way.
//
// Events that ended up to Options.LateTolerance ago count in the bucket of
// their end time; events up to Options.FutureTolerance ahead count as
// ending now.
func (t *Tracker) Record(sloID string, group []string, end time.Time, good, bad uint64) error {
	if good == 0 && bad == 0 {
		return nil
	}
	now := t.opts.Clock().UnixNano()
	at := end.UnixNano()

	t.mu.RLock()
	defer t.mu.RUnlock()
	st := t.slos[sloID]
	if st == nil {
		t.unknown.Add(good + bad)
		return ErrUnknownSLO
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case len(group) != len(st.def.GroupBy):
		st.refused.GroupArity += good + bad
		return ErrGroupArity
	case at < now-int64(t.opts.LateTolerance):
		st.refused.TooLate += good + bad
		return ErrTooLate
	case at > now+int64(t.opts.FutureTolerance):
		st.refused.InFuture += good + bad
		return ErrInFuture
	case at > now:
		at = now
	}

	var buf [128]byte
	key := appendGroupKey(buf[:0], group)
	s := st.series[string(key)]
	if s == nil {
		if len(st.series) >= st.maxGroups {
			st.refused.GroupLimit += good + bad
			return ErrGroupLimit
		}
		s = st.insert(string(key), slices.Clone(group))
	}
	s.add(st.layout, now, at, good, bad)
	return nil
}

// Update replaces the tracker's SLOs, as on a reload. As in New, SLOs
// that cannot be evaluated on the stream are left out. An SLO keeps its
// series, counts and alert states when an SLO of the same ID was tracked
// with the same window, GroupBy and SLI; its objective, alerting and other
// fields take the new values. Other SLOs start empty, and removed ones are
// dropped. Alerts firing in dropped state are reported resolved by the
// next Evaluate, so that nothing stays open downstream.
func (t *Tracker) Update(slos []slo.SLO) {
	t.mu.Lock()
	defer t.mu.Unlock()
	byID, order := t.build(slos, t.slos)
	now := t.opts.Clock()
	var dropped []Transition
	for _, st := range t.order {
		if n := byID[st.def.ID()]; n != nil && n.fingerprint == st.fingerprint {
			continue // build kept its series
		}
		st.mu.Lock()
		for _, key := range st.keys {
			s := st.series[key]
			for i := range s.alerts {
				if s.alerts[i].firing {
					dropped = append(dropped, resolvedTransition(st, s, i, now, nil))
				}
			}
		}
		st.mu.Unlock()
	}
	t.slos, t.order = byID, order
	if len(dropped) > 0 {
		t.pendingMu.Lock()
		t.pending = append(t.pending, dropped...)
		t.pendingMu.Unlock()
	}
}

// Stats are the tracker's counters of series and refused events.
type Stats struct {
	// UnknownSLO counts events recorded for an SLO ID the tracker does
	// not know.
	UnknownSLO uint64
	// SLOs holds one entry per SLO, in definition order.
	SLOs []SLOStats
}

// SLOStats are the counters of one SLO.
type SLOStats struct {
	SLOID string
	// Series is the number of series the SLO has, at most its MaxGroups.
	Series int
	// MaxGroups is the cap on Series in effect.
	MaxGroups int
	// BucketBytes bounds the memory the SLO's buckets can take:
	// SeriesBytes for each series that has had an event. The counts are
	// bit-packed, so a series takes a fraction of that.
	BucketBytes int
	Refused     Refusals
}

// Stats returns the tracker's counters.
func (t *Tracker) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := Stats{UnknownSLO: t.unknown.Load(), SLOs: make([]SLOStats, 0, len(t.order))}
	for _, st := range t.order {
		st.mu.Lock()
		allocated := 0
		for _, s := range st.series {
			if s.rings != nil {
				allocated++
			}
		}
		out.SLOs = append(out.SLOs, SLOStats{
			SLOID:       st.def.ID(),
			Series:      len(st.series),
			MaxGroups:   st.maxGroups,
			BucketBytes: allocated * st.layout.sizeBytes(),
			Refused:     st.refused,
		})
		st.mu.Unlock()
	}
	return out
}

// SeriesBytes is the most bucket memory one series of the SLO can take
// (every count at 64 bits), the part of a series' footprint that depends
// on its window.
func SeriesBytes(def slo.SLO) int { return newLayout(def.Window).sizeBytes() }
