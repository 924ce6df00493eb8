// Package anomaly is Vigil's streaming anomaly detector for one time series
// at a time: request rates, error ratios, latencies, or any metric.
//
// A Detector keeps a robust baseline and noise estimate per series and
// scores each point as it arrives, with constant work per point and a fixed
// ~2.8 KiB of state (no allocation after New):
//
//   - Baseline: a level plus a daily profile (96 slots of 15 minutes) and a
//     weekly correction (168 hourly slots), learned online by wall-clock
//     time, so irregular sampling intervals are fine. A series with no
//     seasonality simply learns flat profiles. Until a slot has been seen
//     for a whole cycle the plain level stands in for it.
//   - Spread: exponentially weighted mean absolute residuals (overall and
//     per daily slot), with residuals clipped at 3σ, so outliers barely move
//     the baseline or the noise estimate. A tracked high quantile of past
//     deviations rescales them on series whose normal life includes bursts.
//   - Tests: a single-point test (|deviation| ≥ Threshold·σ) for spikes and
//     drops, and a two-sided CUSUM for sustained shifts too small for it.
//     Threshold is stated for a sampling interval (ThresholdInterval) and
//     raised for series sampled more often, lowered for coarser ones, so
//     that false alarms per day, not per point, stay the same.
//     A confirmed shift re-anchors the baseline, so a new normal is learned
//     in one step rather than flagged for hours.
//   - Verdict: Score in [0,1] (0.5 where a point becomes unusual), the
//     expected value and band, persistence (K of the last N points unusual,
//     and a lone point only when it reaches SpikeFactor·Threshold, since
//     most lone moderate deviations are a series' ordinary bursts; on a
//     series sampled every SelfConfirmInterval or coarser, one point spans
//     long enough to flag alone from Threshold) before a
//     series becomes anomalous, hysteresis (ClearAfter since the last
//     unusual point, and the last ClearPoints points calm) before it
//     clears, a warm-up during which it never flags, an optional
//     minimum-traffic guard, and a Reason for every verdict.
//
// MarshalBinary and UnmarshalBinary checkpoint the learned state, so a
// restarted collector resumes with its seasonal profiles instead of a new
// week of learning.
//
// The package knows nothing of the collector; the anomaly connector and the
// `vigil anomaly detect` command (package anomalycli) both drive it.
package anomaly
