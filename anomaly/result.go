package anomaly

// Reason says why a point got its score, so an alert can explain itself.
type Reason string

// Reasons a Result carries. The empty reason means the point is ordinary.
const (
	ReasonNone Reason = ""
	// ReasonInvalid: the value was NaN or infinite and was ignored.
	ReasonInvalid Reason = "invalid_value"
	// ReasonWarmingUp: the detector is still learning and never flags.
	ReasonWarmingUp Reason = "warming_up"
	// ReasonLowTraffic: the point would be unusual, but expected and observed
	// values are both below Config.MinTraffic.
	ReasonLowTraffic Reason = "below_min_traffic"
	// ReasonAboveBand and ReasonBelowBand: the point is outside the band.
	ReasonAboveBand Reason = "above_band"
	ReasonBelowBand Reason = "below_band"
	// ReasonAboveRecent and ReasonBelowRecent: the point stands out from
	// the last few points (Result.Recent) by far more than they vary,
	// although the band, which allows for the series' usual spread at
	// that hour, may hold it: a jump out of a calm spell.
	ReasonAboveRecent Reason = "above_recent"
	ReasonBelowRecent Reason = "below_recent"
	// ReasonShiftUp and ReasonShiftDown: recent points stayed on one side of
	// the expected value for longer than noise explains (a level shift).
	ReasonShiftUp   Reason = "sustained_increase"
	ReasonShiftDown Reason = "sustained_decrease"
	// ReasonNovel: a moderate deviation into a pattern the series has not
	// shown lately (see Config.NoveltyDeviation).
	ReasonNovel Reason = "novel_pattern"
)

// FromRecent reports whether the local test alone flagged the point
// (ReasonAboveRecent, ReasonBelowRecent): it left the recent level, not
// necessarily the band.
func (r Reason) FromRecent() bool { return r == ReasonAboveRecent || r == ReasonBelowRecent }

// Seasonality names the baseline model used for a point.
type Seasonality string

// Baseline models, from simplest to richest. A richer one is used only while
// it predicts the series measurably better.
const (
	SeasonalityNone   Seasonality = "none"
	SeasonalityDaily  Seasonality = "daily"
	SeasonalityWeekly Seasonality = "weekly"
)

// Result is the detector's verdict on one point.
type Result struct {
	// Score is in [0,1]; 0.5 is where a point becomes unusual.
	Score float64
	// Expected is the baseline's prediction; Lower and Upper bound the band
	// outside which a point is unusual by the single-point test
	// (Expected ± Threshold·scale, Threshold adjusted to the sampling
	// interval; see Config.ThresholdInterval). On a series never seen
	// below zero, Expected and Lower are no lower than zero.
	Expected, Lower, Upper float64
	// Recent is the short-term average of the last points that the local
	// test compares each point with (Config.LocalAlpha; 0 when the test is
	// off), before this point.
	Recent float64
	// Deviation is (value - Expected) / scale, signed: robust standard
	// deviations, widened on series with heavier tails than a Gaussian's.
	Deviation float64
	// Unusual is this point's own verdict, before persistence.
	Unusual bool
	// Anomalous is the series' state after persistence (K of N unusual
	// points) and hysteresis (ClearPoints calm points to clear).
	Anomalous bool
	// Onset is true on the point where Anomalous turned true.
	Onset bool
	// WarmingUp is true while the detector is still learning; it never
	// flags during warm-up.
	WarmingUp bool
	// Reason says why the point scored as it did.
	Reason Reason
	// Seasonality is the baseline model used for this point.
	Seasonality Seasonality
}
