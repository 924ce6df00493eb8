package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The trace queries, on the ClickHouse exporter's otel_traces layout.
// Durations are stored in nanoseconds; the dashboard filters and shows
// milliseconds.
const (
	sqlTraceServices   = `SELECT DISTINCT ServiceName FROM otel.otel_traces WHERE $__timeFilter(Timestamp) ORDER BY ServiceName`
	sqlTraceOperations = `SELECT DISTINCT SpanName FROM otel.otel_traces WHERE $__timeFilter(Timestamp) AND ServiceName IN (${service:singlequote}) ORDER BY SpanName`

	// traceSearchWhere is the search shared by the panels: services,
	// operations, minimum duration and status.
	traceSearchWhere = `$__timeFilter(Timestamp)
  AND ServiceName IN (${service:singlequote})
  AND SpanName IN (${operation:singlequote})
  AND Duration >= toUInt64(toFloat64OrZero('${min_duration_ms}') * 1000000)
  AND StatusCode IN (${status:singlequote})`

	sqlTraceSearch = `SELECT Timestamp, TraceId, ServiceName, SpanName, SpanKind, Duration / 1000000 AS DurationMs, StatusCode, StatusMessage
FROM otel.otel_traces
WHERE ` + traceSearchWhere + `
ORDER BY Timestamp DESC
LIMIT 200`

	sqlTraceDurations = `SELECT $__timeInterval(Timestamp) AS time, ServiceName,
  quantile(0.95)(Duration) / 1000000 AS p95_ms
FROM otel.otel_traces
WHERE ` + traceSearchWhere + `
GROUP BY time, ServiceName
ORDER BY time`

	sqlTraceErrors = `SELECT $__timeInterval(Timestamp) AS time, ServiceName, countIf(StatusCode = 'Error') AS errors
FROM otel.otel_traces
WHERE $__timeFilter(Timestamp) AND ServiceName IN (${service:singlequote}) AND SpanName IN (${operation:singlequote})
GROUP BY time, ServiceName
ORDER BY time`

	// sqlTraceView returns one trace's spans in the column names Grafana's
	// trace view reads (traceID, spanID, parentSpanID, serviceName,
	// operationName, startTime and duration in ms, tags and serviceTags as
	// key/value lists). The trace_id_ts lookup bounds the scan to the
	// trace's own time span.
	sqlTraceView = `WITH
  '${trace_id}' AS trace_id,
  (SELECT min(Start) FROM otel.otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_start,
  (SELECT max(End) + 1 FROM otel.otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_end
SELECT TraceId AS traceID, SpanId AS spanID, ParentSpanId AS parentSpanID,
  ServiceName AS serviceName, SpanName AS operationName,
  toUnixTimestamp64Milli(Timestamp) AS startTime, Duration / 1000000 AS duration,
  arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags,
  arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes)) AS serviceTags,
  if(StatusCode = 'Error', 2, if(StatusCode = 'Ok', 1, 0)) AS statusCode, StatusMessage AS statusMessage,
  lower(SpanKind) AS kind
FROM otel.otel_traces
WHERE TraceId = trace_id AND Timestamp >= trace_start AND Timestamp <= trace_end
ORDER BY Timestamp
LIMIT 10000`

	sqlTraceLogs = `SELECT Timestamp, ServiceName, SeverityText, Body, SpanId
FROM otel.otel_logs
WHERE TraceId = '${trace_id}' AND $__timeFilter(Timestamp)
ORDER BY Timestamp
LIMIT 1000`
)

// Traces searches spans in ClickHouse by service, operation, duration and
// status, and shows one trace in Grafana's trace view with its logs.
func Traces() *dashboard.DashboardBuilder {
	thisTrace := "/d/" + TracesUID + "/vigil-traces?var-trace_id=${__value.raw}&${__url_time_range}&var-service=${service:queryparam}"
	b := newDashboard(TracesUID, "Vigil / Traces",
		"Search spans in ClickHouse by service, operation, duration and status; click a trace ID to open the trace and its logs.").
		Link(link("Logs", "/d/"+LogsUID+"/vigil-logs")).
		Link(link("Service overview", "/d/"+ServiceOverviewUID+"/vigil-service-overview")).
		WithVariable(chVariable("service", "Service", sqlTraceServices)).
		WithVariable(chVariable("operation", "Operation", sqlTraceOperations)).
		WithVariable(dashboard.NewTextBoxVariableBuilder("min_duration_ms").
			Label("Min duration (ms)").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("0")}).
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("0")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("0")},
			})).
		WithVariable(dashboard.NewCustomVariableBuilder("status").
			Label("Status").
			Values(dashboard.StringOrMap{String: cog.ToPtr("Error,Ok,Unset")}).
			Multi(true).
			IncludeAll(true)).
		WithVariable(dashboard.NewTextBoxVariableBuilder("trace_id").
			Label("Trace ID").
			Description("32 hex digits; set by clicking a trace ID."))

	b = b.WithPanel(timeSeries("p95 duration of matching spans", "ms", halfWidth, 8).
		WithTarget(chTimeSeries("A", sqlTraceDurations))).
		WithPanel(timeSeries("Error spans", "short", halfWidth, 8).
			DrawStyle(common.GraphDrawStyleBars).
			FillOpacity(80).
			WithTarget(chTimeSeries("A", sqlTraceErrors))).
		WithPanel(tablePanel("Matching spans", fullWidth, 11).
			Description("Newest 200 spans matching the search. Click a trace ID to open the trace below.").
			WithTarget(chTable("A", sqlTraceSearch)).
			OverrideByName("TraceId", []dashboard.DynamicConfigValue{
				override("links", []map[string]any{{"title": "Open trace ${__value.raw}", "url": thisTrace}}),
			}).
			OverrideByName("DurationMs", []dashboard.DynamicConfigValue{override("unit", "ms"), override("displayName", "Duration")}).
			OverrideByName("StatusCode", []dashboard.DynamicConfigValue{
				override("mappings", valueMap([3]string{"Error", "Error", "red"}, [3]string{"Ok", "Ok", "green"})),
				override("custom.cellOptions", map[string]any{"type": "color-text"}),
			}))

	b = b.WithRow(dashboard.NewRowBuilder("Trace ${trace_id}")).
		WithPanel(dashboard.NewPanelBuilder().
			Type("traces").
			Title("Trace ${trace_id}").
			Span(fullWidth).Height(16).
			Datasource(clickHouseRef).
			WithTarget(chTrace("A", sqlTraceView))).
		WithPanel(tablePanel("Logs of the trace", fullWidth, 8).
			Description("Log records stored with this trace ID (ClickHouse otel_logs).").
			WithTarget(chTable("A", sqlTraceLogs)))
	return b
}
