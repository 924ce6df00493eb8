//go:generate go tool mdatagen metadata.yaml

// Package pagerdutyexporter implements the `pagerduty` exporter, a thin and
// stateless notifier: each alert event it consumes (normally a notification
// of the alertrouter connector, which owns alert state) becomes one
// PagerDuty Events API v2 event, trigger for firing and resolve for
// resolved, with dedup_key = the alert's fingerprint, so one PagerDuty
// alert per Vigil alert.
//
// It only builds the vendor's request (events.Builder: PagerDuty's limits,
// summary cut, custom details shrunk, links), classifies PagerDuty's answer
// (400 and 413 permanent; 429, 5xx and network failures retryable, with
// Retry-After through exporterhelper.NewThrottleRetry) and sends over a
// confighttp client. Queueing and retries are exporterhelper's
// (sending_queue, retry_on_failure): set sending_queue::storage for a
// persistent queue, which is what makes the alert router's handover
// durable (see the alertrouter connector's doc). A request of several
// events that fails part-way is retried from the first event not taken
// (consumererror.NewLogs), so PagerDuty never receives an event twice
// from one retry. A per-routing-key limiter shared by every exporter of the
// process keeps every attempt, retries included, under PagerDuty's 120
// events a minute.
//
// Each exporter holds one routing key: one exporter per PagerDuty service
// (one alertrouter receiver). The key is a credential: it never enters
// pdata and appears in no log line, error or metric (events.RoutingKey
// prints as [REDACTED]; the metrics carry action, receiver and reason
// only). Without a routing key the exporter writes each notification to
// the collector's log instead: the embedded default does so while
// PAGERDUTY_ROUTING_KEY is unset.
//
// Refusals: an event PagerDuty refuses for good (400, for a routing key
// that is wrong or revoked, say) is counted and logged, never retried by
// exporterhelper, and goes back to the alert router that produced it,
// which sends it again at its group's next flush, by when the operator may
// have fixed the key: as the handover's permanent error when the router
// waits for the send (no queue, or wait_for_result), else (a persistent
// queue took it) through internal/refusal, to the router and pipeline the
// record names. The dedup_key makes a trigger sent again fold into the
// incident it may have opened.
//
// Order: with several queue consumers, a trigger waiting out retries could
// reach PagerDuty after its own resolve and open an incident nobody
// resolves. The exporter remembers, in memory, when each delivered resolve
// said its alert ended, and drops a trigger for an alert that started no
// later than that (orderGuard).
//
// The exporter's own metrics (metadata.yaml, generated into
// internal/metadata): otelcol_pagerduty_events_sent,
// otelcol_pagerduty_events_retried, otelcol_pagerduty_events_failed (by
// action, receiver and reason) and otelcol_pagerduty_records_ignored (by
// reason: not_alert, invalid, stale_trigger).
package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"
