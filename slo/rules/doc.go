// Package rules generates Prometheus recording and alerting rules from SLO
// specs: the same numbers the collector computes on the stream, for teams
// that evaluate in Prometheus. Rules are built as parsed PromQL trees (or
// user queries parsed and rewritten) and emitted through Prometheus's own
// rulefmt types, so the output is what Prometheus itself would load.
//
// # One group per SLO
//
// For an SLO evaluated on the stream the source is the connector's counter
// vigil_slo_events_total{slo, service, outcome}. Each group records, in
// order:
//
//  1. vigil_slo:events:increase{outcome, window} for the shortest burn-rate
//     window B (5m for a 30-day SLO) from the raw counter, summed by slo,
//     service, outcome and the group_by labels;
//  2. the same for every longer window W (the burn-rate windows, then the
//     SLO period), chained: W is tiled by k adjacent, non-overlapping
//     copies of a shorter recorded window S (k = W/S, at most 12), as
//     inc{window=S} + inc{window=S} offset S + ... + inc offset (k-1)S;
//  3. vigil_slo:error_ratio{window} = bad / max(total, 1) per window;
//  4. vigil_slo:burn_rate{window} = error ratio / error budget for the
//     burn-rate windows;
//  5. vigil_slo:objective_ratio and vigil_slo:error_budget_remaining_ratio
//     (1 - error ratio over the period / error budget);
//  6. the page and ticket alerts.
//
// # Why tiles and not averages
//
// Long windows read the short recorded series, a handful of samples, never
// days of raw high-cardinality data. The usual cheap form,
// avg_over_time(ratio_5m[3d]), weighs every 5m ratio alike whatever its
// traffic and blurs the window's edges by B; tiling sums event counts over
// exactly (t-W, t], the same interval the stream evaluator counts, so the
// two agree up to increase()'s extrapolation inside each base tile (under
// 1% with a dozen or more scrapes per base window). Exact tiling needs the
// samples at t-S, t-2S, ... to exist, so the group's evaluation interval
// divides B (see Options.MaxInterval), and every window is a whole multiple
// of the window it is chained from, which holds because windows are scaled
// from the SRE Workbook table by a whole number of days (see
// slo.AlertWindows). A tile older than the recorded history counts as zero
// (`or inc * 0`), as the stream evaluator counts nothing before it started,
// so long windows work from the first evaluation instead of appearing only
// once their whole length of history exists. Where Prometheus missed an
// evaluation (prometheus_rule_group_iterations_missed_total), the tile
// that should end there reads the previous sample instead, shifted by one
// interval, until it leaves the window.
//
// # Alerts
//
// Each severity is one alerting rule: for every row of slo.AlertWindows,
// the burn rate over the long and the short window both above the row's
// factor (or at it too, for a row of an OpenSLO condition with op gte), and at least MinEvents events (default slo.DefaultMinEvents) in
// the long window, so that a few failures on a quiet night do not page.
// Rows are or-ed and the window label dropped, so one alert per SLO (and
// group) fires whichever row holds; its value is the highest long-window
// burn rate. `for:` is zero by default: the short window already requires
// the burn to be current and resolves the alert within one short window of
// the problem's end, and a `for:` would only delay pages and make them
// disagree with the collector's own alerts, which fire on the first
// evaluation where both windows burn. As in the collector, a page inhibits
// the ticket of the same SLO and group: the ticket rule ends with `unless`
// the page condition, so the ticket fires once the page resolves if its
// own condition still holds. (The collector goes further: it opens no
// ticket for a burst that paged, see slo/tracker's "One problem, one
// incident". A rule holds no state between evaluations to remember that;
// with Alertmanager, the ticket of a paged burst reaches the tickets
// receiver after the page resolves.) Labels: vigil_severity (the tier, page or
// ticket), slo, service, the SLO's and the policy's labels, and severity:
// the policy's own when its labels set one (Sloth's severity: pageteam),
// else the tier. Annotations: summary, description, runbook_url and
// dashboard_url when known, and the policy's own.
//
// An SLO may bring its own burn-rate table (Pyrra's, OpenSLO alert
// conditions; slo.SLO.Windows) with a `for:` per row. Rows of a severity
// that wait alike are one rule with that `for:`; rows that wait
// differently are a rule each, told apart by labels long and short, as
// Pyrra's are.
//
// # PromQL SLIs and calendar windows
//
// SLIs stated as PromQL (Sloth, Pyrra, OpenSLO) record vigil_slo:error_ratio
// per window directly from the user's queries with the window substituted
// (see slo.PromQLForWindow): arbitrary queries cannot be tiled. Budgeted
// by time slices, the ratio is a subquery stepping one slice: the share of
// slices whose good ratio misses the slice target (Timeslices), or the
// mean of the slices' error ratios (RatioTimeslices). With
// PeriodDenominator (Sloth's denominator_corrected_rules) a window's
// ratio is weighed by its share of the period's traffic. They have no
// events count, so their alerts have no min-events guard. Calendar windows
// are approximated by a rolling window of their nominal period (slo.Notes
// says so): PromQL has no way to sum from the start of the month.
package rules
