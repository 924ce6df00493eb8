// Package parity proves, against a real Prometheus, that the SLO
// connector's in-stream evaluation (connector/sloconnector, built on
// slo/tracker) and the Prometheus rules generated from the same spec
// (slo/rules, `vigil slo rules`) give the same numbers: burn rates over
// every window of slo.BurnRateWindows, the error budget remaining, and the
// page and ticket alerts, step by step.
// It holds only a test: go test -race -count=1 -v ./slo/parity/ (about a
// minute under -race on two cores). It needs
// prometheus and promtool (Debian package prometheus 2.42, installed by
// scripts/install-test-deps.sh) and fails without them.
//
// # What is compared
//
// The SLOs of slo/examples/checkout.yaml (availability 99.9%, latency
// 99%, 30d), and testdata/edge.yaml, the availability SLO again under
// another service. Four simulated days of traffic (traffic_test.go):
// a diurnal request rate, background errors and slow requests below the
// objectives, a 30-minute error burst that pages, twelve hours of
// elevated errors that raise a ticket, slow periods for the latency SLO,
// a maintenance gap followed by four lone requests (two failing) whose
// 5m and 1h burn rates of 500 stay below the min-events guard, and, for
// the edge SLO only, a 10-minute burst on day 0 (see below).
//
// The same traffic feeds three evaluators:
//   - the slo connector, through its real code path: the component is
//     built by its factory as a collector builds it (a traces→metrics and
//     a traces→logs instance sharing one connector) from
//     sloconnector.NewReplayFactory, which differs from NewFactory only
//     in reading a simulated clock and in evaluating when its Evaluate is
//     called instead of on a wall-clock ticker. Every 30s tick becomes one
//     ptrace.Traces with a resource per service and one server span per
//     request (47.5 million spans in all), ending at the tick's end:
//     failed requests with status error, slow ones lasting 500ms (over
//     the latency SLO's 300ms), the others 50ms. The connector consumes
//     them with ConsumeTraces, with the clock at the tick's end, and is
//     evaluated at every whole minute; what it emits is what is compared:
//     vigil_slo_burn_rate per window, vigil_slo_error_budget_remaining_ratio,
//     vigil_slo_alert_firing per severity, vigil_slo_events, and its alert
//     events (log records), whose firing and resolved transitions must
//     fall on Prometheus's steps;
//   - the tracker library alone, through tracker.RunReplay with a 30s
//     tick, evaluated every minute: it reports per-window event counts and
//     the inhibition of the ticket, which the connector does not emit, so
//     disagreements can be traced to good or bad events; the connector's
//     burn rates and budget must equal it to 1e-12;
//   - Prometheus, as the connector's counter
//     vigil_slo_events_total{slo,service_name,outcome} sampled every 30s (the
//     running sum of the ticks, 0 at the start), written as OpenMetrics
//     and backfilled with promtool tsdb create-blocks-from openmetrics.
//
// Prometheus runs on a loopback port with the rendered rules as its
// rule_files, which also proves it loads them (every rule healthy in
// /api/v1/rules). A server evaluates rules only at wall-clock time, so the
// recording rules are evaluated over the replay's history level by level:
// a rule's level is one more than the highest level of any recorded series
// its selectors can match (found by parsing its PromQL), and level n is
// evaluated with /api/v1/query_range at the group interval (1m), stored
// with the rule's labels and record name, backfilled, and the server
// restarted to open the new blocks, before level n+1 reads it. That is
// what promtool tsdb create-blocks-from rules does per rule, and what a
// live server's consecutive evaluations amount to. promtool's own command
// is not used because it evaluates at the group's phase, an offset within
// the interval derived from a hash of the group name and file
// (rules.Group.EvalTimestamp), which the test cannot choose; the tracker's
// documentation asks for evaluations on whole minutes, so both sides are
// evaluated at the same whole minutes. A range query is an instant query
// per step; alert expressions are additionally spot-checked with
// /api/v1/query at every step where their result changes.
//
// At every minute of the four days the test requires, of the connector's
// metrics and of the tracker's statuses alike: each burn rate and the
// budget remaining within the tolerance below; each alert rule's
// expression non-empty, for as long as its for: (testdata/edge.yaml's
// table waits as Pyrra's does: a rule and a timer per page row, one for
// the ticket's), at exactly the steps where the alert of that severity
// fires, inhibition of the ticket by the page
// included, except where the rule, which holds no state, cannot follow
// the tracker's "one problem, one incident" (package slo/tracker): after
// the page resolves, the ticket condition of the paged burst fires the
// rule but the tracker holds the ticket back (AlertStatus.PagedBurst);
// those steps are counted and must occur. Of the tracker also event counts per window (a diagnostic: a
// disagreement in a burn rate is traced to good or bad events); of the
// connector its vigil_slo_events counter equal to the counter samples
// Prometheus holds, and its alert events announcing firing and resolved
// at exactly the steps where the alert rules start and stop returning a
// result, adjusted as above (re-sent firing events, alert_resend_interval,
// are not transitions). The scenario is checked
// too, so that agreement cannot be vacuous: the page fires during the
// burst and only then, the ticket does not fire for the burst that paged
// but fires during the elevated errors, every alert is resolved at the end, and the lone
// failures do push the 5m and 1h burn rates above 14.4.
//
// # Tolerance
//
// Values must agree within 1% of the larger one (the bound), or
// within an absolute floor where relative error is meaningless near zero:
// 0.001 for burn rates (an error ratio of one in a million at 99.9%; every
// alert threshold is at least 1), 0.001 of the budget for the budget
// remaining (it crosses zero once spent), half an event for counts.
// What can make the two sides differ, and why each is bounded here:
//
//   - increase() extrapolation. In Prometheus 2.42 a range [T-5m, T] is
//     closed at both ends; with samples every 30s on the whole half-minute
//     and T on a whole minute, the first sample sits on the window's start
//     and the last on its end, so increase() extrapolates nothing and is
//     exactly the events of (T-5m, T], the tracker's window. At the
//     counter's start the first sample is 0, and extrapolation toward
//     zero stops there. In a live deployment the scrape phase differs from
//     the evaluation phase: increase() then reads the samples inside the
//     window and scales their difference up by at most one scrape
//     interval's share at each edge (30s of a 5m window). That is exact
//     for steady traffic and off by the change in rate across the edge
//     otherwise, a sampling effect of any Prometheus evaluation that this
//     test deliberately aligns away to compare the two evaluators'
//     arithmetic.
//   - Scrape and evaluation alignment of the chained windows. Every
//     longer window sums k adjacent copies of a shorter recorded one at
//     offsets that are multiples of it; the recorded series have a sample
//     at every whole minute, so each offset lands on a sample and the
//     lookback never picks an older one. Tiles before the start count 0
//     (`or ... * 0`), as the tracker counts nothing before its first event.
//   - The tracker's bucket edge interpolation. Windows up to a day are
//     read from buckets of a minute or less and the 3d window from 5m
//     buckets, the rules' base window (slo/tracker/layout.go), so at whole
//     minutes every burn-rate window reads whole buckets and is exact. The
//     30d budget is read from 1h buckets: the one bucket straddling the
//     window's start is counted in proportion to its overlap, off by at
//     most that bucket's events; during four days the budget window's
//     start never reaches traffic, so it is exact here. The edge SLO puts
//     a 10-minute burst inside what used to be one 30m bucket of the 3d
//     window; it is held to the same 1% as every other window.
//   - Float arithmetic: different summation orders. The objective and the
//     error budget are the same exact decimals on both sides
//     (slo.SLO.ErrorBudget), so a burn rate sitting exactly on a threshold
//     is decided alike. Differences stay near 1e-13 relative.
//
// Alerts must change state at exactly the same steps; no ±1 step is
// allowed, because nothing above shifts a window by a step: both sides
// compare the same counts with the same strict thresholds and min-events
// guard. Equal decisions could still differ if a burn rate landed on a
// threshold within rounding where that comparison decides the alert (the
// budget's last digits differ); the test finds the closest such approach,
// logs it, and fails if it is within 1e-9, so that the step comparison
// never rests on rounding.
package parity
