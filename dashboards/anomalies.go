package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	c "github.com/vigil-otel/vigil/conventions"
)

// The anomaly connector's own telemetry (collector endpoint :8888): how
// many series it watches, and how many of those are still warming up, that
// is learning their baseline: such a series scores 0 whatever it does.
const (
	otelAnomalyActiveSeries    = "otelcol_anomaly_active_series"
	otelAnomalySeriesWarmingUp = "otelcol_anomaly_series_warming_up"
)

// anomalyMetricUnits are the Grafana units of the series the connector
// watches (the values of its metric label): the span metrics' own, so
// that a band panel showing several gives each its axis.
var anomalyMetricUnits = []struct{ metricRegexp, unit string }{
	{c.AnomalyMetricRequestRate, "reqps"},
	{c.AnomalyMetricErrorRatio, "percentunit"},
	{c.AnomalyMetricLatencyPrefix + "[0-9]+", "ms"},
}

// anomalySeries are the labels that identify a watched series.
var anomalySeries = c.LabelServiceName + ", " + anomalyLabelSpanName + ", " + c.LabelMetric

// anomalyNow is one of the connector's gauges reduced to the labels of the
// watched series, so that the four of a table merge into one row per series
// (the gauges' own __name__, job and instance would keep them apart).
func anomalyNow(metric string) string {
	return fmt.Sprintf(`max by (%s) (%s)`, anomalySeries, anomalySelector(metric))
}

func anomalySelector(metric string) string {
	return fmt.Sprintf(`%s{%s=~"$service", %s=~"$operation", %s=~"$metric"}`, metric, c.LabelServiceName, anomalyLabelSpanName, c.LabelMetric)
}

// Anomalies shows what the detector finds anomalous now, the score of every
// watched series over time, and each series' expected band.
func Anomalies() *dashboard.DashboardBuilder {
	b := newDashboard(AnomaliesUID, "Vigil / Anomalies",
		"What Vigil's streaming detector scores as anomalous: score timelines and each watched series' expected band (vigil_anomaly_*).").
		Link(link("Service overview", "/d/"+ServiceOverviewUID+"/vigil-service-overview")).
		Link(link("Alert history", "/d/"+AlertsUID+"/vigil-alerts")).
		WithVariable(promVariable("service", "Service", fmt.Sprintf("label_values(%s, %s)", c.MetricAnomalyScore, c.LabelServiceName))).
		WithVariable(promVariable("operation", "Operation", fmt.Sprintf(`label_values(%s{%s=~"$service"}, %s)`, c.MetricAnomalyScore, c.LabelServiceName, anomalyLabelSpanName))).
		WithVariable(promVariable("metric", "Metric", fmt.Sprintf(`label_values(%s{%s=~"$service"}, %s)`, c.MetricAnomalyScore, c.LabelServiceName, c.LabelMetric))).
		WithVariable(dashboard.NewCustomVariableBuilder("min_score").
			Label("Anomalous above").
			Values(dashboard.StringOrMap{String: cog.ToPtr("0.5,0.7,0.9,0.99")}).
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("0.7")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("0.7")},
			}))

	// A new series learns its baseline before it scores: its score stays 0
	// meanwhile, which reads as "normal" unless the dashboard says so.
	b = b.WithPanel(statPanel("Series watched", "none", halfWidth, 4).
		Description("Series the anomaly connector watches (each service, operation and metric), summed over the evaluators.").
		ColorMode(common.BigValueColorModeNone).
		WithTarget(promQuery("A", fmt.Sprintf(`sum(%s) or vector(0)`, otelAnomalyActiveSeries), "watched"))).
		WithPanel(statPanel("Series warming up", "none", halfWidth, 4).
			Description("Watched series whose detector is still learning its baseline: until it has, the series scores 0 whatever it does, " +
				"so a flat 0 score below may only mean \"not yet known\". A new service, operation or metric warms up first.").
			Thresholds(thresholds("green", 1.0, "orange")).
			WithTarget(promQuery("A", fmt.Sprintf(`sum(%s) or vector(0)`, otelAnomalySeriesWarmingUp), "warming up")))

	b = b.WithPanel(tablePanel("Anomalous now", halfWidth, 9).
		Description("Series whose latest score is at or above the chosen threshold, highest first, with the expected band at this moment.").
		WithTarget(promInstant("score", fmt.Sprintf(`sort_desc(%s >= $min_score)`, anomalyNow(c.MetricAnomalyScore)))).
		WithTarget(promInstant("expected", fmt.Sprintf(`%s and on (%s) (%s >= $min_score)`, anomalyNow(c.MetricAnomalyExpected), anomalySeries, anomalyNow(c.MetricAnomalyScore)))).
		WithTarget(promInstant("lower", fmt.Sprintf(`%s and on (%s) (%s >= $min_score)`, anomalyNow(c.MetricAnomalyLower), anomalySeries, anomalyNow(c.MetricAnomalyScore)))).
		WithTarget(promInstant("upper", fmt.Sprintf(`%s and on (%s) (%s >= $min_score)`, anomalyNow(c.MetricAnomalyUpper), anomalySeries, anomalyNow(c.MetricAnomalyScore)))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName": map[string]any{
				"Value #score": "Score", "Value #expected": "Expected", "Value #lower": "Lower", "Value #upper": "Upper",
			},
		}}).
		OverrideByName("Score", []dashboard.DynamicConfigValue{
			override("custom.cellOptions", map[string]any{"type": "color-background"}),
			override("thresholds", map[string]any{"mode": "absolute", "steps": []map[string]any{
				{"value": nil, "color": "green"}, {"value": 0.7, "color": "orange"}, {"value": 0.9, "color": "red"},
			}}),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			dataLink("Service overview of ${__data.fields."+c.LabelServiceName+"}",
				"/d/"+ServiceOverviewUID+"/vigil-service-overview?var-service=${__data.fields."+c.LabelServiceName+"}&${__url_time_range}"),
		})).
		WithPanel(timeSeries("Anomaly score", "percentunit", halfWidth, 9).
			Description("Score per watched series, 0 (normal) to 1 (certainly anomalous). A series still warming up (see above) scores 0.").
			Min(0).Max(1).
			Thresholds(thresholds("green", 0.7, "orange", 0.9, "red")).
			WithTarget(promQuery("A", anomalySelector(c.MetricAnomalyScore), "{{"+c.LabelServiceName+"}} {{"+anomalyLabelSpanName+"}} {{metric}}")))

	// One panel per metric (repeated over the metric variable: with "All",
	// one each), since a request rate, an error ratio and a latency share no
	// unit. The legend names the metric too, and each metric's series get
	// its unit, so a panel showing several still reads right.
	series := "{{" + c.LabelServiceName + "}} {{" + anomalyLabelSpanName + "}} {{" + c.LabelMetric + "}}"
	band := timeSeries("Expected band: $metric", "short", fullWidth, 9).
		Description("The detector's expected value and band for the series of one metric, in that metric's unit. The alert event records the actual value that left the band (see the table below).").
		Repeat("metric").
		RepeatDirection(dashboard.PanelRepeatDirectionV).
		WithTarget(promQuery("A", anomalySelector(c.MetricAnomalyExpected), series+" expected")).
		WithTarget(promQuery("B", anomalySelector(c.MetricAnomalyLower), series+" lower")).
		WithTarget(promQuery("C", anomalySelector(c.MetricAnomalyUpper), series+" upper")).
		WithTarget(promQuery("D", anomalySelector(c.MetricAnomalyScore), series+" score"))
	for _, u := range anomalyMetricUnits {
		band = band.OverrideByRegexp(".* "+u.metricRegexp+" (expected|lower|upper)$", []dashboard.DynamicConfigValue{override("unit", u.unit)})
	}
	band = band.
		OverrideByRegexp(".* score$", []dashboard.DynamicConfigValue{
			override("custom.axisPlacement", "right"),
			override("unit", "percentunit"),
			override("min", 0),
			override("max", 1),
			override("custom.drawStyle", "bars"),
			override("custom.fillOpacity", 30),
			override("color", map[string]any{"mode": "fixed", "fixedColor": "orange"}),
		})
	band = bandOverrides(band, ".* upper$", ".* lower$", ".* expected$")
	b = b.WithRow(dashboard.NewRowBuilder("Expected versus actual")).WithPanel(band)

	b = b.WithPanel(tablePanel("Anomaly alerts: actual versus expected", fullWidth, 9).
		Description("Every anomaly alert event from the alert history in ClickHouse, with the actual value, the expected value and band when it fired.").
		WithTarget(chTable("A", `SELECT Timestamp, ServiceName, AlertName, State,
  Attributes['anomaly.metric'] AS Metric,
  toFloat64OrNull(Attributes['anomaly.actual']) AS Actual,
  toFloat64OrNull(Attributes['anomaly.expected']) AS Expected,
  toFloat64OrNull(Attributes['anomaly.lower']) AS Lower,
  toFloat64OrNull(Attributes['anomaly.upper']) AS Upper,
  toFloat64OrNull(Attributes['anomaly.score']) AS Score,
  Body
FROM otel.vigil_alerts
WHERE $__timeFilter(Timestamp) AND Source = 'anomaly'
ORDER BY Timestamp DESC
LIMIT 500`)))
	return b
}
