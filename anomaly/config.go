package anomaly

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config tunes a Detector. The zero value is not usable; start from
// DefaultConfig and override fields. The same struct is decoded from YAML by
// the CLI and from the collector configuration by the connector, hence both
// tag sets.
type Config struct {
	// Threshold is the deviation from the expected value, in robust standard
	// deviations, at which a single point counts as unusual on a series
	// sampled every ThresholdInterval, while the series is too new for
	// the record test (see Rarity); it also caps one point's push on the
	// shift test. The reported band is Expected ± Threshold·σ then, σ
	// widened on series with heavy tails (see TailQuantile), and the
	// record test's band after.
	Threshold float64 `yaml:"threshold" mapstructure:"threshold"`
	// ThresholdInterval is the sampling interval Threshold is stated for.
	// A series sampled more often has more chances a day to cross any
	// fixed band, so its per-point threshold is raised (and one sampled
	// less often lowered, to no less than 3σ) to keep the false-alarm rate
	// per unit of time that Threshold gives at this interval, for Gaussian
	// noise: at 5m and 5σ, a series sampled every minute is judged at 5.3σ,
	// one sampled hourly at 4.5σ. Zero applies Threshold at every interval.
	ThresholdInterval time.Duration `yaml:"threshold_interval" mapstructure:"threshold_interval"`
	// ShiftDrift is the per-point allowance (in σ) of the CUSUM that detects
	// sustained shifts too small for Threshold: deviations below it never
	// accumulate, so ordinary noise cannot build up an alarm.
	ShiftDrift float64 `yaml:"shift_drift" mapstructure:"shift_drift"`
	// ShiftThreshold is the CUSUM value (in σ) at which a sustained shift
	// counts as unusual. Larger values need longer or larger shifts.
	ShiftThreshold float64 `yaml:"shift_threshold" mapstructure:"shift_threshold"`
	// LevelAlpha is the per-point smoothing factor of the plain level, the
	// baseline used until the seasonal profiles have seen a slot. Larger
	// values follow trends and level shifts faster but flag less.
	LevelAlpha float64 `yaml:"level_alpha" mapstructure:"level_alpha"`
	// SeasonalLevelMemory is the time constant of the level under the
	// seasonal profiles. It must be long compared with a day, or the level
	// would absorb the weekend that the weekly profile should learn; level
	// shifts are caught by the shift test instead.
	SeasonalLevelMemory time.Duration `yaml:"seasonal_level_memory" mapstructure:"seasonal_level_memory"`
	// ReanchorSeasonal makes a confirmed shift move the seasonal level at
	// once (the plain level always moves). Shifts seen before a weekday-hour
	// has been learned are not followed: they may be the weekly pattern.
	ReanchorSeasonal bool `yaml:"reanchor_seasonal" mapstructure:"reanchor_seasonal"`
	// SpreadAlpha is the per-point smoothing factor of the robust spread
	// (mean absolute deviation of the residuals).
	SpreadAlpha float64 `yaml:"spread_alpha" mapstructure:"spread_alpha"`
	// SeasonalCycles is the memory of the seasonal profiles, in cycles
	// (days for the daily profile, weeks for the weekly one): a slot's offset
	// moves about 63% of the way to a new pattern after that many cycles.
	SeasonalCycles float64 `yaml:"seasonal_cycles" mapstructure:"seasonal_cycles"`
	// Daily and Weekly enable the seasonal profiles. The daily profile is
	// used for every slot it has seen a whole cycle of (on a series without
	// seasonality it learns a flat shape); the weekly correction is used
	// only while it does not predict worse than the daily profile alone.
	Daily  bool `yaml:"daily" mapstructure:"daily"`
	Weekly bool `yaml:"weekly" mapstructure:"weekly"`
	// WarmupPoints is how many points are only learned from, never flagged.
	WarmupPoints int `yaml:"warmup_points" mapstructure:"warmup_points"`
	// MinTraffic suppresses flags while both the expected and the observed
	// value are below it (for Detector.ObserveRatio: while the event count
	// is below it): on a series with a handful of requests every request
	// looks like a spike. Zero disables the guard.
	MinTraffic float64 `yaml:"min_traffic" mapstructure:"min_traffic"`
	// PersistenceK and PersistenceN: a series becomes anomalous once at least
	// K of its last N points were unusual.
	PersistenceK int `yaml:"persistence_k" mapstructure:"persistence_k"`
	PersistenceN int `yaml:"persistence_n" mapstructure:"persistence_n"`
	// SpikeFactor: a single unusual point raises a flag on its own only
	// when its deviation reaches SpikeFactor·Threshold; a smaller one needs
	// the point before it to have been unusual too. Most lone moderate
	// deviations are a series' ordinary bursts, while an incident lasts.
	// 1 lets every unusual point raise a flag.
	SpikeFactor float64 `yaml:"spike_factor" mapstructure:"spike_factor"`
	// ConfirmByAgreement: a lone point the seasonal and the local test
	// both find unusual, in the same direction, raises a flag without
	// SpikeFactor or a second point: two tests of different kinds
	// agreeing stand in for the deviation lasting.
	ConfirmByAgreement bool `yaml:"confirm_by_agreement" mapstructure:"confirm_by_agreement"`
	// SmoothTailRatio: on a series whose deviations have tails no heavier
	// than this many times a Gaussian's (see TailQuantile), a lone
	// unusual point flags without waiting for the next: a smooth series
	// does not make lone excursions as a bursty one does, so one is news
	// already. Zero: never.
	SmoothTailRatio float64 `yaml:"smooth_tail_ratio" mapstructure:"smooth_tail_ratio"`
	// SelfConfirmInterval: on a series sampled this coarsely or more, a
	// lone point flags on its own from Threshold (the bar at
	// ThresholdInterval, not the lowered one of the coarse series) rather
	// than from SpikeFactor times the series' threshold, when that is
	// lower. Waiting for a second point stands
	// in for "the deviation lasted"; one point that aggregates half an
	// hour or more already shows some of that, and on hourly data the wait
	// delays an alert by an hour, or drops it when the next hour is back
	// to normal. Zero: always SpikeFactor.
	SelfConfirmInterval time.Duration `yaml:"self_confirm_interval" mapstructure:"self_confirm_interval"`
	// An anomalous series clears once no point has been unusual for
	// ClearAfter and its last ClearPoints points were calm (scored below
	// ClearScore), so a flapping series yields one long flag rather than
	// many short ones. The quiet period is ClearAfter, a time rather than
	// a count, so that it means the same whatever the sampling interval;
	// ClearPoints is only a short confirmation. (A count of 30 held an
	// hourly series flagged for 30 hours after it recovered, hiding the
	// next incident.)
	ClearPoints int           `yaml:"clear_points" mapstructure:"clear_points"`
	ClearScore  float64       `yaml:"clear_score" mapstructure:"clear_score"`
	ClearAfter  time.Duration `yaml:"clear_after" mapstructure:"clear_after"`
	// TailQuantile is the quantile of past |deviation| the detector tracks
	// to learn how heavy a series' tails are. Where that quantile exceeds a
	// Gaussian's, deviations are scaled down by the ratio, so a series whose
	// normal life includes bursts is judged against its own bursts.
	TailQuantile float64 `yaml:"tail_quantile" mapstructure:"tail_quantile"`
	// Rarity: a point is unusual when its deviation is, by the series'
	// own recent behaviour, seen less than once per Rarity: it exceeds the
	// largest deviation of the last Rarity (see RecordMargin). On-call
	// people count false alarms per week, not per point, and a record per
	// time is that whatever the sampling interval or the shape of the
	// series' tails.
	Rarity time.Duration `yaml:"rarity" mapstructure:"rarity"`
	// RecordMargin and MinDeviation: once the series has been seen for
	// Rarity·RecordSpan, a point is unusual by the seasonal or the local
	// test only when its deviation exceeds RecordMargin times the largest
	// of the last Rarity (the record; points judged unusual do not set it)
	// and is at least MinDeviation robust σ. Before that, with too little
	// history to say what is rare, the plain test applies: Threshold σ.
	RecordMargin float64 `yaml:"record_margin" mapstructure:"record_margin"`
	MinDeviation float64 `yaml:"min_deviation" mapstructure:"min_deviation"`
	RecordSpan   float64 `yaml:"record_span" mapstructure:"record_span"`
	// LevelAgreement: while a daily slot is young (fewer than 3 cycles
	// seen), its seasonal and shift tests flag a point only where the
	// plain level finds it unusual too, and a slot the plain level
	// contradicts is corrected at once: an incident on a slot's first
	// visit is not learned into the profile to echo on later days.
	LevelAgreement bool `yaml:"level_agreement" mapstructure:"level_agreement"`
	// SidedRecords keeps separate records for deviations above and below
	// the expected value, so a series whose bursts all go up still has
	// its dips judged against its dips.
	SidedRecords bool `yaml:"sided_records" mapstructure:"sided_records"`
	// AbsorbRecurring lets an unusual point raise the record, by
	// RecordMargin at most: a one-off incident barely moves it, while an
	// event that recurs every day is learned within a few days. Without
	// it, points judged unusual never set the record, so a recurring
	// event once judged unusual stays unusual.
	AbsorbRecurring bool `yaml:"absorb_recurring" mapstructure:"absorb_recurring"`
	// ShiftHold: while the shift test gathers evidence, the levels, the
	// profile slots and the spreads learn slower, down to not at all at
	// its alarm, so a slow drift is not absorbed before it is confirmed.
	ShiftHold bool `yaml:"shift_hold" mapstructure:"shift_hold"`
	// LocalAlpha is the per-point smoothing factor of the short-term
	// average the local test compares each point with: a spike or dip
	// that stands out from the last few points although the seasonal
	// baseline, noisier, allows it. Zero disables the local test.
	LocalAlpha float64 `yaml:"local_alpha" mapstructure:"local_alpha"`
	// LocalAwayOnly: the local test judges only points that move away
	// from the baseline (as far from it as the recent points, or farther,
	// on their side), so a series returning to normal after a burst (a
	// count back to zero) is not flagged for the return.
	LocalAwayOnly bool `yaml:"local_away_only" mapstructure:"local_away_only"`
	// LocalMinDeviation: the local test judges only points at least this
	// far from the seasonal baseline (in units of Result.Deviation; while
	// a daily slot is young and LevelAgreement holds, from the plain level
	// too, as the shift test measures it). A
	// jump out of a calm spell that the baseline finds ordinary for the
	// hour, most often a quiet night's ordinary noise returning, is not
	// news to the people paged; a jump the baseline also finds unusual,
	// if within the band, still is. Zero: the local test judges every
	// point.
	LocalMinDeviation float64 `yaml:"local_min_deviation" mapstructure:"local_min_deviation"`
	// RedetectAfter: while a flag is held (see ClearAfter), an unusual
	// point that comes at least this long after the previous one is a new
	// detection (Result.Onset), so a flag held for an alert's sake does
	// not hide the next incident from whoever counts detections. Zero:
	// only raising the flag is an onset.
	RedetectAfter time.Duration `yaml:"redetect_after" mapstructure:"redetect_after"`
	// ResolutionSigma floors σ at this fraction of the series' resolution,
	// the smallest nonzero step seen between consecutive values: a series
	// that moves in steps (a count that is mostly 0 and now and then 1)
	// has no noise finer than a step, and a step of one is not 100σ
	// because its MAD is nearly 0. On a continuous series the resolution
	// is tiny and the floor never binds. Zero disables it.
	ResolutionSigma float64 `yaml:"resolution_sigma" mapstructure:"resolution_sigma"`
	// NoveltyDeviation: a point whose pair of levels (its own and the
	// previous point's, quantised against the series' running range) has
	// not occurred within the last NoveltyMemory counts as unusual
	// from NoveltyDeviation times the bar of the seasonal and local tests
	// (the record or Threshold, see Rarity), and needs no second point to
	// confirm it: a moderate deviation into a pattern the series has not
	// shown lately is two kinds of evidence agreeing, the σ test's and
	// the contextual-novelty test's (see the package doc). 1 only
	// confirms points unusual anyway; zero disables the novelty test. It
	// does not apply to Detector.ObserveRatio: a ratio over few events
	// moves on a grid of k/n set by the count, so its levels follow the
	// traffic rather than the service.
	NoveltyDeviation float64 `yaml:"novelty_deviation" mapstructure:"novelty_deviation"`
	// NoveltyMemory is how long a pair of levels is remembered by the
	// novelty test (between half of it and all of it, and for at least
	// 256 points, as many as there are pairs); the running range the
	// levels divide contracts halfway over seven times as long. Nothing
	// is novel before the series has been seen for a whole memory.
	NoveltyMemory time.Duration `yaml:"novelty_memory" mapstructure:"novelty_memory"`
	// NoveltyTolerance: with 1, a pair of levels within one level, in
	// either place, of a pair seen lately is not novel, so that noise
	// around a level's boundary does not make a familiar move new; with 0
	// only the same pair is familiar.
	NoveltyTolerance int `yaml:"novelty_tolerance" mapstructure:"novelty_tolerance"`
	// DriftMemory is the time constant of the drift test, an EWMA control
	// chart (Roberts, Technometrics 1959) on the seasonal deviation: the
	// deviations, in σ and clipped like the shift test's, are averaged
	// over about this long, and the average counts as unusual when it
	// exceeds RecordMargin times the largest of its own last Rarity (kept
	// per direction, like the other records) and is at least
	// driftMinSigma. A drift of a σ or two lasting hours, too small for
	// any one point and too gradual for the CUSUM's allowance, moves the
	// average where the series' ordinary wanderings never took it. Like
	// a confirmed shift it needs no second point. Zero disables it.
	DriftMemory time.Duration `yaml:"drift_memory" mapstructure:"drift_memory"`
	// DriftReplacesShift: once the series has been seen for
	// Rarity·RecordSpan, sustained deviations are judged by the drift
	// test alone, calibrated on the series' own history, rather than by
	// the CUSUM's fixed ShiftThreshold too; the CUSUM still re-anchors
	// the baseline at its alarm and holds learning (ShiftHold), but flags
	// nothing. Needs DriftMemory.
	DriftReplacesShift bool `yaml:"drift_replaces_shift" mapstructure:"drift_replaces_shift"`
	// MinRelativeSpread floors σ at this fraction of the level's magnitude,
	// so a perfectly flat series does not turn rounding noise into alarms.
	MinRelativeSpread float64 `yaml:"min_relative_spread" mapstructure:"min_relative_spread"`
}

// DefaultConfig returns the configuration used for every series of the
// NAB and opscorpus evaluation and by the connector unless overridden.
// Its structure and parameters are those leave-one-source-out
// cross-validation chooses on every fold (see package anomaly/nab).
func DefaultConfig() Config {
	return Config{
		Threshold:           8,
		ThresholdInterval:   5 * time.Minute,
		ShiftDrift:          1.5,
		ShiftThreshold:      8,
		LevelAlpha:          0.05,
		SeasonalLevelMemory: 72 * time.Hour,
		SpreadAlpha:         0.01,
		SeasonalCycles:      3,
		Daily:               true,
		Weekly:              false,
		WarmupPoints:        100,
		MinTraffic:          0,
		PersistenceK:        1,
		PersistenceN:        1,
		ClearPoints:         3,
		ClearScore:          0.15,
		ClearAfter:          6 * time.Hour,
		SpikeFactor:         1.3,
		SelfConfirmInterval: 0,
		MinRelativeSpread:   0.001,
		ReanchorSeasonal:    true,
		TailQuantile:        0.99,
		LocalAlpha:          1,
		RecordMargin:        1.2,
		MinDeviation:        4,
		RecordSpan:          1,
		LevelAgreement:      true,
		Rarity:              48 * time.Hour,
		RedetectAfter:       time.Hour,
		SidedRecords:        true,
		AbsorbRecurring:     false,
		ShiftHold:           false,
		ConfirmByAgreement:  false,
		ResolutionSigma:     1,
		LocalAwayOnly:       true,
		LocalMinDeviation:   0.5,
		NoveltyDeviation:    0.8,
		NoveltyMemory:       7 * 24 * time.Hour,
		NoveltyTolerance:    1,
		DriftMemory:         time.Hour,
		DriftReplacesShift:  true,
	}
}

// maxPersistenceN is bounded by the width of the bit history kept per series.
const maxPersistenceN = 32

// Validate reports every invalid field at once, without side effects.
func (c Config) Validate() error {
	var errs []error
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s must be a positive number, got %v", name, v))
		}
	}
	fraction := func(name string, v float64) {
		if !(v > 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("%s must be in (0, 1], got %v", name, v))
		}
	}
	positive("threshold", c.Threshold)
	if c.ThresholdInterval < 0 {
		errs = append(errs, fmt.Errorf("threshold_interval must be >= 0, got %v", c.ThresholdInterval))
	}
	positive("shift_threshold", c.ShiftThreshold)
	positive("seasonal_cycles", c.SeasonalCycles)
	if !(c.ShiftDrift >= 0) || math.IsInf(c.ShiftDrift, 0) {
		errs = append(errs, fmt.Errorf("shift_drift must be >= 0, got %v", c.ShiftDrift))
	}
	fraction("level_alpha", c.LevelAlpha)
	if c.SeasonalLevelMemory <= 0 {
		errs = append(errs, fmt.Errorf("seasonal_level_memory must be positive, got %v", c.SeasonalLevelMemory))
	}
	fraction("spread_alpha", c.SpreadAlpha)
	if !(c.ClearScore > 0 && c.ClearScore < 1) {
		errs = append(errs, fmt.Errorf("clear_score must be in (0, 1), got %v", c.ClearScore))
	}
	if !(c.MinTraffic >= 0) || math.IsInf(c.MinTraffic, 0) {
		errs = append(errs, fmt.Errorf("min_traffic must be >= 0, got %v", c.MinTraffic))
	}
	if !(c.MinRelativeSpread >= 0 && c.MinRelativeSpread < 1) {
		errs = append(errs, fmt.Errorf("min_relative_spread must be in [0, 1), got %v", c.MinRelativeSpread))
	}
	if !(c.TailQuantile >= 0.5 && c.TailQuantile < 1) {
		errs = append(errs, fmt.Errorf("tail_quantile must be in [0.5, 1), got %v", c.TailQuantile))
	}
	if c.Weekly && !c.Daily {
		// The weekly profile corrects the daily one per weekday-hour.
		errs = append(errs, errors.New("weekly requires daily"))
	}
	if c.WarmupPoints < 0 {
		errs = append(errs, fmt.Errorf("warmup_points must be >= 0, got %d", c.WarmupPoints))
	}
	if c.PersistenceN < 1 || c.PersistenceN > maxPersistenceN {
		errs = append(errs, fmt.Errorf("persistence_n must be in [1, %d], got %d", maxPersistenceN, c.PersistenceN))
	}
	if c.PersistenceK < 1 || c.PersistenceK > c.PersistenceN {
		errs = append(errs, fmt.Errorf("persistence_k must be in [1, persistence_n=%d], got %d", c.PersistenceN, c.PersistenceK))
	}
	if !(c.SpikeFactor >= 1) || math.IsInf(c.SpikeFactor, 0) {
		errs = append(errs, fmt.Errorf("spike_factor must be >= 1, got %v", c.SpikeFactor))
	}
	if !(c.ResolutionSigma >= 0) || math.IsInf(c.ResolutionSigma, 0) {
		errs = append(errs, fmt.Errorf("resolution_sigma must be >= 0, got %v", c.ResolutionSigma))
	}
	if !(c.SmoothTailRatio >= 0) || math.IsInf(c.SmoothTailRatio, 0) {
		errs = append(errs, fmt.Errorf("smooth_tail_ratio must be >= 0, got %v", c.SmoothTailRatio))
	}
	if c.SelfConfirmInterval < 0 {
		errs = append(errs, fmt.Errorf("self_confirm_interval must be >= 0, got %v", c.SelfConfirmInterval))
	}
	if !(c.LocalMinDeviation >= 0) || math.IsInf(c.LocalMinDeviation, 0) {
		errs = append(errs, fmt.Errorf("local_min_deviation must be 0 or more, got %v", c.LocalMinDeviation))
	}
	if !(c.LocalAlpha >= 0 && c.LocalAlpha <= 1) {
		errs = append(errs, fmt.Errorf("local_alpha must be in [0, 1], got %v", c.LocalAlpha))
	}
	if c.Rarity <= 0 {
		errs = append(errs, fmt.Errorf("rarity must be positive, got %v", c.Rarity))
	}
	if !(c.RecordMargin >= 1) || math.IsInf(c.RecordMargin, 0) {
		errs = append(errs, fmt.Errorf("record_margin must be >= 1, got %v", c.RecordMargin))
	}
	positive("min_deviation", c.MinDeviation)
	if !(c.RecordSpan >= 0) || math.IsInf(c.RecordSpan, 0) {
		errs = append(errs, fmt.Errorf("record_span must be >= 0, got %v", c.RecordSpan))
	}
	if !(c.NoveltyDeviation >= 0 && c.NoveltyDeviation <= 1) {
		errs = append(errs, fmt.Errorf("novelty_deviation must be in [0, 1], got %v", c.NoveltyDeviation))
	}
	if c.NoveltyDeviation > 0 && c.NoveltyMemory <= 0 {
		errs = append(errs, fmt.Errorf("novelty_memory must be positive when novelty_deviation is set, got %v", c.NoveltyMemory))
	}
	if c.NoveltyTolerance < 0 || c.NoveltyTolerance > 1 {
		errs = append(errs, fmt.Errorf("novelty_tolerance must be 0 or 1, got %d", c.NoveltyTolerance))
	}
	if c.DriftMemory < 0 {
		errs = append(errs, fmt.Errorf("drift_memory must be >= 0, got %v", c.DriftMemory))
	}
	if c.DriftReplacesShift && c.DriftMemory <= 0 {
		errs = append(errs, errors.New("drift_replaces_shift needs a positive drift_memory"))
	}
	if c.RedetectAfter < 0 {
		errs = append(errs, fmt.Errorf("redetect_after must be >= 0, got %v", c.RedetectAfter))
	}
	if c.ClearAfter < 0 {
		errs = append(errs, fmt.Errorf("clear_after must be >= 0, got %v", c.ClearAfter))
	}
	if c.ClearPoints < 1 {
		errs = append(errs, fmt.Errorf("clear_points must be >= 1, got %d", c.ClearPoints))
	}
	return errors.Join(errs...)
}
