package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-otel/vigil/internal/labelname"
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

// searchAttributes are the log attributes the text search reads besides the
// line (the body): where a Go service's error is. zap's error field is the
// attribute "error" and its stacktrace, through the zaplog receiver,
// "exception.stacktrace"; OpenTelemetry SDKs record an error's message as
// "exception.message". The loki exporter writes log attributes as
// structured metadata, under their label names (labelname).
var searchAttributes = []string{"error", "exception.message", "exception.stacktrace"}

// searchLineLabel holds a copy of the line while the search runs: a label
// filter cannot read the line itself, and the line and the metadata must
// be matched in one expression, with "or".
const searchLineLabel = "vigil_search_line"

// logsFilter is the text search: a case-insensitive regular expression
// matched against the line and the searchAttributes metadata; an empty
// search box matches every line. A label filter matches a whole value, so
// the search is wrapped in .*(...).*, with (?s) for multi-line stack
// traces. The line copy is dropped again, so results and series keep the
// labels they had.
var logsFilter = func() string {
	match := `=~"(?is).*(?:$search).*"`
	terms := []string{searchLineLabel + match}
	for _, a := range searchAttributes {
		terms = append(terms, labelname.Sanitize(a)+match)
	}
	return fmt.Sprintf(` | label_format %s="{{__line__}}" | %s | drop %s`, searchLineLabel, strings.Join(terms, " or "), searchLineLabel)
}()

// errorLevels are the level label values of error lines (the loki exporter
// writes error and fatal; zap's panic and dpanic for other writers).
const errorLevels = `(?i)error|fatal|panic|dpanic`

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
			Description("Case-insensitive regular expression matched against each line and its error fields (error, exception.message, exception.stacktrace)."))

	b = b.WithPanel(timeSeries("Log lines by level", "short", halfWidth, 8).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(lokiQuery("A", `sum by (level) (count_over_time(`+logsSelector+logsFilter+` [$__auto]))`, "{{level}}")).
		OverrideByRegexp(errorLevels, []dashboard.DynamicConfigValue{
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
			Description("Error lines per second among the chosen services, levels and search.").
			WithTarget(lokiQuery("A", `sum by (service_name) (rate({service_name=~"$service", level=~"$level", level=~"`+errorLevels+`"}`+logsFilter+` [$__auto]))`, "{{service_name}}"))).
		WithPanel(logsPanel("Logs", fullWidth, 18).
			Description("Newest first; the search matches the line and its error fields. Expand a line: its trace_id links to the trace view.").
			WithTarget(lokiQuery("A", logsSelector+logsFilter, "")))
	return b
}
