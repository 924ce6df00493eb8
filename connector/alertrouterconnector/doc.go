//go:generate go tool mdatagen metadata.yaml

// Package alertrouterconnector implements the `alertrouter` connector (logs
// to logs): it owns alert state and runs Vigil's alert engine
// (alerts.Engine) on the alert events of the slo and anomaly connectors,
// and hands each notification to the pipelines of its receiver, as
// contrib's routing connector routes to pipelines.
//
// Data flow:
//
//   - Ingest. ConsumeLogs decodes each record with the alert-event codec
//     (internal/alertevent) and hands the alert to the engine: routing
//     tree, grouping, inhibition, silences, time intervals. Records that
//     are no alert events are counted and ignored. Ingesting is in memory
//     and never waits for a receiver.
//   - Flush. Every flush_interval (1s) the router re-reads the routing and
//     silences files when they changed (one that does not load keeps what
//     runs; see "Broken files" below) and calls Engine.Flush, which
//     returns the notifications due: a trigger for each firing, unmuted
//     alert not yet notified at a pipeline of its receiver (again after
//     repeat_interval), a resolve for each resolved alert that was, each
//     for that pipeline.
//   - Hand over. Each pipeline of each receiver (`receivers` in the
//     config) has its own worker, which takes that pipeline's
//     notifications in order and hands each, as a one-record log (an
//     alert event, with alert.receiver and alert.group_key; see
//     alertevent.AppendNotification), to the pipeline. Their exporters
//     only build the vendor's request and send: a pagerduty exporter per
//     PagerDuty receiver, each holding its own routing key, so no secret
//     enters pdata or the routing file. Queueing and retries are
//     exporterhelper's, in those exporters.
//
// # Each pipeline of a receiver on its own
//
// A receiver's pipelines are its integrations, as an Alertmanager
// receiver's pagerduty_configs and webhook_configs are: the engine knows
// them (alerts.Engine.SetIntegrations, named by pipeline ID) and produces
// each notification once per pipeline, with its own notification-log
// entry (keyed by receiver, pipeline and alert, as Alertmanager's nflog by
// receiver and integration), its own write-ahead and its own queue and
// worker here. So a pipeline that blocks (an exporter that waits for a
// receiver that is down, as an evaluator's do: wait_for_result, retried
// without end) delays nothing at the others, and one that fails (a full
// queue, an exporter that refuses) is sent the notification again, alone,
// at the group's next flush: PagerDuty down repeats nothing at the
// webhook, a full webhook queue pages nobody twice. Grouping, inhibition,
// silences, time intervals and repeat_interval stay the receiver's route's:
// every pipeline is notified at the same flushes and muted alike, and
// re-sent repeat_interval after its own last delivery. Everything below
// holds for each pipeline on its own. A pipeline added to a receiver is
// sent the receiver's firing alerts at their group's next flush (then
// their resolves), as Alertmanager notifies an integration new to its log;
// a pipeline removed has its entries dropped when the log is loaded, with
// one warning naming the incidents left open there. A log written before
// (entries keyed by receiver only) is read as recording each entry at
// every pipeline of its receiver: nothing delivered is sent again, and
// every open incident is resolved at every pipeline.
//
// # Delivery: exactly once as on-call sees it, across restarts
//
// The router records a notification as sent to a pipeline once that
// pipeline has accepted it, and "accepted" must mean durable: the exporter's
// sending queue is persistent (sending_queue::storage, as the shipped
// configs set), so ConsumeLogs returns only after the request is in the
// storage extension, from which exporterhelper sends and retries it, after
// a restart too. An in-memory queue loses what it holds on a crash after
// the router recorded it as sent; the pagerduty exporter refuses that
// combination (an in-memory queue must use wait_for_result, which makes
// "accepted" mean "delivered").
//
// The notification log and the exporter's queue are two stores that no
// transaction spans, so the router writes ahead: before the handover,
// Engine.MarkSending records the notification as pending (persisted);
// after it, Engine.MarkSent confirms it (a delivered resolve removes the
// alert's entry) or, on failure, leaves it pending, and the group's next
// flush produces it again. A crash (SIGKILL, power loss with
// file_storage's fsync) in each window:
//
//   - before MarkSending: nothing was handed over or recorded. After the
//     restart the source re-reports a firing alert (the slo and anomaly
//     connectors keep their firing set in their own checkpoints and send
//     firing alerts again) and it is triggered then; an alert the log shows
//     triggered is restored as firing and resolved by the source's
//     resolve, or by resolve_timeout when the source says nothing more,
//     unless the source's resolve had arrived: the engine records it on
//     the trigger's entry (LogEntry.ResolvedAt), the persist loop stores
//     it within a flush_interval, and the alert is restored resolved, so
//     its resolve goes out after the group wait rather than after
//     resolve_timeout (the sources say resolved once). Nothing lost,
//     nothing repeated.
//   - after MarkSending, before the queue took the notification: the log
//     shows it pending. A pending trigger is sent again while the alert
//     fires, and the alert's resolve is still sent when it resolves (so a
//     resolve is never dropped as that of an alert "never triggered"); a
//     pending resolve is sent again. Nothing lost.
//   - after the queue took it, before MarkSent: the queue sends it after
//     the restart, and the log, which shows it pending, sends it once
//     more. The receiver gets the same event twice, with the same dedup
//     key: PagerDuty folds a repeated trigger into the open incident (no
//     second page) and ignores a repeated resolve. This window is the few
//     milliseconds between two storage writes.
//   - after MarkSent: the log and the queue agree. The queue delivers
//     (retrying 429 and 5xx with Retry-After and backoff); the log knows
//     the incident is open, so the restart neither triggers it again nor
//     forgets to resolve it.
//
// A receiver that refuses a notification for good (PagerDuty's 400, a
// routing key wrong or revoked) is not a delivery: as Alertmanager, which
// logs a notification only once the integration succeeded, the router
// sends it to that pipeline again at the group's next flush, until the
// receiver takes it. An exporter that waits for the receiver returns the
// refusal as the handover's error (MarkSent leaves the entry pending); one
// with a persistent queue has answered the handover already, so the
// pagerduty and webhook exporters report the refusal later, through
// internal/refusal, to the router the notification names (alert.router,
// alert.integration), whose Engine.MarkRefused makes the pipeline's entry
// pending again, persisted. So the fix of the key (a SIGHUP, which rebuilds every
// component, or a restart) is followed by the page at the group's first
// flush, and a page that was delivered is not repeated. A refusal reported
// while no router listens is held for the next one (the rebuild starts
// exporters first); see the README for what is not covered.
//
// Order: one worker per pipeline hands notifications over in the order
// the engine produced them, and the engine produces an alert's resolve
// for a pipeline only after that pipeline took its trigger, so each
// queue holds a trigger before its resolve. The pagerduty exporter keeps
// that order at PagerDuty (see its doc).
//
// # State, and a fleet
//
// The notification log is stored per service (alerts.ServiceKey; an index
// lists the services), the state of until_resolved silences apart. In a
// fleet (issue 16; README, "Running a fleet") the storage extension is
// redis_storage, which also decides which evaluator owns each service
// (internal/ownership): the engine then writes no index, which every
// evaluator would overwrite (Engine.ShardByService); a service's log is
// loaded when this evaluator takes the service over, before the slo
// connector sends its first alert event for it (fleet.go); alerts of
// services this evaluator does not own are counted (outcome not_owned)
// and dropped, a notification whose service moved away between the flush
// and the handover is not handed over, and a service that moves away is
// dropped without a resolve, its log left for the next owner. A service
// given up waits for its own handovers in progress, up to releaseGrace
// (2s), then cancels those still waiting on a receiver (the next owner
// sends them, from their pending entries); the engine ignores the outcome
// of a notification of a service it forgot, so a late one never writes
// over the next owner's log. Nothing else waits: not another service, nor
// the coordinator's lease renewals. A write of
// the log that failed (the store was down) is retried every
// flush_interval, apart from the flush loop. Silences are one value in
// the store that every evaluator's engine merges into, per silence,
// rather than overwrites: a console's write is an atomic read-merge-write
// (alerts.Updater, redis_storage's WATCH/MULTI), and every flush_interval
// each evaluator reads the value and merges it into its own
// (Engine.SyncSilences), so a silence created, changed or expired through
// any evaluator's console applies on every evaluator within one
// flush_interval and a store round trip (alerts/silencesync.go has the
// merge rules). Each evaluator also publishes the firing alerts it holds
// (alerts.FleetView: when they changed, checked every flush_interval;
// liveness in an index refreshed every alerts.ViewRefresh), with its SLO
// and anomaly status (statusboard.Snapshot) beside them, and its console
// adds the other evaluators' to its own when asked, so every console
// lists the fleet's alerts, SLOs and flagged series.
//
// # Broken files
//
// Config.Validate loads the routing and silences files as Start does, so
// `vigil validate` and a first start refuse one that does not load with
// every problem, file:line:col, and a receiver of the routing no pipeline
// takes where the file defines it. The collector rebuilds every component
// on SIGHUP and validates the configuration again first, and exits when
// the validation or a start fails: so once a router ran in the process,
// Validate leaves the files to Start, and Start of the rebuilt router
// begins from the routing and file silences the previous one ran with
// (remembered by component ID for the life of the process, rebuild.go),
// lets the files override them where they load, and logs the rest at
// error level; an option that names another file is treated as the same
// file broken, with an error naming the file in force. A router is no
// shared component (one pair of signals, logs to logs): its notification
// log and console silences are restored from the storage extension, or,
// without one, from the store in memory of the router it replaces, which
// rebuild.go keeps too, so that only a restart forgets them.
//
// # The console
//
// With a console section the router serves Alertmanager's API v2 subset
// (internal/amapi) and the status page (internal/statuspage) on one
// confighttp listener (console.go). Both read the engine (Alerts, Groups,
// Silences; in a fleet, the fleet's alerts through alerts.FleetView) and
// change only silences: SetSilence and ExpireSilence persist
// them in the same store, next to the until_resolved state
// (alerts.StoreKeySilences), before they answer, and the next flush
// applies them. The page also reads the SLO and anomaly snapshots the slo
// and anomaly connectors publish to internal/statusboard.
package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"
