// Package anomaly is Vigil's streaming anomaly detector for one time series
// at a time: request rates, error ratios, latencies, or any metric.
//
// A Detector keeps a robust baseline, noise estimates and a few records per
// series and scores each point as it arrives, with constant work per point
// and a fixed ~3.5 KiB of state (no allocation after New). One configuration
// serves every series; it was chosen by leave-one-source-out
// cross-validation over NAB's categories and the sources of an ops corpus
// (package anomaly/nab), every choice made inside the folds.
//
// Baseline. A level plus a daily profile (96 slots of 15 minutes) and,
// with Config.Weekly, a weekly correction (168 hourly slots; off in the
// shipped configuration, which the search prefers since the drift test
// judges sustained deviations), learned online by wall-clock time
// with residuals clipped at 3σ, so outliers barely move it — a robust
// seasonal baseline in the spirit of robust STL (Cleveland et al., J. Off.
// Stat. 1990) and of Twitter's S-H-ESD (Hochenbaum et al., 2017), kept in
// constant memory. Two guards keep it from learning incidents:
//
//   - While a daily slot is young (fewer than three cycles), the seasonal
//     and shift tests flag a point only where the plain level agrees, and
//     a slot the plain level contradicts is corrected at once
//     (Config.LevelAgreement): an incident on a slot's first visit is not
//     learned into the profile to echo at the same hour on later days.
//   - While the shift test gathers evidence, the levels, the profile slots
//     and the spreads learn slower, down to not at all at its alarm
//     (Config.ShiftHold).
//
// Tests. Five, an ensemble in the sense of Numenta's NAB detectors
// combining evidence (Ahmad et al., Neurocomputing 2017) and of
// Laptev et al.'s EGADS (KDD 2015):
//
//   - Seasonal: the deviation from the baseline in robust σ.
//   - Local: the deviation from the last points (Config.LocalAlpha) in
//     their own robust σ, for spikes and dips that stand out from their
//     neighbours although the seasonal baseline, noisier, allows them;
//     only points moving away from the baseline count
//     (Config.LocalAwayOnly), so the return to normal after a burst is
//     not news, and only points the seasonal baseline finds at least
//     half a unit of deviation away (Config.LocalMinDeviation), so a
//     jump out of a quiet night back into the hour's ordinary spread is
//     not either.
//   - Shift: a two-sided CUSUM (Page, Biometrika 1954) on the seasonal
//     deviation for sustained shifts too small for one point; a confirmed
//     shift re-anchors the baseline, so a new normal is learned in one step
//     rather than flagged for hours.
//   - Drift: an EWMA control chart (Roberts, Technometrics 1959) on the
//     same clipped seasonal deviations, averaged over Config.DriftMemory
//     with the smoothing factor capped at 0.25, the top of the range
//     used for small shifts (Lucas and Saccucci, Technometrics 1990). It
//     is calibrated like the point tests: the average is unusual when it
//     beats the largest of its own last Rarity by RecordMargin and is at
//     least MinDeviation times its white-noise standard deviation
//     σ·√(λ/(2−λ)), the chart's control limit. A shift of a σ or so
//     lasting hours, below the CUSUM's allowance, is flagged; a series
//     whose level routinely wanders for hours is judged against its
//     wanderings. The CUSUM's alarm level is fixed instead, and on such
//     series it fires at every wander, so with
//     Config.DriftReplacesShift the drift test judges sustained
//     deviations alone once its records are known, and the CUSUM only
//     re-anchors the baseline.
//   - Novelty: contextual novelty in the spirit of Smirnov's Contextual
//     Anomaly Detector (CAD OSE, github.com/smirmik/CAD; the NAB entry
//     "contextOSE"), evidence of another kind than σ: each value is
//     quantised into 16 levels of the series' own running range, and a
//     point is novel when the pair (previous level, its level), or one
//     within a level of it (Config.NoveltyTolerance), has not occurred
//     within the last Config.NoveltyMemory. A series whose spread shrinks
//     at night, or that moves between a few levels, is judged by the
//     moves it makes, whatever its σ. Novelty alone flags nothing: a
//     point that is novel and deviates by at least NoveltyDeviation times
//     the bar of the seasonal and local tests is unusual and needs no
//     second point (two kinds of evidence agreeing). Contexts are the 256
//     exact pairs in two generations of a 16×16-bit table, not hashed
//     tuples, so the test costs 96 bytes; it is not applied to ratios over
//     a known count of events, whose levels follow the traffic.
//
// Calibration. A raw deviation is turned into a verdict by comparing it
// with the series' own recent deviations, the idea of Numenta's anomaly
// likelihood (Ahmad et al. 2017: the tail probability of a raw score under
// its own recent distribution) and of SPOT's peaks-over-threshold
// (Siffer et al., KDD 2017), without a distributional assumption: a point
// is unusual by the seasonal or local test when its deviation exceeds the
// largest of the last Rarity (kept as block maxima, so a burst-heavy
// period is forgotten after Rarity) by RecordMargin, and both tests must
// agree that it is also at least MinDeviation robust σ. A deviation
// larger than any of the last two days is, by the series' own behaviour,
// rarer than once in two days, whatever the sampling interval or the
// heaviness of the tails: a series whose day includes routine bursts is
// judged against its bursts. Records may be kept per direction
// (SidedRecords), so a series whose bursts all go up still has its dips
// judged against its dips; points judged unusual set no record, or with
// AbsorbRecurring raise it by RecordMargin at most, so an event that
// recurs daily is learned. Until the series has been seen for Rarity, a
// plain Threshold-σ test stands in. (Numenta's Gaussian likelihood of a
// ten-point mean of the deviation was tried as a further test; on both
// corpora it added false alarms and no detections, so it is not here.)
//
// Series that move in steps. A count that is 0 most of the time and now
// and then 1 has a robust σ of almost nothing, which made every 1, and
// the 0 after a 1 learned into a daily slot, a 100σ event. σ is floored
// at Config.ResolutionSigma times the series' grain, the smallest step
// seen between consecutive values once seen five times (a flat series'
// one jump is the event, not a grain); on a continuous series the grain
// is tiny and the floor never binds.
//
// Verdict. Score in [0,1] (0.5 where a point becomes unusual), the expected
// value and band (reported no lower than zero on a series never below
// zero, such as a count, whose band symmetric in σ would otherwise promise
// negative values; no verdict changes), a lone moderate deviation needing the next point (a
// single point flags alone at SpikeFactor times the bar, or at the bar
// when the novelty test finds it new, or when the seasonal and local
// tests agree on it, ConfirmByAgreement, an ensemble scored by agreement,
// or on series sampled every SelfConfirmInterval or coarser), hysteresis
// (ClearAfter since the last unusual point, and the last ClearPoints points
// calm) before the flag clears, a warm-up during which it never flags, an
// optional minimum-traffic guard, and a Reason for every verdict: outside
// the band (the seasonal test), away from the recent level (the local test
// alone; the point may be inside the band, and Result.Recent says what it
// left), sustained, or novel.
// ClearAfter is the alert's timing, a product choice; the detections
// themselves (Result.Onset) do not wait for it: an unusual point after
// RedetectAfter of quiet is a new detection even while an earlier flag is
// held, so a held flag does not swallow the next incident.
//
// MarshalBinary and UnmarshalBinary checkpoint the learned state, so a
// restarted collector resumes with its seasonal profiles instead of a new
// week of learning; checkpoints of earlier versions still load.
//
// Model selection. Which tests run and their parameters are chosen by
// leave-one-source-out cross-validation (package anomaly/nab): a
// coordinate-ascent search over the configuration's choices runs inside
// every fold, maximising the pooled score of the training sources, and
// admits only configurations that meet the requirements on generated
// series (package anomaly/healthy: at most one false alarm per
// series-week on healthy traffic, none in the week after an incident at
// the start, routine daily bursts not flagged, a sustained 3.5σ shift
// flagged, a held flag not hiding the next incident, an early incident
// not echoing).
// DefaultConfig is what the same search chooses on every source together.
// The novelty test's design (16 levels, pairs, a level of tolerance, the
// range's slower memory) was fixed by reasoning and by trying a few
// variants on both corpora whole, a judgement outside the folds; the
// search chooses whether it is used and how (NoveltyDeviation,
// NoveltyMemory, NoveltyTolerance) inside every fold. It adds little:
// 53.4 to 53.7 pooled held-out, the agreement of the seasonal and local
// tests no longer chosen beside it. Likewise the drift test's design (the
// control limit at MinDeviation, the cap on its smoothing factor, and
// replacing the CUSUM's verdict rather than only adding to it) was fixed
// after trying those variants with the shipped configuration on both
// corpora whole; the search chooses whether it is used, its memory and
// whether it replaces the CUSUM's verdict inside every fold (one axis).
// It raised the pooled held-out score from 53.7 to 54.2 and the whole
// opscorpus from 56.6 to 59.3 (its shift false positives fall from 138
// to 80 pooled, 52 to 1 on the donut KPIs), with the weekly profile and
// ShiftHold no longer chosen beside it; the NAB subset fell from 45.1 to
// 44.4. The last axis added, whether the local test spares points the
// baseline finds ordinary (LocalMinDeviation off or 0.5: most of
// realTweets' false positives were jumps out of a quiet night well inside
// the band), is chosen on every group; the pooled held-out score in the
// order as written went from 54.2 to 53.4, its mean over eight orders
// (see below) from 52.3 to 52.6, NAB's folds from 40.6 to 42.4 and
// opscorpus's from 53.6 to 53.8 (means over the same orders), the whole
// opscorpus from 59.3 to 59.6 and the NAB subset from 44.4 to 52.1; the
// false positives fell from 1,621 to 1,468. Held at 0.25, 0.5 or 1 in
// every configuration searched instead (cvorders -local-min-deviation),
// the pooled held-out score moves by -1.1, +0.9 and -0.4 on average over
// the eight orders (standard deviation of the paired differences about
// 2.3), NAB's folds by +1.9, +5.4 and +7.6, opscorpus's by -1.4, +0.4
// and -1.3: the larger the floor, the more the NAB categories and the
// donut KPIs gain and the smd servers lose.
//
// Tried and not kept, each measured with the configuration shipped at the
// time on both corpora whole and, where it could be chosen, by the
// cross-validation:
//
//   - A return level as the bar: a Gumbel distribution fitted by
//     probability-weighted moments (Hosking, Wallis and Wood,
//     Technometrics 1985) to the record blocks' maxima, and the bar
//     raised to the level they exceed once in four days, a week or two
//     weeks. With two weeks realTweets rose from 24.6 to 41.7 and the
//     donut KPIs fell from 57.7 to 42.5: on an anomaly-dense series the
//     anomalies no point flagged widen the maxima's spread, and the bar
//     with them. As an axis of the search it moved the pooled held-out
//     score from 54.2 to 54.6, while the search on every group settled on
//     another configuration scoring about 1.3 less on both corpora
//     together and 57.7 on the whole opscorpus.
//   - Suppressing daily recurrences: a point unusual in the same
//     15-minute slot on each of the two days before is not flagged (56
//     bytes of bitmaps). With AbsorbRecurring it lifted artificial from
//     16.4 to 63.6 and realTweets from 24.6 to 53.7, and dropped the smd
//     servers from 59.1 to 28.1 and the whole opscorpus from 59.3 to
//     44.2 (a looser variant, one day and the neighbouring slots, to
//     40.8): opscorpus labels events that recur at the same time of day
//     as incidents.
//   - An alarm budget per series: a new detection must beat the bar by
//     1+p·n, n the series' detections of about the last m (decaying
//     exponentially), so a series that keeps being flagged needs ever
//     clearer evidence. On both corpora whole, with p 0.25 to 2 and m a
//     day to a week, the pooled score fell from 58.8 to between 58.6
//     (0.25, a day) and 37.3 (2, a week), false positives from 1,468 to
//     between 1,303 and 375: realTweets rose from 33.7 to as much as
//     57.3 and artificial from 51.7 to 70.1, while the donut KPIs fell
//     from 57.7 to as little as 20.3 and smd from 60.4 to 32.6 — the
//     same front between the corpora as the bar itself, since
//     opscorpus's series carry many labelled windows each. As an axis of
//     the search (off, 0.25 or 0.5 or 1 over a day, 0.25 over three days)
//     only the mscmd fold chose it, and the pooled held-out score fell
//     from 53.4 to 52.3.
//   - Treating a detection in the direction opposite to the previous one,
//     within hours of it, as the return to normal (not reported): with 3
//     hours, 6 hours and a day on both corpora whole (the detections of
//     the shipped configuration, filtered) the pooled score fell from 58.8
//     to 57.9, 57.7 and 53.7; the returns are as often new incidents. More
//     generally, in the NAB standard profile a false positive costs 0.11
//     and a window missed 2 (its +1 lost and its -1 paid), so a rule that
//     drops detections gains only where it drops more than about 18 false
//     positives per first detection of a window. Among the shipped
//     configuration's detections on both corpora, no simple class does:
//     those less than 3 hours after the previous detection are 233 false
//     to 19 true (12 to 1), those with four or more detections in the day
//     before 205 to 16, the local test's 695 to 205, the shift and drift
//     tests' 90 to 15. What is left to gain is in windows missed (128 of
//     634) and detected late, not in false positives.
//   - Confirmation by the Western Electric zone rules (Statistical
//     Quality Control Handbook, 1956): a lone unusual point also
//     confirmed by one of the two points before it, or the point after,
//     reaching a zone of 0.5, 0.67 or 0.8 of the bar. On both corpora
//     whole it added 0.2 to 0.5 (the whole opscorpus 59.3 to 60.0 at
//     0.8); as an axis of the search the pooled held-out score fell to
//     53.7.
//   - A variance-stabilising transform before the detector (asinh or
//     square root of the value over its warm-up median; Anscombe,
//     Biometrika 1948): realTweets rose to 43 and 49, while mscmd and smd
//     fell and the pooled score with them (46.9 and 54.6 from 57.7).
//   - A search that switches an option only for a gain of 0.3 or 0.6
//     points (a "one standard error" rule, Breiman et al. 1984): the
//     pooled held-out score fell to 52.4 and 51.3.
//   - Finer options for the search (Threshold 7, RedetectAfter 2h,
//     TailQuantile 0.995 and 0.999): the pooled held-out score fell from
//     54.2 to 52.7, the folds choosing more and agreeing less.
//   - Coordinate ascent from three starts (the first attempt and two
//     pseudo-random ones), keeping the best training score: the random
//     starts ended lower in every fold, so the choices and the 54.2 stay.
//   - Selecting by the mean of the training groups' scores instead of
//     their pooled score, so that a source with few windows counts as
//     much as one with many: pooled held-out 40.7.
//   - Steepest ascent (from the first options, the best single change of
//     any axis at each step), which does not depend on the axes' order:
//     pooled held-out 52.0, its training scores lower than coordinate
//     ascent's.
//   - The best training score of coordinate ascent in four orders of the
//     axes: 54.3 with the order as written among them (which wins), 51.2
//     and 54.7 with four pseudo-random orders; about one point over a
//     single random order, for four times the search.
//
// The order of the axes. Coordinate ascent keeps, axis by axis, what
// improves the training score given the axes before it, so the estimate
// depends on the order it visits them in. Over the order as written and
// seven pseudo-random ones (go run ./anomaly/nab/cmd/cvorders) the pooled
// held-out score is 52.6 on average, with a standard deviation of 1.6 and
// a range of 50.6 to 55.3. Before LocalMinDeviation was an axis it was
// 52.3, 2.1, 48.1 to 54.2, with the order then as written at the top:
// that order was arrived at while developing the detector, so its 54.2
// was the favourable end. A change worth less than about two points
// cannot be shown by one order's estimate; compare the mean over orders,
// paired order by order. cvorders also prints each corpus's pooled
// held-out score: nine windows in ten are opscorpus's, so the pooled
// score is mostly its, and NAB's categories held out score about 42.
//
// nab.Diagnose says where a configuration loses its score: windows missed
// because no point rose, because points rose but stayed under the bar, or
// because an unusual point was never confirmed; false positives after a
// window, on step-like series, from the shift test, from the novelty
// test, recurring daily, from the local test alone (486 of the 1,468 at
// the shipped configuration, 151 of realTweets' 388); and
// the score without false positives and with ideal confirmation.
//
// The package knows nothing of the collector; the anomaly connector and the
// `vigil anomaly detect` command (package anomalycli) both drive it.
package anomaly
