// Package alerts is Vigil's alert engine as a plain library: the alert model
// and its fingerprint, matchers, the routing tree, grouping, inhibition,
// silences, time intervals and a persisted notification log.
//
// It knows nothing of the collector. The alertrouter connector turns
// alert-event log records into Alert values (internal/alertevent), feeds
// them to an Engine with Ingest, calls Flush on a tick, records each
// notification with MarkSending, hands it to its integration (one of its
// receiver's pipelines, declared with SetIntegrations; each is notified
// and logged on its own, as Alertmanager's integrations are) and reports
// the outcome with MarkSent. The engine never starts goroutines and never
// reads the clock: every call takes an explicit now, so behaviour over time is
// tested with a fake clock.
//
// Unlike Alertmanager, grouping only decides when notifications go out: every
// alert is its own notification whose dedup key is its fingerprint, so two
// different problems never collapse into one PagerDuty incident.
package alerts
