package clickhouseexporter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vigil-otel/vigil/internal/testutil/chdbtest"
)

// The embedded ClickHouse engine (npm package chdb) runs the exporter's SQL
// here, through internal/testutil/chdbtest; without chdb these tests fail, they
// never skip.

type (
	chdbStep   = chdbtest.Step
	chdbResult = chdbtest.Result
)

// chdbRunner returns the runner script, failing the test with the fix when
// node or chdb is missing.
func chdbRunner(t testing.TB) string {
	t.Helper()
	script, _ := chdbtest.Runner(t)
	return script
}

// runChdb runs steps in one fresh chdb session and returns one result per
// step; a failing statement fails the test with its SQL.
func runChdb(t testing.TB, steps []chdbStep) []chdbResult {
	t.Helper()
	results, failed := chdbtest.Run(t, steps)
	if failed != nil {
		t.Fatalf("chdb: statement %d failed: %s\nSQL:\n%s", failed.Statement, failed.Error, steps[failed.Statement].SQL)
	}
	return results
}

// testTable is one table's rows as the exporter maps them.
type testTable struct {
	name string
	cols []Column
}

func fixtureTables(cfg *Config) []testTable {
	spans := TracesToColumns(fixtureTraces())
	logs, alerts := LogsToColumns(fixtureLogs())
	m := MetricsToColumns(fixtureMetrics())
	p := cfg.MetricsTablePrefix
	return []testTable{
		{cfg.TracesTableName, spans.Columns()},
		{cfg.LogsTableName, logs.Columns()},
		{cfg.AlertsTableName, alerts.Columns()},
		{p + "_gauge", m.Gauge.Columns()},
		{p + "_sum", m.Sum.Columns()},
		{p + "_histogram", m.Histogram.Columns()},
		{p + "_exponential_histogram", m.ExpHistogram.Columns()},
		{p + "_summary", m.Summary.Columns()},
	}
}

func schemaSteps(t testing.TB, cfg *Config) []chdbStep {
	t.Helper()
	migrations, err := RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var steps []chdbStep
	for _, m := range migrations {
		for _, s := range m.Statements {
			steps = append(steps, chdbStep{SQL: s})
		}
	}
	return steps
}

// encodeNative encodes cols in ClickHouse's Native format as a batch
// insert does (see nativeBlock). types maps column name to its ClickHouse
// type as DESCRIBE reports it.
func encodeNative(t testing.TB, types map[string]string, cols []Column) []byte {
	t.Helper()
	b, err := nativeBlock(typesOf(types), cols, true)
	if err != nil {
		t.Fatal(err)
	}
	var buf chproto.Buffer
	if err := b.Encode(&buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Buf
}

func jsonEachRow(t testing.TB, cols []Column) string {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodeJSONEachRow(&buf, cols); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func chdbTestConfig(database string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Database = database
	// Long enough for the fixtures' fixed dates to outlive it: ClickHouse
	// drops rows older than the TTL right at insert.
	cfg.TTL = 3650 * 24 * time.Hour
	cfg.AlertsTTL = 3660 * 24 * time.Hour
	return cfg
}

// normalizeJSON decodes JSON into comparable values (numbers as
// json.Number, so 64-bit integers compare exactly).
func normalizeJSON(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad JSON %s: %v", raw, err)
	}
	return v
}

func rowsJSON(rows []json.RawMessage) []byte {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = string(r)
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

// describeTables returns, per table of cfg, column name -> ClickHouse type,
// as the engine created them from the exporter's DDL.
func describeTables(t testing.TB, cfg *Config, tables []testTable) map[string]map[string]string {
	t.Helper()
	steps := schemaSteps(t, cfg)
	first := len(steps)
	for _, tb := range tables {
		steps = append(steps, chdbStep{SQL: fmt.Sprintf("DESCRIBE TABLE %s.%s", quoteIdent(cfg.Database), quoteIdent(tb.name))})
	}
	results := runChdb(t, steps)
	out := map[string]map[string]string{}
	for i, tb := range tables {
		types := map[string]string{}
		for _, row := range results[first+i].Rows {
			var col struct{ Name, Type string }
			if err := json.Unmarshal(row, &col); err != nil {
				t.Fatal(err)
			}
			types[col.Name] = col.Type
		}
		out[tb.name] = types
	}
	return out
}

// TestSchemaInGrafanaLayout checks the columns Grafana's ClickHouse data
// source reads exist with the types it expects, as created by the real
// engine from the exporter's DDL.
func TestSchemaInGrafanaLayout(t *testing.T) {
	cfg := chdbTestConfig("otel")
	tables := fixtureTables(cfg)
	types := describeTables(t, cfg, tables)
	want := map[string]map[string]string{
		"otel_traces": traceColumnTypes,
		"otel_logs": {
			"Timestamp": "DateTime64(9)", "TimestampTime": "DateTime", "TraceId": "String", "SpanId": "String",
			"TraceFlags": "UInt8", "SeverityText": "LowCardinality(String)", "SeverityNumber": "UInt8",
			"ServiceName": "LowCardinality(String)", "Body": "String", "ResourceSchemaUrl": "LowCardinality(String)",
			"ResourceAttributes": "Map(LowCardinality(String), String)", "ScopeSchemaUrl": "LowCardinality(String)",
			"ScopeName": "String", "ScopeVersion": "LowCardinality(String)",
			"ScopeAttributes": "Map(LowCardinality(String), String)", "LogAttributes": "Map(LowCardinality(String), String)",
		},
		"otel_metrics_sum": {
			"ServiceName": "LowCardinality(String)", "MetricName": "String", "Attributes": "Map(LowCardinality(String), String)",
			"StartTimeUnix": "DateTime64(9)", "TimeUnix": "DateTime64(9)", "Value": "Float64",
			"AggregationTemporality": "Int32", "IsMonotonic": "Bool",
		},
		"otel_metrics_histogram": {
			"Count": "UInt64", "Sum": "Float64", "BucketCounts": "Array(UInt64)", "ExplicitBounds": "Array(Float64)",
		},
		"otel_metrics_summary": {
			"ValueAtQuantiles.Quantile": "Array(Float64)", "ValueAtQuantiles.Value": "Array(Float64)",
		},
		"vigil_alerts": {
			"Timestamp": "DateTime64(9)", "Fingerprint": "String", "AlertName": "LowCardinality(String)",
			"State": "LowCardinality(String)", "Severity": "LowCardinality(String)", "Source": "LowCardinality(String)",
			"ServiceName": "LowCardinality(String)", "SLOName": "LowCardinality(String)",
			"Attributes": "Map(LowCardinality(String), String)", "Body": "String",
		},
	}
	for table, cols := range want {
		for name, typ := range cols {
			if got := types[table][name]; got != typ {
				t.Errorf("%s.%s has type %q, want %q", table, name, got, typ)
			}
		}
	}
	// Every column the mapping produces exists in its table (and inserts
	// name their columns, so a table may have more).
	for _, tb := range tables {
		for _, c := range tb.cols {
			if _, ok := types[tb.name][c.Name]; !ok {
				t.Errorf("mapping produces %s.%s, which the DDL does not create", tb.name, c.Name)
			}
		}
	}
}

// chdbQuery is a query the README or the dashboards run, and its exact
// result as JSONEachRow rows (order-insensitive within a row).
type chdbQuery struct {
	name string
	sql  string // {db} is replaced by the database
	want string // JSON array of rows
}

// TestSchemaAndQueriesOnChdb creates the schema with the exporter's own
// migrations (twice: they must be idempotent), loads the fixtures' rows
// through both encodings the exporter has (JSONEachRow, and Native from
// clickhouse-go's column encoders, into a second database) and checks every
// documented query returns exactly the expected rows from both.
func TestSchemaAndQueriesOnChdb(t *testing.T) {
	jsonCfg := chdbTestConfig("otel")
	nativeCfg := chdbTestConfig("otel_native")
	tables := fixtureTables(jsonCfg)
	types := describeTables(t, nativeCfg, tables)

	var steps []chdbStep
	for _, cfg := range []*Config{jsonCfg, nativeCfg} {
		steps = append(steps, schemaSteps(t, cfg)...)
		steps = append(steps, schemaSteps(t, cfg)...) // idempotent re-run
	}
	dir := t.TempDir()
	for _, tb := range tables {
		data := jsonEachRow(t, tb.cols)
		steps = append(steps, chdbStep{
			SQL:  fmt.Sprintf("INSERT INTO %s.%s FORMAT JSONEachRow", quoteIdent(jsonCfg.Database), quoteIdent(tb.name)),
			Data: &data,
		})
		file := filepath.Join(dir, tb.name+".native")
		if err := os.WriteFile(file, encodeNative(t, types[tb.name], tb.cols), 0o600); err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(tb.cols))
		for i, c := range tb.cols {
			names[i] = quoteIdent(c.Name)
		}
		steps = append(steps, chdbStep{SQL: fmt.Sprintf("INSERT INTO %s.%s (%s) SELECT * FROM file('%s', 'Native')",
			quoteIdent(nativeCfg.Database), quoteIdent(tb.name), strings.Join(names, ", "), file)})
	}
	queries := readmeQueries()
	first := len(steps)
	for _, db := range []string{jsonCfg.Database, nativeCfg.Database} {
		for _, q := range queries {
			steps = append(steps, chdbStep{SQL: strings.ReplaceAll(q.sql, "{db}", db)})
		}
	}
	results := runChdb(t, steps)
	for d, db := range []string{jsonCfg.Database, nativeCfg.Database} {
		for i, q := range queries {
			t.Run(db+"/"+q.name, func(t *testing.T) {
				got := results[first+d*len(queries)+i].Rows
				gotV := normalizeJSON(t, rowsJSON(got))
				wantV := normalizeJSON(t, []byte(q.want))
				if !reflect.DeepEqual(gotV, wantV) {
					t.Errorf("query:\n%s\ngot:  %s\nwant: %s", q.sql, rowsJSON(got), q.want)
				}
			})
		}
	}
}

var errChdbMissing = errors.New("chdb missing")

// TestChdbMissingFailsWithInstructions makes sure a machine without chdb
// fails with the install script's name rather than skipping.
func TestChdbMissingFailsWithInstructions(t *testing.T) {
	t.Setenv("VIGIL_CHDB_DIR", t.TempDir())
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != errChdbMissing {
				panic(r)
			}
		}()
		chdbRunner(ft)
	}()
	if !strings.Contains(ft.msg, "scripts/chdb/install.sh") {
		t.Fatalf("missing chdb reported as %q, want a message naming scripts/chdb/install.sh", ft.msg)
	}
}

// fatalRecorder captures Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(errChdbMissing)
}

// traceColumnTypes are otel_traces' columns and types as Grafana's trace
// view reads them; TestSchemaInGrafanaLayout checks the DDL creates exactly
// these, and the native-encoding benchmark uses them.
var traceColumnTypes = map[string]string{
	"Timestamp": "DateTime64(9)", "TraceId": "String", "SpanId": "String", "ParentSpanId": "String",
	"TraceState": "String", "SpanName": "LowCardinality(String)", "SpanKind": "LowCardinality(String)",
	"ServiceName": "LowCardinality(String)", "ResourceAttributes": "Map(LowCardinality(String), String)",
	"ScopeName": "String", "ScopeVersion": "String", "SpanAttributes": "Map(LowCardinality(String), String)",
	"Duration": "UInt64", "StatusCode": "LowCardinality(String)", "StatusMessage": "String",
	"Events.Timestamp": "Array(DateTime64(9))", "Events.Name": "Array(LowCardinality(String))",
	"Events.Attributes": "Array(Map(LowCardinality(String), String))",
	"Links.TraceId":     "Array(String)", "Links.SpanId": "Array(String)", "Links.TraceState": "Array(String)",
	"Links.Attributes": "Array(Map(LowCardinality(String), String))",
}

// TestTTLDropsExpiredData: with a one-day TTL, rows older than a day are
// gone while fresh rows stay.
func TestTTLDropsExpiredData(t *testing.T) {
	cfg := chdbTestConfig("otel")
	cfg.TTL = 24 * time.Hour
	if time.Since(t0) < 48*time.Hour {
		t.Fatalf("the fixtures' time %s must be older than twice the TTL for this test", t0)
	}
	old := TracesToColumns(fixtureTraces())
	fresh := genTraces(4)
	now := time.Now()
	spans := fresh.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		spans.At(i).SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	}
	steps := schemaSteps(t, cfg)
	for _, cols := range [][]Column{old.Columns(), TracesToColumns(fresh).Columns()} {
		data := jsonEachRow(t, cols)
		steps = append(steps, chdbStep{SQL: "INSERT INTO otel.otel_traces FORMAT JSONEachRow", Data: &data})
	}
	steps = append(steps, chdbStep{SQL: "OPTIMIZE TABLE otel.otel_traces FINAL"},
		chdbStep{SQL: "SELECT ServiceName, count() AS Spans FROM otel.otel_traces GROUP BY ServiceName"})
	results := runChdb(t, steps)
	got := string(rowsJSON(results[len(results)-1].Rows))
	if want := `[{"ServiceName":"bench","Spans":4}]`; got != want {
		t.Errorf("rows after TTL = %s, want only the fresh ones %s", got, want)
	}
}

// TestRunnerSQLMode: operators can pipe the rendered migrations, as SQL
// text, through scripts/chdb/run.js.
func TestRunnerSQLMode(t *testing.T) {
	runner := chdbRunner(t)
	ms, err := RenderMigrations(chdbTestConfig("otel"))
	if err != nil {
		t.Fatal(err)
	}
	var sql strings.Builder
	n := 0
	for _, m := range ms {
		for _, s := range m.Statements {
			sql.WriteString(s + ";\n")
			n++
		}
	}
	sql.WriteString("SELECT count() AS tables FROM system.tables WHERE database = 'otel';\n")
	file := filepath.Join(t.TempDir(), "schema.sql")
	if err := os.WriteFile(file, []byte(sql.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", runner, file)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run.js: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n+1 {
		t.Fatalf("run.js ran %d statements, want %d", len(lines), n+1)
	}
	if last := lines[n]; last != fmt.Sprintf(`{"statement":%d,"rows":[{"tables":11}]}`, n) {
		t.Errorf("last result = %s, want 11 tables", last)
	}
}

// TestClusterDDLParses: no cluster (nor keeper) runs here, but the engine's
// own parser checks every cluster-mode statement (formatQuery parses without
// executing).
func TestClusterDDLParses(t *testing.T) {
	cfg := chdbTestConfig("otel")
	cfg.ClusterName = "prod"
	ms, err := RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stmts := allStatements(ms)
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	steps := make([]chdbStep, len(stmts))
	for i, s := range stmts {
		steps[i] = chdbStep{SQL: "SELECT formatQuery('" + quote.Replace(s) + "') AS q"}
	}
	results := runChdb(t, steps)
	for i, r := range results {
		var row struct{ Q string }
		if len(r.Rows) != 1 || json.Unmarshal(r.Rows[0], &row) != nil || !strings.Contains(row.Q, "ON CLUSTER prod") {
			t.Errorf("statement %d did not parse to an ON CLUSTER statement: %s\n%s", i, rowsJSON(r.Rows), stmts[i])
		}
	}
}
