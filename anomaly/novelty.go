package anomaly

import (
	"math"
	"time"
)

// noveltyLevels is how many levels the novelty test quantises a value
// into. Sixteen is coarse enough that a series' ordinary transitions are
// all seen within a few hundred points, and fine enough that a move to a
// part of the range the series does not visit, or between two levels it
// never moves between, stands out.
const noveltyLevels = 16

// noveltyMinPoints is the fewest points a pair of levels is remembered
// for, whatever Config.NoveltyMemory says: as many as there are pairs.
// On an hourly series three days are 72 points, too few to have seen a
// series' ordinary moves, and novelty there would be the series' youth.
const noveltyMinPoints = noveltyLevels * noveltyLevels

// noveltyRangeMemories is how many context memories (Config.NoveltyMemory)
// the running range takes to contract halfway back towards its midpoint:
// the levels must keep their meaning for longer than the pairs are
// remembered, or a pair seen before would come back under another name.
const noveltyRangeMemories = 7

// novelty is contextual-novelty evidence in the spirit of Smirnov's
// Contextual Anomaly Detector (CAD OSE, the NAB entry "contextOSE"): each
// value is quantised into noveltyLevels levels of the series' own running
// range, and a point is novel when the pair (previous level, its level)
// has not occurred within the last Config.NoveltyMemory, nor, with
// Config.NoveltyTolerance, a pair within a level of it in either place.
// It says "this has not happened here lately" in the series' own units,
// with no σ: a series whose spread shrinks at night is judged at night by
// the values it takes by day too, and a series that moves between a few
// levels is not surprised by any of them.
//
// Contexts are exact pairs, not hashed tuples: at 16 levels all 256 pairs
// fit in two generations of a 16×16-bit table (64 bytes). A generation is
// filled for half the memory (and at least half of noveltyMinPoints
// points), then the older one is forgotten, so a pair is remembered for
// between half the memory and all of it; nothing is novel before two
// generations have been filled.
type novelty struct {
	// lo and hi bound the running range: widened at once to take in each
	// value, contracted towards their midpoint between points (see
	// noveltyDecay).
	lo, hi float64
	// seen holds two generations of the pairs seen, a row per previous
	// level with a bit per level that followed it; cur is the generation
	// being filled, since genStart (unix nanoseconds), with genPoints
	// points so far.
	seen      [2][noveltyLevels]uint16
	genStart  int64
	genPoints uint32
	cur       uint8
	// prev is the level of the last point; started is false before the
	// first point.
	prev    uint8
	started bool
	// filled counts the generations completed, up to 2: until both are
	// full the test has not seen a whole memory, most pairs are new
	// because the series is, and novelty is no evidence yet. The test's
	// own count, not the detector's age: a detector restored from a
	// checkpoint written before the test existed starts it empty.
	filled uint8
}

// observe quantises v, seen at now (unix nanoseconds), reports whether its
// pair of levels is novel, and learns it. decay is the contraction of the
// range since the last point; tolerance the levels a seen pair may differ
// by in either place and still make this one familiar (0 or 1).
func (n *novelty) observe(v float64, now int64, memory time.Duration, tolerance int, decay float64) bool {
	if !n.started {
		n.lo, n.hi = v, v
		n.genStart = now
	}
	c := (n.lo + n.hi) / 2
	n.lo = min(c+(n.lo-c)*decay, v)
	n.hi = max(c+(n.hi-c)*decay, v)
	var level uint8
	if span := n.hi - n.lo; span > 0 {
		level = uint8(min(noveltyLevels-1, int(noveltyLevels*(v-n.lo)/span)))
	}
	novel := false
	if n.started {
		p := int(n.prev)
		bit := uint16(1) << level
		near := bit
		var rows uint16
		if tolerance > 0 {
			// A level either way in both places: noise around a level's
			// boundary does not make a familiar move new (a burst the
			// series makes daily enters from a slightly different
			// level each day).
			near |= bit<<1 | bit>>1
			for r := max(0, p-1); r <= min(noveltyLevels-1, p+1); r++ {
				rows |= n.seen[0][r] | n.seen[1][r]
			}
		} else {
			rows = n.seen[0][p] | n.seen[1][p]
		}
		novel = rows&near == 0 && n.filled >= 2
		n.seen[n.cur][p] |= bit
	}
	n.prev, n.started = level, true
	n.genPoints++
	if now-n.genStart >= int64(memory/2) && n.genPoints >= noveltyMinPoints/2 {
		n.cur ^= 1
		n.seen[n.cur] = [noveltyLevels]uint16{}
		n.genStart, n.genPoints = now, 0
		n.filled = min(n.filled+1, 2)
	}
	return novel
}

// noveltyDecay is the contraction of the novelty test's range over dt
// nanoseconds for a context memory of memory (see noveltyRangeMemories).
func noveltyDecay(dt float64, memory time.Duration) float64 {
	if memory <= 0 {
		return 1
	}
	return math.Exp2(-dt / (noveltyRangeMemories * float64(memory)))
}
