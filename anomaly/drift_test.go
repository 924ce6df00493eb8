package anomaly

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestDriftTestFlagsAShiftBelowTheCUSUMAllowance: a level shift of 1.4σ
// lasting hours never accumulates on the CUSUM, whose allowance
// (ShiftDrift, 1.5σ) is above it, and no single point of it is unusual;
// the drift test's average of the deviations rises above its own record
// of quiet days and flags it within a few hours.
func TestDriftTestFlagsAShiftBelowTheCUSUMAllowance(t *testing.T) {
	const step = 5 * time.Minute
	start := 6 * 288 // after six quiet days
	ts, vs := series{n: start + 96, step: step, base: 100, amplitude: 20, noise: 2, seed: 11}.points()
	for i := start; i < len(vs); i++ {
		vs[i] += 1.4 * 2
	}
	on := DefaultConfig()
	off := on
	off.DriftMemory, off.DriftReplacesShift = 0, false
	for name, cfg := range map[string]Config{"with the drift test": on, "without": off} {
		first := -1
		for i, r := range run(cfg, ts, vs) {
			if r.Onset && i < start {
				t.Fatalf("%s: onset at %d, before the shift, on a quiet series: %+v", name, i, r)
			}
			if r.Onset && first < 0 {
				first = i
			}
		}
		switch {
		case name == "without" && first >= 0:
			t.Fatalf("without the drift test: onset %v after the shift (the premise of this test is that nothing else flags it)", time.Duration(first-start)*step)
		case name != "without" && (first < 0 || time.Duration(first-start)*step > 4*time.Hour):
			t.Fatalf("with the drift test: onset at %d, want within 4h of the shift at %d", first, start)
		}
	}
}

// TestDriftReplacesShift: on series that move between levels for hours
// at a time, by a few σ, the CUSUM's fixed alarm level is reached at many
// moves; the drift test, calibrated on the series' own averages, at few,
// so with DriftReplacesShift the moves raise far fewer flags once the
// series has been seen for Rarity than with the CUSUM flagging too. (Both
// report a sustained change as a shift.)
func TestDriftReplacesShift(t *testing.T) {
	const step = 5 * time.Minute
	replace := DefaultConfig()
	replace.DriftReplacesShift = true
	flags := replace
	flags.DriftReplacesShift = false
	var onsets, shifts [2]int // [flags, replace]
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed+5, 5))
		n := 16 * 288
		ts := make([]time.Time, n)
		vs := make([]float64, n)
		level, left := 0.0, 0
		for i := range n {
			ts[i] = t0.Add(time.Duration(i) * step)
			if left == 0 {
				// A new level every two to six hours, within ±3.5σ.
				level, left = 7*(2*r.Float64()-1), 24+r.IntN(49)
			}
			left--
			vs[i] = 100 + level + 2*r.NormFloat64()
		}
		for k, cfg := range [2]Config{flags, replace} {
			for i, res := range run(cfg, ts, vs) {
				if i < 4*288 || !res.Onset {
					continue
				}
				onsets[k]++
				if res.Reason == ReasonShiftUp || res.Reason == ReasonShiftDown {
					shifts[k]++
				}
			}
		}
	}
	if shifts[0] < 6 {
		t.Fatalf("the CUSUM flagging too: %d shift onsets in 36 days of moves, want several (the premise of this test)", shifts[0])
	}
	if 2*shifts[1] >= shifts[0] || onsets[1] >= onsets[0] {
		t.Fatalf("with DriftReplacesShift: %d onsets, %d of them shifts; with the CUSUM flagging too: %d, %d; want fewer than half the shifts and fewer onsets",
			onsets[1], shifts[1], onsets[0], shifts[0])
	}
}
