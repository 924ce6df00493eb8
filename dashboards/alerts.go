package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	c "github.com/vigil-otel/vigil/conventions"
)

// chVariable is a dashboard variable filled by a ClickHouse query whose
// first column holds the values.
func chVariable(name, label, sql string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(clickHouseRef).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"refId":      "variable-" + name,
			"editorType": "sql",
			"queryType":  chQueryTable,
			"format":     chFormatTable,
			"rawSql":     sql,
		}}).
		Definition(sql).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true)
}

// The alert history queries. They follow the ClickHouse exporter's README
// (which its own tests run); here every one is limited to the dashboard's
// time range and services, and episodes are told apart by their
// alert.starts_at too (see sqlEpisodeRows). ${service:singlequote} expands to the selected
// services as quoted SQL strings.
const (
	sqlAlertServices = `SELECT DISTINCT ServiceName FROM otel.vigil_alerts WHERE $__timeFilter(Timestamp) ORDER BY ServiceName`

	// A firing alert fires since its latest event's alert.starts_at, or
	// (events written before the attribute) its first event of the last
	// 30 days.
	sqlAlertsFiringNow = `SELECT Fingerprint, argMax(AlertName, Timestamp) AS AlertName, argMax(ServiceName, Timestamp) AS Service,
  argMax(Severity, Timestamp) AS Severity, argMax(Source, Timestamp) AS Source,
  ifNull(parseDateTime64BestEffortOrNull(argMax(Attributes['` + c.AttrAlertStartsAt + `'], Timestamp), 9), min(Timestamp)) AS Since,
  argMax(State, Timestamp) AS LastState, argMax(Body, Timestamp) AS Summary,
  argMax(Attributes['alert.runbook_url'], Timestamp) AS Runbook
FROM otel.vigil_alerts
WHERE Timestamp >= now() - INTERVAL 30 DAY AND ServiceName IN (${service:singlequote})
GROUP BY Fingerprint
HAVING LastState = 'firing'
ORDER BY Since`

	// Pages and tickets are counted in episodes, not events.
	sqlPagesPerDay = `SELECT toStartOfDay(FiredAt) AS time, ServiceName, count() AS Pages
FROM (
  ` + sqlAlertEpisodes + `
)
WHERE Tier = '` + c.SeverityPage + `'
GROUP BY time, ServiceName
ORDER BY time`

	sqlAlertsPerServiceDay = `SELECT toDate(FiredAt) AS Day, ServiceName,
  countIf(Tier = '` + c.SeverityPage + `') AS Pages,
  countIf(Tier = '` + c.SeverityTicket + `') AS Tickets,
  countIf(ResolvedAt > toDateTime64(0, 9)) AS Resolved
FROM (
  ` + sqlAlertEpisodes + `
)
GROUP BY Day, ServiceName
ORDER BY Day DESC, ServiceName`

	sqlTimeToResolve = sqlResolvedEpisodes + `
ORDER BY FiredAt DESC`

	sqlMTTR = `SELECT ServiceName, count() AS Episodes, avg(SecondsToResolve) AS MTTR, max(SecondsToResolve) AS Longest
FROM (
  ` + sqlResolvedEpisodes + `
)
GROUP BY ServiceName
ORDER BY ServiceName`

	sqlAlertHistory = `SELECT Timestamp, State, Severity, Source, ServiceName, AlertName, SLOName, Body,
  TraceId, Attributes['alert.trace_ids'] AS TraceIds, Attributes['alert.dashboard_url'] AS Dashboard, Fingerprint
FROM otel.vigil_alerts
WHERE $__timeFilter(Timestamp) AND ServiceName IN (${service:singlequote})
ORDER BY Timestamp DESC
LIMIT 1000`
)

// The episodes of the alert history. A firing alert is sent again every
// minute (alert_resend_interval, resend_interval), each time a row of its
// own, so rows are not alerts: an episode is a fingerprint's firing events
// of one start, their alert.starts_at (every event of the connectors and
// the alert router says when its alert started). Events without one
// (written before the attribute) are an episode up to the first resolve
// after them (the ASOF JOIN), as they always were, and start at their
// first event, or at the start that resolve gives when it started no
// later than they were sent. The resolve that ends an episode is the
// first after its events whose alert.starts_at is the episode's (or that
// has none): a resolve of a later episode does not end one whose resolve
// was lost, which stays unresolved instead of becoming a part of it.
const (
	// sqlTier is a row's tier, page or ticket (alert.severity). The
	// Severity column holds the alert's severity label, which is the
	// spec's own where it sets one (severity: critical), the tier only
	// where it does not.
	sqlTier = `Attributes['` + c.AttrAlertSeverity + `']`

	// sqlEpisodeStart is a row's alert.starts_at, NULL without one.
	sqlEpisodeStart = `parseDateTime64BestEffortOrNull(Attributes['` + c.AttrAlertStartsAt + `'], 9)`

	// sqlEpisodeRows + a condition + sqlEpisodeRowsEnd is the firing
	// events of vigil_alerts that meet the condition, each with what
	// places it in its episode: StartedAt, its alert.starts_at, else that
	// of the first resolve after it if that one started no later than the
	// event was sent, else NULL; NextResolve, that resolve's time (zero
	// without one); EndedAt, NextResolve if that resolve ends the event's
	// episode, else zero.
	sqlEpisodeRows = `SELECT f.Fingerprint AS Fingerprint, f.AlertName AS AlertName, f.ServiceName AS ServiceName, f.Severity AS Severity, f.Tier AS Tier,
      f.Timestamp AS Timestamp, coalesce(f.StartsAt, if(r.StartsAt <= f.Timestamp, r.StartsAt, NULL)) AS StartedAt,
      r.Timestamp AS NextResolve,
      if(r.Timestamp > toDateTime64(0, 9) AND (isNull(r.StartsAt) OR ifNull(r.StartsAt = StartedAt, 0)), r.Timestamp, toDateTime64(0, 9)) AS EndedAt
    FROM (SELECT Fingerprint, AlertName, ServiceName, Severity, ` + sqlTier + ` AS Tier, Timestamp, ` + sqlEpisodeStart + ` AS StartsAt
          FROM otel.vigil_alerts
          WHERE State = 'firing' AND `
	sqlEpisodeRowsEnd = `) AS f
    ASOF LEFT JOIN (SELECT Fingerprint, Timestamp, ` + sqlEpisodeStart + ` AS StartsAt
          FROM otel.vigil_alerts WHERE State = 'resolved') AS r
      ON f.Fingerprint = r.Fingerprint AND f.Timestamp <= r.Timestamp`

	// sqlEpisodeGroup groups the rows of sqlEpisodeRows (as e) by episode.
	sqlEpisodeGroup = `GROUP BY e.Fingerprint, isNull(e.StartedAt), ifNull(e.StartedAt, e.NextResolve)`

	// sqlAlertEpisodes is every alert episode that started in the time
	// range: Fingerprint, ServiceName, Severity, Tier, FiredAt, ResolvedAt (the
	// zero time while it fires, or when its resolve was lost). Episodes
	// are looked for from 30 days before the range, so one that started
	// before it is not counted again on the day of a later re-send.
	sqlAlertEpisodes = `SELECT e.Fingerprint AS Fingerprint, any(e.ServiceName) AS ServiceName, any(e.Severity) AS Severity, any(e.Tier) AS Tier,
    min(ifNull(e.StartedAt, e.Timestamp)) AS FiredAt, max(e.EndedAt) AS ResolvedAt
  FROM (` + sqlEpisodeRows + `Timestamp >= $__fromTime - INTERVAL 30 DAY AND Timestamp <= $__toTime
          AND ServiceName IN (${service:singlequote})` + sqlEpisodeRowsEnd + `) AS e
  ` + sqlEpisodeGroup + `
  HAVING $__timeFilter(FiredAt)`

	// sqlResolvedEpisodes is every resolved episode with events in the
	// time range, with its time to resolve (from its start).
	sqlResolvedEpisodes = `SELECT e.Fingerprint AS Fingerprint, any(e.AlertName) AS AlertName, any(e.ServiceName) AS ServiceName,
  any(e.Severity) AS Severity, min(ifNull(e.StartedAt, e.Timestamp)) AS FiredAt, max(e.EndedAt) AS ResolvedAt,
  dateDiff('second', FiredAt, ResolvedAt) AS SecondsToResolve
FROM (` + sqlEpisodeRows + `$__timeFilter(Timestamp) AND ServiceName IN (${service:singlequote})` + sqlEpisodeRowsEnd + `) AS e
` + sqlEpisodeGroup + `
HAVING ResolvedAt > toDateTime64(0, 9)`
)

// Alerts is the alert history from ClickHouse: what fires now, pages per
// service and day, time to resolve, and every event with its summary and
// trace.
func Alerts() *dashboard.DashboardBuilder {
	b := newDashboard(AlertsUID, "Vigil / Alerts",
		"Alert history from ClickHouse (vigil_alerts): every firing and resolved event Vigil routed, pages per service and day, time to resolve.").
		Time("now-7d", "now").
		Link(link("SLOs", "/d/"+SLOUID+"/vigil-slos")).
		Link(link("Anomalies", "/d/"+AnomaliesUID+"/vigil-anomalies")).
		WithVariable(chVariable("service", "Service", sqlAlertServices))

	b = b.WithPanel(tablePanel("Firing now", fullWidth, 7).
		Description("Alerts whose latest event is 'firing', from the last 30 days of history, since when they fire (the start their events say).").
		WithTarget(chTable("A", sqlAlertsFiringNow)).
		OverrideByName("Runbook", []dashboard.DynamicConfigValue{
			override("links", []map[string]any{{"title": "Runbook", "url": "${__value.raw}", "targetBlank": true}}),
		})).
		WithPanel(timeSeries("Pages per service and day", "short", halfWidth, 9).
			Description("Page episodes by the day they started: an alert that fires for an hour, sent again every minute, is one page.").
			DrawStyle(common.GraphDrawStyleBars).
			FillOpacity(80).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			WithTarget(chTimeSeries("A", sqlPagesPerDay))).
		WithPanel(tablePanel("Alerts per service and day", halfWidth, 9).
			Description("Page and ticket episodes by the day they started, and how many of them have resolved.").
			WithTarget(chTable("A", sqlAlertsPerServiceDay))).
		WithPanel(tablePanel("Mean time to resolve per service", halfWidth, 8).
			WithTarget(chTable("A", sqlMTTR)).
			OverrideByRegexp("MTTR|Longest", []dashboard.DynamicConfigValue{override("unit", "s")})).
		WithPanel(tablePanel("Time to resolve per episode", halfWidth, 8).
			WithTarget(chTable("A", sqlTimeToResolve)).
			OverrideByName("SecondsToResolve", []dashboard.DynamicConfigValue{
				override("unit", "s"),
				override("displayName", "Time to resolve"),
			})).
		WithPanel(tablePanel("History", fullWidth, 12).
			Description("Every alert event, newest first. Click a trace ID for the trace that explains it.").
			WithTarget(chTable("A", sqlAlertHistory)).
			OverrideByName("TraceId", []dashboard.DynamicConfigValue{
				override("links", []map[string]any{{"title": "Trace ${__value.raw}", "url": "/d/" + TracesUID + "/vigil-traces?var-trace_id=${__value.raw}&${__url_time_range}"}}),
			}).
			OverrideByName("State", []dashboard.DynamicConfigValue{
				override("mappings", valueMap([3]string{"firing", "firing", "red"}, [3]string{"resolved", "resolved", "green"})),
				override("custom.cellOptions", map[string]any{"type": "color-text"}),
			}).
			OverrideByName("Dashboard", []dashboard.DynamicConfigValue{
				override("links", []map[string]any{{"title": "Open", "url": "${__value.raw}"}}),
			}))
	return b
}
