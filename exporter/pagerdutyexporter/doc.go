//go:generate mdatagen metadata.yaml

// Package pagerdutyexporter implements the `pagerduty` exporter: it
// consumes alert events (log records, see DESIGN.md "Alert events") and
// sends PagerDuty Events API v2 triggers and resolves, one PagerDuty alert
// per Vigil alert (dedup_key = alert fingerprint).
//
// Data flow, in three parts:
//
//   - Ingest. ConsumeLogs turns each alert-event record into an alert with
//     alerts.FromEvent and hands it to an alerts.Engine. Records without
//     alert.name are not alert events: they are ignored and counted, so the
//     exporter can sit on a pipeline that carries other logs too. Ingesting
//     is in memory only, so the ingesting side has no queue or retry.
//   - Dispatch. A goroutine ticks every flush_interval (1s): it re-reads the
//     routing and silences files when they change, calls Engine.Flush and
//     sends each notification. Notifications for a receiver without a
//     routing key (the embedded default when PAGERDUTY_ROUTING_KEY is unset)
//     are written to the collector's log.
//   - Send. A notification is built into an event (events.Builder: limits,
//     summary cut, custom details shrunk) and pushed, as a one-record log,
//     into a second, internal exporterhelper logs exporter (component ID
//     pagerduty/<name>/notifications) whose push function posts it with
//     events.Client. Queueing, retries with backoff and Retry-After come from
//     exporterhelper's sending_queue and retry_on_failure, exactly as for any
//     other exporter, and the per-routing-key limiter inside the client
//     keeps every attempt, retries included, under PagerDuty's 120 events a
//     minute. The queue runs with wait_for_result, so the dispatcher learns
//     each notification's final outcome and reports it to the engine with
//     MarkSent: success and permanent failure (400: resending the same event
//     cannot succeed) end it; anything else (retries exhausted, queue full,
//     shutdown) leaves it out of the notification log, so the engine flushes
//     it again later, after a restart included.
//
// Why this shape: the engine, not a queue, is the durable state. The
// notification log lives in the storage extension, so a restart neither
// repeats a trigger nor loses a resolve; a persistent sending queue would
// duplicate what the log already re-sends, so sending_queue::storage is
// refused. The built event, which carries the routing key, never enters
// pdata: the queued record carries only an ID of the pending event.
//
// The routing key is a credential: it appears in no log line, error or
// metric (events.RoutingKey prints as [REDACTED]; the metrics carry action,
// receiver and reason only).
//
// The exporter's own metrics: vigil_pagerduty_events_sent,
// vigil_pagerduty_events_retried, vigil_pagerduty_events_failed (by action,
// receiver and reason) and vigil_pagerduty_records_ignored.
//
// The alertmanager subpackage holds the `alertmanager` exporter, for teams
// that route with Prometheus Alertmanager instead.
package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"
