package dashboards

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	c "github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/exporter/clickhouseexporter"
	"github.com/vigil-otel/vigil/internal/testutil/chdbtest"
)

// The ClickHouse queries run on the embedded ClickHouse engine (npm chdb,
// installed by scripts/chdb/install.sh) through the ClickHouse exporter's
// runner (internal/testutil/chdbtest), on the schema its migrations create and rows
// its own mapping produces. Without chdb the test fails and names the
// installer.

// Fixture identities the queries are checked against.
const (
	fixtureTraceID = "5b8efff798038103d269b633813fc60c"
	fixtureSpanID  = "eee19b7ec3c1b173"
	childSpanID    = "aaa19b7ec3c1b174"
)

func fixtureTraces(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	add := func(service, name string, kind ptrace.SpanKind, spanID, parent string, start time.Time, d time.Duration, status ptrace.StatusCode) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		var tid pcommon.TraceID
		var sid, pid pcommon.SpanID
		mustHex(tid[:], fixtureTraceID)
		mustHex(sid[:], spanID)
		if parent != "" {
			mustHex(pid[:], parent)
		}
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetParentSpanID(pid)
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
		s.Status().SetCode(status)
		s.Attributes().PutStr("http.route", "/cart")
		s.Attributes().PutInt("http.response.status_code", 500)
	}
	start := now.Add(-10 * time.Minute)
	add("checkout", "GET /cart", ptrace.SpanKindServer, fixtureSpanID, "", start, 420*time.Millisecond, ptrace.StatusCodeError)
	add("payments", "Charge", ptrace.SpanKindServer, childSpanID, fixtureSpanID, start.Add(10*time.Millisecond), 400*time.Millisecond, ptrace.StatusCodeError)
	return td
}

func mustHex(dst []byte, s string) {
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		panic(fmt.Sprintf("bad hex %q: %v", s, err))
	}
}

func fixtureLogs(now time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	var tid pcommon.TraceID
	mustHex(tid[:], fixtureTraceID)
	lr.SetTraceID(tid)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-10 * time.Minute)))
	lr.SetSeverityText("ERROR")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("payment declined")

	// Alert events as the connectors emit them: an SLO page that fired,
	// was sent again every minute and resolved 5 minutes later; the same
	// page firing again (a second episode, still firing, sent again once);
	// an anomaly ticket still firing, sent again once; and a page as the
	// alert router's notifications store it, re-sent with the
	// alert.starts_at that says it started two days ago, before the
	// dashboard's day: no page of the range. And a latency page as the
	// connectors now write it, every event with the alert.starts_at of
	// its episode: it fired an hour ago and its resolve was lost, fired
	// again 40 minutes ago and resolved 5 minutes later, and fires again
	// since 10 minutes ago: three episodes, one resolved after 300s. And
	// two queue tickets across the upgrade that added alert.starts_at:
	// one whose first event was sent without it, its re-send and resolve
	// with it (one episode, resolved after 300s); one whose episode sent
	// without it lost its resolve, and a later episode with it (two
	// episodes, one resolved after 300s).
	alerts := ld.ResourceLogs().AppendEmpty()
	alerts.Resource().Attributes().PutStr("service.name", "vigil")
	records := alerts.ScopeLogs().AppendEmpty().LogRecords()
	event := func(at time.Time, fingerprint, name, state, severity, source, service string, extra map[string]string) {
		r := records.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(at))
		r.Body().SetStr(name + " " + state + " for " + service)
		a := r.Attributes()
		a.PutStr(c.AttrAlertName, name)
		a.PutStr(c.AttrAlertState, state)
		a.PutStr(c.AttrAlertSeverity, severity)
		a.PutStr(c.AttrAlertFingerprint, fingerprint)
		a.PutStr(c.AttrAlertSource, source)
		a.PutStr(c.AttrServiceName, service)
		for k, v := range extra {
			a.PutStr(k, v)
		}
	}
	slo := map[string]string{c.AttrSLOName: "availability", c.AttrSLOBurnRateLong: "20.5", c.AttrAlertTraceIDs: fixtureTraceID}
	for m := 30; m > 25; m-- { // fired at -30m, re-sent at -29m .. -26m
		event(now.Add(-time.Duration(m)*time.Minute), "fp-slo", "checkout-availability", c.StateFiring, c.SeverityPage, c.SourceSLO, "checkout", slo)
	}
	event(now.Add(-25*time.Minute), "fp-slo", "checkout-availability", c.StateResolved, c.SeverityPage, c.SourceSLO, "checkout", slo)
	event(now.Add(-3*time.Minute), "fp-slo", "checkout-availability", c.StateFiring, c.SeverityPage, c.SourceSLO, "checkout", slo)
	event(now.Add(-2*time.Minute), "fp-slo", "checkout-availability", c.StateFiring, c.SeverityPage, c.SourceSLO, "checkout", slo)
	anomaly := map[string]string{
		c.AttrAnomalyMetric: "latency_p95", c.AttrAnomalyActual: "812", c.AttrAnomalyExpected: "120",
		c.AttrAnomalyLower: "80", c.AttrAnomalyUpper: "160", c.AttrAnomalyScore: "0.97",
	}
	event(now.Add(-5*time.Minute), "fp-anomaly", "payments-latency-anomaly", c.StateFiring, c.SeverityTicket, c.SourceAnomaly, "payments", anomaly)
	event(now.Add(-4*time.Minute), "fp-anomaly", "payments-latency-anomaly", c.StateFiring, c.SeverityTicket, c.SourceAnomaly, "payments", anomaly)
	routed := map[string]string{c.AttrSLOName: "grpc-availability", c.AttrAlertStartsAt: now.Add(-48 * time.Hour).Format(time.RFC3339Nano)}
	event(now.Add(-20*time.Minute), "fp-routed", "payments-grpc-availability", c.StateFiring, c.SeverityPage, c.SourceSLO, "payments", routed)
	event(now.Add(-19*time.Minute), "fp-routed", "payments-grpc-availability", c.StateFiring, c.SeverityPage, c.SourceSLO, "payments", routed)
	episode := func(started time.Duration) map[string]string {
		// The spec sets its own severity label: the tier is only in
		// alert.severity.
		return map[string]string{c.AttrSLOName: "latency", c.AttrAlertStartsAt: now.Add(started).Format(time.RFC3339Nano), c.LabelSeverity: "critical"}
	}
	for _, e := range []struct {
		at, started time.Duration
		state       string
	}{
		{-60 * time.Minute, -60 * time.Minute, c.StateFiring}, {-59 * time.Minute, -60 * time.Minute, c.StateFiring},
		{-58 * time.Minute, -60 * time.Minute, c.StateFiring}, // its resolve lost
		{-40 * time.Minute, -40 * time.Minute, c.StateFiring}, {-39 * time.Minute, -40 * time.Minute, c.StateFiring},
		{-35 * time.Minute, -40 * time.Minute, c.StateResolved},
		{-10 * time.Minute, -10 * time.Minute, c.StateFiring}, {-9 * time.Minute, -10 * time.Minute, c.StateFiring},
	} {
		event(now.Add(e.at), "fp-lost", "checkout-latency", e.state, c.SeverityPage, c.SourceSLO, "checkout", episode(e.started))
	}
	upgrade := func(at, started time.Duration, fingerprint, slo, state string) {
		attrs := map[string]string{c.AttrSLOName: slo}
		if started != 0 {
			attrs[c.AttrAlertStartsAt] = now.Add(started).Format(time.RFC3339Nano)
		}
		event(now.Add(at), fingerprint, "payments-"+slo, state, c.SeverityTicket, c.SourceSLO, "payments", attrs)
	}
	upgrade(-50*time.Minute, 0, "fp-upgrade", "queue-latency", c.StateFiring)
	upgrade(-49*time.Minute, -50*time.Minute, "fp-upgrade", "queue-latency", c.StateFiring)
	upgrade(-45*time.Minute, -50*time.Minute, "fp-upgrade", "queue-latency", c.StateResolved)
	upgrade(-70*time.Minute, 0, "fp-upgrade-lost", "queue-errors", c.StateFiring) // its resolve lost
	upgrade(-20*time.Minute, -20*time.Minute, "fp-upgrade-lost", "queue-errors", c.StateFiring)
	upgrade(-15*time.Minute, -20*time.Minute, "fp-upgrade-lost", "queue-errors", c.StateResolved)
	return ld
}

// clickHouseValue substitutes the Grafana ClickHouse data source's
// variables as Grafana formats them for the fixtures.
func clickHouseValue(name, format string) string {
	values := map[string][]string{
		"service":   {"checkout", "payments"},
		"operation": {"GET /cart", "Charge"},
		"status":    {"Error", "Ok", "Unset"},
		"trace_id":  {fixtureTraceID},
		// 100ms: both fixture spans are slower.
		"min_duration_ms": {"100"},
	}
	v, ok := values[name]
	if !ok {
		return "$" + name // left for macro expansion or to fail the query
	}
	if format == "singlequote" {
		quoted := make([]string, len(v))
		for i, s := range v {
			quoted[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
		}
		return strings.Join(quoted, ",")
	}
	return strings.Join(v, ",")
}

// expandMacros replaces the ClickHouse data source's macros the way its
// backend does for a time range from..to.
func expandMacros(sql string, from, to time.Time) string {
	f, tt := from.Unix(), to.Unix()
	sql = macroCall(sql, "$__timeFilter", func(col string) string {
		return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", col, f, col, tt)
	})
	sql = macroCall(sql, "$__timeInterval", func(col string) string {
		return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL 60 second)", col)
	})
	sql = strings.ReplaceAll(sql, "$__fromTime", fmt.Sprintf("toDateTime(%d)", f))
	sql = strings.ReplaceAll(sql, "$__toTime", fmt.Sprintf("toDateTime(%d)", tt))
	return sql
}

// macroCall replaces name(arg) everywhere with expand(arg).
func macroCall(sql, name string, expand func(string) string) string {
	for {
		i := strings.Index(sql, name+"(")
		if i < 0 {
			return sql
		}
		j := strings.Index(sql[i:], ")")
		if j < 0 {
			return sql
		}
		arg := sql[i+len(name)+1 : i+j]
		sql = sql[:i] + expand(strings.TrimSpace(arg)) + sql[i+j+1:]
	}
}

// TestClickHouseQueriesRunOnExporterSchema runs every ClickHouse query of
// the dashboards (panels and variables) on the exporter's schema with rows
// from its own mapping, and checks the key ones find the fixtures.
func TestClickHouseQueriesRunOnExporterSchema(t *testing.T) {
	cfg := clickhouseexporter.NewFactory().CreateDefaultConfig().(*clickhouseexporter.Config)
	if cfg.Database != ClickHouseDatabase {
		t.Fatalf("exporter's default database is %q, dashboards query %q", cfg.Database, ClickHouseDatabase)
	}
	migrations, err := clickhouseexporter.RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var steps []chdbtest.Step
	for _, m := range migrations {
		for _, s := range m.Statements {
			steps = append(steps, chdbtest.Step{SQL: s})
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	logs, alerts := clickhouseexporter.LogsToColumns(fixtureLogs(now))
	for table, cols := range map[string][]clickhouseexporter.Column{
		cfg.TracesTableName: clickhouseexporter.TracesToColumns(fixtureTraces(now)).Columns(),
		cfg.LogsTableName:   logs.Columns(),
		cfg.AlertsTableName: alerts.Columns(),
	} {
		var buf bytes.Buffer
		if err := clickhouseexporter.EncodeJSONEachRow(&buf, cols); err != nil {
			t.Fatal(err)
		}
		data := buf.String()
		steps = append(steps, chdbtest.Step{SQL: "INSERT INTO " + cfg.Database + "." + table + " FORMAT JSONEachRow", Data: &data})
	}
	setup := len(steps)

	queries := queriesOfType(t, ClickHouseType)
	for _, q := range queries {
		sql := expandMacros(substitute(q.text, clickHouseValue), now.Add(-24*time.Hour), now.Add(time.Hour))
		if strings.Contains(sql, "$") {
			t.Errorf("%s: unexpanded variable or macro left in:\n%s", q.where, sql)
		}
		steps = append(steps, chdbtest.Step{SQL: sql})
	}
	results, failedStep := chdbtest.Run(t, steps)
	if failedStep != nil {
		failed, msg := failedStep.Statement, failedStep.Error
		if failed < setup {
			t.Fatalf("schema or fixtures failed at statement %d: %s\n%s", failed, msg, steps[failed].SQL)
		}
		t.Fatalf("%s: %s\nSQL:\n%s", queries[failed-setup].where, msg, steps[failed].SQL)
	}

	// What an engineer would see: each row count the fixtures imply.
	// (Pages per day: one row, or two when the test runs just after
	// midnight and the two episodes fall on two days; the totals are
	// checked below.)
	wantRows := map[string]int{
		"alerts.json: Firing now (A)":                                4, // the anomaly, the page's second episode, the routed page, the latency page's third
		"alerts.json: Time to resolve per episode (A)":               4, // the availability page's first episode, the latency page's second, the queue tickets'
		"alerts.json: Mean time to resolve per service (A)":          2,
		"alerts.json: History (A)":                                   26,
		"alerts.json: variable service":                              2,
		"anomalies.json: Anomaly alerts: actual versus expected (A)": 2,
		"traces.json: Matching spans (A)":                            2,
		"traces.json: Trace ${trace_id} (A)":                         2,
		"traces.json: Logs of the trace (A)":                         1,
		"traces.json: variable service":                              2,
	}
	// Pages and tickets count episodes, not the events that announce and
	// re-send them: the fixtures hold two availability page episodes of
	// the range (seven firing events), three latency page episodes (seven
	// firing events, the first without its resolve: two episodes, not
	// one, by their alert.starts_at, and counted as pages although their
	// spec labels them severity "critical"), one anomaly ticket episode (two) and
	// three queue ticket episodes (four), four of them resolved; the
	// routed page started before the range.
	wantTotals := map[string]map[string]int{
		"alerts.json: Pages per service and day (A)":  {"Pages": 5},
		"alerts.json: Alerts per service and day (A)": {"Pages": 5, "Tickets": 4, "Resolved": 4},
	}
	seen := map[string]bool{}
	for i, q := range queries {
		rows := results[setup+i].Rows
		if want, ok := wantTotals[q.where]; ok {
			seen[q.where] = true
			got := map[string]int{}
			for _, row := range rows {
				var r map[string]any
				if err := json.Unmarshal(row, &r); err != nil {
					t.Fatal(err)
				}
				for col := range want {
					n, err := strconv.Atoi(fmt.Sprint(r[col]))
					if err != nil {
						t.Fatalf("%s: column %s of %s: %v", q.where, col, row, err)
					}
					got[col] += n
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: totals %v, want %v (episodes, not events):\n%s", q.where, got, want, rows)
			}
		}
		want, ok := wantRows[q.where]
		if !ok {
			continue
		}
		seen[q.where] = true
		if len(rows) != want {
			t.Errorf("%s: %d rows, want %d:\n%s", q.where, len(rows), want, rows)
		}
		if q.where == "alerts.json: Time to resolve per episode (A)" || q.where == "alerts.json: Mean time to resolve per service (A)" {
			// Every resolved episode took 5 minutes: the latency page's
			// and the queue tickets' from their alert.starts_at, not from
			// the episodes whose resolve was lost.
			for _, row := range rows {
				var r struct{ SecondsToResolve, MTTR, Longest *float64 }
				if err := json.Unmarshal(row, &r); err != nil {
					t.Fatal(err)
				}
				for _, v := range []*float64{r.SecondsToResolve, r.MTTR, r.Longest} {
					if v != nil && *v != 300 {
						t.Errorf("%s: %s, want 300 seconds", q.where, row)
					}
				}
			}
		}
		if q.where == "alerts.json: Firing now (A)" {
			// The latency page fires since its third episode started.
			want := now.Add(-10 * time.Minute)
			found := false
			for _, row := range rows {
				var r struct{ Fingerprint, Since string }
				if err := json.Unmarshal(row, &r); err != nil {
					t.Fatal(err)
				}
				if r.Fingerprint != "fp-lost" {
					continue
				}
				found = true
				// In the server's time zone, the process's.
				since, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", r.Since, time.Local)
				if err != nil || !since.Equal(want) {
					t.Errorf("firing now: the latency page since %q, want %v", r.Since, want)
				}
			}
			if !found {
				t.Errorf("firing now: no latency page in %s", rows)
			}
		}
		if q.where == "traces.json: Trace ${trace_id} (A)" && len(rows) == 2 {
			var r struct {
				TraceID     string              `json:"traceID"`
				ServiceName string              `json:"serviceName"`
				Duration    float64             `json:"duration"`
				Tags        []map[string]string `json:"tags"`
			}
			if err := json.Unmarshal(rows[0], &r); err != nil {
				t.Fatal(err)
			}
			if r.TraceID != fixtureTraceID || r.ServiceName != "checkout" || r.Duration != 420 || len(r.Tags) != 2 {
				t.Errorf("trace view row = %s", rows[0])
			}
		}
	}
	for where := range wantTotals {
		if !seen[where] {
			t.Errorf("expected query %q not found in the dashboards", where)
		}
	}
	for where := range wantRows {
		if !seen[where] {
			t.Errorf("expected query %q not found in the dashboards", where)
		}
	}
}

func TestMacroExpansion(t *testing.T) {
	from, to := time.Unix(100, 0), time.Unix(200, 0)
	tests := []struct{ in, want string }{
		{"WHERE $__timeFilter(Timestamp)", "WHERE Timestamp >= toDateTime(100) AND Timestamp <= toDateTime(200)"},
		{"SELECT $__timeInterval( T ) AS time", "SELECT toStartOfInterval(toDateTime(T), INTERVAL 60 second) AS time"},
		{"x IN (${service:singlequote})", "x IN ('checkout','payments')"},
		{"'${trace_id}'", "'" + fixtureTraceID + "'"},
	}
	for _, tt := range tests {
		if got := expandMacros(substitute(tt.in, clickHouseValue), from, to); got != tt.want {
			t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
		}
	}
}
