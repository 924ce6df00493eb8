package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	c "github.com/vigil-otel/vigil/conventions"
)

// The collector's own telemetry (Prometheus endpoint :8888) at collector
// v0.159: counters carry no _total suffix there. The names are checked
// against a running binary by TestDashboardMetricsAreExported.
const (
	otelReceiverAccepted = "otelcol_receiver_accepted_"
	otelReceiverRefused  = "otelcol_receiver_refused_"
	otelReceiverFailed   = "otelcol_receiver_failed_"
	otelExporterSent     = "otelcol_exporter_sent_"
	otelExporterFailed   = "otelcol_exporter_send_failed_"
	otelExporterEnqueue  = "otelcol_exporter_enqueue_failed_"
	otelQueueSize        = "otelcol_exporter_queue_size"
	otelQueueCapacity    = "otelcol_exporter_queue_capacity"
	otelMemoryRSS        = "otelcol_process_memory_rss"
	otelHeapAlloc        = "otelcol_process_runtime_heap_alloc_bytes"
	otelCPUSeconds       = "otelcol_process_cpu_seconds"
	otelUptime           = "otelcol_process_uptime"

	// otelPagerDutyEventsFailed counts the events PagerDuty refused for
	// good (400, 413) and those no valid event could be built from: the
	// pagerduty exporter drops them and returns no error, so exporterhelper
	// counts them as sent, not in otelcol_exporter_send_failed_*.
	otelPagerDutyEventsFailed = "otelcol_pagerduty_events_failed"

	// notifierExporters selects the exporters that deliver notifications
	// (deploy/prometheus/rules/vigil-self.rules.yaml's
	// VigilNotificationsFailing selects the same). The webhook exporter has
	// no counter of its own: what it drops (a 4xx, retries run out) it
	// returns as an error, which otelcol_exporter_send_failed_* counts.
	notifierExporters = `(pagerduty|webhook|alertmanager)(/.+)?`

	// otelRemoteWriteWALLag is the prometheus_remote_write exporter's
	// write-ahead log backlog: entries written and not yet sent. With the
	// WAL on (as Vigil's configurations have it) the exporter answers the
	// pipeline once a batch is in the log, so otelcol_exporter_sent_* counts
	// every batch as sent and a rejected or failing remote write never
	// shows in otelcol_exporter_send_failed_*: it is retried from the log,
	// which grows instead. This backlog is the only failure signal.
	otelRemoteWriteWALLag = "otelcol_exporter_prometheusremotewrite_wal_lag"
)

// signalSuffixes are the item kinds of each signal in the otelcol_* names.
var signalSuffixes = []struct{ name, suffix string }{
	{"spans", "spans"},
	{"metric points", "metric_points"},
	{"log records", "log_records"},
}

// Self is Vigil watching itself: what comes in and is refused, what goes out
// and fails, queue fill, memory, and whether alerts reach PagerDuty.
func Self() *dashboard.DashboardBuilder {
	b := newDashboard(SelfUID, "Vigil / Collector",
		"Vigil's own health from its telemetry (otelcol_*): accepted and refused items, exporter errors, queues, memory and alert delivery.").
		WithVariable(promVariable("job", "Job", fmt.Sprintf("label_values(%s, job)", otelUptime)))
	sel := `{job=~"$job"}`

	b = b.WithPanel(statPanel("Uptime", "s", quarterWidth, 4).
		WithTarget(promQuery("A", fmt.Sprintf(`max(%s%s)`, otelUptime, sel), "uptime"))).
		WithPanel(statPanel("Memory (RSS)", "bytes", quarterWidth, 4).
			WithTarget(promQuery("A", fmt.Sprintf(`max(%s%s)`, otelMemoryRSS, sel), "rss"))).
		WithPanel(statPanel("SLO alerts firing", "none", quarterWidth, 4).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", fmt.Sprintf(`sum(%s) or vector(0)`, c.MetricSLOAlertFiring), "firing"))).
		WithPanel(statPanel("Alert delivery failures (1h)", "none", quarterWidth, 4).
			Description("Notifications not delivered in the last hour: events PagerDuty refused (400, 413: dropped, not retried; " +
				otelPagerDutyEventsFailed + ") and notifications the pagerduty, webhook and alertmanager exporters dropped " +
				"(a refusal, retries run out). A page may be missing: check the exporter's log; the alert shows on the console.").
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", fmt.Sprintf(`(sum(increase(%s{job=~"$job"}[1h])) or vector(0)) + (sum(increase(%slog_records{job=~"$job", exporter=~"%s"}[1h])) or vector(0))`,
				otelPagerDutyEventsFailed, otelExporterFailed, notifierExporters), "failed")))

	b = b.WithRow(dashboard.NewRowBuilder("Receivers"))
	for _, s := range signalSuffixes {
		b = b.WithPanel(timeSeries("Accepted and refused "+s.name, "short", thirdWidth, 8).
			Description("Refused: the pipeline pushed back (memory limiter, full queue). Failed: the receiver could not decode or hand over the data.").
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (receiver) (rate(%s%s%s[$__rate_interval]))`, otelReceiverAccepted, s.suffix, sel), "{{receiver}} accepted")).
			WithTarget(promQuery("B", fmt.Sprintf(`sum by (receiver) (rate(%s%s%s[$__rate_interval]))`, otelReceiverRefused, s.suffix, sel), "{{receiver}} refused")).
			WithTarget(promQuery("C", fmt.Sprintf(`sum by (receiver) (rate(%s%s%s[$__rate_interval]))`, otelReceiverFailed, s.suffix, sel), "{{receiver}} failed")).
			OverrideByRegexp(".* (refused|failed)$", []dashboard.DynamicConfigValue{
				override("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
			}))
	}

	b = b.WithRow(dashboard.NewRowBuilder("Exporters"))
	for _, s := range signalSuffixes {
		p := timeSeries("Sent and failed "+s.name, "short", thirdWidth, 8).
			Description("Failed sends are after retries; enqueue failures are items dropped because a queue was full.").
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (exporter) (rate(%s%s%s[$__rate_interval]))`, otelExporterSent, s.suffix, sel), "{{exporter}} sent")).
			WithTarget(promQuery("B", fmt.Sprintf(`sum by (exporter) (rate(%s%s%s[$__rate_interval]))`, otelExporterFailed, s.suffix, sel), "{{exporter}} failed")).
			WithTarget(promQuery("C", fmt.Sprintf(`sum by (exporter) (rate(%s%s%s[$__rate_interval]))`, otelExporterEnqueue, s.suffix, sel), "{{exporter}} enqueue failed")).
			OverrideByRegexp(".* failed$", []dashboard.DynamicConfigValue{
				override("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
			})
		if s.suffix == "metric_points" {
			p = p.Description("Failed sends are after retries; enqueue failures are items dropped because a queue was full. "+
				"prometheus_remote_write sends from its write-ahead log and counts a batch as sent once it is in the log: "+
				"a remote write that fails (an unreachable endpoint, samples refused as out of order) shows as a growing WAL backlog "+
				"(right axis, entries not yet delivered), never as failed points.").
				WithTarget(promQuery("D", fmt.Sprintf(`max by (exporter) (%s%s)`, otelRemoteWriteWALLag, sel), "{{exporter}} WAL backlog")).
				OverrideByRegexp(".* WAL backlog$", []dashboard.DynamicConfigValue{
					override("custom.axisPlacement", "right"),
					override("custom.axisLabel", "WAL entries"),
					override("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
					override("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
				})
		}
		b = b.WithPanel(p)
	}
	b = b.WithPanel(timeSeries("Queue fill", "percentunit", halfWidth, 8).
		Description("Sending queue size over capacity per exporter. A queue near 100% blocks (or drops, if configured) new data.").
		Min(0).Max(1).
		Thresholds(thresholds("green", 0.5, "orange", 0.8, "red")).
		WithTarget(promQuery("A", fmt.Sprintf(`max by (exporter, data_type) (%s%s) / max by (exporter, data_type) (%s%s)`, otelQueueSize, sel, otelQueueCapacity, sel), "{{exporter}} {{data_type}}"))).
		WithPanel(timeSeries("Queue size", "short", halfWidth, 8).
			WithTarget(promQuery("A", fmt.Sprintf(`max by (exporter, data_type) (%s%s)`, otelQueueSize, sel), "{{exporter}} {{data_type}}")))

	b = b.WithRow(dashboard.NewRowBuilder("Process")).
		WithPanel(timeSeries("Memory", "bytes", halfWidth, 8).
			WithTarget(promQuery("A", fmt.Sprintf(`max by (job, instance) (%s%s)`, otelMemoryRSS, sel), "RSS {{instance}}")).
			WithTarget(promQuery("B", fmt.Sprintf(`max by (job, instance) (%s%s)`, otelHeapAlloc, sel), "heap {{instance}}"))).
		WithPanel(timeSeries("CPU", "percentunit", halfWidth, 8).
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (job, instance) (rate(%s%s[$__rate_interval]))`, otelCPUSeconds, sel), "{{instance}}")))

	b = b.WithRow(dashboard.NewRowBuilder("Alert delivery")).
		WithPanel(timeSeries("Alert events delivered to PagerDuty", "short", halfWidth, 8).
			Description("Alert events (log records) the pagerduty exporter handled, and those it failed to deliver: events PagerDuty refused "+
				"(400, 413; "+otelPagerDutyEventsFailed+", which exporterhelper counts as sent) and events dropped after retries. "+
				"A failure means a page may be missing: check the exporter's log.").
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (exporter) (increase(%slog_records{job=~"$job", exporter=~"pagerduty.*"}[$__rate_interval]))`, otelExporterSent), "{{exporter}} sent")).
			WithTarget(promQuery("B", fmt.Sprintf(`sum by (exporter) (increase(%slog_records{job=~"$job", exporter=~"pagerduty.*"}[$__rate_interval]))`, otelExporterFailed), "{{exporter}} failed")).
			WithTarget(promQuery("C", fmt.Sprintf(`sum by (receiver, reason) (increase(%s{job=~"$job"}[$__rate_interval]))`, otelPagerDutyEventsFailed), "{{receiver}}: {{reason}}, refused by PagerDuty")).
			OverrideByRegexp(".* (failed|refused by PagerDuty)$", []dashboard.DynamicConfigValue{
				override("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
			})).
		WithPanel(timeSeries("Alerts firing by severity", "short", halfWidth, 8).
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (%s) (%s)`, c.LabelSeverity, c.MetricSLOAlertFiring), "{{severity}}")))
	return b
}
