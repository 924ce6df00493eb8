package healthy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// The scenarios below are four of the failures issue 18 saw on ops data
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

// HeldFlag: a flag held for the alert's sake (here ClearAfter 12h) must
// not swallow the next incident: a second incident three hours after the
// first, before the flag cleared, is a detection of its own.
func HeldFlag(cfg anomaly.Config) error {
	cfg.ClearAfter = 12 * time.Hour
	const step = 5 * time.Minute
	ts, vs := noisy(6*288, step, 100, 2, 1)
	first, second := 4*288, 4*288+36
	for _, at := range []int{first, second} {
		for i := at; i < at+6; i++ {
			vs[i] = 160
		}
	}
	got := onsets(cfg, ts, vs)
	if len(got) != 2 || got[0] < first || got[0] > first+1 || got[1] < second || got[1] > second+1 {
		return fmt.Errorf("held flag: onsets at %v, want one at each incident (%d, %d)", got, first, second)
	}
	return nil
}

// EarlyIncidentEcho: an incident on the first day (two hours at three
// times the level, from 08:00, within warm-up and the first visit of
// every daily slot it covers) must not be learned into the daily profile
// and echo as a false alarm on later days; sampled every minute and every
// five.
func EarlyIncidentEcho(cfg anomaly.Config) error {
	for _, step := range []time.Duration{time.Minute, 5 * time.Minute} {
		perDay := int(24 * time.Hour / step)
		ts, vs := noisy(6*perDay, step, 100, 2, 4)
		for i := range vs {
			vs[i] += 30 * math.Sin(2*math.Pi*float64(ts[i].Sub(Start)%(24*time.Hour))/float64(24*time.Hour))
		}
		begin := int(8 * time.Hour / step)
		for i := begin; i < begin+int(2*time.Hour/step); i++ {
			vs[i] *= 3
		}
		for _, i := range onsets(cfg, ts, vs) {
			if i >= perDay {
				return fmt.Errorf("early incident: sampled every %v, onset on day %d at %s, an echo of the first day's incident", step, i/perDay+1, ts[i].Format("15:04"))
			}
		}
	}
	return nil
}

// Scenarios are the checks above by name.
var Scenarios = []struct {
	Name  string
	Check func(anomaly.Config) error
}{
	{"routine bursts", RoutineBursts},
	{"sustained shift", SustainedShift},
	{"held flag", HeldFlag},
	{"early incident echo", EarlyIncidentEcho},
}

// Admit is model selection's filter: every scenario, then
// MeetsRequirements.
func Admit(cfg anomaly.Config) error {
	for _, sc := range Scenarios {
		if err := sc.Check(cfg); err != nil {
			return err
		}
	}
	return MeetsRequirements(cfg)
}
