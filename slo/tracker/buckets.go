package tracker

import "time"

// counts is one bucket: the good and bad events that ended within it.
type counts struct {
	good, bad uint64
}

// ring holds the counts of one resolution in a circular buffer of buckets.
// Bucket k covers the half-open time range (k·res, (k+1)·res] in Unix
// nanoseconds: an event that ends exactly on a boundary belongs to the
// bucket that the boundary closes, so that a window (now-W, now] ending on a
// boundary reads whole buckets only.
//
// head is the newest bucket index written or cleared; the ring holds the
// buckets (head-len, head]. Anything older has been overwritten and reads
// as zero, anything newer has not happened yet and reads as zero too.
type ring struct {
	res     int64
	head    int64
	buckets []counts
	// headSlot and headEnd cache the slot of head and the end of its time
	// range: nearly every event lands in the head bucket, and this spares
	// it two divisions per ring.
	headSlot int
	headEnd  int64
	// total is the sum of every bucket in the ring. A window covering
	// most of the ring is read as total minus the few buckets outside it,
	// so reading a day at one-minute resolution costs a handful of
	// buckets rather than 1,440.
	total counts
}

func newRing(res time.Duration, n int, now int64) ring {
	r := ring{res: int64(res), buckets: make([]counts, n)}
	r.setHead(bucketIndex(now, int64(res)))
	return r
}

func (r *ring) setHead(k int64) {
	r.head = k
	r.headSlot = r.slot(k)
	r.headEnd = (k + 1) * r.res
}

// bucketIndex is the bucket that holds time t (nanoseconds) at resolution
// res: ceil(t/res)-1, computed with floor division so that times before
// 1970 work too.
func bucketIndex(t, res int64) int64 {
	return floorDiv(t-1, res)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (r *ring) slot(k int64) int {
	n := int64(len(r.buckets))
	s := k % n
	if s < 0 {
		s += n
	}
	return int(s)
}

// add counts events that ended at t. It reports false when t is older than
// the ring reaches: the events are outside every window this ring answers.
func (r *ring) add(t int64, good, bad uint64) bool {
	if t <= r.headEnd && t > r.headEnd-r.res {
		b := &r.buckets[r.headSlot]
		b.good += good
		b.bad += bad
		r.total.good += good
		r.total.bad += bad
		return true
	}
	k := bucketIndex(t, r.res)
	n := int64(len(r.buckets))
	switch {
	case k > r.head:
		r.advance(k)
	case k <= r.head-n:
		return false
	}
	b := &r.buckets[r.slot(k)]
	b.good += good
	b.bad += bad
	r.total.good += good
	r.total.bad += bad
	return true
}

// advance moves head to k, clearing the buckets it passes over so that
// they can be reused for the new times.
func (r *ring) advance(k int64) {
	n := int64(len(r.buckets))
	if k-r.head >= n {
		clear(r.buckets)
		r.total = counts{}
	} else {
		for j := r.head + 1; j <= k; j++ {
			b := &r.buckets[r.slot(j)]
			r.total.good -= b.good
			r.total.bad -= b.bad
			*b = counts{}
		}
	}
	r.setHead(k)
}

// get returns bucket k, or zero when the ring does not hold it.
func (r *ring) get(k int64) counts {
	if k > r.head || k <= r.head-int64(len(r.buckets)) {
		return counts{}
	}
	return r.buckets[r.slot(k)]
}

// rangeSum adds up buckets lo to hi, which the ring must hold, walking
// the slots without a division per bucket.
func (r *ring) rangeSum(lo, hi int64) counts {
	var c counts
	if lo > hi {
		return c
	}
	s := r.slot(lo)
	for range hi - lo + 1 {
		b := r.buckets[s]
		c.good += b.good
		c.bad += b.bad
		if s++; s == len(r.buckets) {
			s = 0
		}
	}
	return c
}

// sum returns the events that ended in (from, to]. Buckets wholly inside
// count fully, and so does the bucket holding to: its events all ended by
// to, as no event is recorded in the future. The bucket holding from
// straddles the window's start and counts in proportion to the part of it
// inside the window, which is exact for events spread evenly over the
// bucket; the worst case is an error of that one bucket's events.
func (r *ring) sum(from, to int64) (good, bad float64) {
	if to <= from {
		return 0, 0
	}
	first := bucketIndex(from, r.res)
	last := bucketIndex(to, r.res)
	// The buckets both in (first, last] and in the ring: summed directly,
	// or as the total minus the buckets around them, whichever reads less.
	oldest := r.head - int64(len(r.buckets)) + 1
	lo, hi := max(first+1, oldest), min(last, r.head)
	var inside counts
	if lo <= hi {
		if outside := (lo - oldest) + (r.head - hi); outside < hi-lo+1 {
			before, after := r.rangeSum(oldest, lo-1), r.rangeSum(hi+1, r.head)
			inside.good = r.total.good - before.good - after.good
			inside.bad = r.total.bad - before.bad - after.bad
		} else {
			inside = r.rangeSum(lo, hi)
		}
	}
	good, bad = float64(inside.good), float64(inside.bad)
	edge := r.get(first)
	if edge.good|edge.bad != 0 {
		frac := float64((first+1)*r.res-from) / float64(r.res)
		if first == last {
			// The whole window lies within one bucket: only in tests
			// of tiny windows, never with the layout's resolutions.
			frac = float64(to-from) / float64(r.res)
		}
		good += frac * float64(edge.good)
		bad += frac * float64(edge.bad)
	}
	return good, bad
}
