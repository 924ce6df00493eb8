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
	res  int64
	head int64
	n    int // buckets
	// good and bad hold the buckets' counts, slot by slot (see lane),
	// except the head bucket's: nearly every event lands in it, so it is
	// counted in headCounts, a plain add, and written to the lanes (its
	// slot there stays zero meanwhile) when the head moves on.
	good, bad  lane
	headCounts counts
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
	r := ring{res: int64(res), n: n}
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
	n := int64(r.n)
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
		r.headCounts.good += good
		r.headCounts.bad += bad
		r.total.good += good
		r.total.bad += bad
		return true
	}
	k := bucketIndex(t, r.res)
	switch {
	case k > r.head:
		r.advance(k)
	case k <= r.head-int64(r.n):
		return false
	}
	if k == r.head {
		r.headCounts.good += good
		r.headCounts.bad += bad
	} else {
		slot := r.slot(k)
		r.good.add(slot, r.n, good)
		r.bad.add(slot, r.n, bad)
	}
	r.total.good += good
	r.total.bad += bad
	return true
}

// advance moves head to k, clearing the buckets it passes over so that
// they can be reused for the new times.
func (r *ring) advance(k int64) {
	if k-r.head >= int64(r.n) {
		r.reset()
	} else {
		r.good.set(r.headSlot, r.n, r.headCounts.good)
		r.bad.set(r.headSlot, r.n, r.headCounts.bad)
		r.headCounts = counts{}
		for j := r.head + 1; j <= k; j++ {
			slot := r.slot(j)
			r.total.good -= r.good.get(slot)
			r.total.bad -= r.bad.get(slot)
			r.good.zero(slot)
			r.bad.zero(slot)
		}
	}
	r.setHead(k)
}

// reset empties the ring.
func (r *ring) reset() {
	r.good.reset()
	r.bad.reset()
	r.headCounts = counts{}
	r.total = counts{}
}

// put sets bucket k, which the ring must hold, to c (for Restore).
func (r *ring) put(k int64, c counts) {
	if k == r.head {
		r.total.good += c.good - r.headCounts.good
		r.total.bad += c.bad - r.headCounts.bad
		r.headCounts = c
		return
	}
	slot := r.slot(k)
	r.total.good += c.good - r.good.get(slot)
	r.total.bad += c.bad - r.bad.get(slot)
	r.good.set(slot, r.n, c.good)
	r.bad.set(slot, r.n, c.bad)
}

// bytes is the memory the ring's counts take.
func (r *ring) bytes() int { return r.good.bytes() + r.bad.bytes() }

// get returns bucket k, or zero when the ring does not hold it.
func (r *ring) get(k int64) counts {
	if k > r.head || k <= r.head-int64(r.n) {
		return counts{}
	}
	if k == r.head {
		return r.headCounts
	}
	slot := r.slot(k)
	return counts{good: r.good.get(slot), bad: r.bad.get(slot)}
}

// firstEvents returns the oldest bucket from lo to hi holding an event,
// and false when none does (or the ring holds none of them).
func (r *ring) firstEvents(lo, hi int64) (int64, bool) {
	lo, hi = max(lo, r.head-int64(r.n)+1), min(hi, r.head)
	// The buckets before the head, in one or two runs of slots.
	for lo <= hi && lo < r.head {
		first := r.slot(lo)
		end := min(first+int(min(hi, r.head-1)-lo+1), r.n)
		if j := min(r.good.nextNonZero(first, end), r.bad.nextNonZero(first, end)); j < end {
			return lo + int64(j-first), true
		}
		lo += int64(end - first)
	}
	if lo <= hi && r.headCounts.good|r.headCounts.bad != 0 { // lo == hi == head
		return r.head, true
	}
	return 0, false
}

// rangeSum adds up buckets lo to hi, which the ring must hold: one or two
// runs of consecutive slots.
func (r *ring) rangeSum(lo, hi int64) counts {
	var c counts
	if lo > hi {
		return c
	}
	first, count := r.slot(lo), int(hi-lo+1)
	end := min(first+count, r.n)
	c.good, c.bad = r.good.sum(first, end), r.bad.sum(first, end)
	if wrapped := count - (end - first); wrapped > 0 {
		c.good += r.good.sum(0, wrapped)
		c.bad += r.bad.sum(0, wrapped)
	}
	if hi == r.head { // its slot in the lanes is zero
		c.good += r.headCounts.good
		c.bad += r.headCounts.bad
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
	oldest := r.head - int64(r.n) + 1
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
