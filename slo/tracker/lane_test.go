package tracker

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLaneWidens: a lane takes the bits its largest count needs, keeps
// every count exact when it widens, and gives its memory back on reset.
func TestLaneWidens(t *testing.T) {
	const n = 5
	tests := []struct {
		name string
		adds [][2]uint64 // slot, value
		bits uint8
	}{
		{"no counts", nil, 0},
		{"zeros stay free", [][2]uint64{{0, 0}, {4, 0}}, 0},
		{"ones", [][2]uint64{{0, 1}, {4, 1}}, 1},
		{"a byte", [][2]uint64{{0, 1}, {4, 255}}, 8},
		{"a count past a byte", [][2]uint64{{0, 7}, {1, 200}, {1, 56}}, 9},
		{"across word boundaries", [][2]uint64{{0, 1 << 40}, {1, 3}, {2, 1<<41 - 1}, {4, 5}}, 41},
		{"past 32 bits", [][2]uint64{{0, 1}, {4, math.MaxUint32}, {4, 1}}, 33},
		{"the largest count", [][2]uint64{{1, math.MaxUint64}, {2, 1}}, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lane
			var want [n]uint64
			for _, a := range tt.adds {
				l.add(int(a[0]), n, a[1])
				want[a[0]] += a[1]
			}
			if wantBytes := 8 * ((n*int(tt.bits) + 63) / 64); l.bits != tt.bits || l.bytes() != wantBytes {
				t.Errorf("%d bits (%d bytes), want %d (%d bytes)", l.bits, l.bytes(), tt.bits, wantBytes)
			}
			var total uint64
			for i, w := range want {
				if got := l.get(i); got != w {
					t.Errorf("slot %d = %d, want %d", i, got, w)
				}
				total += w
			}
			if got := l.sum(0, n); tt.bits < 64 && got != total {
				t.Errorf("sum = %d, want %d", got, total)
			}
			l.reset()
			if l.bytes() != 0 || l.get(0) != 0 {
				t.Errorf("after reset: %d bytes, slot 0 = %d", l.bytes(), l.get(0))
			}
		})
	}
}

// TestRingExactAcrossWidths drives a ring with counts from one to billions
// and checks every bucket, the running total and window sums against a
// plain model of the buckets.
func TestRingExactAcrossWidths(t *testing.T) {
	const res, n = 10, 16
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := []uint64{1, 2, 300, 70_000, 5_000_000_000}
	r := newRing(res, n, 0)
	model := map[int64]counts{}
	now := int64(0)
	for i := range 3000 {
		now += rng.Int64N(15)
		at := now - rng.Int64N(100)
		good := rng.Uint64N(sizes[rng.IntN(len(sizes))])
		bad := rng.Uint64N(sizes[rng.IntN(len(sizes))])
		if r.add(at, good, bad) {
			k := bucketIndex(at, res)
			c := model[k]
			c.good += good
			c.bad += bad
			model[k] = c
		}
		var total counts
		for k := r.head - n + 1; k <= r.head; k++ {
			want := model[k]
			if got := r.get(k); got != want {
				t.Fatalf("step %d: bucket %d = %+v, want %+v", i, k, got, want)
			}
			total.good += want.good
			total.bad += want.bad
		}
		if r.total != total {
			t.Fatalf("step %d: running total %+v, want %+v", i, r.total, total)
		}
		if got := r.rangeSum(r.head-n+1, r.head); got != total {
			t.Fatalf("step %d: rangeSum of the ring %+v, want %+v", i, got, total)
		}
	}
}

// TestFirstEvents: the oldest bucket holding an event, found by skipping
// zero words of the lanes, is the one a bucket-by-bucket walk finds, for
// sparse rings at every width (a slot straddling two words among them),
// ranges that wrap around the ring's slots, the head bucket and ranges
// reaching outside the ring.
func TestFirstEvents(t *testing.T) {
	const res, n = 10, 200
	rng := rand.New(rand.NewPCG(7, 8))
	// A power of two has its low bits zero: in a slot straddling two
	// words, the first word may be zero and the count not.
	count := func() uint64 {
		if rng.IntN(2) == 0 {
			return 1 << rng.IntN(64)
		}
		return 1 + rng.Uint64N(1<<rng.IntN(64))
	}
	walk := func(r *ring, lo, hi int64) (int64, bool) {
		for k := lo; k <= hi; k++ {
			if c := r.get(k); c.good|c.bad != 0 {
				return k, true
			}
		}
		return 0, false
	}
	for i := range 2000 {
		r := newRing(res, n, 0)
		now := int64(0)
		// Few events, far apart, one count wide: long runs of zero words.
		for range rng.IntN(6) {
			now += rng.Int64N(6 * n * res / 5)
			if rng.IntN(2) == 0 {
				r.add(now, count(), 0)
			} else {
				r.add(now, 0, count())
			}
		}
		for range 20 {
			lo := r.head - n - 5 + rng.Int64N(n+10)
			hi := lo + rng.Int64N(n+10)
			wantK, wantOK := walk(&r, lo, hi)
			if k, ok := r.firstEvents(lo, hi); k != wantK || ok != wantOK {
				t.Fatalf("case %d: firstEvents(%d, %d) with head %d = %d, %v; the walk finds %d, %v", i, lo, hi, r.head, k, ok, wantK, wantOK)
			}
		}
	}
}
