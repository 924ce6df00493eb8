package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component"
)

// inserter writes rows into one table. The exporter's logic depends only on
// this, so batching, retry and shutdown are tested without a server.
type inserter interface {
	// Insert writes rows columns into table (unqualified: the inserter
	// knows the database).
	Insert(ctx context.Context, table string, cols []Column, rows int) error
	// Migrate applies pending schema migrations.
	Migrate(ctx context.Context, cfg *Config) error
	// Close releases connections.
	Close() error
}

// newInserterFunc opens an inserter at Start, when the host (TLS files,
// extensions) is available.
type newInserterFunc func(ctx context.Context, cfg *Config, host component.Host) (inserter, error)

// nativeClient inserts over ClickHouse's native protocol with clickhouse-go.
type nativeClient struct {
	conn     driver.Conn
	database string
	redact   redactor
}

var (
	_ inserter   = (*nativeClient)(nil)
	_ schemaConn = (*nativeClient)(nil)
)

func clientOptions(ctx context.Context, cfg *Config) (*clickhouse.Options, error) {
	addrs, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	compression, err := compressionMethod(cfg.Compress)
	if err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     addrs,
		// No Auth.Database: the configured database may not exist yet (the
		// migrations create it) and the server refuses a connection to a
		// missing database. Every statement names its database instead.
		Auth: clickhouse.Auth{
			Username: cfg.Username,
			Password: string(cfg.Password),
		},
		DialTimeout: cfg.DialTimeout,
		Compression: &clickhouse.Compression{Method: compression},
		// Consumers of the three signals share no pool; a handful of
		// connections covers the queue's concurrent inserts.
		MaxOpenConns: 10,
		MaxIdleConns: 5,
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "vigil-clickhouse-exporter", Version: "1"},
		}},
	}
	if cfg.AsyncInsert {
		// wait_for_async_insert=1: the insert returns once the server
		// flushed it, so a failure is still reported and retried.
		opts.Settings = clickhouse.Settings{"async_insert": 1, "wait_for_async_insert": 1}
	}
	if cfg.TLS.HasValue() {
		tlsCfg, err := cfg.TLS.Get().LoadTLSConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		opts.TLS = tlsCfg
	}
	return opts, nil
}

// newNativeClient opens a connection pool and checks the server answers.
func newNativeClient(ctx context.Context, cfg *Config, _ component.Host) (inserter, error) {
	r := redactor{secret: string(cfg.Password)}
	opts, err := clientOptions(ctx, cfg)
	if err != nil {
		return nil, r.error(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, r.wrap(err, "open clickhouse connection")
	}
	return &nativeClient{conn: conn, database: cfg.Database, redact: r}, nil
}

// insertStatement names every column, so the table may gain columns (by a
// later migration) without breaking older exporters.
func insertStatement(database, table string, cols []Column) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(quoteIdent(database))
	b.WriteByte('.')
	b.WriteString(quoteIdent(table))
	b.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name))
	}
	b.WriteByte(')')
	return b.String()
}

// Insert sends all rows as one native block insert: values travel as column
// data, never as SQL text.
func (c *nativeClient) Insert(ctx context.Context, table string, cols []Column, rows int) error {
	if rows == 0 {
		return nil
	}
	batch, err := c.conn.PrepareBatch(ctx, insertStatement(c.database, table, cols))
	if err != nil {
		return c.redact.wrap(err, "prepare insert into %s", table)
	}
	defer batch.Close()
	// The batch's columns are built from the server's insert header, so
	// their types are the table's.
	types := batch.Columns()
	shaper := newNativeShaper()
	for i, col := range cols {
		if err := shaper.append(batch.Column(i), types[i].Type(), col.Values); err != nil {
			return c.redact.wrap(err, "append column %s of %s", col.Name, table)
		}
	}
	if err := batch.Send(); err != nil {
		return c.redact.wrap(err, "insert %d rows into %s", rows, table)
	}
	return nil
}

// Migrate applies pending schema migrations.
func (c *nativeClient) Migrate(ctx context.Context, cfg *Config) error {
	_, err := migrate(ctx, c, cfg)
	return c.redact.error(err)
}

// Exec runs one DDL statement.
func (c *nativeClient) Exec(ctx context.Context, statement string) error {
	return c.conn.Exec(ctx, statement)
}

// AppliedVersions lists the versions recorded in schema_migrations.
func (c *nativeClient) AppliedVersions(ctx context.Context, database string) (map[int]bool, error) {
	rows, err := c.conn.Query(ctx, "SELECT Version FROM "+quoteIdent(database)+"."+quoteIdent(migrationsTable))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[int(v)] = true
	}
	return applied, rows.Err()
}

// RecordVersion records a migration as applied, sending the values as
// batch data.
func (c *nativeClient) RecordVersion(ctx context.Context, database string, m Migration) error {
	cols := []Column{{"Version", []uint32{uint32(m.Version)}}, {"Name", []string{m.Name}}}
	batch, err := c.conn.PrepareBatch(ctx, insertStatement(database, migrationsTable, cols))
	if err != nil {
		return err
	}
	defer batch.Close()
	if err := batch.Append(uint32(m.Version), m.Name); err != nil {
		return err
	}
	return batch.Send()
}

// Close closes the connection pool.
func (c *nativeClient) Close() error { return c.conn.Close() }
