//go:generate go tool mdatagen metadata.yaml

// Package anomalyconnector is the `anomaly` connector: it watches metric
// series with the streaming detector of package anomaly and turns what it
// sees into metrics and alert events.
//
// Data flow, in the order a point travels:
//
//  1. ConsumeMetrics (collect.go, customcollect.go) turns incoming
//     datapoints into per-interval accumulators. By default these are the
//     RED series of the span_metrics connector's output, per service and
//     operation: the calls counter gives the request rate and, through
//     status.code, the error ratio; the duration histogram (explicit or
//     exponential buckets, exphist.go) gives latency quantiles (p95 and
//     p99) from per-interval bucket deltas. Metrics chosen in the
//     configuration by name and attribute matchers (exact values or
//     anchored regular expressions; gauges and sums) are watched too. Cumulative counters are turned into
//     per-interval deltas per input stream, with resets detected.
//  2. At every interval boundary (flush.go) each accumulated series yields
//     one point for its detector, stamped with the interval's start. The results go out as the gauges
//     vigil_anomaly_score, vigil_anomaly_expected, vigil_anomaly_lower and
//     vigil_anomaly_upper, labelled by `metric`, `service`, `operation` and
//     the selected metric's own attributes.
//  3. A series whose detector turns anomalous yields a firing alert event
//     (events.go, the log-record contract of DESIGN.md, alert.source
//     "anomaly"); it is re-sent every resend_interval while it fires, so
//     the alert engine's staleness timeout does not resolve it, and a
//     resolved event follows when the detector clears or the series expires.
//     Every event says when the alert started (alert.starts_at: the
//     onset's interval end, series.since).
//  4. Detector state, seasonal profiles included, and the alerts' starts
//     are checkpointed through a
//     storage extension (checkpoint.go) on an interval and at shutdown and
//     restored at start, so a restart does not mean a new week of learning.
//     An interval with alert transitions also writes the series concerned
//     at once, before its events go out and after (transitions.go), so a
//     crash neither repeats nor forgets an alert. In a fleet, where the
//     storage extension decides which evaluator owns each service, it is
//     kept per service instead and moves with the service (fleet.go).
//
// A request a sender sends again (another consumer of it refused it, and
// the collector's fan-out answered with that error) is taken once: the
// connector remembers the fingerprints of the requests it took (package
// internal/dedup), so delta points do not count twice.
//
// The connector supports metrics → metrics and metrics → logs. When it is
// used for both, the collector creates two instances; they share one set of
// detectors (shared.go), and only one of them consumes the input, since the
// collector hands every batch to both.
package anomalyconnector // import "github.com/vigil-otel/vigil/connector/anomalyconnector"
