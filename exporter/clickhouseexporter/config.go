package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/internal/dedup"
)

// Config configures the ClickHouse exporter.
type Config struct {
	// TimeoutConfig bounds one export (all inserts of one batch); an
	// insert that hangs on a stuck server fails with a retryable timeout
	// instead of blocking the queue consumer forever.
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// BackOffConfig retries transient failures (network, timeouts,
	// overloaded server) with exponential back-off.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// QueueConfig is exporterhelper's queue and batcher. The defaults batch
	// to thousands of rows and about one insert per second per table, as
	// ClickHouse recommends, and block the pipeline when the queue is full
	// (back-pressure) instead of dropping data. Set `storage` to a
	// file_storage extension for a queue that survives restarts.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// Dedup remembers the requests the exporter took into its queue, so
	// that a sender's retry of one, after another consumer of the same
	// request refused it, is not queued and stored again: ClickHouse keeps
	// every row it is given (package internal/dedup; dedup.go says where
	// the check sits). window: 0 turns it off.
	Dedup dedup.Config `mapstructure:"dedup"`

	// Endpoint lists the servers' native-protocol addresses, comma
	// separated: "host:9000", "tcp://host:9000" or "clickhouse://host:9000".
	// It must not carry a password: use Password, which is never logged.
	Endpoint string `mapstructure:"endpoint"`
	// Username to authenticate as; empty means ClickHouse's "default" user.
	Username string `mapstructure:"username"`
	// Password of Username. Kept opaque so it never appears in logs, and
	// redacted from every error the exporter returns.
	Password configopaque.String `mapstructure:"password"`
	// TLS, when set, encrypts the connection (use the secure native port,
	// usually 9440).
	TLS configoptional.Optional[configtls.ClientConfig] `mapstructure:"tls"`
	// DialTimeout bounds connecting to a server.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// Compress is the native protocol's block compression: lz4 (empty or
	// "true" mean it too), zstd or none. LZ4 costs little CPU and cuts
	// the bytes of repetitive telemetry several times over.
	Compress string `mapstructure:"compress"`

	// Database holds every table. It is created when CreateSchema is true.
	Database string `mapstructure:"database"`
	// TracesTableName is the spans table; the trace-ID lookup table and its
	// materialized view are named after it (<name>_trace_id_ts[_mv]).
	TracesTableName string `mapstructure:"traces_table_name"`
	// LogsTableName is the log records table.
	LogsTableName string `mapstructure:"logs_table_name"`
	// MetricsTablePrefix names the metric tables <prefix>_sum, _gauge,
	// _histogram, _exponential_histogram and _summary.
	MetricsTablePrefix string `mapstructure:"metrics_table_prefix"`
	// AlertsTableName keeps every alert event (log records carrying
	// alert.fingerprint), for alert history and time to resolve.
	AlertsTableName string `mapstructure:"alerts_table_name"`

	// CreateSchema applies the schema migrations before the first insert
	// (not at start, so a server that is down does not keep the collector
	// from starting). Turn it off when
	// the schema is managed outside the collector (the migrations' SQL can
	// be printed with RenderMigrations).
	CreateSchema bool `mapstructure:"create_schema"`
	// TTL drops data older than this, a whole daily partition at a time.
	// Zero keeps data forever. It applies to tables the exporter creates;
	// existing tables keep their TTL.
	TTL time.Duration `mapstructure:"ttl"`
	// AlertsTTL is the TTL of the alerts table, kept apart because alert
	// history is small and wanted for months. Zero keeps it forever.
	AlertsTTL time.Duration `mapstructure:"alerts_ttl"`
	// ClusterName, when set, creates every table ON CLUSTER with a
	// Replicated engine (as <table>_local) and a Distributed table under the
	// name Grafana reads, and inserts go through the Distributed tables.
	ClusterName string `mapstructure:"cluster_name"`
	// AsyncInsert turns on ClickHouse's server-side async inserts
	// (async_insert=1 with wait_for_async_insert=1, so a failed insert is
	// still reported and retried rather than lost).
	AsyncInsert bool `mapstructure:"async_insert"`

	// contribErrs are the keys of contrib's exporter this one refuses
	// (compat.go), reported by Validate with every other problem.
	contribErrs error
}

var _ component.Config = (*Config)(nil)

// identifierPattern is the only form accepted for database, table and
// cluster names. Identifiers cannot be sent as query parameters, so they are
// spliced into SQL: this pattern is what keeps that safe.
var identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Validate checks the configuration and reports every problem at once.
func (cfg *Config) Validate() error {
	errs := []error{cfg.contribErrs}
	if _, err := parseEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if _, err := compressionMethod(cfg.Compress); err != nil {
		errs = append(errs, err)
	}
	for _, id := range []struct{ field, value string }{
		{"database", cfg.Database},
		{"traces_table_name", cfg.TracesTableName},
		{"logs_table_name", cfg.LogsTableName},
		{"metrics_table_prefix", cfg.MetricsTablePrefix},
		{"alerts_table_name", cfg.AlertsTableName},
	} {
		if !identifierPattern.MatchString(id.value) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid identifier (want %s)", id.field, id.value, identifierPattern))
		}
	}
	if cfg.ClusterName != "" && !identifierPattern.MatchString(cfg.ClusterName) {
		errs = append(errs, fmt.Errorf("cluster_name: %q is not a valid identifier (want %s)", cfg.ClusterName, identifierPattern))
	}
	if cfg.TTL < 0 || (cfg.TTL > 0 && cfg.TTL < time.Second) {
		errs = append(errs, fmt.Errorf("ttl: must be zero or at least 1s, got %s", cfg.TTL))
	}
	if cfg.AlertsTTL < 0 || (cfg.AlertsTTL > 0 && cfg.AlertsTTL < time.Second) {
		errs = append(errs, fmt.Errorf("alerts_ttl: must be zero or at least 1s, got %s", cfg.AlertsTTL))
	}
	if cfg.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: must not be negative, got %s", cfg.DialTimeout))
	}
	return errors.Join(errs...)
}

// parseEndpoint returns the host:port addresses of Endpoint. Its errors never
// quote the endpoint, which may hold credentials by mistake.
func parseEndpoint(endpoint string) ([]string, error) {
	if strings.TrimSpace(endpoint) == "" {
		return nil, errors.New("endpoint: must be set")
	}
	if strings.ContainsAny(endpoint, "?") {
		return nil, errors.New("endpoint: query parameters are not read; set dial_timeout, tls, compress, async_insert or database instead")
	}
	var addrs []string
	for _, part := range strings.Split(endpoint, ",") {
		part = strings.TrimSpace(part)
		if strings.Contains(part, "://") {
			u, err := url.Parse(part)
			if err != nil {
				return nil, errors.New("endpoint: not a valid URL")
			}
			if u.Scheme != "tcp" && u.Scheme != "clickhouse" {
				return nil, fmt.Errorf("endpoint: scheme %q is not the native protocol (want tcp:// or clickhouse://)", u.Scheme)
			}
			if _, hasPassword := u.User.Password(); hasPassword {
				return nil, errors.New("endpoint: must not contain a password; set the password field")
			}
			if strings.Trim(u.Path, "/") != "" {
				return nil, errors.New("endpoint: a path names the database; set database instead")
			}
			part = u.Host
		} else if strings.Contains(part, "@") {
			return nil, errors.New("endpoint: must not contain credentials; set username and password")
		}
		if _, _, err := net.SplitHostPort(part); err != nil {
			return nil, errors.New("endpoint: each address must be host:port")
		}
		addrs = append(addrs, part)
	}
	return addrs, nil
}

// compressionMethod is the driver's method for Compress.
func compressionMethod(name string) (clickhouse.CompressionMethod, error) {
	switch strings.ToLower(name) {
	case "", "lz4", "true":
		return clickhouse.CompressionLZ4, nil
	case "zstd":
		return clickhouse.CompressionZSTD, nil
	case "none", "false":
		return clickhouse.CompressionNone, nil
	case "gzip", "deflate", "br":
		return 0, fmt.Errorf("compress: %q compresses ClickHouse's HTTP protocol; Vigil speaks the native one: lz4, zstd or none", name)
	}
	return 0, fmt.Errorf("compress: %q is not lz4, zstd or none", name)
}
