package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/vigil-otel/vigil/conventions"
)

// Dashboard UIDs. Links between dashboards, SLO specs' dashboard_url and
// alert events use them, so they never change.
const (
	ServiceOverviewUID = "vigil-service-overview"
	SLOUID             = "vigil-slo"
	SLODetailUID       = "vigil-slo-detail"
	AnomaliesUID       = "vigil-anomalies"
	AlertsUID          = "vigil-alerts"
	LogsUID            = "vigil-logs"
	TracesUID          = "vigil-traces"
	SelfUID            = "vigil-self"
)

// RED metrics of the span_metrics connector as Prometheus sees them
// (namespace "traces.span.metrics", unit suffix from the histogram unit).
const (
	metricCalls          = "traces_span_metrics_calls_total"
	metricDurationBucket = "traces_span_metrics_duration_milliseconds_bucket"

	labelServiceName = conventions.LabelServiceName
	labelSpanName    = conventions.LabelSpanName
	labelSpanKind    = "span_kind"
	labelStatusCode  = "status_code"

	statusError = "STATUS_CODE_ERROR"
)

// The anomaly connector's labels and metric label values for the RED series
// it derives from span metrics (connector/anomalyconnector).
const (
	anomalyLabelSpanName     = conventions.LabelSpanName
	anomalyMetricRequestRate = conventions.AnomalyMetricRequestRate
	anomalyMetricLatencyP95  = conventions.AnomalyMetricLatencyP95
)

// redSelector selects the RED series of the chosen services, operations and
// span kind.
func redSelector(metric string, extra string) string {
	sel := fmt.Sprintf(`%s{%s=~"$service", %s=~"$operation", %s=~"$span_kind"`,
		metric, labelServiceName, labelSpanName, labelSpanKind)
	if extra != "" {
		sel += ", " + extra
	}
	return sel + "}"
}

// watchedSelector selects the RED series of the chosen services and
// operations of every span kind: the anomaly connector watches an
// operation's calls and durations whatever their kind, so the actual line
// drawn against its band must count them alike.
func watchedSelector(metric string) string {
	return fmt.Sprintf(`%s{%s=~"$service", %s=~"$operation"}`, metric, labelServiceName, labelSpanName)
}

func redRate(by string, extra string) string {
	return fmt.Sprintf(`sum by (%s) (rate(%s[$__rate_interval]))`, by, redSelector(metricCalls, extra))
}

// redErrorRatio is errors over calls. A series without a single error has
// no error series to divide: "or 0 * calls" makes its ratio 0 rather than
// leaving it out (a blank, or a missing line).
func redErrorRatio(by string) string {
	return errorRatio(redRate(by, fmt.Sprintf(`%s="%s"`, labelStatusCode, statusError)), redRate(by, ""))
}

func errorRatio(errors, total string) string {
	return fmt.Sprintf(`(%s or 0 * %s) / %s`, errors, total, total)
}

func redQuantile(q float64, by string) string {
	return fmt.Sprintf(`histogram_quantile(%g, sum by (le, %s) (rate(%s[$__rate_interval])))`,
		q, by, redSelector(metricDurationBucket, ""))
}

// spanKinds are the values of the RED metrics' span_kind label, as the
// slo connector's red metrics (and contrib's span_metrics) write them;
// server spans first, the variable's default: a request is a span a
// service served. Counting client spans too would count every call twice,
// once by the caller and once by the callee.
var spanKinds = []string{"SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_INTERNAL", "SPAN_KIND_UNSPECIFIED"}

// redVariables are the service, operation and span kind selectors shared by
// the RED panels.
//
// span_kind has no "All": Grafana falls back to "All" for a variable that
// has one whenever it does not take the saved selection (a link without
// the variable, an older Grafana), and its first option otherwise, so the
// default is server spans whichever way the dashboard opens. Several kinds
// can still be chosen.
func redVariables(b *dashboard.DashboardBuilder) *dashboard.DashboardBuilder {
	options := make([]dashboard.VariableOption, len(spanKinds))
	for i, k := range spanKinds {
		options[i] = dashboard.VariableOption{
			Selected: cog.ToPtr(i == 0),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(k)},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(k)},
		}
	}
	return b.
		WithVariable(promVariable("service", "Service",
			fmt.Sprintf("label_values(%s, %s)", metricCalls, labelServiceName))).
		WithVariable(promVariable("operation", "Operation",
			fmt.Sprintf(`label_values(%s{%s=~"$service"}, %s)`, metricCalls, labelServiceName, labelSpanName))).
		WithVariable(dashboard.NewCustomVariableBuilder("span_kind").
			Label("Span kind").
			Description("Which spans count: server spans by default, the requests each service served.").
			Values(dashboard.StringOrMap{String: cog.ToPtr(strings.Join(spanKinds, ","))}).
			Options(options).
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{ArrayOfString: spanKinds[:1]},
				Value: dashboard.StringOrArrayOfString{ArrayOfString: spanKinds[:1]},
			}).
			Multi(true).
			IncludeAll(false))
}

// ServiceOverview is the first dashboard an engineer opens: rate, errors
// and duration per service and operation, with the anomaly detector's
// expected band drawn around the request rate, and links to the service's
// traces and logs.
func ServiceOverview() *dashboard.DashboardBuilder {
	tracesURL := "/d/" + TracesUID + "/vigil-traces?var-service=${__field.labels.service_name}&${__url_time_range}"
	logsURL := "/d/" + LogsUID + "/vigil-logs?var-service=${__field.labels.service_name}&${__url_time_range}"
	// Links name the series' own labels (service_name, span_name), which
	// the RED metrics and the anomaly connector's series share.
	serviceLinks := []cog.Builder[dashboard.DashboardLink]{
		dataLink("Traces of ${__field.labels.service_name}", tracesURL),
		dataLink("Logs of ${__field.labels.service_name}", logsURL),
		dataLink("SLOs of ${__field.labels.service_name}", "/d/"+SLOUID+"/vigil-slos?var-service=${__field.labels.service_name}&${__url_time_range}"),
	}

	b := newDashboard(ServiceOverviewUID, "Vigil / Service overview",
		"RED metrics (rate, errors, duration) per service and operation, from every span Vigil receives.").
		Link(link("Traces", "/d/"+TracesUID+"/vigil-traces")).
		Link(link("Logs", "/d/"+LogsUID+"/vigil-logs")).
		Link(link("SLOs", "/d/"+SLOUID+"/vigil-slos"))
	b = redVariables(b)

	b = b.WithRow(dashboard.NewRowBuilder("Services")).
		WithPanel(timeSeries("Request rate", "reqps", thirdWidth, 8).
			Description("Spans per second by service, of the chosen span kinds (server spans by default: the requests each service served). Click a series for its traces and logs.").
			WithTarget(promQuery("A", redRate(labelServiceName, ""), "{{service_name}}")).
			DataLinks(serviceLinks)).
		WithPanel(timeSeries("Error ratio", "percentunit", thirdWidth, 8).
			Description("Share of spans with status Error, by service.").
			Min(0).
			Thresholds(thresholds("green", 0.01, "orange", 0.05, "red")).
			WithTarget(promQuery("A", redErrorRatio(labelServiceName), "{{service_name}}")).
			DataLinks(serviceLinks)).
		WithPanel(timeSeries("Duration p50 / p95 / p99", "ms", thirdWidth, 8).
			Description("Span duration quantiles by service, from the span_metrics histogram.").
			WithTarget(promQuery("A", redQuantile(0.5, labelServiceName), "{{service_name}} p50")).
			WithTarget(promQuery("B", redQuantile(0.95, labelServiceName), "{{service_name}} p95")).
			WithTarget(promQuery("C", redQuantile(0.99, labelServiceName), "{{service_name}} p99")).
			DataLinks(serviceLinks))

	// The anomaly connector watches each operation's RED series under
	// these metric label values, in the span metrics' units (requests per
	// second, milliseconds), so its band overlays the actual series.
	bandOf := func(metric, title, unit, actual string) *timeseries.PanelBuilder {
		sel := fmt.Sprintf(`{%s="%s", %s=~"$service", %s=~"$operation"}`,
			conventions.LabelMetric, metric, conventions.LabelServiceName, anomalyLabelSpanName)
		p := timeSeries(title, unit, halfWidth, 9).
			Description("The actual series against the anomaly detector's expected value and band " +
				"(vigil_anomaly_expected, _lower, _upper). Outside the shaded band is what the detector scores as anomalous. " +
				"The detector watches each operation's spans of every kind together, so the actual line counts every kind, whatever Span kind selects.").
			WithTarget(promQuery("A", actual, "{{"+labelServiceName+"}} {{"+labelSpanName+"}} actual")).
			WithTarget(promQuery("B", conventions.MetricAnomalyExpected+sel, "{{"+conventions.LabelServiceName+"}} {{"+anomalyLabelSpanName+"}} expected")).
			WithTarget(promQuery("C", conventions.MetricAnomalyLower+sel, "{{"+conventions.LabelServiceName+"}} {{"+anomalyLabelSpanName+"}} lower")).
			WithTarget(promQuery("D", conventions.MetricAnomalyUpper+sel, "{{"+conventions.LabelServiceName+"}} {{"+anomalyLabelSpanName+"}} upper")).
			DataLinks([]cog.Builder[dashboard.DashboardLink]{
				dataLink("Anomalies of ${__field.labels."+conventions.LabelServiceName+"}",
					"/d/"+AnomaliesUID+"/vigil-anomalies?var-service=${__field.labels."+conventions.LabelServiceName+"}&${__url_time_range}"),
			})
		return bandOverrides(p, ".* upper$", ".* lower$", ".* expected$")
	}
	by := labelServiceName + ", " + labelSpanName
	b = b.WithRow(dashboard.NewRowBuilder("Anomaly bands")).
		WithPanel(bandOf(anomalyMetricRequestRate, "Request rate against expected band", "reqps",
			fmt.Sprintf(`sum by (%s) (rate(%s[$__rate_interval]))`, by, watchedSelector(metricCalls)))).
		WithPanel(bandOf(anomalyMetricLatencyP95, "p95 duration against expected band", "ms",
			fmt.Sprintf(`histogram_quantile(0.95, sum by (le, %s) (rate(%s[$__rate_interval])))`, by, watchedSelector(metricDurationBucket))))

	opLinks := []cog.Builder[dashboard.DashboardLink]{
		dataLink("Traces of ${__field.labels.span_name}",
			"/d/"+TracesUID+"/vigil-traces?var-service=${__field.labels.service_name}&var-operation=${__field.labels.span_name}&${__url_time_range}"),
		dataLink("Slow traces of ${__field.labels.span_name}",
			"/d/"+TracesUID+"/vigil-traces?var-service=${__field.labels.service_name}&var-operation=${__field.labels.span_name}&var-min_duration_ms=250&${__url_time_range}"),
		dataLink("Logs of ${__field.labels.service_name}", logsURL),
	}
	b = b.WithRow(dashboard.NewRowBuilder("Operations")).
		WithPanel(tablePanel("Operations now", fullWidth, 9).
			Description("Per operation over the last 5 minutes: rate, error ratio and duration quantiles. Click a row for its traces.").
			WithTarget(promInstant("rate", fmt.Sprintf(`sum by (%s) (rate(%s[5m]))`, by, redSelector(metricCalls, "")))).
			WithTarget(promInstant("errors", errorRatio(
				fmt.Sprintf(`sum by (%s) (rate(%s[5m]))`, by, redSelector(metricCalls, labelStatusCode+`="`+statusError+`"`)),
				fmt.Sprintf(`sum by (%s) (rate(%s[5m]))`, by, redSelector(metricCalls, ""))))).
			WithTarget(promInstant("p50", fmt.Sprintf(`histogram_quantile(0.5, sum by (le, %s) (rate(%s[5m])))`, by, redSelector(metricDurationBucket, "")))).
			WithTarget(promInstant("p95", fmt.Sprintf(`histogram_quantile(0.95, sum by (le, %s) (rate(%s[5m])))`, by, redSelector(metricDurationBucket, "")))).
			WithTarget(promInstant("p99", fmt.Sprintf(`histogram_quantile(0.99, sum by (le, %s) (rate(%s[5m])))`, by, redSelector(metricDurationBucket, "")))).
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
			WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]any{"Time": true},
				"renameByName": map[string]any{
					"service_name": "Service", "span_name": "Operation",
					"Value #rate": "Rate (req/s)", "Value #errors": "Error ratio",
					"Value #p50": "p50 (ms)", "Value #p95": "p95 (ms)", "Value #p99": "p99 (ms)",
				},
			}}).
			OverrideByName("Error ratio", []dashboard.DynamicConfigValue{override("unit", "percentunit")}).
			DataLinks(opLinks)).
		WithPanel(timeSeries("Rate by operation", "reqps", thirdWidth, 8).
			WithTarget(promQuery("A", redRate(by, ""), "{{service_name}} {{span_name}}")).
			DataLinks(opLinks)).
		WithPanel(timeSeries("Errors by operation", "reqps", thirdWidth, 8).
			WithTarget(promQuery("A", redRate(by, labelStatusCode+`="`+statusError+`"`), "{{service_name}} {{span_name}}")).
			DataLinks(opLinks)).
		WithPanel(timeSeries("p95 by operation", "ms", thirdWidth, 8).
			WithTarget(promQuery("A", redQuantile(0.95, by), "{{service_name}} {{span_name}}")).
			DataLinks(opLinks))
	return b
}
