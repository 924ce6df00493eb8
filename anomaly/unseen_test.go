package anomaly

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The tests in this file reproduce, on generated series, the failures seen
// when the detector met ops data it had never been tuned on (issue 18).
// Two of them are not fixed yet: they report through notFixed, which logs
// the failure instead of failing, so the gap stays visible in every run
// (go test ./anomaly -run 'SlowDrift|StepLike' -v) without breaking CI.

// notFixed reports a known, open failure.
func notFixed(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("NOT FIXED (issue 18): "+format, args...)
}

// onsets returns the indices of the points that were detections.
func onsets(res []Result) []int {
	var out []int
	for i, r := range res {
		if r.Onset {
			out = append(out, i)
		}
	}
	return out
}

// noisy returns n points every step of level plus Gaussian noise.
func noisy(n int, step time.Duration, level, noise float64, seed uint64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(seed, 11))
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * step)
		vs[i] = level + noise*r.NormFloat64()
	}
	return ts, vs
}

// A flag held for the alert's sake (ClearAfter) must not swallow the next
// incident: the second one, hours later but before the flag cleared, is a
// detection of its own.
func TestHeldFlagDoesNotHideTheNextIncident(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ClearAfter = 12 * time.Hour
	ts, vs := noisy(6*288, 5*time.Minute, 100, 2, 1)
	first, second := 4*288, 4*288+36 // three hours apart
	for i := first; i < first+6; i++ {
		vs[i] = 160
	}
	for i := second; i < second+6; i++ {
		vs[i] = 160
	}
	res := run(cfg, ts, vs)
	got := onsets(res)
	if len(got) != 2 || got[0] < first || got[0] > first+1 || got[1] < second || got[1] > second+1 {
		t.Fatalf("onsets at %v, want one at each incident (%d, %d)", got, first, second)
	}
	if !res[second-1].Anomalous {
		t.Fatal("the first flag had cleared before the second incident; the test needs it held")
	}
}

// An incident on the first day must not be learned into the daily
// profile and echo as a false alarm at the same time on later days.
func TestEarlyIncidentDoesNotEcho(t *testing.T) {
	for _, step := range []time.Duration{time.Minute, 5 * time.Minute} {
		perDay := int(24 * time.Hour / step)
		ts, vs := series{n: 6 * perDay, step: step, base: 100, amplitude: 30, noise: 2, seed: 4}.points()
		// Two hours at three times the level, starting at 08:00 on day 1,
		// within warm-up and the first visit of every slot it covers.
		start := int(8 * time.Hour / step)
		for i := start; i < start+int(2*time.Hour/step); i++ {
			vs[i] *= 3
		}
		res := run(DefaultConfig(), ts, vs)
		for _, i := range onsets(res) {
			if i >= perDay {
				t.Errorf("sampled every %v: onset on day %d at %s, an echo of the first day's incident", step, i/perDay+1, ts[i].Format("15:04"))
			}
		}
	}
}

// A series whose ordinary day includes a burst at the same hour is not
// flagged for it every day; and after a burst-heavy week, the spread has
// not grown so wide that a real incident, larger than any burst, goes
// unflagged.
func TestRoutineBurstsAndTheIncidentAfterThem(t *testing.T) {
	step := 5 * time.Minute
	perDay := int(24 * time.Hour / step)
	ts, vs := noisy(16*perDay, step, 100, 3, 5)
	for day := range 16 {
		at := day*perDay + int(2*time.Hour/step) // a 02:00 batch job
		for i := at; i < at+6; i++ {
			vs[i] += 60
		}
	}
	incident := 15*perDay + int(14*time.Hour/step)
	for i := incident; i < incident+6; i++ {
		vs[i] += 150
	}
	res := run(DefaultConfig(), ts, vs)
	var bursts, caught int
	for _, i := range onsets(res) {
		switch {
		case i >= incident && i < incident+6:
			caught++
		case i >= 3*perDay:
			bursts++
			t.Logf("onset on day %d at %s", i/perDay+1, ts[i].Format("15:04"))
		}
	}
	if bursts > 0 {
		t.Errorf("%d onsets at routine bursts after day 3", bursts)
	}
	if caught != 1 {
		t.Errorf("the incident after two weeks of bursts raised %d onsets, want 1", caught)
	}
}

// A slow drift, a few σ per hour for hours, is flagged while it goes on.
func TestSlowDriftIsFlagged(t *testing.T) {
	step := time.Minute
	perDay := int(24 * time.Hour / step)
	ts, vs := noisy(6*perDay, step, 100, 2, 6)
	start := 5 * perDay
	for i := start; i < len(vs); i++ {
		vs[i] += 4 * float64(i-start) / 60 // 4 (2σ) per hour
	}
	res := run(DefaultConfig(), ts, vs)
	got := onsets(res)
	if len(got) == 0 || got[0] < start || got[0] > start+6*60 {
		// The daily profile and the spreads still absorb a drift this
		// slow, so its deviation never reaches the bar.
		notFixed(t, "onsets %v; want one within six hours of the drift's start at %d", got, start)
	}
}

// A series that moves between a few levels, each held for a while, is not
// flagged on the levels it visits routinely; a level it never visited is.
func TestStepLikeSeriesOrdinaryLevels(t *testing.T) {
	step := 5 * time.Minute
	perDay := int(24 * time.Hour / step)
	r := rand.New(rand.NewPCG(7, 7))
	levels := []float64{10, 40, 70}
	n := 14 * perDay
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	level := levels[0]
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * step)
		if r.IntN(24) == 0 { // a change every two hours on average
			level = levels[r.IntN(len(levels))]
		}
		vs[i] = level + 0.5*r.NormFloat64()
	}
	novel := 13 * perDay
	for i := novel; i < novel+12; i++ {
		vs[i] = 200
	}
	res := run(DefaultConfig(), ts, vs)
	var ordinary int
	for _, i := range onsets(res) {
		if i >= 3*perDay && (i < novel || i > novel+12) {
			ordinary++
		}
	}
	if ordinary > 0 {
		// A change of level to one seldom visited lately can still be a
		// 2-day record for the local test.
		notFixed(t, "%d onsets on ordinary levels after day 3", ordinary)
	}
	if !res[novel].Onset && !res[novel+1].Onset {
		t.Errorf("a level never seen before was not flagged: %+v", res[novel])
	}
}
