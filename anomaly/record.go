package anomaly

import "time"

// recordBlocks is how many blocks the record window is kept in: the record
// covers between (recordBlocks−1)/recordBlocks of Rarity and all of it.
const recordBlocks = 8

// record keeps the largest score seen over about the last Rarity, as the
// maxima of recordBlocks blocks of time, so it forgets a burst-heavy week
// in fixed memory.
type record struct {
	max   [recordBlocks]float32
	cur   uint8
	start int64 // unix nanoseconds at which block cur began
}

// advance moves the current block to the one holding now, clearing the
// blocks skipped.
func (r *record) advance(now int64, width time.Duration) {
	w := int64(width)
	if r.start == 0 {
		r.start = now
		return
	}
	for k := 0; now-r.start >= w && k < recordBlocks; k++ {
		r.cur = (r.cur + 1) % recordBlocks
		r.max[r.cur] = 0
		r.start += w
	}
	if now-r.start >= w {
		// A gap longer than the whole window: start afresh.
		r.start = now
	}
}

// best is the record: the largest score in the window.
func (r *record) best() float64 {
	m := r.max[0]
	for _, v := range r.max[1:] {
		m = max(m, v)
	}
	return float64(m)
}

func (r *record) learn(x float64) {
	if f := float32(x); f > r.max[r.cur] {
		r.max[r.cur] = f
	}
}
