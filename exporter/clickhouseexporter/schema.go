package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// migrationFiles are the schema migrations, one file per version, named
// NNNN_name.sql. They are text/template files; see schemaNames for what they
// can use. A migration only ever adds (tables, columns, indexes): Grafana's
// views and existing queries read the tables in place, so nothing they read is
// ever dropped, renamed or retyped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationsTable records the versions applied to a database.
const migrationsTable = "schema_migrations"

// Migration is one versioned step of the schema, rendered for a
// configuration.
type Migration struct {
	// Version orders migrations; it is recorded in schema_migrations once
	// every statement succeeded.
	Version int
	// Name describes the migration (the file name without version).
	Name string
	// Statements are run in order. Each is idempotent (IF NOT EXISTS), so a
	// migration interrupted half way is simply run again.
	Statements []string
}

// schemaNames is what the migration templates see: fully derived table
// names, so every template names tables the same way.
type schemaNames struct {
	Traces, TraceIDTs, TraceIDTsMV               string
	Logs, Alerts                                 string
	Gauge, Sum, Histogram, ExpHistogram, Summary string
	OnCluster                                    string
	TTL, AlertsTTL                               time.Duration
}

// localSuffix names the per-shard tables in cluster mode; the Distributed
// table over them takes the configured name, which is what Grafana reads.
const localSuffix = "_local"

var migrationFileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// quoteIdent quotes an identifier that identifierPattern already accepted.
func quoteIdent(id string) string { return "`" + id + "`" }

// schemaRenderer renders identifiers and clauses that depend on the cluster
// settings.
type schemaRenderer struct {
	database string
	cluster  string
}

func (r schemaRenderer) onCluster() string {
	if r.cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(r.cluster)
}

// localName is the table a statement creates: the table itself, or its
// per-shard table in cluster mode.
func (r schemaRenderer) localName(table string) string {
	if r.cluster != "" {
		table += localSuffix
	}
	return table
}

func (r schemaRenderer) local(table string) string {
	return quoteIdent(r.database) + "." + quoteIdent(r.localName(table))
}

func (r schemaRenderer) engine(kind string) string {
	if r.cluster == "" {
		return kind
	}
	// Explicit ZooKeeper path with the {shard}/{replica} macros every
	// replicated ClickHouse cluster defines; {database} and {table} keep the
	// path unique per table.
	return "Replicated" + kind + "('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
}

func (r schemaRenderer) distributed(table string) string {
	if r.cluster == "" {
		return ""
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s\nENGINE = Distributed('%s', '%s', '%s', rand());",
		quoteIdent(r.database), quoteIdent(table), r.onCluster(), r.local(table),
		r.cluster, r.database, r.localName(table))
}

// ttlClause renders a TTL on expr, in the largest whole unit so the DDL
// reads the way an operator would write it.
func ttlClause(expr string, ttl time.Duration) string {
	if ttl <= 0 {
		return ""
	}
	var interval string
	switch {
	case ttl%(24*time.Hour) == 0:
		interval = "toIntervalDay(" + strconv.FormatInt(int64(ttl/(24*time.Hour)), 10) + ")"
	case ttl%time.Hour == 0:
		interval = "toIntervalHour(" + strconv.FormatInt(int64(ttl/time.Hour), 10) + ")"
	case ttl%time.Minute == 0:
		interval = "toIntervalMinute(" + strconv.FormatInt(int64(ttl/time.Minute), 10) + ")"
	default:
		interval = "toIntervalSecond(" + strconv.FormatInt(int64(ttl/time.Second), 10) + ")"
	}
	return "TTL " + expr + " + " + interval
}

// RenderMigrations renders every schema migration for cfg, in version
// order. It validates the identifiers it splices into SQL first, so it never
// renders SQL from an invalid configuration.
func RenderMigrations(cfg *Config) ([]Migration, error) {
	if err := validateIdentifiers(cfg); err != nil {
		return nil, err
	}
	r := schemaRenderer{database: cfg.Database, cluster: cfg.ClusterName}
	names := schemaNames{
		Traces:       cfg.TracesTableName,
		TraceIDTs:    cfg.TracesTableName + "_trace_id_ts",
		TraceIDTsMV:  cfg.TracesTableName + "_trace_id_ts_mv",
		Logs:         cfg.LogsTableName,
		Alerts:       cfg.AlertsTableName,
		Gauge:        cfg.MetricsTablePrefix + "_gauge",
		Sum:          cfg.MetricsTablePrefix + "_sum",
		Histogram:    cfg.MetricsTablePrefix + "_histogram",
		ExpHistogram: cfg.MetricsTablePrefix + "_exponential_histogram",
		Summary:      cfg.MetricsTablePrefix + "_summary",
		OnCluster:    r.onCluster(),
		TTL:          cfg.TTL,
		AlertsTTL:    cfg.AlertsTTL,
	}
	funcs := template.FuncMap{
		"local":       r.local,
		"engine":      r.engine,
		"distributed": r.distributed,
		"ttl":         ttlClause,
	}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })

	migrations := []Migration{{
		Version: 0,
		Name:    "database",
		Statements: []string{
			"CREATE DATABASE IF NOT EXISTS " + quoteIdent(cfg.Database) + r.onCluster(),
			"CREATE TABLE IF NOT EXISTS " + r.local(migrationsTable) + r.onCluster() +
				" (Version UInt32, Name String, AppliedAt DateTime64(3) DEFAULT now64(3))" +
				" ENGINE = " + r.engine("ReplacingMergeTree") + " ORDER BY Version",
		},
	}}
	for _, e := range entries {
		m := migrationFileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		version, _ := strconv.Atoi(m[1])
		src, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(e.Name()).Funcs(funcs).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, names); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		migrations = append(migrations, Migration{Version: version, Name: m[2], Statements: splitStatements(out.String())})
	}
	return migrations, nil
}

// statementEnd is a ';' that ends a line. The schema files never put a ';'
// at the end of a line inside a literal.
var statementEnd = regexp.MustCompile(`;[ \t]*(\r?\n|$)`)

var sqlComment = regexp.MustCompile(`(?m)^\s*--.*$`)

// splitStatements splits rendered SQL into statements, dropping comments and
// blank statements (a template that renders nothing in single-node mode).
func splitStatements(sql string) []string {
	var out []string
	for _, s := range statementEnd.Split(sql, -1) {
		s = strings.TrimSpace(sqlComment.ReplaceAllString(s, ""))
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func validateIdentifiers(cfg *Config) error {
	for _, id := range []string{cfg.Database, cfg.TracesTableName, cfg.LogsTableName, cfg.MetricsTablePrefix, cfg.AlertsTableName} {
		if !identifierPattern.MatchString(id) {
			return fmt.Errorf("%q is not a valid identifier (want %s)", id, identifierPattern)
		}
	}
	if cfg.ClusterName != "" && !identifierPattern.MatchString(cfg.ClusterName) {
		return fmt.Errorf("cluster name %q is not a valid identifier (want %s)", cfg.ClusterName, identifierPattern)
	}
	return nil
}

// schemaConn is what applying migrations needs from a connection. The native
// implementation is nativeClient; tests use a fake.
type schemaConn interface {
	// Exec runs one DDL statement.
	Exec(ctx context.Context, statement string) error
	// AppliedVersions lists the versions recorded in schema_migrations.
	AppliedVersions(ctx context.Context, database string) (map[int]bool, error)
	// RecordVersion records a migration as applied.
	RecordVersion(ctx context.Context, database string, m Migration) error
}

// migrate applies the migrations not yet recorded, in order, and returns
// the versions it applied. Version 0 (database and schema_migrations) runs
// every time: it is what makes the record readable.
func migrate(ctx context.Context, conn schemaConn, cfg *Config) ([]int, error) {
	migrations, err := RenderMigrations(cfg)
	if err != nil {
		return nil, err
	}
	for _, stmt := range migrations[0].Statements {
		if err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create database and %s: %w", migrationsTable, err)
		}
	}
	applied, err := conn.AppliedVersions(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", migrationsTable, err)
	}
	var done []int
	for _, m := range migrations[1:] {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := conn.RecordVersion(ctx, cfg.Database, m); err != nil {
			return done, fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}
