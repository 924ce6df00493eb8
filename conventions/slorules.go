package conventions

// Recording rules that `vigil slo rules` generates (package slo/rules).
// Every series carries LabelSLO and LabelServiceName, the SLO's group_by labels,
// and LabelWindow where a window applies. The names differ from the
// connector's metrics so that both can live in one Prometheus.
const (
	// RuleSLOEventsIncrease is the number of SLI events of LabelOutcome
	// over LabelWindow.
	RuleSLOEventsIncrease = "vigil_slo:events:increase"
	// RuleSLOErrorRatio is the ratio of bad events over LabelWindow.
	RuleSLOErrorRatio = "vigil_slo:error_ratio"
	// RuleSLOBurnRate is the error ratio over LabelWindow divided by the
	// error budget: 1 spends the budget exactly over the SLO period.
	RuleSLOBurnRate = "vigil_slo:burn_rate"
	// RuleSLOObjective is the objective as a ratio (0.999 for 99.9%).
	RuleSLOObjective = "vigil_slo:objective_ratio"
	// RuleSLOErrorBudgetRemaining is the error budget left over the SLO
	// period: 1 untouched, 0 spent, negative overspent.
	RuleSLOErrorBudgetRemaining = "vigil_slo:error_budget_remaining_ratio"
)

// Labels of the generated alerting rules of an SLO whose burn-rate rows
// wait differently (`for:`, Pyrra's table): each row is a rule of its
// own, told apart by its windows, under the names Pyrra gives them.
const (
	LabelAlertWindowLong  = "long"
	LabelAlertWindowShort = "short"
)

// Annotations of the generated alerting rules.
const (
	AnnotationSummary      = "summary"
	AnnotationDescription  = "description"
	AnnotationRunbookURL   = "runbook_url"
	AnnotationDashboardURL = "dashboard_url"
)
