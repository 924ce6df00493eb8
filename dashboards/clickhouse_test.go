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
	// dashboard's day: no page of the range.
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
		"alerts.json: Firing now (A)":                                3, // the anomaly, the page's second episode, the routed page
		"alerts.json: Time to resolve per episode (A)":               1,
		"alerts.json: Mean time to resolve per service (A)":          1,
		"alerts.json: History (A)":                                   12,
		"alerts.json: variable service":                              2,
		"anomalies.json: Anomaly alerts: actual versus expected (A)": 2,
		"traces.json: Matching spans (A)":                            2,
		"traces.json: Trace ${trace_id} (A)":                         2,
		"traces.json: Logs of the trace (A)":                         1,
		"traces.json: variable service":                              2,
	}
	// Pages and tickets count episodes, not the events that announce and
	// re-send them: the fixtures hold two page episodes of the range (seven
	// firing events) and one ticket episode (two), one of them resolved;
	// the routed page started before the range.
	wantTotals := map[string]map[string]int{
		"alerts.json: Pages per service and day (A)":  {"Pages": 2},
		"alerts.json: Alerts per service and day (A)": {"Pages": 2, "Tickets": 1, "Resolved": 1},
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
		if q.where == "alerts.json: Time to resolve per episode (A)" && len(rows) == 1 {
			var r struct{ SecondsToResolve int64 }
			if err := json.Unmarshal(rows[0], &r); err != nil || r.SecondsToResolve != 300 {
				t.Errorf("time to resolve = %s, want 300 seconds", rows[0])
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
