package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
)

// A configuration written for contrib's clickhouse exporter (the same type
// name, v0.159.0) loads here: its keys that mean what Vigil's do are read
// as they are (endpoint, username, password, database, ttl, create_schema,
// async_insert, cluster_name, logs_table_name, traces_table_name, tls,
// timeout, retry_on_failure, sending_queue); the keys below are translated
// to Vigil's, or refused with a message naming Vigil's equivalent, rather
// than failing as unknown keys.

// contribMetricsTables is contrib's metrics_tables: one table name per
// metric type.
type contribMetricsTables struct {
	Gauge                contribTable `mapstructure:"gauge"`
	Sum                  contribTable `mapstructure:"sum"`
	Summary              contribTable `mapstructure:"summary"`
	Histogram            contribTable `mapstructure:"histogram"`
	ExponentialHistogram contribTable `mapstructure:"exponential_histogram"`
}

type contribTable struct {
	Name string `mapstructure:"name"`
}

// contribKeys are the keys of contrib's exporter that Vigil's lacks.
type contribKeys struct {
	MetricsTableName  string               `mapstructure:"metrics_table_name"`
	MetricsTables     contribMetricsTables `mapstructure:"metrics_tables"`
	ConnectionParams  map[string]string    `mapstructure:"connection_params"`
	TableEngine       map[string]any       `mapstructure:"table_engine"`
	JSON              bool                 `mapstructure:"json"`
	ProfilesTableName string               `mapstructure:"profiles_table_name"`
	Auth              map[string]any       `mapstructure:"auth"`
}

var contribKeyNames = []string{
	"metrics_table_name", "metrics_tables", "connection_params", "table_engine",
	"json", "profiles_table_name", "auth",
}

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal reads Vigil's keys, then translates contrib's: accepted ones
// set the Vigil key they stand for (unless that key is set too, which is
// a conflict), refused ones are kept for Validate to report with every
// other problem.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	var c contribKeys
	if err := conf.Unmarshal(&c, confmap.WithIgnoreUnused()); err != nil {
		return err
	}
	for _, k := range contribKeyNames {
		conf.Delete(k)
	}
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	cfg.contribErrs = cfg.applyContrib(c, conf.IsSet)
	return nil
}

// applyContrib applies the contrib keys c; isSet tells which Vigil keys the
// configuration sets itself.
func (cfg *Config) applyContrib(c contribKeys, isSet func(string) bool) error {
	var errs []error
	refuse := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// metrics_table_name (deprecated in contrib) is Vigil's prefix.
	prefix, prefixFrom := c.MetricsTableName, "metrics_table_name"
	if p, ok, err := c.MetricsTables.prefix(); err != nil {
		errs = append(errs, err)
	} else if ok {
		if prefix != "" && prefix != p {
			refuse("metrics_tables and metrics_table_name name different tables; set metrics_table_prefix alone")
		}
		prefix, prefixFrom = p, "metrics_tables"
	}
	if prefix != "" {
		if isSet("metrics_table_prefix") {
			refuse("%s: contrib's key for what metrics_table_prefix sets; set one of them", prefixFrom)
		} else {
			cfg.MetricsTablePrefix = prefix
		}
	}

	// Endpoint query parameters, path (the database) and
	// connection_params, as contrib reads them into the driver's DSN.
	params := map[string]string{}
	if i := strings.IndexByte(cfg.Endpoint, '?'); i >= 0 {
		q, err := url.ParseQuery(cfg.Endpoint[i+1:])
		if err != nil {
			refuse("endpoint: unreadable query parameters")
		}
		for k, v := range q {
			params[k] = v[len(v)-1]
		}
		cfg.Endpoint = cfg.Endpoint[:i]
	}
	if db, endpoint, ok := cutDatabase(cfg.Endpoint); ok {
		if _, set := params["database"]; !set && db != "" {
			params["database"] = db
		}
		cfg.Endpoint = endpoint
	}
	for k, v := range c.ConnectionParams {
		params[k] = v
	}
	errs = append(errs, cfg.applyConnectionParams(params, isSet))

	if len(c.TableEngine) > 0 {
		refuse("table_engine: Vigil creates MergeTree tables, and Replicated ones ON CLUSTER with cluster_name; for another engine set create_schema: false and create the tables yourself")
	}
	if c.JSON {
		refuse("json: Vigil's tables keep attributes in Map columns, which its dashboards read; remove json")
	}
	if c.ProfilesTableName != "" {
		refuse("profiles_table_name: Vigil's clickhouse exporter stores no profiles; remove it")
	}
	if len(c.Auth) > 0 {
		refuse("auth: Vigil authenticates with username and password; set those instead")
	}
	return errors.Join(errs...)
}

// connectionParams are the driver settings of contrib's endpoint query and
// connection_params that Vigil has keys for.
func (cfg *Config) applyConnectionParams(params map[string]string, isSet func(string) bool) error {
	var errs []error
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := params[k]
		switch k {
		case "dial_timeout":
			d, err := parseDriverDuration(v)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("endpoint: dial_timeout=%q: %w", v, err))
			case !isSet("dial_timeout"):
				cfg.DialTimeout = d
			}
		case "secure":
			on, err := strconv.ParseBool(v)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("endpoint: secure=%q is not a boolean", v))
			case on && !isSet("tls"):
				cfg.TLS = configoptional.Some(configtls.ClientConfig{})
			}
		case "compress":
			if !isSet("compress") {
				cfg.Compress = v
			}
		case "async_insert":
			on, err := strconv.ParseBool(v)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("endpoint: async_insert=%q is not a boolean", v))
			case !isSet("async_insert"):
				cfg.AsyncInsert = on
			}
		case "database":
			if !isSet("database") {
				cfg.Database = v
			}
		default:
			errs = append(errs, fmt.Errorf("connection parameter %q (endpoint query or connection_params): not read by Vigil, whose keys are dial_timeout, tls, compress, async_insert and database", k))
		}
	}
	return errors.Join(errs...)
}

// parseDriverDuration reads a duration as clickhouse-go does in a DSN: a Go
// duration, or whole seconds.
func parseDriverDuration(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	secs, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	return time.Duration(secs) * time.Second, nil
}

// metricSuffixes are Vigil's metric table names after the prefix.
var metricSuffixes = []string{"_gauge", "_sum", "_summary", "_histogram", "_exponential_histogram"}

// prefix returns the one prefix the tables' names share in Vigil's naming,
// ok false when none is set, and an error when the names do not follow it.
func (t contribMetricsTables) prefix() (string, bool, error) {
	names := []string{t.Gauge.Name, t.Sum.Name, t.Summary.Name, t.Histogram.Name, t.ExponentialHistogram.Name}
	prefix := ""
	set := false
	for i, n := range names {
		if n == "" {
			continue
		}
		set = true
		p, ok := strings.CutSuffix(n, metricSuffixes[i])
		if !ok || (prefix != "" && p != prefix) {
			return "", false, errors.New("metrics_tables: Vigil names the metric tables <metrics_table_prefix>_gauge, _sum, _summary, _histogram and _exponential_histogram; set metrics_table_prefix instead")
		}
		prefix = p
	}
	return prefix, set, nil
}

// cutDatabase splits the path off an endpoint URL: contrib's
// "tcp://a:9000,b:9000/otel" names database otel. Only the last address
// of a list carries it.
func cutDatabase(endpoint string) (db, rest string, ok bool) {
	if !strings.Contains(endpoint, "://") {
		return "", endpoint, false // host:port lists have no path
	}
	start := strings.LastIndexByte(endpoint, ',') + 1
	if j := strings.Index(endpoint[start:], "://"); j >= 0 {
		start += j + len("://")
	}
	k := strings.IndexByte(endpoint[start:], '/')
	if k < 0 {
		return "", endpoint, false
	}
	cut := start + k
	return strings.Trim(endpoint[cut:], "/"), endpoint[:cut], true
}
