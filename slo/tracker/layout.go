package tracker

import (
	"slices"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// Bucket resolutions. Each is a whole number of seconds that divides a day,
// so bucket boundaries fall on UTC midnight and therefore on the start of
// every calendar week and month: a calendar window reads whole buckets and
// its budget resets exactly.
var resolutions = []time.Duration{
	time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second,
	6 * time.Second, 10 * time.Second, 15 * time.Second, 20 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute,
	6 * time.Minute, 10 * time.Minute, 15 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour, 6 * time.Hour, 8 * time.Hour,
	12 * time.Hour, 24 * time.Hour,
}

const (
	// bucketsPerBurnWindow: a burn-rate window is read at a resolution of
	// at most 1/120 of its length, so the one bucket that straddles the
	// window's start is at most 0.83% of the window. With the spacing of
	// resolutions a ring holds at most 240 buckets, or up to 1,440 for
	// windows under minuteReach.
	bucketsPerBurnWindow = 120
	// bucketsPerBudgetWindow: the error-budget window is read at 1/720 of
	// its period (one hour for 30 days), a straddling error of 0.14% for
	// rolling windows and none for calendar ones.
	bucketsPerBudgetWindow = 720
	// minuteReach: burn-rate windows up to a day are read at a resolution
	// of at most a minute, which divides every whole-minute evaluation
	// time. A window evaluated on a whole minute then starts on a bucket
	// boundary and reads whole buckets, so its count is exact, and an
	// alert's resolution (decided by its short window) is not delayed by
	// a coarse bucket that still holds the end of an incident.
	minuteReach = 24 * time.Hour
	// spareBuckets lets the ring answer a window that ends a little before
	// the newest bucket, as when Evaluate's now trails a concurrent Record.
	spareBuckets = 4
	// maxTileBuckets caps the ring of a window longer than a day read at
	// the base-window resolution: 864 buckets (13.5 KiB) for the 3d window
	// of a 30-day SLO.
	maxTileBuckets = 900
	// maxMonth is the longest calendar month: the budget window of a
	// calendar-month SLO must reach back that far.
	maxMonth = 31 * 24 * time.Hour
)

// layout says which rings a series keeps and which ring answers which
// window. It depends only on the SLO's window, so every series of an SLO
// shares one.
type layout struct {
	rings []ringSpec
	// burn lists the burn-rate windows, shortest first, with their ring.
	burn []windowRing
	// budget is the ring of the error-budget window.
	budget int
}

type ringSpec struct {
	res time.Duration
	n   int
}

type windowRing struct {
	window time.Duration
	ring   int
}

// resolutionFor picks the coarsest resolution that cuts the window into
// at least n buckets. Beyond a day (only for periods of years) it takes
// whole days, still aligned with UTC midnight.
func resolutionFor(window time.Duration, n int) time.Duration {
	target := window / time.Duration(n)
	if target >= 24*time.Hour {
		return target.Truncate(24 * time.Hour)
	}
	i, found := slices.BinarySearch(resolutions, target)
	if found {
		return resolutions[i]
	}
	if i == 0 {
		return resolutions[0]
	}
	return resolutions[i-1]
}

// newLayout derives the rings of an SLO window with the burn-rate table
// derived from its period.
func newLayout(w slo.Window) *layout { return newLayoutFor(w, slo.BurnRateWindows(w.Period())) }

// newLayoutFor derives the rings of an SLO window and its burn-rate
// windows (shortest first). Windows that get the same resolution share a
// ring long enough for the longest of them.
func newLayoutFor(w slo.Window, windows []time.Duration) *layout {
	l := &layout{}
	ringOf := func(window time.Duration, res time.Duration) int {
		n := int((window+res-1)/res) + spareBuckets
		for i := range l.rings {
			if l.rings[i].res == res {
				l.rings[i].n = max(l.rings[i].n, n)
				return i
			}
		}
		l.rings = append(l.rings, ringSpec{res: res, n: n})
		return len(l.rings) - 1
	}
	period := w.Period()
	// Windows longer than a day are read no coarser than the shortest
	// burn-rate window, the base window the Prometheus rules tile every
	// longer window with: a burst shorter than a coarse bucket would
	// otherwise be spread over the bucket at the window's edge (2% off on
	// the 3d window of a 30-day SLO), where the rules count it exactly.
	// Only where the tile is itself a bucket size and the ring stays within
	// maxTileBuckets: for periods whose base window is not a whole bucket
	// size (28d: 4m40s) finer buckets cost memory without making the
	// window exact, and the documented one-bucket bound applies.
	tile := resolutionFor(windows[0], 1)
	if tile != windows[0] {
		tile = 0
	}
	for _, d := range windows {
		res := resolutionFor(d, bucketsPerBurnWindow)
		if d <= minuteReach {
			res = min(res, time.Minute)
		} else if tile > 0 && d/tile <= maxTileBuckets {
			res = min(res, tile)
		}
		l.burn = append(l.burn, windowRing{window: d, ring: ringOf(d, res)})
	}
	// A calendar period can be longer than its nominal length (a
	// 31-day month); the ring reaches back to its start whatever it is.
	budgetReach := max(period, w.MaxLength())
	l.budget = ringOf(budgetReach, resolutionFor(budgetReach, bucketsPerBudgetWindow))
	return l
}

// sizeBytes is the bucket memory of one series with this layout.
func (l *layout) sizeBytes() int {
	total := 0
	for _, r := range l.rings {
		total += r.n * 16
	}
	return total
}
