package tracker

import (
	"errors"
	"fmt"
	"slices"
)

// The functions of this file let the state of a tracker be split by
// service, as a fleet of evaluators does (issue 16): each service is owned
// by one evaluator at a time, and when it moves, the previous owner writes
// the service's state (SnapshotService), forgets it (ForgetService), and
// the next owner adds it to what it accounted meanwhile (Merge).

// Services returns the services of the tracked SLOs, sorted.
func (t *Tracker) Services() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for _, st := range t.order {
		if !slices.Contains(out, st.def.Service) {
			out = append(out, st.def.Service)
		}
	}
	slices.Sort(out)
	return out
}

// SnapshotService is Snapshot restricted to the SLOs of service.
func (t *Tracker) SnapshotService(service string) ([]byte, error) {
	return t.snapshot(func(st *sloState) bool { return st.def.Service == service })
}

// ForgetService drops the counts and alert states of the SLOs of service
// without reporting any transition: the service moved to another owner,
// whose state is now the service's, and an alert must neither resolve
// here (its windows going quiet is no recovery) nor fire again there.
func (t *Tracker) ForgetService(service string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.order {
		if st.def.Service != service {
			continue
		}
		st.mu.Lock()
		st.series, st.keys, st.refused = map[string]*series{}, nil, Refusals{}
		if len(st.def.GroupBy) == 0 {
			st.insert("", nil)
		}
		st.mu.Unlock()
	}
}

// Merge adds the state in a Snapshot to the tracker's: the counts of each
// bucket are added to the counts recorded here since (the snapshot's owner
// and this tracker saw disjoint events, each from its gateways), and the
// alert states are the snapshot's, the state its owner reported. Buckets
// older than the rings reach are dropped, as when they are recorded late.
// As Restore, it skips SLOs no longer tracked or whose accounting changed.
func (t *Tracker) Merge(data []byte) error {
	snap, err := decodeSnapshot(data, "merge")
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
		st.refused = st.refused.plus(ss.Refused)
		for _, sser := range ss.Series {
			if len(sser.Group) != len(st.def.GroupBy) {
				errs = append(errs, fmt.Errorf("tracker: merge %s: group %q does not match group_by", ss.ID, sser.Group))
				continue
			}
			key := string(appendGroupKey(nil, sser.Group))
			s := st.series[key]
			if s == nil {
				s = st.insert(key, slices.Clone(sser.Group))
			}
			s.merge(st, sser, now)
		}
		st.mu.Unlock()
	}
	return errors.Join(errs...)
}

// merge adds a series' snapshot to it; the alert states become the
// snapshot's.
func (s *series) merge(st *sloState, ss snapshotSeries, now int64) {
	s.totalGood += ss.TotalGood
	s.totalBad += ss.TotalBad
	if len(ss.Rings) > 0 {
		s.allocate(st.layout, now)
	}
	for _, sr := range ss.Rings {
		if r := s.ring(sr.Resolution); r != nil {
			sr.each(sr.Len, r.addBucket)
		}
	}
	s.takeAlerts(st, ss)
}

// addBucket adds c to bucket k, moving the head forward if k is newer;
// a bucket older than the ring reaches is dropped.
func (r *ring) addBucket(k int64, c counts) {
	if c.good|c.bad == 0 {
		return
	}
	switch {
	case k > r.head:
		r.advance(k)
	case k <= r.head-int64(r.n):
		return
	}
	old := r.get(k)
	r.put(k, counts{good: old.good + c.good, bad: old.bad + c.bad})
}

// plus adds two tallies of refusals.
func (r Refusals) plus(o Refusals) Refusals {
	return Refusals{
		TooLate: r.TooLate + o.TooLate, InFuture: r.InFuture + o.InFuture,
		GroupLimit: r.GroupLimit + o.GroupLimit, GroupArity: r.GroupArity + o.GroupArity,
	}
}
