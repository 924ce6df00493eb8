//go:generate go tool mdatagen metadata.yaml

// Package alertmanagerexporter implements the `alertmanager` exporter: it
// posts Vigil's alert events to Prometheus Alertmanager's API v2
// (POST /api/v2/alerts), for teams that already route, group, silence and
// page with Alertmanager.
//
// It is a separate exporter type rather than a mode of the pagerduty
// exporter because the two share no configuration: Alertmanager does its
// own routing, grouping, inhibition, silences and deduplication, so this
// exporter runs none of Vigil's alert engine and keeps no notification log.
// It only translates: each alert event becomes one Alertmanager alert whose
// labels are exactly those the alert-event codec (internal/alertevent) derives (alertname, severity,
// source, service_name, slo, metric and grouping dimensions), so the routes and
// inhibition rules of alerts/alertmanager.example.yml match Vigil's own
// alerts and those of `vigil slo rules` alike. Annotations are the event's
// body (summary) and its alert./slo./anomaly. attributes, with dots turned
// into underscores because Alertmanager validates annotation names as label
// names.
//
// A firing alert has startsAt and no endsAt: Alertmanager resolves it after
// its resolve_timeout unless it is posted again, and the SLO connector
// re-emits firing alerts on every evaluation. A resolved alert is posted
// with endsAt set to the time it is exported, which resolves it at once.
//
// Errors are classified for exporterhelper: 400 and 422 (the alert breaks
// the API) are permanent; 429, 5xx and network failures are retried with
// backoff, honouring Retry-After. While retryable failures go on the
// exporter is StatusRecoverableError on the health check, and the log says
// so once at warn level when they start and once at info level when a post
// gets through again (internal/exporthealth), as for Vigil's other
// exporters.
//
// API reference: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
package alertmanagerexporter // import "github.com/vigil-otel/vigil/exporter/alertmanagerexporter"
