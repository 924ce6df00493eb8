package clickhouseexporter

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTTLClause(t *testing.T) {
	tests := []struct {
		ttl  time.Duration
		want string
	}{
		{0, ""},
		{72 * time.Hour, "TTL toDateTime(Timestamp) + toIntervalDay(3)"},
		{36 * time.Hour, "TTL toDateTime(Timestamp) + toIntervalHour(36)"},
		{90 * time.Minute, "TTL toDateTime(Timestamp) + toIntervalMinute(90)"},
		{61 * time.Second, "TTL toDateTime(Timestamp) + toIntervalSecond(61)"},
	}
	for _, tt := range tests {
		if got := ttlClause("toDateTime(Timestamp)", tt.ttl); got != tt.want {
			t.Errorf("ttlClause(%s) = %q, want %q", tt.ttl, got, tt.want)
		}
	}
}

func allStatements(ms []Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Statements...)
	}
	return out
}

func TestRenderMigrationsSingleNode(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	ms, err := RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, m := range ms {
		versions = append(versions, m.Version)
	}
	if len(versions) != 5 || versions[0] != 0 || versions[1] != 1 || versions[4] != 4 {
		t.Fatalf("versions = %v, want [0 1 2 3 4]", versions)
	}
	for _, s := range allStatements(ms) {
		if strings.Contains(s, "ON CLUSTER") || strings.Contains(s, "Replicated") || strings.Contains(s, "Distributed") {
			t.Errorf("single-node statement uses cluster features:\n%s", s)
		}
		if strings.Contains(s, "{{") || strings.Contains(s, "<no value>") {
			t.Errorf("unrendered template in:\n%s", s)
		}
		if strings.Contains(s, "TTL ") {
			t.Errorf("no TTL configured, yet:\n%s", s)
		}
	}
}

func TestRenderMigrationsCluster(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClusterName = "prod"
	cfg.TTL = 24 * time.Hour
	ms, err := RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stmts := allStatements(ms)
	created := regexp.MustCompile("^CREATE (?:TABLE|DATABASE|MATERIALIZED VIEW) IF NOT EXISTS (\\S+) ON CLUSTER `prod`")
	distributed := map[string]bool{}
	for _, s := range stmts {
		m := created.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("statement not ON CLUSTER `prod`:\n%s", s)
			continue
		}
		if strings.Contains(s, "ENGINE = Distributed(") {
			distributed[m[1]] = true
			continue
		}
		if strings.Contains(s, "ENGINE = MergeTree") || strings.Contains(s, "ENGINE = ReplacingMergeTree") {
			t.Errorf("cluster table not replicated:\n%s", s)
		}
	}
	// Grafana reads the configured names: each is a Distributed table over
	// its _local replicated table.
	for _, table := range []string{"otel_traces", "otel_traces_trace_id_ts", "otel_logs", "otel_metrics_gauge", "otel_metrics_sum",
		"otel_metrics_histogram", "otel_metrics_exponential_histogram", "otel_metrics_summary", "vigil_alerts"} {
		if !distributed["`otel`.`"+table+"`"] {
			t.Errorf("no Distributed table %s", table)
		}
	}
	want := "CREATE TABLE IF NOT EXISTS `otel`.`otel_traces` ON CLUSTER `prod` AS `otel`.`otel_traces_local`\nENGINE = Distributed('prod', 'otel', 'otel_traces_local', rand())"
	if !contains(stmts, want) {
		t.Errorf("missing statement:\n%s", want)
	}
	mv := "CREATE MATERIALIZED VIEW IF NOT EXISTS `otel`.`otel_traces_trace_id_ts_mv_local` ON CLUSTER `prod`\nTO `otel`.`otel_traces_trace_id_ts_local`"
	found := false
	for _, s := range stmts {
		if strings.HasPrefix(s, mv) && strings.Contains(s, "FROM `otel`.`otel_traces_local`") {
			found = true
		}
	}
	if !found {
		t.Error("the trace-id view must read and write the local tables in cluster mode")
	}
	if !containsSubstring(stmts, "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')") {
		t.Error("no ReplicatedMergeTree with shard/replica macros")
	}
	if !containsSubstring(stmts, "TTL toDateTime(Timestamp) + toIntervalDay(1)") {
		t.Error("TTL missing in cluster mode")
	}
}

func contains(ss []string, want string) bool {
	for _, s := range ss {
		if s == want {
			return true
		}
	}
	return false
}

func containsSubstring(ss []string, want string) bool {
	for _, s := range ss {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// TestMigrationsOnlyAdd guards the upgrade contract: no migration drops,
// renames or retypes anything Grafana or older exporters read.
func TestMigrationsOnlyAdd(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClusterName = "c"
	ms, err := RenderMigrations(cfg)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`(?i)\b(DROP|RENAME|TRUNCATE|DELETE|MODIFY\s+COLUMN|CLEAR\s+COLUMN|REPLACE)\b`)
	for _, m := range ms {
		for _, s := range m.Statements {
			if loc := forbidden.FindString(s); loc != "" {
				t.Errorf("migration %04d_%s contains %q:\n%s", m.Version, m.Name, loc, s)
			}
			if !strings.Contains(s, "IF NOT EXISTS") {
				t.Errorf("migration %04d_%s statement is not idempotent:\n%s", m.Version, m.Name, s)
			}
		}
	}
}

func TestRenderMigrationsRejectsBadIdentifiers(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Database = "otel`; DROP DATABASE x; --" },
		func(c *Config) { c.TracesTableName = "a b" },
		func(c *Config) { c.ClusterName = "c'" },
	} {
		cfg := createDefaultConfig().(*Config)
		mutate(cfg)
		if _, err := RenderMigrations(cfg); err == nil {
			t.Errorf("RenderMigrations accepted %+v", cfg)
		}
	}
}

// fakeSchemaConn records DDL and keeps schema_migrations in memory.
type fakeSchemaConn struct {
	execs    []string
	applied  map[int]bool
	failExec string
}

func (f *fakeSchemaConn) Exec(_ context.Context, s string) error {
	if f.failExec != "" && strings.Contains(s, f.failExec) {
		return errors.New("boom")
	}
	f.execs = append(f.execs, s)
	return nil
}

func (f *fakeSchemaConn) AppliedVersions(context.Context, string) (map[int]bool, error) {
	out := map[int]bool{}
	for v := range f.applied {
		out[v] = true
	}
	return out, nil
}

func (f *fakeSchemaConn) RecordVersion(_ context.Context, _ string, m Migration) error {
	f.applied[m.Version] = true
	return nil
}

func TestMigrateAppliesOnlyPending(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	tests := []struct {
		name     string
		applied  map[int]bool
		failExec string
		want     []int
		wantErr  string
	}{
		{name: "fresh database", applied: map[int]bool{}, want: []int{1, 2, 3, 4}},
		{name: "upgrade from version 2", applied: map[int]bool{1: true, 2: true}, want: []int{3, 4}},
		{name: "up to date", applied: map[int]bool{1: true, 2: true, 3: true, 4: true}, want: nil},
		{name: "failure stops and keeps earlier versions", applied: map[int]bool{}, failExec: "vigil_alerts", want: []int{1, 2, 3}, wantErr: "migration 0004_alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeSchemaConn{applied: tt.applied, failExec: tt.failExec}
			got, err := migrate(context.Background(), conn, cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("migrate() error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("applied %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] || !conn.applied[got[i]] {
					t.Fatalf("applied %v (recorded %v), want %v", got, conn.applied, tt.want)
				}
			}
			// Version 0 (database, schema_migrations) always runs first.
			if !strings.HasPrefix(conn.execs[0], "CREATE DATABASE IF NOT EXISTS `otel`") ||
				!strings.Contains(conn.execs[1], "`otel`.`schema_migrations`") {
				t.Errorf("first statements = %q", conn.execs[:2])
			}
			if tt.want == nil && len(conn.execs) != 2 {
				t.Errorf("up-to-date schema ran %d statements, want only the 2 bootstrap ones", len(conn.execs))
			}
		})
	}
}
