// Package conventions holds every metric, label and attribute name that is
// part of Vigil's public contract (see DESIGN.md, "Contracts"). Dashboards,
// generated Prometheus rules, the connectors and the alert engine all take
// names from here, so a name is changed in one place or not at all.
package conventions

// Metric names as Prometheus sees them. The connectors emit OpenTelemetry
// metrics named without the "_total" suffix where Prometheus adds it.
const (
	// MetricSLOEvents counts SLI events by outcome ("good" or "bad").
	// Emitted as the monotonic sum "vigil_slo_events"; Prometheus adds _total.
	MetricSLOEvents      = "vigil_slo_events"
	MetricSLOEventsTotal = "vigil_slo_events_total"
	// MetricSLOObjective is the objective as a ratio (0.999 for 99.9%).
	MetricSLOObjective = "vigil_slo_objective_ratio"
	// MetricSLOBurnRate is the burn rate over the window named by LabelWindow.
	MetricSLOBurnRate = "vigil_slo_burn_rate"
	// MetricSLOErrorBudgetRemaining is 1 when untouched, 0 when spent and
	// negative when overspent.
	MetricSLOErrorBudgetRemaining = "vigil_slo_error_budget_remaining_ratio"
	// MetricSLOErrorBudgetData is how many seconds of data the error
	// budget is computed from: from the oldest event the period's window
	// holds to the evaluation, less than the period on a fresh instance,
	// a new SLO, a series that was quiet, or early in a calendar window's
	// period (slo.DataSeen words it).
	MetricSLOErrorBudgetData = "vigil_slo_error_budget_data_seconds"
	// MetricSLOAlertFiring is 1 while the alert of LabelSeverity fires.
	MetricSLOAlertFiring = "vigil_slo_alert_firing"

	// MetricAnomalyScore is the anomaly score in [0,1] of a watched series.
	MetricAnomalyScore = "vigil_anomaly_score"
	// MetricAnomalyExpected is the detector's expected value of the series.
	MetricAnomalyExpected = "vigil_anomaly_expected"
	// MetricAnomalyLower and MetricAnomalyUpper bound the expected band.
	MetricAnomalyLower = "vigil_anomaly_lower"
	MetricAnomalyUpper = "vigil_anomaly_upper"
)

// Metric label names (Prometheus form).
const (
	LabelSLO = "slo"
	// LabelServiceName is the service, as span_metrics and the
	// OpenTelemetry-to-Prometheus translation name it (service.name).
	// Not "service": Kubernetes service discovery adds a target label of
	// that name, and Prometheus would rename Vigil's to exported_service.
	LabelServiceName = "service_name"
	// LabelSpanName is the operation (span name) of a RED series, as
	// span_metrics names it (span.name).
	LabelSpanName = "span_name"
	LabelOutcome  = "outcome"
	LabelWindow   = "window"
	LabelSeverity = "severity"
	LabelMetric   = "metric"
	// LabelVigilSeverity is Vigil's alert tier, page or ticket, on the
	// alerts of `vigil slo rules` and in the alert router. It is a label
	// of its own so that the user's severity (routing labels written in
	// Sloth, Pyrra or OpenSLO specs: severity: critical, pageteam, slack)
	// reaches Alertmanager and the alert router unchanged; when a spec sets
	// no severity, severity carries the tier too, as it always did. On
	// vigil_slo_alert_firing, a series of Vigil's own, severity is the tier.
	LabelVigilSeverity = "vigil_severity"
	// LabelAlertName is the alert name label of Prometheus and Alertmanager.
	LabelAlertName = "alertname"
	// LabelSource is the source of an alert in the alert router
	// (AttrAlertSource: SourceSLO or SourceAnomaly). The alerts of `vigil
	// slo rules` do not carry it.
	LabelSource = "source"
)

// SLOAlertLabels are the labels every SLO alert carries in the alert
// router (and, but source, in Alertmanager from `vigil slo rules`), as the
// alert-event codec derives them: routing, inhibition, grouping and
// silences match on these. An SLO's own labels, its alert policy's and
// its group_by dimensions come on top, under the names the spec gives.
// severity is the spec's own, or the tier (vigil_severity) when it sets
// none.
var SLOAlertLabels = []string{LabelAlertName, LabelSeverity, LabelVigilSeverity, LabelSource, LabelServiceName, LabelSLO}

// AnomalyAlertLabels are the labels an anomaly alert of a RED series
// carries in the alert router: its metric (AnomalyMetricRequestRate, ...)
// and, for an operation's series, span_name. A selected custom metric's
// alert carries that metric's attributes instead of span_name.
var AnomalyAlertLabels = []string{LabelAlertName, LabelSeverity, LabelVigilSeverity, LabelSource, LabelServiceName, LabelMetric, LabelSpanName}

// Values of LabelOutcome.
const (
	OutcomeGood = "good"
	OutcomeBad  = "bad"
)

// Alert tiers (values of LabelVigilSeverity and AttrAlertSeverity, and of
// LabelSeverity where the spec sets none).
const (
	SeverityPage   = "page"
	SeverityTicket = "ticket"
)

// Alert states (values of AttrAlertState).
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Alert sources (values of AttrAlertSource).
const (
	SourceSLO     = "slo"
	SourceAnomaly = "anomaly"
)

// Attributes of alert events: log records whose body is a one-line human
// summary. See DESIGN.md, "Alert events".
const (
	AttrAlertName        = "alert.name"
	AttrAlertState       = "alert.state"
	AttrAlertSeverity    = "alert.severity"
	AttrAlertFingerprint = "alert.fingerprint"
	AttrAlertSource      = "alert.source"
	AttrServiceName      = "service.name"

	AttrSLOName                 = "slo.name"
	AttrSLOObjective            = "slo.objective"
	AttrSLOBurnRateLong         = "slo.burn_rate.long"
	AttrSLOBurnRateShort        = "slo.burn_rate.short"
	AttrSLOWindowLong           = "slo.window.long"
	AttrSLOWindowShort          = "slo.window.short"
	AttrSLOErrorBudgetRemaining = "slo.error_budget.remaining"
	// AttrSLODescription is the SLO's description (the spec's
	// description), on the alert events of an SLO that has one: what the
	// objective promises, for whoever is paged.
	AttrSLODescription = "slo.description"

	AttrAnomalyMetric   = "anomaly.metric"
	AttrAnomalyScore    = "anomaly.score"
	AttrAnomalyExpected = "anomaly.expected"
	AttrAnomalyActual   = "anomaly.actual"
	AttrAnomalyLower    = "anomaly.lower"
	AttrAnomalyUpper    = "anomaly.upper"
	// AttrAnomalyRecent is the recent level a point jumped from, on alerts
	// whose reason is above_recent or below_recent.
	AttrAnomalyRecent = "anomaly.recent"

	// AttrSpanName names the operation (span name) of an anomaly alert's
	// RED series, as span_metrics' input attribute does; it becomes the
	// alert label span_name, as on the vigil_anomaly_* series.
	AttrSpanName = "span.name"

	AttrAlertRunbookURL   = "alert.runbook_url"
	AttrAlertDashboardURL = "alert.dashboard_url"
	AttrAlertTraceIDs     = "alert.trace_ids"

	// AttrAlertStartsAt (RFC 3339, UTC, to the nanosecond) is when the
	// alert started firing, on every alert event, firing and resolved,
	// from the slo and anomaly connectors and the alert router alike: a
	// source sends a firing alert again at every evaluation (or resend
	// interval), each re-send stamped with its own time, and a resolve's
	// timestamp is its end, so neither says when the alert started, which
	// a reader that first sees the alert at a re-send, a resolve, the
	// episodes of the alert history and receivers such as Alertmanager's
	// webhook payload need. Every re-send of one firing and the resolve
	// that ends it carry the same start. Absent when the writer does not
	// know it (see the connectors' READMEs).
	AttrAlertStartsAt = "alert.starts_at"

	// Notifications of the alert router are alert events too, with these
	// two more: the receiver the router chose and the key of the group
	// whose flush sent it.
	AttrAlertReceiver = "alert.receiver"
	AttrAlertGroupKey = "alert.group_key"
	// AttrAlertGroupLabels (a map) holds the labels of that group.
	AttrAlertGroupLabels = "alert.group_labels"
	// AttrAlertIntegration is the pipeline of the receiver the router
	// handed the notification to (its ID, logs/pagerduty), and
	// AttrAlertRouter the router's component ID (alertrouter): an
	// exporter whose receiver refuses the notification after a persistent
	// queue took it tells that router, for that pipeline (internal/refusal).
	AttrAlertIntegration = "alert.integration"
	AttrAlertRouter      = "alert.router"
)
