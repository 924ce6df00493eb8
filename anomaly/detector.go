package anomaly

import (
	"math"
	"time"
)

// madToSigma converts a mean absolute deviation to a standard deviation for
// Gaussian noise (sqrt(pi/2)), so thresholds read as familiar "sigmas".
const madToSigma = 1.2533

// agreementCycles is how many cycles a daily slot must have seen before
// its prediction is trusted without the plain level's agreement (see
// Config.LevelAgreement): by then an incident on its first visit has been
// outweighed by ordinary days.
const agreementCycles = 3

// weeklyGain is the model-selection margin: the weekly correction is used
// unless it makes the recent absolute prediction error worse by more than
// this factor, so a weekly profile that only learned noise is dropped.
const weeklyGain = 1.1

// errMemory is the time constant of each model's smoothed absolute
// prediction error. It spans a day, in time rather than points, so that a
// model choice weighs a whole daily cycle whatever the sampling interval.
const errMemory = 24 * time.Hour

// tailStep is the log-space step of the stochastic approximation that
// tracks Config.TailQuantile of |deviation|. Log space makes the estimate
// climb as fast on a series whose spikes are 50σ as on one whose are 5σ.
const tailStep = 0.03

// numRecords: the seasonal and the local test's records, each for
// deviations above and below (see Config.SidedRecords).
const numRecords = 4

// driftMaxRate caps the drift test's smoothing factor (Config.DriftMemory)
// at the top of the range EWMA control charts use for small shifts
// (0.05–0.25, Lucas and Saccucci, Technometrics 1990): on an hourly series
// a memory of an hour would otherwise average next to nothing, and the
// test would be a second, lower, single-point bar.
const driftMaxRate = 0.25

// Detector scores one time series. It is not safe for concurrent use; keep
// one per series. Work per point is constant and memory is fixed (no
// allocation after New).
type Detector struct {
	cfg Config
	// Derived from cfg once, as they cost more than the rest of a point.
	gaussQ, tailUp, tailDown float64
	// thr is Config.Threshold adjusted to the series' sampling interval
	// (see Config.ThresholdInterval), and loneScore the score at which a
	// single point raises a flag. Both are recomputed only when typDt
	// changes, which on regular sampling stops after a few points, so a
	// regular series takes no log and square root per point for them. They
	// stay functions of typDt, so a restored checkpoint continues exactly.
	thr, loneScore float64

	n      uint64 // points observed
	lastT  int64  // unix nanoseconds of the last point
	firstT int64  // unix nanoseconds of the first point
	typDt  float64
	// level is the non-seasonal baseline; seasonalLevel is the correction
	// added to the seasonal profiles, which tracks level shifts and trend
	// once the profiles hold the shape of a cycle.
	level         float64
	seasonalLevel float64
	// mads are each model's recent mean absolute residual (the noise scale);
	// errs are slower versions of the same, used to choose the model.
	mads    [3]float64
	errs    [3]float64
	model   uint8
	cusumHi float64
	cusumLo float64
	// runHi and runLo sum the (clipped) residuals since each CUSUM side
	// last stood at zero, with their counts: their mean is the size of
	// the shift being tested, by which a confirmed shift re-anchors the
	// baseline in one step.
	runHi, runLo   float64
	runNHi, runNLo float64
	// tail tracks the Config.TailQuantile quantile of |deviation|. Where it
	// exceeds that quantile for Gaussian noise (gaussQ), deviations are
	// scaled down by the ratio, so spiky series are judged by their own
	// spikes.
	tail float64

	history   uint32 // bit i set: the i-th most recent point was unusual
	anomalous bool
	calm      int32 // consecutive calm points while anomalous
	// lastUnusual is the unix nanosecond time stamp of the latest unusual
	// point, for Config.ClearAfter.
	lastUnusual int64
	// quietBefore is how long no point was unusual before the current (or
	// last) run of unusual points, in nanoseconds; redetected is set once
	// that run has been reported as a detection. See Config.RedetectAfter.
	quietBefore int64
	redetected  bool
	// negative is set once the series has had a value below zero. Until
	// then it is taken for a quantity that cannot be negative (a count, a
	// rate, a latency), and its band and expected value are not reported
	// below zero: the band is symmetric in σ, and "band -686 to 820" on a
	// count of tweets is a page contradicting itself. Only what is
	// reported is clamped; the tests judge deviations in σ, unchanged.
	negative bool

	// lastV is the last valid value and resolution the smallest nonzero
	// step seen between consecutive values (0: none yet), the grain of a
	// series that moves in steps, such as a count (see
	// Config.ResolutionSigma); resolutionSteps counts the steps of that
	// grain (less than twice it) seen since it was found.
	lastV, resolution, resolutionSteps float64

	// memo caches what depends only on the sampling interval, which on a
	// regular series repeats point after point (not checkpointed: it is
	// recomputed on a miss).
	memo memos

	// local is a fast moving average of the values and localMad the mean
	// absolute deviation from it: the short-term context a point is
	// compared with by the local test.
	local, localMad float64
	// records hold the largest seasonal and local deviations of about
	// the last Rarity (see record).
	records [numRecords]record
	// nov is the contextual-novelty test (Config.NoveltyDeviation).
	nov novelty
	// drift is the drift test's average of the seasonal deviation (in
	// scale units, clipped as the shift test's) and driftRecords its
	// largest above and below over about the last Rarity (see
	// Config.DriftMemory).
	drift        float64
	driftRecords [2]record

	daily  [dailySlots]spreadSlot
	weekly [weeklySlots]slot
}

// New returns a detector for one series. cfg must be valid (see
// Config.Validate); New does not re-check it, so that creating 100k detectors
// stays cheap.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg}
	d.derive()
	return d
}

// derive computes the constants that depend only on the configuration.
func (d *Detector) derive() {
	q := d.cfg.TailQuantile
	d.gaussQ = math.Sqrt2 * math.Erfinv(q)
	d.tailUp = math.Exp(tailStep * q)
	d.tailDown = math.Exp(-tailStep * (1 - q))
	d.retune()
}

// minThreshold is the lowest per-point threshold the sampling-interval
// adjustment gives: below 3σ even Gaussian noise crosses the band once in
// a few hundred points, however coarse the sampling.
const minThreshold = 3

// threshold is Config.Threshold for a series sampled every typDt. A series
// sampled k times as often as Config.ThresholdInterval has k times as many
// chances a day to cross a fixed band; raising z so that z² grows by 2·ln k
// keeps the Gaussian tail rate per unit of time what Threshold gives at
// that interval (to first order: P(|Z|>z) falls as exp(-z²/2)). On-call
// engineers count false alarms per week, not per point.
func (d *Detector) threshold() float64 {
	t := d.cfg.Threshold
	if d.cfg.ThresholdInterval <= 0 || d.typDt <= 0 {
		return t
	}
	z2 := t*t - 2*math.Log(d.typDt/float64(d.cfg.ThresholdInterval))
	return max(min(t, minThreshold), math.Sqrt(max(z2, 0)))
}

// retune sets the thresholds that depend on the sampling interval.
func (d *Detector) retune() {
	d.thr = d.threshold()
	lone := d.cfg.SpikeFactor
	if d.cfg.SelfConfirmInterval > 0 && d.typDt >= float64(d.cfg.SelfConfirmInterval) {
		// One coarse point covers a long stretch: it needs no next
		// point to show it lasts (on hourly data the wait delays an
		// alert by an hour, or drops it when the next hour is back to
		// normal).
		lone = 1
	}
	d.loneScore = scoreOf(lone)
}

// scoreOf maps x, a deviation in units of its threshold, to a score in
// [0, 1): 0.5 at the threshold.
func scoreOf(x float64) float64 { return x * x / (1 + x*x) }

// Observe feeds the next point of the series and returns its verdict.
// Points are expected in time order; a point at or before the previous one is
// scored but does not advance the seasonal profiles.
func (d *Detector) Observe(t time.Time, v float64) Result {
	return d.observe(t, v, -1)
}

// ObserveRatio feeds a ratio computed from total events (an error ratio
// over the requests of the interval). Two things follow from knowing total:
// σ is never below the binomial noise of a ratio over that many events, so
// one failed request out of thirty at night is not an incident; and the
// minimum-traffic guard compares total, not the ratio, with MinTraffic.
func (d *Detector) ObserveRatio(t time.Time, ratio, total float64) Result {
	if math.IsNaN(total) || total < 0 {
		total = 0
	}
	return d.observe(t, ratio, total)
}

// observe is Observe with an optional event count (total < 0: unknown).
func (d *Detector) observe(t time.Time, v, total float64) Result {
	invalid := math.IsNaN(v) || math.IsInf(v, 0)
	// A ratio over no events carries no information: report, don't learn.
	empty := total >= 0 && total < 1
	if invalid || empty {
		ds, ws := slotIndices(t)
		res := d.band(d.predict(ds, ws))
		res.Reason = ReasonInvalid
		if !invalid {
			res.Reason = ReasonLowTraffic
		}
		res.Anomalous = d.anomalous
		res.WarmingUp = d.warmingUp()
		return res
	}
	// Before the band is computed: the first negative point is reported
	// against the band as it is, not one clamped at zero.
	d.negative = d.negative || v < 0
	dt := d.advanceClock(t)
	d.n++
	if d.n == 1 {
		d.level = v
		d.local = v
		d.tail = d.gaussQ
	}
	ds, ws := slotIndices(t)
	p := d.predict(ds, ws)
	if total >= 0 {
		p.sigma = max(p.sigma, binomialSigma(p.expected[p.model], total))
	}
	res := d.band(p)
	r := v - p.expected[d.model]
	rawZ := r / p.sigma
	scale := d.scale(p)
	res.Deviation = r / scale
	if d.cfg.LocalAlpha > 0 {
		res.Recent = d.local
	}
	localSigma := max(madToSigma*d.localMad, max(d.cfg.MinRelativeSpread*math.Abs(d.local), 1e-12))
	localSigma = max(localSigma, d.grain())
	if total >= 0 {
		localSigma = max(localSigma, binomialSigma(d.local, total))
	}
	localZ := (v - d.local) / localSigma
	if d.cfg.LocalAwayOnly {
		// A point on its way back to the baseline is no news: the local
		// test judges only points moving away from it, as far from it as
		// the recent points or farther, on the side they moved to.
		e := p.expected[d.model]
		if (v-e)*(v-d.local) <= 0 || math.Abs(v-e) < math.Abs(d.local-e) {
			localZ = 0
		}
	}
	// The deviation from the plain level, in its own σ: where the seasonal
	// baseline expects something the plain level does not, and the point
	// agrees with the plain level, the profile is more likely wrong (it
	// learned an incident) than the point.
	// Only while the slot is young (agreementCycles): an established
	// profile is trusted, or the plain level, which follows slow drifts,
	// would veto them.
	levelZ := math.Inf(1)
	if d.cfg.LevelAgreement && d.model > 0 && d.daily[ds].exposure < agreementCycles {
		levelZ = (v - p.expected[0]) / max(madToSigma*d.mads[0], p.sigma)
	}

	novel := false
	// Not for a ratio over a known count of events (ObserveRatio): at low
	// traffic it moves on a grid of k/n set by the count, so its pairs of
	// levels tell the traffic rather than the service, whose noise the
	// binomial floor on σ models already.
	if d.cfg.NoveltyDeviation > 0 && total < 0 {
		shrink := d.memo.noveltyShrink.of(dt, func(dt float64) float64 { return 1 - noveltyDecay(dt, d.cfg.NoveltyMemory) })
		novel = d.nov.observe(v, t.UnixNano(), d.cfg.NoveltyMemory, d.cfg.NoveltyTolerance, 1-shrink)
	}

	driftRate := 0.0
	if d.cfg.DriftMemory > 0 {
		driftRate = min(driftMaxRate, d.memo.driftRate.of(-dt/float64(d.cfg.DriftMemory), negExpm1))
	}

	warming := d.warmingUp()
	res.WarmingUp = warming
	unusual, sustained := false, false
	if warming {
		res.Reason = ReasonWarmingUp
	} else {
		unusual, res.Score, res.Reason, sustained = d.judge(res.Deviation, rawZ, localZ, levelZ, scale, novel, driftRate)
		if unusual && d.lowTraffic(v, p.expected[p.model], total) {
			unusual = false
			res.Reason = ReasonLowTraffic
		}
	}
	res.Unusual = unusual
	// A shift confirmed by the CUSUM is sustained by construction.
	shift := res.Reason == ReasonShiftUp || res.Reason == ReasonShiftDown
	// So is a point two tests of different kinds find unusual (see judge).
	confirmed := shift || sustained
	res.Onset = d.persist(unusual, res.Score, confirmed, warming, t.UnixNano())
	if unusual {
		d.lastUnusual = t.UnixNano()
	}
	res.Anomalous = d.anomalous
	d.learnTail(math.Abs(rawZ))
	d.learnResolution(v)
	width := d.cfg.Rarity / recordBlocks
	for i := range d.records {
		d.records[i].advance(t.UnixNano(), width)
	}
	for i, z := range [2]float64{rawZ, localZ} {
		r := &d.records[2*i+d.side(z)]
		x := math.Abs(z)
		if unusual {
			if !d.cfg.AbsorbRecurring {
				continue
			}
			// An unusual point raises the record by the margin at most: a
			// one-off incident barely moves it, while an event that recurs
			// every day is learned within a few days instead of being
			// judged unusual (and so never learned) for ever.
			x = min(x, d.cfg.RecordMargin*r.best())
		}
		r.learn(x)
	}
	if d.cfg.DriftMemory > 0 {
		r := &d.driftRecords[d.side(d.drift)]
		for i := range d.driftRecords {
			d.driftRecords[i].advance(t.UnixNano(), width)
		}
		// As for the other records: an average judged unusual sets no
		// record, or with AbsorbRecurring raises it by the margin at most.
		if x := math.Abs(d.drift); !unusual {
			r.learn(x)
		} else if d.cfg.AbsorbRecurring {
			r.learn(min(x, d.cfg.RecordMargin*r.best()))
		}
	}
	if d.cfg.LocalAlpha > 0 {
		d.learnLocal(v, localSigma)
	}
	d.learn(v, p, ds, ws, dt)
	return res
}

// learnLocal moves the short-term average and its spread; like the
// baseline, with the residual clipped so that a spike moves them little.
func (d *Detector) learnLocal(v, sigma float64) {
	r := v - d.local
	if d.localMad > 0 {
		c := 3 * sigma
		r = max(-c, min(c, r))
	}
	rate := max(d.cfg.SpreadAlpha, 1/float64(d.n))
	d.localMad += rate * (math.Abs(r) - d.localMad)
	d.local += max(d.cfg.LocalAlpha, 1/float64(d.n)) * r
}

// prediction holds what Observe needs before it learns from the point.
type prediction struct {
	expected [3]float64 // by model: level, +daily, +daily+weekly
	sigma    float64
	model    uint8
}

// predict computes the three candidate baselines and the noise scale for
// the point in daily slot ds and weekly slot ws.
func (d *Detector) predict(ds, ws int) prediction {
	var p prediction
	p.expected[0] = d.level
	p.expected[1] = d.level
	p.expected[2] = d.level
	if d.cfg.Daily && d.daily[ds].trained() {
		p.expected[1] = d.seasonalLevel + float64(d.daily[ds].offset)
		p.expected[2] = p.expected[1]
		if d.cfg.Weekly && d.weekly[ws].trained() {
			p.expected[2] += float64(d.weekly[ws].offset)
		}
	}
	mad := d.mads[d.model]
	if d.model > 0 && d.daily[ds].trained() && d.daily[ds].mad > 0 {
		// Geometric blend: the slot's own noise level, shrunk towards the
		// series-wide one because a slot sees few points per cycle, and
		// never below half of it.
		mad = math.Sqrt(mad * max(float64(d.daily[ds].mad), mad/4))
	}
	floor := max(d.cfg.MinRelativeSpread*math.Abs(p.expected[d.model]), d.grain())
	p.sigma = max(madToSigma*mad, floor)
	if p.sigma < 1e-12 {
		p.sigma = 1e-12
	}
	p.model = d.model
	return p
}

// scale is the unit of Result.Deviation: σ, widened on series whose
// deviations have heavier tails than Gaussian noise.
func (d *Detector) scale(p prediction) float64 {
	return p.sigma * max(1, d.tail/d.gaussQ)
}

// band turns a prediction into a Result's expected value and the band
// outside which a point is unusual by the seasonal test.
func (d *Detector) band(p prediction) Result {
	e := p.expected[p.model]
	up := d.thr * d.scale(p)
	down := up
	if d.rarityKnown() {
		up = max(d.cfg.RecordMargin*d.records[0].best()*p.sigma, d.cfg.MinDeviation*d.scale(p))
		down = max(d.cfg.RecordMargin*d.records[d.side(-1)].best()*p.sigma, d.cfg.MinDeviation*d.scale(p))
	}
	lower, upper := e-down, e+up
	if !d.negative && upper >= 0 {
		// No point of this series can fall below zero, so a lower edge
		// of zero leaves every verdict as it was (see negative). A band
		// wholly below zero, after a drop the baseline has not caught up
		// with, is left as it is rather than turned inside out.
		e, lower = max(e, 0), max(lower, 0)
	}
	return Result{
		Expected:    e,
		Lower:       lower,
		Upper:       upper,
		Seasonality: [...]Seasonality{SeasonalityNone, SeasonalityDaily, SeasonalityWeekly}[p.model],
	}
}

// rarityKnown reports whether the series has been seen for long enough
// (Rarity·RecordSpan) for its records to say what is rare.
func (d *Detector) rarityKnown() bool {
	return d.n > 0 && d.lastT-d.firstT >= int64(float64(d.cfg.Rarity)*d.cfg.RecordSpan)
}

func (d *Detector) warmingUp() bool { return d.n <= uint64(d.cfg.WarmupPoints) }

// judge scores a point with the calibrated seasonal and local tests, the
// CUSUM shift test and the drift test, and returns the strongest verdict.
// z is the seasonal deviation in units of scale (for the CUSUM and the
// drift test), rawZ the same in σ, localZ the deviation from the
// short-term average in its own σ, and driftRate the drift test's
// smoothing factor for this point (0: disabled).
func (d *Detector) judge(z, rawZ, localZ, levelZ, scale float64, novel bool, driftRate float64) (unusual bool, score float64, reason Reason, sustained bool) {
	// A single outlier may push the CUSUM by at most Threshold, so one spike
	// cannot pass for a level shift. The nominal Threshold, not the one
	// adjusted to the sampling interval: how many outliers in a row confirm
	// a shift should not change with the interval.
	if math.Abs(levelZ) < math.Abs(z) {
		// A shift must be one from the plain level too (see levelZ).
		z = math.Copysign(math.Abs(levelZ), z)
	}
	zc := max(-d.cfg.Threshold, min(d.cfg.Threshold, z))
	d.cusumHi = max(0, d.cusumHi+zc-d.cfg.ShiftDrift)
	d.cusumLo = max(0, d.cusumLo-zc-d.cfg.ShiftDrift)
	d.runHi, d.runNHi = extendRun(d.cusumHi, d.runHi, d.runNHi, zc*scale)
	d.runLo, d.runNLo = extendRun(d.cusumLo, d.runLo, d.runNLo, zc*scale)
	// The drift test averages the same clipped deviations the CUSUM sums,
	// so one outlier moves it by at most Threshold·driftRate.
	drift := 0.0
	shiftFlags := true
	if d.cfg.DriftMemory > 0 {
		d.drift += driftRate * (zc - d.drift)
		// Records restored from a checkpoint that had none are infinite
		// until a whole Rarity of the series' own averages replaces them.
		if bar := d.cfg.RecordMargin * d.driftRecords[d.side(d.drift)].best(); d.rarityKnown() && driftRate > 0 && !math.IsInf(bar, 1) {
			// Both must agree, as for the point tests: the average is a
			// record for the series, and it is large for an average of
			// white noise, MinDeviation times its standard deviation
			// σ·√(λ/(2−λ)), the EWMA chart's control limit.
			limit := d.cfg.MinDeviation * math.Sqrt(driftRate/(2-driftRate))
			drift = min(overRecord(d.drift, bar), math.Abs(d.drift)/limit)
			shiftFlags = !d.cfg.DriftReplacesShift
		}
	}

	var spike, sign float64
	agreed := false
	// recent: the verdict, if the point is unusual, is the local test's
	// alone; the seasonal test does not find the point outside the band,
	// so the reason must not say it left the band.
	recent := false
	if !d.rarityKnown() {
		// Too little history to say what is rare: the plain σ test.
		spike, sign = math.Abs(z)/d.thr, z
		spike = min(spike, math.Abs(levelZ)/d.thr)
	} else {
		// Both must agree: the deviation is a record for the series, and
		// it is large in robust σ.
		spike = min(overRecord(rawZ, d.cfg.RecordMargin*d.records[d.side(rawZ)].best()), math.Abs(z)/d.cfg.MinDeviation)
		sign = rawZ
		spike = min(spike, math.Abs(levelZ)/d.cfg.MinDeviation)
		if d.cfg.LocalAlpha > 0 {
			l := min(overRecord(localZ, d.cfg.RecordMargin*d.records[2+d.side(localZ)].best()), math.Abs(localZ)/d.cfg.MinDeviation)
			// z here is already bounded by the plain level's deviation
			// (levelZ, above), so a young slot's profile cannot make an
			// ordinary point look far from the baseline.
			if math.Abs(z) < d.cfg.LocalMinDeviation {
				l = 0
			}
			// Two tests of different kinds that both find the point
			// unusual, in the same direction.
			agreed = l >= 1 && spike >= 1 && localZ*rawZ > 0
			if l > spike {
				recent = spike < 1
				spike, sign = l, localZ
			}
		}
	}
	shift := max(d.cusumHi, d.cusumLo) / d.cfg.ShiftThreshold
	if !shiftFlags {
		// The CUSUM's alarm level is fixed, not calibrated: on a series
		// whose deviations wander for hours (a daily shape that changes
		// from day to day) it fires routinely. Where the calibrated drift
		// test judges sustained deviations instead, the CUSUM only
		// re-anchors the baseline (see learn).
		shift = 0
	}
	x := max(spike, shift, drift)
	score = scoreOf(x)
	if novel && x >= d.cfg.NoveltyDeviation && sign != 0 {
		// Two kinds of evidence agree: a deviation the σ tests find
		// large, if not a record, into a pattern the series has not
		// shown lately. Unusual, and sustained as agreement is.
		if x < 1 {
			return true, scoreOf(1), ReasonNovel, true
		}
		sustained = true
	}
	// Two tests of different kinds agreeing stand in for the deviation
	// lasting (Config.ConfirmByAgreement).
	sustained = sustained || (agreed && d.cfg.ConfirmByAgreement)
	switch {
	case x < 1:
		return false, score, ReasonNone, false
	case spike >= max(shift, drift) && recent && sign > 0:
		return true, score, ReasonAboveRecent, sustained
	case spike >= max(shift, drift) && recent:
		return true, score, ReasonBelowRecent, sustained
	case spike >= max(shift, drift) && sign > 0:
		return true, score, ReasonAboveBand, sustained
	case spike >= max(shift, drift):
		return true, score, ReasonBelowBand, sustained
	case shift >= drift && d.cusumHi > d.cusumLo:
		return true, score, ReasonShiftUp, sustained
	case shift >= drift:
		return true, score, ReasonShiftDown, sustained
	case d.drift > 0:
		// A drift is a sustained change of level, reported as one: an
		// average over hours is confirmed by construction.
		return true, score, ReasonShiftUp, sustained
	}
	return true, score, ReasonShiftDown, sustained
}

// overRecord is |z| in units of the record bar: above 1 beats it. A
// series that never deviated has a record of 0, which any deviation
// beats and no deviation does not (0/0 would be NaN, and a NaN score
// passed for unusual).
func overRecord(z, bar float64) float64 {
	if z == 0 {
		return 0
	}
	return math.Abs(z) / bar
}

// persist applies K-of-N persistence and clearing hysteresis and reports
// whether the series just became anomalous.
func (d *Detector) persist(unusual bool, score float64, sustained, warming bool, now int64) bool {
	d.history <<= 1
	if unusual {
		d.history |= 1
	}
	if warming {
		d.history = 0
	}
	n := d.cfg.PersistenceN
	mask := uint32(1)<<uint(n) - 1
	if n >= 32 {
		mask = ^uint32(0)
	}
	if unusual && d.history&2 == 0 {
		// The first unusual point of a run: how long the series was quiet
		// before it decides whether the run is a new detection.
		d.quietBefore = now - d.lastUnusual
	}
	// A moderate deviation must be confirmed by the next point; most
	// of the lone ones are the series' ordinary bursts.
	confirmed := unusual && (sustained || score >= d.loneScore || d.history&2 != 0 || d.smooth())
	if !d.anomalous {
		if countBits(d.history&mask) >= d.cfg.PersistenceK && confirmed {
			d.anomalous = true
			d.calm = 0
			d.redetected = true
			return true
		}
		return false
	}
	if !unusual {
		d.redetected = false
	}
	onset := false
	if confirmed && !d.redetected && d.cfg.RedetectAfter > 0 && d.quietBefore >= int64(d.cfg.RedetectAfter) {
		// A new incident while the flag of an earlier one is held.
		d.redetected = true
		onset = true
	}
	if score < d.cfg.ClearScore {
		d.calm++
	} else {
		d.calm = 0
	}
	if int(d.calm) >= d.cfg.ClearPoints && now-d.lastUnusual >= int64(d.cfg.ClearAfter) {
		d.anomalous = false
		d.calm = 0
		d.history = 0
	}
	return onset
}

// resolutionSteps is how many steps of its grain a series must have made
// before the grain floors σ: a flat series that jumps once has made one
// step, the event itself, not shown a grain; a count that goes from 0 to
// 1 and back now and then shows it within a few events.
const resolutionSteps = 5

// learnResolution follows the series' grain with the step from the last
// value to v.
func (d *Detector) learnResolution(v float64) {
	step := math.Abs(v - d.lastV)
	d.lastV = v
	switch {
	case !(step > 0) || d.n <= 1:
	case step < d.resolution || d.resolution == 0:
		d.resolution, d.resolutionSteps = step, 1
	case step < 2*d.resolution:
		d.resolutionSteps++
	}
}

// grain is the σ floor of Config.ResolutionSigma: 0 until the series has
// shown its grain.
func (d *Detector) grain() float64 {
	if d.resolutionSteps < resolutionSteps {
		return 0
	}
	return d.cfg.ResolutionSigma * d.resolution
}

// smooth reports whether the series' deviations have tails no heavier
// than SmoothTailRatio times a Gaussian's (see Config.SmoothTailRatio).
func (d *Detector) smooth() bool {
	return d.cfg.SmoothTailRatio > 0 && d.tail <= d.cfg.SmoothTailRatio*d.gaussQ
}

func countBits(x uint32) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

// advanceClock records t and returns the time, in nanoseconds, that the point
// stands for when learning the seasonal profiles; zero for a point that is not
// after the previous one.
func (d *Detector) advanceClock(t time.Time) float64 {
	now := t.UnixNano()
	if d.n == 0 {
		d.lastT = now
		d.firstT = now
		return 0
	}
	dt := float64(now - d.lastT)
	if dt <= 0 {
		return 0
	}
	d.lastT = now
	prev := d.typDt
	if d.typDt == 0 {
		d.typDt = dt
	} else {
		// Log-space smoothing keeps one long gap from inflating the
		// typical interval the way an arithmetic mean would.
		d.typDt = d.memo.typical(d.typDt, dt)
	}
	if d.typDt != prev {
		d.retune()
	}
	// A gap (collector restart, missing data) counts as at most two
	// typical intervals: the slot did not observe the time that went missing.
	return min(dt, 2*d.typDt)
}

// learn updates levels, spreads, model errors and profiles with the point.
// Residuals are clipped at a few σ so an outlier moves the baseline little.
func (d *Detector) learn(v float64, p prediction, ds, ws int, dtNanos float64) {
	n := float64(d.n)
	// No clipping before any spread has been seen: a series whose points so
	// far were all equal (zero traffic, say) has σ at its floor, and
	// clipping at a few of those σ would keep it from ever learning.
	unknown := d.mads[d.model] == 0
	clip := func(r float64) float64 {
		if unknown {
			return r
		}
		c := 3 * p.sigma
		return max(-c, min(c, r))
	}
	if d.n <= 1 {
		d.level = v
	}
	// While the CUSUM builds up evidence of a shift, the spreads learn
	// slower too: a slow drift would otherwise widen σ as fast as it
	// moves, and never stand out.
	spreadRate := max(d.cfg.SpreadAlpha*d.hold(), 1/n)
	errRate := 1 / n
	if dtNanos > 0 {
		errRate = max(errRate, d.memo.errRate.of(-dtNanos/float64(errMemory), negExpm1))
	}
	for m := range d.errs {
		e := math.Abs(clip(v - p.expected[m]))
		d.errs[m] += errRate * (e - d.errs[m])
		d.mads[m] += spreadRate * (e - d.mads[m])
	}
	// With a daily profile enabled the seasonal baseline is always used;
	// predict falls back to the plain level for slots not yet seen. It is
	// not chosen by one-step-ahead error: on finely sampled data the plain
	// level wins that comparison only because it follows with a lag, and
	// lagging hides slow anomalies and flags every morning ramp.
	d.model = 0
	if d.cfg.Daily {
		d.model = 1
	}
	if d.cfg.Weekly && d.model == 1 && d.errs[2] < weeklyGain*d.errs[1] {
		d.model = 2
	}

	// A confirmed shift re-anchors the levels at once by the mean residual
	// of the run that confirmed it; the CUSUM restarts so the new level is
	// judged afresh.
	if max(d.cusumHi, d.cusumLo) >= d.cfg.ShiftThreshold {
		shift := d.runLo / max(1, d.runNLo)
		if d.cusumHi >= d.cusumLo {
			shift = d.runHi / max(1, d.runNHi)
		}
		d.level += shift
		// The seasonal level follows only once this weekday-hour has been
		// seen: in the first week a weekend looks like a shift, and
		// following it would teach the weekly profile nothing.
		if d.cfg.ReanchorSeasonal && (!d.cfg.Weekly || d.weekly[ws].trained()) {
			d.seasonalLevel += shift
		}
		d.cusumHi, d.cusumLo = 0, 0
		d.runHi, d.runNHi, d.runLo, d.runNLo = 0, 0, 0, 0
	}
	// While the CUSUM builds up evidence of a shift the levels learn
	// slower, down to not at all at the alarm: absorbing the deviation
	// being tested would hide a real shift before it is confirmed.
	hold := d.hold()
	levelRate := max(d.cfg.LevelAlpha*hold, 1/n)
	d.level += levelRate * clip(v-d.level)

	dTrained := d.cfg.Daily && d.daily[ds].trained()
	if dTrained && dtNanos > 0 {
		// Time-based, and slow: anything the seasonal level absorbs within
		// a day is taken from the weekly profile, which must learn weekends.
		rate := d.memo.levelRate.of(-dtNanos/float64(d.cfg.SeasonalLevelMemory), negExpm1)
		// Against the weekly offset even while its slot is still on its
		// first visit: that offset is already absorbing the first weekend,
		// which must not drag the level down (and make Monday a surge).
		full := d.seasonalLevel + float64(d.daily[ds].offset)
		if d.cfg.Weekly {
			full += float64(d.weekly[ws].offset)
		}
		d.seasonalLevel += rate * hold * clip(v-full)
	}
	frac := 0.0
	if dtNanos > 0 {
		// A point stands for at most its whole slot: sampled hourly, one
		// point per 15-minute slot is one cycle of that slot, not four.
		frac = min(1, dtNanos/float64(dailySlotWidth))
	}
	weekly := 0.0
	if d.cfg.Weekly && d.weekly[ws].trained() {
		weekly = float64(d.weekly[ws].offset)
	}
	// Until a weekday-hour has been seen once, its deviation from the daily
	// profile is attributed to the weekly profile alone: letting the daily
	// profile absorb the first weekend would make Monday look anomalous.
	weeklyFirstVisit := d.cfg.Weekly && dTrained && !d.weekly[ws].trained()
	if d.cfg.Daily && !weeklyFirstVisit {
		s := &d.daily[ds]
		target := v - d.seasonalLevel - weekly
		// A slot whose prediction the plain level contradicts, while the
		// point agrees with the plain level, learned something it should
		// not have (an incident on its first visit): it is corrected at
		// once rather than by 3σ a day.
		wrong := d.cfg.LevelAgreement && s.exposure < agreementCycles && math.Abs(v-p.expected[0]) < 3*max(madToSigma*d.mads[0], p.sigma) &&
			math.Abs(v-p.expected[p.model]) > 3*p.sigma
		if dTrained && !wrong {
			target = float64(s.offset) + clip(target-float64(s.offset))
		}
		// Held back like the levels while a shift is being tested: a
		// slot sees a whole visit's points in a row, and learning them
		// at full rate would let the profile follow a slow drift.
		rate := s.learn(target, frac*hold, d.memo.dailyRate.of(-frac*hold/d.cfg.SeasonalCycles, oneMinusExp))
		// Slot noise is learned after warm-up only, when σ (and so the
		// clipping) means something; the first such visit sets it.
		if !d.warmingUp() {
			if s.mad == 0 {
				rate = 1
			}
			s.mad += float32(rate * (math.Abs(clip(v-p.expected[p.model])) - float64(s.mad)))
		}
	}
	if d.cfg.Weekly && dTrained {
		s := &d.weekly[ws]
		target := v - d.seasonalLevel - float64(d.daily[ds].offset)
		if s.trained() {
			target = float64(s.offset) + clip(target-float64(s.offset))
		}
		wfrac := min(1, dtNanos/float64(weeklySlotWidth))
		s.learn(target, wfrac, d.memo.weeklyRate.of(-wfrac/d.cfg.SeasonalCycles, oneMinusExp))
	}
}

// hold is how much of their normal rate the levels, profile slots and
// spreads learn at: 1, or with Config.ShiftHold less while the CUSUM
// gathers evidence of a shift, down to 0 at its alarm.
func (d *Detector) hold() float64 {
	if !d.cfg.ShiftHold {
		return 1
	}
	return max(0, 1-max(d.cusumHi, d.cusumLo)/d.cfg.ShiftThreshold)
}

// learnTail moves the tail quantile estimate: up by a factor
// exp(tailStep·q) on a deviation beyond it, down by exp(-tailStep·(1-q))
// otherwise, which settles where a fraction 1-q of deviations exceed it.
func (d *Detector) learnTail(absZ float64) {
	if absZ > d.tail {
		d.tail *= d.tailUp
	} else {
		d.tail *= d.tailDown
	}
	if g := d.gaussQ; d.tail < g/2 {
		d.tail = g / 2
	}
}

// lowTraffic applies the minimum-traffic guard: to the event count when it
// is known, otherwise to the value and its expectation (both must be low, so
// a surge from a quiet baseline is still flagged).
func (d *Detector) lowTraffic(v, expected, total float64) bool {
	if d.cfg.MinTraffic <= 0 {
		return false
	}
	if total >= 0 {
		return total < d.cfg.MinTraffic
	}
	return v < d.cfg.MinTraffic && expected < d.cfg.MinTraffic
}

// binomialSigma is the standard deviation of a ratio with expectation p
// measured over n ≥ 1 events. p is floored at one event in n, so a baseline
// of zero errors still allows for the odd single error.
func binomialSigma(p, n float64) float64 {
	p = min(max(p, 1/n), 1)
	return math.Sqrt(p * (1 - p) / n)
}

// extendRun adds r to the run of residuals behind one CUSUM side, or starts
// afresh when that side is back at zero.
func extendRun(cusum, sum, n, r float64) (float64, float64) {
	if cusum == 0 {
		return 0, 0
	}
	return sum + r, n + 1
}

// side is the record index of a deviation's direction: 0 above, 1 below
// (always 0 unless Config.SidedRecords).
func (d *Detector) side(z float64) int {
	if z < 0 && d.cfg.SidedRecords {
		return 1
	}
	return 0
}
