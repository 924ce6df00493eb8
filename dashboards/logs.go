package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Loki labels the loki exporter sets on every stream. trace_id and span_id
// travel as structured metadata, not labels, so they never multiply streams.
const (
	lokiLabelService = "service_name"
	lokiLabelLevel   = "level"
)

// logsSelector is the stream selector of the chosen services and levels;
// the service matcher never matches the empty string, as Loki requires.
const logsSelector = `{service_name=~"$service", level=~"$level"}`

// logsFilter is the text search: a case-insensitive regular expression, so
// an empty search box matches every line.
const logsFilter = ` |~ "(?i)$search"`

func lokiVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(lokiRef).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true)
}

// Logs is the Loki view: volume by service and level, a text search, and
// every line with its trace ID linked to the trace view (through the Loki
// data source's derived field on the trace_id metadata).
func Logs() *dashboard.DashboardBuilder {
	b := newDashboard(LogsUID, "Vigil / Logs",
		"Logs in Loki by service and level, with text search. A line's trace_id opens its trace.").
		Link(link("Traces", "/d/"+TracesUID+"/vigil-traces")).
		Link(link("Service overview", "/d/"+ServiceOverviewUID+"/vigil-service-overview")).
		WithVariable(lokiVariable("service", "Service", "label_values("+lokiLabelService+")").AllValue(".+")).
		WithVariable(lokiVariable("level", "Level", "label_values("+lokiLabelLevel+")").AllValue(".*")).
		WithVariable(dashboard.NewTextBoxVariableBuilder("search").
			Label("Search (regexp)").
			Description("Case-insensitive regular expression matched against each line."))

	b = b.WithPanel(timeSeries("Log lines by level", "short", halfWidth, 8).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(lokiQuery("A", `sum by (level) (count_over_time(`+logsSelector+logsFilter+` [$__auto]))`, "{{level}}")).
		OverrideByRegexp("(?i)error|fatal|panic|dpanic", []dashboard.DynamicConfigValue{
			override("color", map[string]any{"mode": "fixed", "fixedColor": "red"}),
		}).
		OverrideByRegexp("(?i)warn.*", []dashboard.DynamicConfigValue{
			override("color", map[string]any{"mode": "fixed", "fixedColor": "orange"}),
		})).
		WithPanel(timeSeries("Log lines by service", "short", halfWidth, 8).
			DrawStyle(common.GraphDrawStyleBars).
			FillOpacity(80).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(lokiQuery("A", `sum by (service_name) (count_over_time(`+logsSelector+logsFilter+` [$__auto]))`, "{{service_name}}"))).
		WithPanel(timeSeries("Errors per second by service", "short", fullWidth, 6).
			WithTarget(lokiQuery("A", `sum by (service_name) (rate({service_name=~"$service", level=~"(?i)error|fatal|panic|dpanic"} [$__auto]))`, "{{service_name}}"))).
		WithPanel(logsPanel("Logs", fullWidth, 18).
			Description("Newest first. Expand a line: its trace_id links to the trace view.").
			WithTarget(lokiQuery("A", logsSelector+logsFilter, "")))
	return b
}
