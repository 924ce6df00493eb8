package healthy

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// The scenarios below are two of the failures issue 18 saw on ops data
// the detector had not been tuned on, as generated series. Like
// MeetsRequirements they are requirements, not scores: model selection
// admits only configurations that pass them.

// noisy returns n points every step from Start, level plus Gaussian noise.
func noisy(n int, step time.Duration, level, noise float64, seed uint64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(seed, 11))
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = Start.Add(time.Duration(i) * step)
		vs[i] = level + noise*r.NormFloat64()
	}
	return ts, vs
}

func onsets(cfg anomaly.Config, ts []time.Time, vs []float64) []int {
	d := anomaly.New(cfg)
	var out []int
	for i := range ts {
		if d.Observe(ts[i], vs[i]).Onset {
			out = append(out, i)
		}
	}
	return out
}

// RoutineBursts: a series whose ordinary day includes a burst at the same
// hour (a 02:00 batch job, +20σ for half an hour) is not flagged for it
// after its third day; and after two weeks of bursts an incident larger
// than any burst raises exactly one onset.
func RoutineBursts(cfg anomaly.Config) error {
	const step = 5 * time.Minute
	perDay := int(24 * time.Hour / step)
	ts, vs := noisy(16*perDay, step, 100, 3, 5)
	for day := range 16 {
		at := day*perDay + int(2*time.Hour/step)
		for i := at; i < at+6; i++ {
			vs[i] += 60
		}
	}
	incident := 15*perDay + int(14*time.Hour/step)
	for i := incident; i < incident+6; i++ {
		vs[i] += 150
	}
	var bursts, caught int
	for _, i := range onsets(cfg, ts, vs) {
		switch {
		case i >= incident && i < incident+6:
			caught++
		case i >= 3*perDay:
			bursts++
		}
	}
	if bursts > 0 {
		return fmt.Errorf("routine bursts: %d onsets at bursts after day 3", bursts)
	}
	if caught != 1 {
		return fmt.Errorf("routine bursts: the incident after two weeks of bursts raised %d onsets, want 1", caught)
	}
	return nil
}

// SustainedShift: a shift of 3.5σ that lasts, too small for most single
// points to stand out, is flagged within 100 points (5-minute sampling).
func SustainedShift(cfg anomaly.Config) error {
	const step = 5 * time.Minute
	ts, vs := noisy(2500, step, 100, 2, 5)
	for i := 1500; i < len(vs); i++ {
		vs[i] += 7
	}
	for _, i := range onsets(cfg, ts, vs) {
		if i >= 1500 && i < 1600 {
			return nil
		}
	}
	return fmt.Errorf("sustained shift: a 3.5σ shift not flagged within 100 points")
}

// Admit is model selection's filter: MeetsRequirements and every scenario.
func Admit(cfg anomaly.Config) error {
	for _, check := range []func(anomaly.Config) error{RoutineBursts, SustainedShift, MeetsRequirements} {
		if err := check(cfg); err != nil {
			return err
		}
	}
	return nil
}
