package anomaly

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday

// series generates n points every step: base + daily amplitude·sin + noise.
type series struct {
	n         int
	step      time.Duration
	base      float64
	amplitude float64
	noise     float64
	seed      uint64
}

func (s series) points() ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(s.seed, 7))
	ts := make([]time.Time, s.n)
	vs := make([]float64, s.n)
	for i := range s.n {
		ts[i] = t0.Add(time.Duration(i) * s.step)
		phase := 2 * math.Pi * float64(ts[i].Sub(t0)%(24*time.Hour)) / float64(24*time.Hour)
		vs[i] = s.base + s.amplitude*math.Sin(phase) + s.noise*r.NormFloat64()
	}
	return ts, vs
}

func run(cfg Config, ts []time.Time, vs []float64) []Result {
	d := New(cfg)
	out := make([]Result, len(ts))
	for i := range ts {
		out[i] = d.Observe(ts[i], vs[i])
	}
	return out
}

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"threshold", func(c *Config) { c.Threshold = 0 }, []string{"threshold"}},
		{"nan threshold", func(c *Config) { c.Threshold = math.NaN() }, []string{"threshold"}},
		{"threshold interval", func(c *Config) { c.ThresholdInterval = -time.Minute }, []string{"threshold_interval"}},
		{"self-confirm interval", func(c *Config) { c.SelfConfirmInterval = -time.Minute }, []string{"self_confirm_interval"}},
		{"alpha", func(c *Config) { c.LevelAlpha = 1.5 }, []string{"level_alpha"}},
		{"persistence", func(c *Config) { c.PersistenceK = 3; c.PersistenceN = 2 }, []string{"persistence_k"}},
		{"window too wide", func(c *Config) { c.PersistenceN = 33 }, []string{"persistence_n"}},
		{"tail", func(c *Config) { c.TailQuantile = 1 }, []string{"tail_quantile"}},
		{"seasonal level memory", func(c *Config) { c.SeasonalLevelMemory = 0 }, []string{"seasonal_level_memory"}},
		{"weekly without daily", func(c *Config) { c.Daily, c.Weekly = false, true }, []string{"weekly requires daily"}},
		{"resolution sigma", func(c *Config) { c.ResolutionSigma = -1 }, []string{"resolution_sigma"}},
		{"smooth tail ratio", func(c *Config) { c.SmoothTailRatio = math.Inf(1) }, []string{"smooth_tail_ratio"}},
		{"novelty deviation", func(c *Config) { c.NoveltyDeviation = 1.5 }, []string{"novelty_deviation"}},
		{"novelty memory", func(c *Config) { c.NoveltyDeviation = 0.6; c.NoveltyMemory = 0 }, []string{"novelty_memory"}},
		{"novelty tolerance", func(c *Config) { c.NoveltyTolerance = 2 }, []string{"novelty_tolerance"}},
		{"local min deviation", func(c *Config) { c.LocalMinDeviation = -0.5 }, []string{"local_min_deviation"}},
		{"drift memory", func(c *Config) { c.DriftMemory = -time.Hour }, []string{"drift_memory"}},
		{"drift replaces shift without a drift test", func(c *Config) { c.DriftMemory = 0; c.DriftReplacesShift = true }, []string{"drift_replaces_shift"}},
		{"several at once", func(c *Config) { c.ClearPoints = 0; c.MinTraffic = -1; c.WarmupPoints = -1 },
			[]string{"clear_points", "min_traffic", "warmup_points"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestResultInvariants(t *testing.T) {
	ts, vs := series{n: 3000, step: 5 * time.Minute, base: 100, amplitude: 30, noise: 5, seed: 1}.points()
	vs[2000] = 400
	for i, r := range run(DefaultConfig(), ts, vs) {
		if r.Score < 0 || r.Score > 1 || math.IsNaN(r.Score) {
			t.Fatalf("point %d: score %v outside [0,1]", i, r.Score)
		}
		if !(r.Lower <= r.Expected && r.Expected <= r.Upper) {
			t.Fatalf("point %d: band %v <= %v <= %v violated", i, r.Lower, r.Expected, r.Upper)
		}
		if r.Onset && !r.Anomalous {
			t.Fatalf("point %d: onset without anomalous state", i)
		}
		if outside := vs[i] > r.Upper || vs[i] < r.Lower; outside && !r.WarmingUp && !r.Unusual {
			t.Fatalf("point %d: %v outside the band [%v, %v] but not unusual", i, vs[i], r.Lower, r.Upper)
		}
	}
}

func TestWarmupNeverFlags(t *testing.T) {
	cfg := DefaultConfig()
	ts, vs := series{n: cfg.WarmupPoints + 50, step: time.Minute, base: 10, noise: 1, seed: 2}.points()
	vs[cfg.WarmupPoints/2] = 1e6
	for i, r := range run(cfg, ts, vs) {
		warm := i < cfg.WarmupPoints
		if r.WarmingUp != warm {
			t.Fatalf("point %d: WarmingUp=%v, want %v", i, r.WarmingUp, warm)
		}
		if warm && (r.Anomalous || r.Unusual || r.Reason != ReasonWarmingUp) {
			t.Fatalf("point %d flagged during warm-up: %+v", i, r)
		}
	}
}

func TestSpikesAreFlaggedWithDirection(t *testing.T) {
	tests := []struct {
		name   string
		spike  float64
		reason Reason
	}{
		{"up", 200, ReasonAboveBand},
		{"down", 0, ReasonBelowBand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, vs := series{n: 1500, step: 5 * time.Minute, base: 100, noise: 3, seed: 3}.points()
			vs[1200] = tt.spike
			res := run(DefaultConfig(), ts, vs)
			r := res[1200]
			if !r.Unusual || !r.Anomalous || !r.Onset || r.Reason != tt.reason {
				t.Fatalf("spike not flagged as %s: %+v", tt.reason, r)
			}
			for i := 300; i < 1200; i++ {
				if res[i].Anomalous {
					t.Fatalf("false alarm at %d before the spike: %+v", i, res[i])
				}
			}
		})
	}
}

// The shift comes in the second week: in the first, a level change may be
// the weekly pattern, and the seasonal level does not follow it.
func TestLevelShiftIsFlaggedThenLearned(t *testing.T) {
	ts, vs := series{n: 10 * 288, step: 5 * time.Minute, base: 100, noise: 2, seed: 4}.points()
	const at = 9 * 288
	for i := at; i < len(vs); i++ {
		vs[i] += 15 // 7.5σ: a clear shift
	}
	res := run(DefaultConfig(), ts, vs)
	flagged := false
	for i := at; i < at+20; i++ {
		flagged = flagged || res[i].Onset
	}
	if !flagged {
		t.Fatal("level shift not flagged within 20 points")
	}
	last := res[len(res)-1]
	if last.Anomalous || math.Abs(last.Expected-115) > 2 {
		t.Fatalf("shift not learned by the end: %+v", last)
	}
}

func TestSmallSustainedShiftCaughtByCUSUM(t *testing.T) {
	ts, vs := series{n: 2500, step: 5 * time.Minute, base: 100, noise: 2, seed: 5}.points()
	for i := 1500; i < len(vs); i++ {
		vs[i] += 7 // 3.5σ: few single points cross the band
	}
	res := run(DefaultConfig(), ts, vs)
	found := false
	for i := 1500; i < 1600; i++ {
		if res[i].Onset {
			found = true
			if res[i].Reason != ReasonShiftUp && res[i].Reason != ReasonAboveBand {
				t.Fatalf("reason %q, want a shift", res[i].Reason)
			}
		}
	}
	if !found {
		t.Fatal("sustained 3.5σ shift not flagged within 100 points")
	}
}

func TestDailySeasonalityIsLearned(t *testing.T) {
	// Five minutes apart, amplitude 10× the noise: without a daily profile
	// every peak would be flagged.
	ts, vs := series{n: 8 * 288, step: 5 * time.Minute, base: 100, amplitude: 50, noise: 5, seed: 6}.points()
	res := run(DefaultConfig(), ts, vs)
	flags := 0
	for i := 3 * 288; i < len(res); i++ {
		if res[i].Onset {
			flags++
		}
	}
	last := res[len(res)-1]
	if flags > 1 {
		t.Errorf("%d flags on a clean daily series after day 3", flags)
	}
	if last.Seasonality == SeasonalityNone {
		t.Errorf("seasonal model not chosen: %+v", last)
	}
	if math.Abs(last.Expected-vs[len(vs)-1]) > 20 {
		t.Errorf("expected %v far from actual %v", last.Expected, vs[len(vs)-1])
	}
}

func TestIrregularSampling(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	d := New(DefaultConfig())
	now := t0
	flags := 0
	for i := range 6000 {
		now = now.Add(time.Duration(1+r.IntN(10)) * time.Minute)
		phase := 2 * math.Pi * float64(now.Sub(t0)%(24*time.Hour)) / float64(24*time.Hour)
		res := d.Observe(now, 100+40*math.Sin(phase)+3*r.NormFloat64())
		if i > 2000 && res.Onset {
			flags++
		}
	}
	if flags > 2 {
		t.Errorf("%d flags on a clean irregularly sampled series", flags)
	}
}

func TestPersistenceAndHysteresis(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PersistenceK, cfg.PersistenceN, cfg.ClearPoints = 2, 3, 5
	cfg.ShiftThreshold = 1e9                           // isolate persistence from the shift test
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false // the drift test judges sustained deviations too
	cfg.LocalAlpha = 0                                 // and from the local test, which also judges the return from a spike
	cfg.ClearAfter = 0                                 // clearing by points only (see TestClearAfter)
	tests := []struct {
		name       string
		spikes     []int
		wantOnset  int // -1: never
		clearAfter int // first index where no longer anomalous
	}{
		{"one spike is not enough", []int{3000}, -1, -1},
		// Cleared on the ClearPoints-th calm point after the last spike.
		{"two of three", []int{3000, 3002}, 3002, 3007},
		{"spikes keep it open", []int{3000, 3001, 3005, 3009}, 3001, 3014},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Spikes on the third day: a slot's first visit learns whatever it
			// sees, spikes included.
			ts, vs := series{n: 3100, step: time.Minute, base: 50, noise: 1, seed: 9}.points()
			for _, i := range tt.spikes {
				vs[i] = 80
			}
			res := run(cfg, ts, vs)
			onset := -1
			for i, r := range res {
				if r.Onset {
					onset = i
					break
				}
			}
			if onset != tt.wantOnset {
				t.Fatalf("onset at %d, want %d", onset, tt.wantOnset)
			}
			if tt.clearAfter > 0 {
				if !res[tt.clearAfter-1].Anomalous || res[tt.clearAfter].Anomalous {
					t.Fatalf("want anomalous until %d, got %v then %v", tt.clearAfter, res[tt.clearAfter-1].Anomalous, res[tt.clearAfter].Anomalous)
				}
			}
		})
	}
}

func TestMinTrafficGuard(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinTraffic = 10
	ts, vs := series{n: 1000, step: time.Minute, base: 2, noise: 0.3, seed: 10}.points()
	vs[800] = 8 // a big relative spike, still below the guard
	res := run(cfg, ts, vs)
	if res[800].Unusual || res[800].Reason != ReasonLowTraffic {
		t.Fatalf("low-traffic spike flagged: %+v", res[800])
	}
	vs[800] = 30 // above the guard: flagged
	res = run(cfg, ts, vs)
	if !res[800].Unusual {
		t.Fatalf("spike above min traffic not flagged: %+v", res[800])
	}
}

func TestInvalidValuesAreIgnored(t *testing.T) {
	ts, vs := series{n: 600, step: time.Minute, base: 20, noise: 1, seed: 11}.points()
	a, b := New(DefaultConfig()), New(DefaultConfig())
	for i := range ts {
		if i == 300 {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				if r := a.Observe(ts[i], bad); r.Reason != ReasonInvalid || r.Anomalous {
					t.Fatalf("invalid value: %+v", r)
				}
			}
		}
		ra, rb := a.Observe(ts[i], vs[i]), b.Observe(ts[i], vs[i])
		if ra != rb {
			t.Fatalf("point %d: invalid values changed state: %+v vs %+v", i, ra, rb)
		}
	}
}

func TestObserveRatio(t *testing.T) {
	// An error ratio of 0.3% at 1-minute resolution, with request counts
	// from 30 (night) to 3000 (day) per minute.
	base := func(i int) float64 { return 1500 + 1470*math.Sin(2*math.Pi*float64(i)/1440) }
	tests := []struct {
		name      string
		at        int
		ratio     func(total float64) float64
		total     float64 // 0: use base
		wantFlag  bool
		wantLearn bool
		reason    Reason
	}{
		{"one error in 30 requests is noise", 3*1440 + 1080, func(n float64) float64 { return 1 / n }, 30, false, true, ReasonNone},
		{"ten times the error ratio at day is flagged", 3*1440 + 360, func(float64) float64 { return 0.03 }, 0, true, true, ReasonAboveBand},
		{"no requests: nothing to learn", 3*1440 + 360, func(float64) float64 { return 0 }, 0.5, false, false, ReasonLowTraffic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(30, 1))
			d := New(DefaultConfig())
			var res Result
			for i := 0; i <= tt.at; i++ {
				total := math.Round(base(i))
				ratio := float64(poissonish(r, total*0.003)) / total
				if i == tt.at {
					if tt.total != 0 {
						total = tt.total
					}
					ratio = tt.ratio(total)
					before, _ := d.MarshalBinary()
					res = d.ObserveRatio(t0.Add(time.Duration(i)*time.Minute), ratio, total)
					after, _ := d.MarshalBinary()
					if learned := string(before) != string(after); learned != tt.wantLearn {
						t.Fatalf("state changed: %v, want %v", learned, tt.wantLearn)
					}
					break
				}
				d.ObserveRatio(t0.Add(time.Duration(i)*time.Minute), ratio, total)
			}
			if res.Unusual != tt.wantFlag || res.Reason != tt.reason {
				t.Fatalf("got unusual=%v reason=%q, want %v %q: %+v", res.Unusual, res.Reason, tt.wantFlag, tt.reason, res)
			}
		})
	}
}

func TestMinTrafficGuardOnRatioUsesTotal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinTraffic = 100
	d := New(cfg)
	for i := range 3 * 1440 {
		d.ObserveRatio(t0.Add(time.Duration(i)*time.Minute), 0.01, 1000)
	}
	at := t0.Add(3 * 24 * time.Hour)
	if res := d.ObserveRatio(at, 0.5, 50); res.Unusual || res.Reason != ReasonLowTraffic {
		t.Fatalf("ratio over 50 events not guarded: %+v", res)
	}
	if res := d.ObserveRatio(at.Add(time.Minute), 0.5, 5000); !res.Unusual {
		t.Fatalf("ratio over 5000 events not flagged: %+v", res)
	}
}

// poissonish draws a small Poisson count by inversion.
func poissonish(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// spikeSeries is a clean flat series on its third day with the given
// values set, for the onset rules below.
func spikeSeries(set map[int]float64) ([]time.Time, []float64) {
	ts, vs := series{n: 3200, step: time.Minute, base: 50, noise: 1, seed: 9}.points()
	for i, v := range set {
		vs[i] = v
	}
	return ts, vs
}

func runSpikes(cfg Config, set map[int]float64) []Result {
	ts, vs := spikeSeries(set)
	return run(cfg, ts, vs)
}

func TestSpikeFactor(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9                           // judge single points only
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false // the drift test judges sustained deviations too
	// Size a moderate spike from the detector's own band: between
	// Threshold and SpikeFactor·Threshold deviations.
	ts, vs := spikeSeries(nil)
	probe := run(cfg, ts, vs)[2999]
	unit := (probe.Upper - probe.Expected) / cfg.Threshold
	moderate := probe.Expected + (1+cfg.SpikeFactor)/2*cfg.Threshold*unit
	big := probe.Expected + 2*cfg.SpikeFactor*cfg.Threshold*unit

	t.Run("a lone moderate deviation is unusual but raises no flag", func(t *testing.T) {
		res := runSpikes(cfg, (map[int]float64{3000: moderate}))
		if !res[3000].Unusual || res[3000].Onset || res[3000].Anomalous {
			t.Fatalf("got %+v", res[3000])
		}
	})
	t.Run("two moderate deviations in a row raise a flag", func(t *testing.T) {
		res := runSpikes(cfg, (map[int]float64{3000: moderate, 3001: moderate}))
		if res[3000].Onset || !res[3001].Onset {
			t.Fatalf("onsets %v %v, want on the second point", res[3000].Onset, res[3001].Onset)
		}
	})
	t.Run("a lone big deviation raises a flag", func(t *testing.T) {
		res := runSpikes(cfg, (map[int]float64{3000: big}))
		if !res[3000].Onset {
			t.Fatalf("got %+v", res[3000])
		}
	})
	t.Run("factor 1: every unusual point raises a flag", func(t *testing.T) {
		c := cfg
		c.SpikeFactor = 1
		res := runSpikes(c, (map[int]float64{3000: moderate}))
		if !res[3000].Onset {
			t.Fatalf("got %+v", res[3000])
		}
	})
}

func TestClearAfter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false // the drift test judges sustained deviations too
	cfg.ClearPoints = 5
	cfg.ClearAfter = 90 * time.Minute
	// Seasonal test only: the local one would also judge each fall back
	// from a spike, and this test is about the timing after the last
	// unusual point.
	cfg.LocalAlpha = 0
	ts, vs := spikeSeries(map[int]float64{3000: 90, 3001: 90, 3030: 90, 3031: 90})
	res := run(cfg, ts, vs)
	if !res[3000].Onset {
		t.Fatalf("no flag at the first spike: %+v", res[3000])
	}
	// One minute per point: the flag holds 90 minutes after the last
	// unusual point (3031), although ClearPoints calm points came long
	// before, and clears then.
	if !res[3031+89].Anomalous || res[3031+90].Anomalous {
		t.Fatalf("anomalous at +89m %v, at +90m %v; want true, false", res[3031+89].Anomalous, res[3031+90].Anomalous)
	}
	for i := 3001; i < 3031+90; i++ {
		if res[i].Onset {
			t.Fatalf("second onset at %d while the flag was held", i)
		}
	}
}

// TestThresholdFollowsSamplingInterval: the per-point threshold keeps the
// false-alarm rate per unit of time, so finer sampling is held to a higher
// bar and coarser to a lower one, never below 3σ.
func TestThresholdFollowsSamplingInterval(t *testing.T) {
	tests := []struct {
		step     time.Duration
		interval time.Duration // Config.ThresholdInterval
		want     float64
	}{
		{5 * time.Minute, 5 * time.Minute, 5},
		{time.Minute, 5 * time.Minute, math.Sqrt(25 + 2*math.Log(5))},      // 5.31
		{time.Hour, 5 * time.Minute, math.Sqrt(25 - 2*math.Log(12))},       // 4.47
		{24 * time.Hour, 5 * time.Minute, math.Sqrt(25 - 2*math.Log(288))}, // 3.70
		{30 * 24 * time.Hour, 5 * time.Minute, 3},                          // floored
		{time.Second, 0, 5}, // adjustment off
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Threshold, cfg.ThresholdInterval = 5, tt.interval
		d := New(cfg)
		for i := range 50 {
			d.Observe(t0.Add(time.Duration(i)*tt.step), 100)
		}
		if math.Abs(d.thr-tt.want) > 1e-6 {
			t.Errorf("sampled every %v (interval %v): threshold %.4f, want %.4f", tt.step, tt.interval, d.thr, tt.want)
		}
	}
	// The band reported is the one points are judged by: in units of the
	// deviation's scale it is the adjusted threshold until the series has
	// been seen long enough for its records to count (Rarity·RecordSpan),
	// and at least MinDeviation after.
	for _, step := range []time.Duration{time.Minute, time.Hour} {
		cfg := DefaultConfig()
		n := int(float64(cfg.Rarity)*cfg.RecordSpan/float64(step)) - 1
		ts, vs := series{n: n, step: step, base: 100, noise: 2, seed: 3}.points()
		r := run(cfg, ts, vs)[n-1]
		scale := (vs[n-1] - r.Expected) / r.Deviation
		want := intervalThreshold(cfg, step)
		if got := (r.Upper - r.Expected) / scale; math.Abs(got-want) > 1e-6 {
			t.Errorf("sampled every %v: band %.4f deviations wide, want %.4f", step, got, want)
		}
		ts, vs = series{n: 2 * n, step: step, base: 100, noise: 2, seed: 3}.points()
		r = run(cfg, ts, vs)[2*n-1]
		scale = (vs[2*n-1] - r.Expected) / r.Deviation
		if got := (r.Upper - r.Expected) / scale; got < cfg.MinDeviation-1e-6 {
			t.Errorf("sampled every %v, records in use: band %.4f deviations wide, want at least %v", step, got, cfg.MinDeviation)
		}
	}
}

// intervalThreshold is the per-point threshold, in σ, that the detector
// should apply to a series of c sampled every step (above the 3σ floor).
func intervalThreshold(c Config, step time.Duration) float64 {
	return math.Sqrt(c.Threshold*c.Threshold - 2*math.Log(float64(step)/float64(c.ThresholdInterval)))
}

// TestClearAfterIsATimeOnCoarseSeries: an hourly series clears ClearAfter
// after it calmed down, not after a count of points fitted to fine
// sampling. Counting 30 calm points held an hourly flag for 30 hours and
// hid the next incident (NAB's exchange-4_cpm lost two labelled windows so).
func TestClearAfterIsATimeOnCoarseSeries(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false // the drift test judges sustained deviations too
	ts, vs := series{n: 800, step: time.Hour, base: 50, noise: 1, seed: 5}.points()
	vs[600] = 200
	vs[640] = 200
	res := run(cfg, ts, vs)
	if !res[600].Onset {
		t.Fatalf("no flag at the first spike: %+v", res[600])
	}
	cleared := -1
	for i := 601; i < 640; i++ {
		if !res[i].Anomalous {
			cleared = i
			break
		}
	}
	if cleared < 0 || cleared > 600+12 {
		t.Fatalf("cleared at point %d, want within 12 hourly points of the spike (ClearAfter %v)", cleared, cfg.ClearAfter)
	}
	if !res[640].Onset {
		t.Fatalf("the second incident raised no flag: %+v", res[640])
	}
}

// TestSeriesStartingAtZeroLearnsItsLevel: a series whose first points are
// all equal, zero traffic say, has σ at its floor. Found through the binary:
// a request rate whose first interval saw no calls was clipped at a few of
// those σ ever after, learned nothing, and paged on steady traffic.
func TestSeriesStartingAtZeroLearnsItsLevel(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WarmupPoints = 20
	d := New(cfg)
	for i := range 200 {
		v := 200 + float64(i%3)
		if i == 0 {
			v = 0
		}
		r := d.Observe(t0.Add(time.Duration(i)*time.Second), v)
		if r.Unusual || r.Onset {
			t.Fatalf("point %d (%v): steady traffic after a zero start flagged: expected %.4g, band [%.4g, %.4g]", i, v, r.Expected, r.Lower, r.Upper)
		}
	}
}

// TestTrafficAfterZerosIsFlaggedOnceThenLearned: zeros well past warm-up,
// then steady traffic: the start is flagged once, and the new level is
// learned (not clipped away for ever).
func TestTrafficAfterZerosIsFlaggedOnceThenLearned(t *testing.T) {
	d := New(DefaultConfig())
	onsets := 0
	var last Result
	for i := range 600 {
		v := 0.0
		if i >= 200 {
			v = 200 + float64(i%3)
		}
		last = d.Observe(t0.Add(time.Duration(i)*time.Minute), v)
		if last.Onset {
			onsets++
		}
	}
	if onsets != 1 {
		t.Errorf("%d onsets, want 1 (the start of traffic)", onsets)
	}
	if math.Abs(last.Expected-201) > 2 || last.Unusual {
		t.Errorf("after 400 points of steady traffic: expected %.4g, unusual %v; want about 201 and ordinary", last.Expected, last.Unusual)
	}
}

// TestCoarsePointConfirmsItself: one hourly point already stands for an
// hour, so a lone unusual point raises a flag without waiting an hour for
// the next (NAB's hourly realAdExchange series were flagged an hour late
// or, once the next hour was ordinary, not at all). On fine sampling a lone
// point below SpikeFactor times the band still waits.
func TestCoarsePointConfirmsItself(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShiftThreshold = 1e9                           // judge single points only
	cfg.DriftMemory, cfg.DriftReplacesShift = 0, false // the drift test judges sustained deviations too
	cfg.LocalAlpha = 0                                 // by the seasonal band the point is placed by
	cfg.SelfConfirmInterval = 30 * time.Minute
	cfg.SpikeFactor = 1.3
	cfg.NoveltyDeviation = 0 // a point the novelty test finds new needs no second point either
	// lone sets one point, on day 25 of a clean series, to factor times
	// the band's half-width above the expected value and returns its
	// verdict.
	lone := func(c Config, step time.Duration, factor float64) Result {
		i := int(25 * 24 * time.Hour / step)
		ts, vs := series{n: i + 50, step: step, base: 50, noise: 1, seed: 5}.points()
		probe := run(c, ts, vs)[i]
		vs[i] = probe.Expected + factor*(probe.Upper-probe.Expected)
		return run(c, ts, vs)[i]
	}
	mid := (1 + cfg.SpikeFactor) / 2
	tests := []struct {
		name        string
		selfConfirm time.Duration
		step        time.Duration
		onset       bool
	}{
		{"hourly: flags alone", cfg.SelfConfirmInterval, time.Hour, true},
		{"hourly, self-confirmation off: waits", 0, time.Hour, false},
		{"5-minute: waits", cfg.SelfConfirmInterval, 5 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.SelfConfirmInterval = tt.selfConfirm
			res := lone(c, tt.step, mid)
			if !res.Unusual || res.Onset != tt.onset {
				t.Fatalf("deviation %.2f: unusual %v onset %v, want unusual, onset %v", res.Deviation, res.Unusual, res.Onset, tt.onset)
			}
		})
	}
}

// countSeries is an hourly count that is 0 but for a 1 now and then (a
// purchase rate, a crash count), over 60 days, with extra values set.
func countSeries(set map[int]float64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 60 * 24
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * time.Hour)
		if r.Float64() < 0.02 {
			vs[i] = 1
		}
	}
	for i, v := range set {
		vs[i] = v
	}
	return ts, vs
}

// A series that moves in steps has no noise finer than a step: with
// ResolutionSigma its routine 1s are not 100σ events, while a burst many
// steps high still is; without it, the 1s are flagged.
func TestResolutionFloorsStepSeries(t *testing.T) {
	burst := 50 * 24
	ts, vs := countSeries(map[int]float64{burst: 12})
	for _, tt := range []struct {
		name        string
		resolution  float64
		wantRoutine bool
	}{
		{"resolution floor", 1, false},
		{"no floor", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ResolutionSigma = tt.resolution
			routine, caught := 0, false
			for i, r := range run(cfg, ts, vs) {
				switch {
				case i >= burst && i < burst+2:
					caught = caught || r.Onset
				case r.Onset && i > 14*24:
					routine++
				}
			}
			if !caught {
				t.Errorf("a burst of 12 on a 0/1 count not flagged")
			}
			if got := routine > 0; got != tt.wantRoutine {
				t.Errorf("%d onsets on routine 1s after the first two weeks (the grain shown by then), want any: %v", routine, tt.wantRoutine)
			}
		})
	}
}

// A flat series that jumps once has made one step, the event itself: the
// jump is not taken for the series' grain.
func TestResolutionNeedsRepeatedSteps(t *testing.T) {
	ts, vs := series{n: 3200, step: time.Minute, base: 50}.points()
	for i := 3000; i < len(vs); i++ {
		vs[i] = 80
	}
	res := run(DefaultConfig(), ts, vs)
	for i := 3000; i < 3002; i++ {
		if res[i].Onset {
			return
		}
	}
	t.Fatalf("a jump on a flat series not flagged: %+v", res[3000])
}

// LocalAwayOnly: after a spike, the point back at the baseline is not
// unusual by the local test, which without it sees a drop as large as the
// spike.
func TestLocalTestIgnoresTheReturn(t *testing.T) {
	spike := 3000
	for _, away := range []bool{true, false} {
		cfg := DefaultConfig()
		cfg.LocalAwayOnly = away
		res := runSpikes(cfg, map[int]float64{spike: 90})
		if !res[spike].Unusual {
			t.Fatalf("away=%v: the spike is not unusual: %+v", away, res[spike])
		}
		if res[spike+1].Unusual == away {
			t.Errorf("away=%v: the return to the baseline unusual=%v: %+v", away, res[spike+1].Unusual, res[spike+1])
		}
	}
}

// SmoothTailRatio: on a smooth series a lone moderate point flags
// without waiting for the next; off, it needs the next point.
func TestSmoothSeriesLonePointFlags(t *testing.T) {
	spike := 3000
	for _, tt := range []struct {
		ratio float64
		want  bool
	}{{1.5, true}, {0, false}} {
		cfg := DefaultConfig()
		cfg.SmoothTailRatio = tt.ratio
		cfg.SpikeFactor = 100          // a lone point never confirms itself by size...
		cfg.ConfirmByAgreement = false // ...nor by two tests agreeing
		res := runSpikes(cfg, map[int]float64{spike: 58})
		if !res[spike].Unusual {
			t.Fatalf("ratio %v: the point is not unusual: %+v", tt.ratio, res[spike])
		}
		if got := res[spike].Onset || res[spike+1].Onset; got != tt.want {
			t.Errorf("ratio %v: lone point onset %v, want %v", tt.ratio, got, tt.want)
		}
	}
}

// A point with no deviation at all is never unusual, even on a series
// that never deviated (records of 0: the ratio of the two was NaN, and a
// NaN score passed for a sustained decrease).
func TestNoDeviationOnAFlatSeriesIsNotUnusual(t *testing.T) {
	ts, vs := series{n: 3000, step: time.Minute, base: 50}.points()
	for i, r := range run(DefaultConfig(), ts, vs) {
		if r.Unusual || math.IsNaN(r.Score) {
			t.Fatalf("point %d of a flat series: %+v", i, r)
		}
	}
}

// The reason names the test that flagged the point: the band when the
// seasonal test finds it outside, the recent level when only the local test
// does (the point may be well inside the band), so an alert never says a
// point left a band that holds it.
func TestReasonNamesWhatThePointLeft(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NoveltyDeviation = 0
	tests := []struct {
		name            string
		seasonal, local float64 // deviations in σ (the seasonal bar is 6σ, the local one 6σ)
		localOff        bool
		wantUnusual     bool
		want            Reason
	}{
		{"inside the band, far from the recent points", 2, 20, false, true, ReasonAboveRecent},
		{"below the recent points, inside the band", -2, -20, false, true, ReasonBelowRecent},
		{"outside the band, farther from the recent points", 8, 20, false, true, ReasonAboveBand},
		{"below the band, farther below the recent points", -8, -20, false, true, ReasonBelowBand},
		{"outside the band, the local test off", 8, 0, true, true, ReasonAboveBand},
		{"inside the band, near the recent points", 2, 3, false, false, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.localOff {
				c.LocalAlpha = 0
			}
			d := New(c)
			// Seen for longer than Rarity, with records of 5σ on every
			// test and side: bars of RecordMargin·5 = 6σ.
			d.n, d.firstT, d.lastT = 1000, t0.UnixNano(), t0.Add(2*c.Rarity).UnixNano()
			for i := range d.records {
				d.records[i].learn(5)
			}
			unusual, _, reason, _ := d.judge(tt.seasonal, tt.seasonal, tt.local, math.Inf(1), 1, false, 0)
			if unusual != tt.wantUnusual || reason != tt.want {
				t.Fatalf("unusual %v, reason %q; want %v, %q", unusual, reason, tt.wantUnusual, tt.want)
			}
		})
	}
}

// calmFrom is where calmSpell's series turns calm: after four days.
const calmFrom = 4 * 1440

// calmSpell is n points a minute apart around 100: noise of σ 10 for
// four days, then calm noise of σ calm.
func calmSpell(seed uint64, calm float64, n int) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * time.Minute)
		noise := 10.0
		if i >= calmFrom {
			noise = calm
		}
		vs[i] = 100 + noise*r.NormFloat64()
	}
	return ts, vs
}

// End to end: a series that is noisy for days and then calm for hours; a
// jump out of the calm, inside the band the noisy days learned, is flagged
// as leaving the recent level, which the result reports.
func TestJumpFromACalmSpell(t *testing.T) {
	jump := calmFrom + 6*60
	ts, vs := calmSpell(11, 0.3, jump+5)
	vs[jump] = 112
	res := run(DefaultConfig(), ts, vs)
	got := res[jump]
	if !got.Unusual || got.Reason != ReasonAboveRecent {
		t.Fatalf("the jump: unusual %v reason %q, want unusual above_recent: %+v", got.Unusual, got.Reason, got)
	}
	if !(vs[jump] < got.Upper) {
		t.Errorf("the jump %v is outside the band (upper %v): the case does not test a jump inside it", vs[jump], got.Upper)
	}
	if math.Abs(got.Recent-100) > 2 {
		t.Errorf("recent level %v, want about 100 (the calm spell's)", got.Recent)
	}
}

// counts is a day-shaped count of events per five minutes: a few at
// night, some hundreds by day, bursts now and then. Its band, symmetric
// in σ, reaches below zero at night.
func counts(n int, seed uint64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
		phase := 2 * math.Pi * float64(ts[i].Sub(t0)%(24*time.Hour)) / float64(24*time.Hour)
		mean := 60 + 58*math.Sin(phase)
		v := math.Round(mean + math.Sqrt(mean)*r.NormFloat64())
		if r.IntN(100) == 0 {
			v += float64(r.IntN(200))
		}
		vs[i] = max(v, 0)
	}
	return ts, vs
}

// TestBandOfACountStaysAboveZero: a series never below zero is reported
// with its band and expected value clamped at zero, and every verdict is
// what it would have been without the clamp (a detector told the series
// has been negative reports the band unclamped).
func TestBandOfACountStaysAboveZero(t *testing.T) {
	ts, vs := counts(10*288, 3)
	clamped, plain := New(DefaultConfig()), New(DefaultConfig())
	plain.negative = true
	wasNegative := 0
	for i := range ts {
		c, p := clamped.Observe(ts[i], vs[i]), plain.Observe(ts[i], vs[i])
		if c.Lower < 0 || c.Expected < 0 {
			t.Fatalf("point %d: expected %v, band %v to %v below zero on a count", i, c.Expected, c.Lower, c.Upper)
		}
		if p.Lower < 0 {
			wasNegative++
		}
		want := p
		want.Expected, want.Lower = max(p.Expected, 0), max(p.Lower, 0)
		if c != want {
			t.Fatalf("point %d: clamped result %+v, want the plain one %+v with its band clamped", i, c, p)
		}
	}
	if wasNegative == 0 {
		t.Fatal("the plain band never went below zero: the case does not test the clamp")
	}
	t.Logf("%d of %d points had a band below zero before the clamp", wasNegative, len(ts))
}

// TestNegativeValueLiftsTheClamp: once a series has been below zero, its
// band is reported as computed, from that point on.
func TestNegativeValueLiftsTheClamp(t *testing.T) {
	ts, vs := counts(4*288, 4)
	vs[3*288] = -1
	d := New(DefaultConfig())
	below := false
	for i := range ts {
		r := d.Observe(ts[i], vs[i])
		if i < 3*288 && r.Lower < 0 {
			t.Fatalf("point %d: band %v to %v below zero before the series was", i, r.Lower, r.Upper)
		}
		below = below || (i >= 3*288 && r.Lower < 0)
	}
	if !d.negative || !below {
		t.Fatalf("after a negative value: negative %v, band below zero since %v; want both", d.negative, below)
	}
}

// TestLocalTestSparesWhatTheBaselineFindsOrdinary: out of a calm spell,
// a jump back into the series' ordinary spread for the hour is not
// flagged with LocalMinDeviation, and is (above_recent) without it; a
// jump the baseline also finds unusual is flagged either way.
func TestLocalTestSparesWhatTheBaselineFindsOrdinary(t *testing.T) {
	ordinary, large := calmFrom+6*60, calmFrom+9*60
	ts, vs := calmSpell(12, 0.1, large+5)
	vs[ordinary], vs[large] = 102.5, 108
	for _, floor := range []float64{0, 1} {
		cfg := DefaultConfig()
		cfg.LocalMinDeviation = floor
		res := run(cfg, ts, vs)
		if got := res[ordinary]; got.Unusual != (floor == 0) || math.Abs(got.Deviation) >= floor && floor > 0 {
			t.Errorf("floor %v: a jump to %v, %.2f from the baseline: unusual %v (%q), want %v", floor, vs[ordinary], got.Deviation, got.Unusual, got.Reason, floor == 0)
		}
		if got := res[large]; !got.Unusual || got.Reason != ReasonAboveRecent {
			t.Errorf("floor %v: a jump to %v, %.2f from the baseline: unusual %v (%q), want above_recent", floor, vs[large], got.Deviation, got.Unusual, got.Reason)
		}
	}
}
