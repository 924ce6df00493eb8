package tracker

import "math/bits"

// lane holds one count (good or bad) of every bucket of a ring, bit-packed
// at the width of the largest count the lane has held: no memory at all
// while every count is zero, then as many bits per bucket as that count
// needs. A lane widens (copying its counts, at most 64 times) when a count
// outgrows its width, and forgets its width when the whole ring is
// cleared.
//
// Why: a 30-day SLO keeps some 3,400 buckets per series. At 16 bytes a
// bucket that is 55 KiB, over 5 GiB for 100k series. A series at one event
// a second holds counts up to about 60 (1m), 300 (5m) and 3,600 (1h) good
// and a few bad per bucket, 6 to 12 bits and 1 to 6 bits: under 5 KiB a
// series, every count still exact.
type lane struct {
	bits  uint8    // bits per count, 0 to 64
	words []uint64 // the counts, little-endian within and across words
}

// get returns the count of slot i.
func (l *lane) get(i int) uint64 {
	if l.bits == 0 {
		return 0
	}
	width := uint(l.bits)
	pos := uint(i) * width
	w, off := pos/64, pos%64
	v := l.words[w] >> off
	if off+width > 64 {
		v |= l.words[w+1] << (64 - off)
	}
	return v & mask(width)
}

// mask has the low width bits set.
func mask(width uint) uint64 { return ^uint64(0) >> (64 - width) }

// set stores v in slot i of a lane of n slots, widening the lane first
// when v does not fit.
func (l *lane) set(i, n int, v uint64) {
	if need := uint8(bits.Len64(v)); need > l.bits {
		l.widen(need, n)
	}
	if l.bits == 0 {
		return // v is 0, as is every slot
	}
	width := uint(l.bits)
	m := mask(width)
	pos := uint(i) * width
	w, off := pos/64, pos%64
	l.words[w] = l.words[w]&^(m<<off) | v<<off
	if off+width > 64 {
		l.words[w+1] = l.words[w+1]&^(m>>(64-off)) | v>>(64-off)
	}
}

// add adds v to slot i of a lane of n slots.
func (l *lane) add(i, n int, v uint64) {
	if v != 0 {
		l.set(i, n, l.get(i)+v)
	}
}

// widen re-encodes the lane's n counts at width bits.
func (l *lane) widen(width uint8, n int) {
	wider := lane{bits: width, words: make([]uint64, (n*int(width)+63)/64)}
	if l.bits > 0 {
		for i := range n {
			wider.set(i, n, l.get(i))
		}
	}
	*l = wider
}

// zero clears slot i.
func (l *lane) zero(i int) {
	if l.bits > 0 {
		l.set(i, 0, 0)
	}
}

// reset clears every slot and gives the memory back.
func (l *lane) reset() { *l = lane{} }

// sum adds up slots lo to hi-1.
func (l *lane) sum(lo, hi int) uint64 {
	if l.bits == 0 {
		return 0
	}
	var s uint64
	for i := lo; i < hi; i++ {
		s += l.get(i)
	}
	return s
}

// nextNonZero returns the first slot in [i, hi) whose count is not zero,
// or hi. It skips a zero word at once rather than slot by slot: finding
// the oldest event of a sparse series (Status.DataSince) reads hundreds of
// empty buckets.
func (l *lane) nextNonZero(i, hi int) int {
	if l.bits == 0 {
		return hi
	}
	width := uint(l.bits)
	for i < hi {
		w := uint(i) * width / 64
		if l.words[w] == 0 {
			// The slots that lie wholly in word w are zero; the next to
			// read holds the next word's first bit (it may start in w).
			if next := int(64 * (w + 1) / width); next > i {
				i = next
				continue
			}
		}
		if l.get(i) != 0 {
			return i
		}
		i++
	}
	return hi
}

// bytes is the memory the lane's counts take.
func (l *lane) bytes() int { return 8 * len(l.words) }
