package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"

	c "github.com/vigil-otel/vigil/conventions"
)

// budgetDataNote ends the description of every budget panel. The budget
// is computed over the events its window holds; how much of the period
// they cover is vigil_slo_error_budget_data_seconds, a column of the SLOs
// table, and the budget panels say why it matters.
const budgetDataNote = " On a fresh instance or a new SLO the budget is computed over the data seen so far, not the whole period: " +
	"-1900% two minutes in is those minutes' error ratio. The SLOs table's Budget data column, alert summaries and the console say how much data it covers."

// sloSelector selects the series of the chosen services and SLOs.
func sloSelector(metric string, extra string) string {
	sel := fmt.Sprintf(`%s{%s=~"$service", %s=~"$slo"`, metric, c.LabelServiceName, c.LabelSLO)
	if extra != "" {
		sel += ", " + extra
	}
	return sel + "}"
}

// sloVariables select services and SLOs from the objective gauge, which
// every SLO the connector evaluates exports from its first span on.
func sloVariables(b *dashboard.DashboardBuilder, multi bool) *dashboard.DashboardBuilder {
	service := promVariable("service", "Service", fmt.Sprintf("label_values(%s, %s)", c.MetricSLOObjective, c.LabelServiceName))
	slo := promVariable("slo", "SLO", fmt.Sprintf(`label_values(%s{%s=~"$service"}, %s)`, c.MetricSLOObjective, c.LabelServiceName, c.LabelSLO))
	if !multi {
		// The detail view shows one SLO's budget; "All" would sum
		// unrelated budgets.
		service = service.Multi(false).IncludeAll(false)
		slo = slo.Multi(false).IncludeAll(false)
	}
	return b.WithVariable(service).WithVariable(slo)
}

// burnRateUnit shows a burn rate as a multiple ("14.4x"): 1x spends the
// budget exactly over the SLO period.
const burnRateUnit = "suffix:x"

// burnRateThresholds are the page thresholds of the multiwindow
// multi-burn-rate alerts for a 30-day SLO (Google SRE workbook, chapter 5):
// 14.4 over 1h/5m spends 2% of the budget in an hour, 6 over 6h/30m spends
// 5% in six hours; 1 spends the budget exactly over the period.
func burnRateThresholds() cog.Builder[dashboard.ThresholdsConfig] {
	return thresholds("green", 1.0, "yellow", 6.0, "orange", 14.4, "red")
}

// burnRateCell colours a table cell holding a burn rate by the thresholds
// of burnRateThresholds.
func burnRateCell() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		override("decimals", 2),
		override("custom.cellOptions", map[string]any{"type": "color-text"}),
		override("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
			{"value": nil, "color": "green"}, {"value": 1, "color": "yellow"}, {"value": 6, "color": "orange"}, {"value": 14.4, "color": "red"},
		}}),
	}
}

func alertStateMapping() []dashboard.ValueMapping {
	return valueMap([3]string{"0", "OK", "green"}, [3]string{"1", "FIRING", "red"})
}

// autoLegend is Grafana's "Auto" legend: each series is named by the labels
// that differ between the panel's series. The SLO series carry labels the
// dashboards cannot name in advance (an SLO's group_by attributes, such as
// http_route, and its own labels), so a panel that shows them series by
// series uses it: a fixed legend would give two groups of one SLO the same
// name.
const autoLegend = "__auto"

// SLOs lists every SLO with its objective, remaining error budget, burn
// rates and alert state, the way Sloth's and Pyrra's overview pages do.
//
// The burn-rate windows scale with the SLO period (a 30-day SLO's
// 5m/1h/6h/3d are a 28-day one's 4m40s/56m/5h36m/2d19h12m, and a spec may
// bring its own table), and the series name a window by its duration only,
// so no query names a window: the overview shows each SLO's highest burn
// rate, and a table keyed by window lists them all.
func SLOs() *dashboard.DashboardBuilder {
	detail := "/d/" + SLODetailUID + "/vigil-slo-detail?var-service=${__data.fields." + c.LabelServiceName + "}&var-slo=${__data.fields." + c.LabelSLO + "}&${__url_time_range}"
	detailLinks := []cog.Builder[dashboard.DashboardLink]{
		dataLink("Budget of ${__data.fields."+c.LabelServiceName+"}/${__data.fields."+c.LabelSLO+"}", detail),
	}
	b := newDashboard(SLOUID, "Vigil / SLOs",
		"Every SLO Vigil evaluates: objective, error budget left, burn rate per window and alert state. "+
			"Evaluated in the collector on every span (vigil_slo_*).").
		Link(link("SLO detail", "/d/"+SLODetailUID+"/vigil-slo-detail")).
		Link(link("Alert history", "/d/"+AlertsUID+"/vigil-alerts"))
	b = sloVariables(b, true)

	page := fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityPage)
	ticket := fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityTicket)
	by := c.LabelServiceName + ", " + c.LabelSLO
	// One row per SLO; an SLO with group_by shows its worst group: the
	// least budget left, the highest burn rate, an alert firing in any.
	b = b.WithPanel(tablePanel("SLOs", fullWidth, 10).
		Description("One row per SLO; for an SLO with group_by, its worst group. Budget remaining: 1 untouched, 0 spent, negative overspent. "+
			"Highest burn rate: the highest over the SLO's windows (they scale with its period); 1 spends the budget exactly over the period. "+
			"Budget data: how much data that budget is computed from, the period once the collector has seen one, for a calendar window the time since it began. "+
			"Click a row for its budget over time."+budgetDataNote).
		WithTarget(promInstant("objective", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOObjective, "")))).
		WithTarget(promInstant("budget", fmt.Sprintf(`min by (%s) (%s)`, by, sloSelector(c.MetricSLOErrorBudgetRemaining, "")))).
		// The data of the group whose budget the row shows (the least
		// left), not the least data of any group.
		WithTarget(promInstant("data", fmt.Sprintf(`min by (%[1]s) (%[2]s and (%[3]s == on (%[1]s) group_left () min by (%[1]s) (%[3]s)))`,
			by, sloSelector(c.MetricSLOErrorBudgetData, ""), sloSelector(c.MetricSLOErrorBudgetRemaining, "")))).
		WithTarget(promInstant("burn", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOBurnRate, "")))).
		WithTarget(promInstant("page", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOAlertFiring, page)))).
		WithTarget(promInstant("ticket", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOAlertFiring, ticket)))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName": map[string]any{
				"Value #objective": "Objective", "Value #budget": "Budget remaining", "Value #data": "Budget data",
				"Value #burn": "Highest burn rate",
				"Value #page": "Page", "Value #ticket": "Ticket",
			},
		}}).
		OverrideByName("Objective", []dashboard.DynamicConfigValue{override("unit", "percentunit"), override("decimals", 3)}).
		OverrideByName("Budget remaining", []dashboard.DynamicConfigValue{
			override("unit", "percentunit"),
			override("custom.cellOptions", map[string]any{"type": "color-background"}),
			override("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
				{"value": nil, "color": "red"}, {"value": 0.25, "color": "orange"}, {"value": 0.5, "color": "green"},
			}}),
		}).
		OverrideByName("Budget data", []dashboard.DynamicConfigValue{override("unit", "s"), override("decimals", 0)}).
		OverrideByName("Highest burn rate", burnRateCell()).
		OverrideByRegexp("Page|Ticket", []dashboard.DynamicConfigValue{
			override("mappings", alertStateMapping()),
			override("custom.cellOptions", map[string]any{"type": "color-background"}),
		}).
		DataLinks(detailLinks))

	// Keyed by window: whatever windows an SLO has, each is a row.
	b = b.WithPanel(tablePanel("Burn rate per window now", fullWidth, 9).
		Description("Every window of every SLO, highest burn first (an SLO with group_by: its worst group). "+
			"The windows scale with the SLO period: a 30-day SLO pages on 1h and 5m, a 28-day one on 56m and 4m40s, a 7-day one on 14m and 1m10s. "+
			"A page fires when a long window and its short window both exceed the threshold.").
		WithTarget(promInstant("burn", fmt.Sprintf(`sort_desc(max by (%s, %s) (%s))`, by, c.LabelWindow, sloSelector(c.MetricSLOBurnRate, "")))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  map[string]any{"Value": "Burn rate"},
		}}).
		OverrideByName("Burn rate", burnRateCell()).
		DataLinks(detailLinks))

	b = b.WithRow(dashboard.NewRowBuilder("Burn rates and budget")).
		WithPanel(timeSeries("Burn rate per window", burnRateUnit, halfWidth, 9).
			Description("Burn rate of each window of each SLO (and group). Pages fire when both a long and its short window exceed the threshold: " +
				"14.4 over 1h and 5m, 6 over 6h and 30m for a 30-day SLO; the windows scale with the period, the thresholds do not.").
			Thresholds(burnRateThresholds()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), autoLegend))).
		WithPanel(timeSeries("Error budget remaining", "percentunit", halfWidth, 9).
			Description("Share of the error budget left over the SLO period, per SLO and group." + budgetDataNote).
			Thresholds(thresholds("red", 0.0, "orange", 0.25, "green")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOErrorBudgetRemaining, ""), autoLegend))).
		WithPanel(statetimeline.NewPanelBuilder().
			Title("Alert state").
			Description("Firing (red) and OK (green) per SLO, group and severity, as the connector evaluates them.").
			Span(halfWidth).Height(8).
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOAlertFiring, ""), autoLegend))).
		WithPanel(timeSeries("SLI events", "reqps", halfWidth, 8).
			Description("Good and bad events per second, the numerator and denominator of every burn rate.").
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(promQuery("A", fmt.Sprintf(`sum by (%s, %s, %s) (rate(%s[$__rate_interval]))`,
				c.LabelServiceName, c.LabelSLO, c.LabelOutcome, sloSelector(c.MetricSLOEventsTotal, "")), "{{"+c.LabelServiceName+"}}/{{slo}} {{outcome}}")).
			OverrideByRegexp(".* bad$", []dashboard.DynamicConfigValue{override("color", map[string]any{"mode": "fixed", "fixedColor": "red"})}))

	b = b.WithRow(dashboard.NewRowBuilder("Cross-check with Prometheus rules").Collapsed(true).
		WithPanel(timeSeries("Burn rate from `vigil slo rules`", burnRateUnit, halfWidth, 8).
			Description("The same SLOs evaluated by Prometheus from the generated recording rules, whose windows scale with the SLO period (a 28d SLO's 1h window is 56m).").
			Thresholds(burnRateThresholds()).
			WithTarget(promQuery("A", sloSelector(c.RuleSLOBurnRate, ""), autoLegend))).
		WithPanel(timeSeries("Burn rate from the connector", burnRateUnit, halfWidth, 8).
			Description("The connector's burn rates, for comparison: a 30d SLO's windows match the rules' exactly, so a gap means the two disagree on the SLI.").
			Thresholds(burnRateThresholds()).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), autoLegend))))
	return b
}

// SLODetail follows one SLO over its whole period: the error budget burning
// down, the error ratio against the objective and the burn rates that page.
func SLODetail() *dashboard.DashboardBuilder {
	b := newDashboard(SLODetailUID, "Vigil / SLO detail",
		"One SLO over its period: the error budget burning down, error ratio against the objective, burn rates and alerts.").
		Time("now-7d", "now").
		Link(link("All SLOs", "/d/"+SLOUID+"/vigil-slos")).
		Link(link("Alert history", "/d/"+AlertsUID+"/vigil-alerts"))
	b = sloVariables(b, false)

	// The stats are one number each: for an SLO with group_by, its worst
	// group (the least budget left, the highest burn rate of each window, a
	// page firing in any group); the panels below show every group.
	b = b.WithPanel(statPanel("Objective", "percentunit", 4, 5).
		Decimals(3).
		WithTarget(promQuery("A", fmt.Sprintf(`max(%s)`, sloSelector(c.MetricSLOObjective, "")), "objective"))).
		WithPanel(statPanel("Error budget remaining", "percentunit", 4, 5).
			Description("Budget left over the SLO period; for an SLO with group_by, its worst group." + budgetDataNote).
			Thresholds(thresholds("red", 0.0, "orange", 0.25, "green")).
			WithTarget(promQuery("A", fmt.Sprintf(`min(%s)`, sloSelector(c.MetricSLOErrorBudgetRemaining, "")), "remaining"))).
		WithPanel(statPanel("Burn rate per window", burnRateUnit, 12, 5).
			Description("The burn rate of each of the SLO's windows (for an SLO with group_by, its worst group). The windows scale with the SLO period: " +
				"a 30-day SLO pages on 1h and 5m, a 28-day one on 56m and 4m40s, a 7-day one on 14m and 1m10s.").
			Decimals(2).
			TextMode(common.BigValueTextModeValueAndName).
			Thresholds(burnRateThresholds()).
			WithTarget(promQuery("A", fmt.Sprintf(`max by (%s) (%s)`, c.LabelWindow, sloSelector(c.MetricSLOBurnRate, "")), "{{"+c.LabelWindow+"}}"))).
		WithPanel(statPanel("Page alert", "none", 4, 5).
			Description("FIRING while the page alert fires (for an SLO with group_by, in any group).").
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", fmt.Sprintf(`max(%s)`, sloSelector(c.MetricSLOAlertFiring, fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityPage))), "page")))

	b = b.WithPanel(timeSeries("Error budget burning down", "percentunit", fullWidth, 10).
		Description("Budget left over the SLO period, per group for an SLO with group_by. The dashed line at 0 is a spent budget; the slope is the burn rate." + budgetDataNote).
		Thresholds(thresholds("red", 0.0, "transparent")).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
		FillOpacity(25).
		WithTarget(promQuery("A", sloSelector(c.MetricSLOErrorBudgetRemaining, ""), autoLegend)))

	errorRatio := fmt.Sprintf(`sum(rate(%s[$__rate_interval])) / sum(rate(%s[$__rate_interval]))`,
		sloSelector(c.MetricSLOEventsTotal, fmt.Sprintf(`%s="%s"`, c.LabelOutcome, c.OutcomeBad)),
		sloSelector(c.MetricSLOEventsTotal, ""))
	b = b.WithPanel(timeSeries("Error ratio against the budget", "percentunit", halfWidth, 9).
		Description("Bad events over all events, with the error budget (1 - objective) as the dashed line: above it the budget shrinks.").
		WithTarget(promQuery("A", errorRatio, "error ratio")).
		WithTarget(promQuery("B", "1 - "+sloSelector(c.MetricSLOObjective, ""), "error budget (1 - objective)")).
		OverrideByName("error budget (1 - objective)", []dashboard.DynamicConfigValue{
			override("custom.lineStyle", map[string]any{"fill": "dash", "dash": []int{10, 10}}),
			override("color", map[string]any{"mode": "fixed", "fixedColor": "orange"}),
		})).
		WithPanel(timeSeries("Burn rate per window", burnRateUnit, halfWidth, 9).
			Description("Burn rate of each window (and group).").
			Thresholds(burnRateThresholds()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), autoLegend))).
		WithPanel(statetimeline.NewPanelBuilder().
			Title("Alerts").
			Span(fullWidth).Height(5).
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOAlertFiring, ""), autoLegend)))
	return b
}
