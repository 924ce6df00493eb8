//go:generate go tool mdatagen metadata.yaml

// Package sloconnector implements the slo connector: it evaluates the SLOs
// of Vigil's spec files (package slo) on the raw stream of spans and
// metrics, and emits the SLO metrics and alert events of DESIGN.md's
// contracts.
//
// The connector is a thin adapter. It turns pdata into slo/tracker calls:
// every span (or metric point) that an SLO selects is classified good or
// bad and recorded at its end time; on a ticker aligned to whole
// evaluation intervals the tracker is evaluated, the statuses become
// vigil_slo_* metrics (traces→metrics, metrics→metrics) and the alert
// transitions become alert events, one log record each (traces→logs,
// metrics→logs).
//
// One component ID is one connector, whatever pipelines it joins: the
// collector builds one instance per pair of pipeline signals, and they all
// share the same state, so that a span counts once and one set of alerts
// exists (package internal/sharedcomponent: started at the first
// instance's Start, evaluating once all have started, stopped at the last
// Shutdown). Spans are counted by the first traces-consuming instance
// built, metrics by the first metrics-consuming one; the others only pass
// through the shared state.
//
// A request is counted once however often its sender sends it: the
// collector's fan-out answers a request with any consumer's error (a
// storage exporter's full queue), and the sender then sends it again to
// every consumer. The counting instances remember the fingerprints of
// the traces and metrics requests they counted (package internal/dedup)
// and accept a repeat without counting it, in the SLO events and the RED
// metrics alike (otelcol_slo_repeated_requests).
//
// Classification allocates nothing per span: matchers shared by several
// SLOs are evaluated once per span, and events are summed per batch, SLO
// series and second of end time before they reach the tracker. Alert
// events of span SLIs carry the trace IDs of the series' latest bad spans
// (alert.trace_ids). Every alert event says when its alert started firing
// (alert.starts_at, the tracker's AlertStatus.Since and Transition.Since):
// re-sends, stamped with their evaluation, and the resolve carry the
// start of the firing, restored with it after a restart or a handover.
//
// State (counts and firing alerts) is checkpointed through a storage
// extension at every alert transition (before and after its events go
// out, see evaluate), on an interval and at shutdown, and restored at
// start, so a restart loses no alert and at most an interval of counts,
// and neither fires an alert again nor forgets to resolve it. Specs are reloaded when a spec file's content changes; the
// state of unchanged SLOs is kept. SIGHUP is the collector's: it rebuilds
// every component, and an invalid spec then keeps the SLOs that ran (see
// running in connector.go) rather than failing the rebuild. Config.Validate
// loads and compiles the specs as Start does (loadRuleset), so that
// `vigil validate` and a first start refuse invalid specs at configuration
// time; on a rebuild it leaves them to Start (checkSpecs).
//
// In a fleet (issue 16), when the storage extension coordinates ownership
// of services (redis_storage, internal/ownership), every span is
// accounted wherever it arrives, but SLO series and alert events are
// emitted only for owned services, checkpoints are written per owned
// service, a service taken over has its last checkpoint added to what was
// accounted meanwhile, and a service handed over is written and dropped
// without resolving its alerts (fleet.go). The baselines of cumulative
// metric streams are kept per service and move with it: the new owner
// adopts the previous owner's last points (internal/cumdelta, Adopt), so
// no interval of a metric SLI's increase is lost or counted twice.
//
// NewReplayFactory builds the same connector on a simulated clock, with
// evaluation driven by Evaluate instead of the ticker, for replays of
// traffic in simulated time (the Prometheus parity test, slo/parity).
package sloconnector // import "github.com/vigil-otel/vigil/connector/sloconnector"
