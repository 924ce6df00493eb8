package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"

	c "github.com/vigil-otel/vigil/conventions"
)

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

func alertStateMapping() []dashboard.ValueMapping {
	return valueMap([3]string{"0", "OK", "green"}, [3]string{"1", "FIRING", "red"})
}

// SLOs lists every SLO with its objective, remaining error budget, burn
// rate per window and alert state, the way Sloth's and Pyrra's overview
// pages do.
func SLOs() *dashboard.DashboardBuilder {
	detail := "/d/" + SLODetailUID + "/vigil-slo-detail?var-service=${__data.fields.service}&var-slo=${__data.fields.slo}&${__url_time_range}"
	b := newDashboard(SLOUID, "Vigil / SLOs",
		"Every SLO Vigil evaluates: objective, error budget left, burn rate per window and alert state. "+
			"Evaluated in the collector on every span (vigil_slo_*).").
		Link(link("SLO detail", "/d/"+SLODetailUID+"/vigil-slo-detail")).
		Link(link("Alert history", "/d/"+AlertsUID+"/vigil-alerts"))
	b = sloVariables(b, true)

	page := fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityPage)
	ticket := fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityTicket)
	by := c.LabelServiceName + ", " + c.LabelSLO
	b = b.WithPanel(tablePanel("SLOs", fullWidth, 10).
		Description("One row per SLO. Budget remaining: 1 untouched, 0 spent, negative overspent. Burn rate 1 spends the budget exactly over the SLO period. Click a row for its budget over time.").
		WithTarget(promInstant("objective", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOObjective, "")))).
		WithTarget(promInstant("budget", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOErrorBudgetRemaining, "")))).
		WithTarget(promInstant("burn5m", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOBurnRate, c.LabelWindow+`="5m"`)))).
		WithTarget(promInstant("burn1h", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOBurnRate, c.LabelWindow+`="1h"`)))).
		WithTarget(promInstant("burn6h", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOBurnRate, c.LabelWindow+`="6h"`)))).
		WithTarget(promInstant("burn3d", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOBurnRate, c.LabelWindow+`="3d"`)))).
		WithTarget(promInstant("page", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOAlertFiring, page)))).
		WithTarget(promInstant("ticket", fmt.Sprintf(`max by (%s) (%s)`, by, sloSelector(c.MetricSLOAlertFiring, ticket)))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName": map[string]any{
				"Value #objective": "Objective", "Value #budget": "Budget remaining",
				"Value #burn5m": "Burn 5m", "Value #burn1h": "Burn 1h", "Value #burn6h": "Burn 6h", "Value #burn3d": "Burn 3d",
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
		OverrideByRegexp("Burn .*", []dashboard.DynamicConfigValue{
			override("decimals", 2),
			override("custom.cellOptions", map[string]any{"type": "color-text"}),
			override("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
				{"value": nil, "color": "green"}, {"value": 1, "color": "yellow"}, {"value": 6, "color": "orange"}, {"value": 14.4, "color": "red"},
			}}),
		}).
		OverrideByRegexp("Page|Ticket", []dashboard.DynamicConfigValue{
			override("mappings", alertStateMapping()),
			override("custom.cellOptions", map[string]any{"type": "color-background"}),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{dataLink("Budget of ${__data.fields.service}/${__data.fields.slo}", detail)}))

	b = b.WithRow(dashboard.NewRowBuilder("Burn rates and budget")).
		WithPanel(timeSeries("Burn rate per window", burnRateUnit, halfWidth, 9).
			Description("Burn rate of each window. Pages fire when both a long and its short window exceed the threshold (14.4 over 1h and 5m, 6 over 6h and 30m).").
			Thresholds(burnRateThresholds()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), "{{"+c.LabelServiceName+"}}/{{slo}} {{window}}"))).
		WithPanel(timeSeries("Error budget remaining", "percentunit", halfWidth, 9).
			Description("Share of the error budget left over the SLO period.").
			Thresholds(thresholds("red", 0.0, "orange", 0.25, "green")).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOErrorBudgetRemaining, ""), "{{"+c.LabelServiceName+"}}/{{slo}}"))).
		WithPanel(statetimeline.NewPanelBuilder().
			Title("Alert state").
			Description("Firing (red) and OK (green) per SLO and severity, as the connector evaluates them.").
			Span(halfWidth).Height(8).
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOAlertFiring, ""), "{{"+c.LabelServiceName+"}}/{{slo}} {{severity}}"))).
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
			WithTarget(promQuery("A", sloSelector(c.RuleSLOBurnRate, ""), "{{"+c.LabelServiceName+"}}/{{slo}} {{window}}"))).
		WithPanel(timeSeries("Burn rate from the connector", burnRateUnit, halfWidth, 8).
			Description("The connector's burn rates, for comparison: a 30d SLO's windows match the rules' exactly, so a gap means the two disagree on the SLI.").
			Thresholds(burnRateThresholds()).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), "{{"+c.LabelServiceName+"}}/{{slo}} {{window}}"))))
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

	b = b.WithPanel(statPanel("Objective", "percentunit", quarterWidth, 5).
		Decimals(3).
		WithTarget(promQuery("A", sloSelector(c.MetricSLOObjective, ""), "objective"))).
		WithPanel(statPanel("Error budget remaining", "percentunit", quarterWidth, 5).
			Thresholds(thresholds("red", 0.0, "orange", 0.25, "green")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOErrorBudgetRemaining, ""), "remaining"))).
		WithPanel(statPanel("Burn rate 1h", burnRateUnit, quarterWidth, 5).
			Decimals(2).
			Thresholds(burnRateThresholds()).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, c.LabelWindow+`="1h"`), "1h"))).
		WithPanel(statPanel("Page alert", "none", quarterWidth, 5).
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOAlertFiring, fmt.Sprintf(`%s="%s"`, c.LabelSeverity, c.SeverityPage)), "page")))

	b = b.WithPanel(timeSeries("Error budget burning down", "percentunit", fullWidth, 10).
		Description("Budget left over the SLO period. The dashed line at 0 is a spent budget; the slope is the burn rate.").
		Thresholds(thresholds("red", 0.0, "transparent")).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
		FillOpacity(25).
		WithTarget(promQuery("A", sloSelector(c.MetricSLOErrorBudgetRemaining, ""), "budget remaining")))

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
			Thresholds(burnRateThresholds()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOBurnRate, ""), "{{window}}"))).
		WithPanel(statetimeline.NewPanelBuilder().
			Title("Alerts").
			Span(fullWidth).Height(5).
			Mappings(alertStateMapping()).
			Thresholds(thresholds("green", 1.0, "red")).
			WithTarget(promQuery("A", sloSelector(c.MetricSLOAlertFiring, ""), "{{severity}}")))
	return b
}
