package tracker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		t, res, want int64
	}{
		{t: 1, res: 10, want: 0},
		{t: 10, res: 10, want: 0}, // a boundary closes the bucket before it
		{t: 11, res: 10, want: 1},
		{t: 20, res: 10, want: 1},
		{t: 0, res: 10, want: -1},
		{t: -1, res: 10, want: -1},
		{t: -10, res: 10, want: -2},
		{t: -11, res: 10, want: -2},
	}
	for _, tt := range tests {
		if got := bucketIndex(tt.t, tt.res); got != tt.want {
			t.Errorf("bucketIndex(%d, %d) = %d, want %d", tt.t, tt.res, got, tt.want)
		}
	}
}

func TestRingAddAndSum(t *testing.T) {
	type event struct {
		at        int64
		good, bad uint64
		accepted  bool
	}
	tests := []struct {
		name      string
		n         int
		events    []event
		from, to  int64
		good, bad float64
	}{
		{
			name:   "whole buckets",
			n:      5,
			events: []event{{5, 1, 0, true}, {15, 2, 1, true}, {25, 3, 0, true}},
			from:   0, to: 30, good: 6, bad: 1,
		},
		{
			name:   "window excludes the bucket its start closes",
			n:      5,
			events: []event{{10, 1, 0, true}, {15, 2, 1, true}},
			from:   10, to: 20, good: 2, bad: 1,
		},
		{
			name:   "straddling bucket counts in proportion",
			n:      5,
			events: []event{{12, 10, 10, true}, {25, 1, 0, true}},
			from:   17, to: 30, good: 3 + 1, bad: 3,
		},
		{
			name:   "rollover clears reused slots",
			n:      3,
			events: []event{{5, 100, 100, true}, {15, 1, 0, true}, {45, 0, 1, true}},
			from:   10, to: 50, good: 0, bad: 1, // 15 is at bucket 1, cleared when head reached 4
		},
		{
			name:   "a jump past the whole ring clears it",
			n:      3,
			events: []event{{5, 7, 7, true}, {500, 1, 2, true}},
			from:   0, to: 500, good: 1, bad: 2,
		},
		{
			name:   "events older than the ring are refused",
			n:      3,
			events: []event{{45, 1, 0, true}, {15, 5, 5, false}, {25, 2, 0, true}},
			from:   0, to: 50, good: 3, bad: 0,
		},
		{
			name:   "late event within the ring lands in its bucket",
			n:      4,
			events: []event{{35, 1, 0, true}, {12, 0, 4, true}},
			from:   10, to: 20, good: 0, bad: 4,
		},
		{
			name:   "window longer than the ring reads zero beyond it",
			n:      2,
			events: []event{{5, 9, 9, true}, {25, 1, 0, true}, {35, 1, 0, true}},
			from:   0, to: 40, good: 2, bad: 0,
		},
		{
			name:   "empty window",
			n:      3,
			events: []event{{5, 1, 1, true}},
			from:   10, to: 10, good: 0, bad: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ring{res: 10, n: tt.n}
			r.setHead(0)
			for _, e := range tt.events {
				if got := r.add(e.at, e.good, e.bad); got != e.accepted {
					t.Fatalf("add(%d) = %v, want %v", e.at, got, e.accepted)
				}
			}
			good, bad := r.sum(tt.from, tt.to)
			if !approx(good, tt.good, 1e-9) || !approx(bad, tt.bad, 1e-9) {
				t.Errorf("sum(%d, %d) = %v good, %v bad; want %v, %v", tt.from, tt.to, good, bad, tt.good, tt.bad)
			}
		})
	}
}

func TestResolutionFor(t *testing.T) {
	tests := []struct {
		window time.Duration
		n      int
		want   time.Duration
	}{
		{5 * time.Minute, 120, 2 * time.Second},
		{time.Hour, 120, 30 * time.Second},
		{24 * time.Hour, 120, 10 * time.Minute},
		{30 * 24 * time.Hour, 720, time.Hour},
		{70 * time.Second, 120, time.Second},
		{3 * 365 * 24 * time.Hour, 720, 24 * time.Hour},
		{10 * 365 * 24 * time.Hour, 720, 5 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := resolutionFor(tt.window, tt.n); got != tt.want {
			t.Errorf("resolutionFor(%v, %d) = %v, want %v", tt.window, tt.n, got, tt.want)
		}
	}
}

// TestLayoutCoversWindows checks the accuracy and memory promises of the
// package doc for the periods SLOs use.
func TestLayoutCoversWindows(t *testing.T) {
	day := 24 * time.Hour
	windows := []slo.Window{
		{Rolling: day},
		{Rolling: 7 * day},
		{Rolling: 28 * day},
		{Rolling: 29 * day},
		{Rolling: 30 * day},
		{Rolling: 90 * day},
		{Rolling: 365 * day},
		{Calendar: slo.CalendarWeek},
		{Calendar: slo.CalendarMonth},
	}
	for _, w := range windows {
		l := newLayout(w)
		for _, b := range l.burn {
			spec := l.rings[b.ring]
			if b.window <= minuteReach && time.Minute%spec.res != 0 {
				t.Errorf("%+v: window %v read at %v, which does not divide a minute", w, b.window, spec.res)
			}
			if spec.res > time.Second && b.window/spec.res < bucketsPerBurnWindow {
				t.Errorf("%+v: window %v read at %v, fewer than %d buckets", w, b.window, spec.res, bucketsPerBurnWindow)
			}
			if time.Duration(spec.n)*spec.res < b.window+spareBuckets*spec.res {
				t.Errorf("%+v: ring of %d×%v does not reach window %v", w, spec.n, spec.res, b.window)
			}
		}
		if got, want := len(l.burn), len(slo.BurnRateWindows(w.Period())); got != want {
			t.Errorf("%+v: %d burn windows, want %d", w, got, want)
		}
		budget := l.rings[l.budget]
		reach := w.Period()
		if w.Calendar == slo.CalendarMonth {
			reach = maxMonth
		}
		if time.Duration(budget.n)*budget.res < reach {
			t.Errorf("%+v: budget ring %d×%v does not reach %v", w, budget.n, budget.res, reach)
		}
		if w.Calendar != "" && (24*time.Hour)%budget.res != 0 {
			t.Errorf("%+v: budget resolution %v does not divide a day", w, budget.res)
		}
		if size := l.sizeBytes(); size > 56<<10 {
			t.Errorf("%+v: %d bytes per series, want ≤ 56 KiB", w, size)
		}
	}
	if got := SeriesBytes(testSLO("a", 99.9, rolling30d())); got > 64<<10 {
		t.Errorf("30d series takes %d bytes, want ≤ 64 KiB", got)
	}
}

// TestRingSumMatchesBucketWalk drives a ring with random events, late and
// early, and checks after each that its running total is the sum of its
// buckets and that sum, which reads through the total when that is
// cheaper, equals a plain walk over the buckets of the window.
func TestRingSumMatchesBucketWalk(t *testing.T) {
	const res = 10
	rng := rand.New(rand.NewPCG(3, 4))
	r := newRing(res, 12, 0)
	now := int64(0)
	for i := range 5000 {
		now += rng.Int64N(25)
		at := now - rng.Int64N(150) // up to a whole ring late
		r.add(at, rng.Uint64N(5), rng.Uint64N(3))

		var walked counts
		for k := r.head - int64(r.n) + 1; k <= r.head; k++ {
			c := r.get(k)
			walked.good += c.good
			walked.bad += c.bad
		}
		if walked != r.total {
			t.Fatalf("step %d: running total %+v, buckets add up to %+v", i, r.total, walked)
		}
		to := now - rng.Int64N(30)
		from := to - res*(1+rng.Int64N(14)) // up to beyond the ring
		var want counts
		for k := bucketIndex(from, res) + 1; k <= bucketIndex(to, res); k++ {
			c := r.get(k)
			want.good += c.good
			want.bad += c.bad
		}
		edge := r.get(bucketIndex(from, res))
		frac := float64((bucketIndex(from, res)+1)*res-from) / res
		good, bad := r.sum(from, to)
		if !approx(good, float64(want.good)+frac*float64(edge.good), 1e-9) || !approx(bad, float64(want.bad)+frac*float64(edge.bad), 1e-9) {
			t.Fatalf("step %d: sum(%d, %d) = %v/%v, walk gives %+v plus %v of %+v", i, from, to, good, bad, want, frac, edge)
		}
	}
}
