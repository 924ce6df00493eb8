package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config configures the Sentry exporter.
type Config struct {
	// ClientConfig is the HTTP client of every DSN: timeout (of one
	// request), TLS (a self-hosted Sentry's CA), proxy_url, headers,
	// compression. The endpoint comes from each DSN: endpoint must stay
	// unset, and so must auth (the DSN's key authenticates).
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// BackOffConfig retries network errors and 5xx with exponential
	// back-off; 429s wait for the delay Sentry asks for (Retry-After,
	// X-Sentry-Rate-Limits) instead.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// QueueConfig is exporterhelper's sending queue.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// DSN is the project errors go to when their service has no entry in
	// DSNByService ("https://<public key>@<host>/<project id>"). Empty
	// drops the errors of services without their own DSN; with neither DSN
	// nor DSNByService the exporter is disabled (as sentry-go is with an
	// empty DSN), so one configuration serves with and without Sentry.
	// Opaque: the key it holds is never logged.
	DSN configopaque.String `mapstructure:"dsn"`
	// DSNByService routes a service's errors (resource attribute
	// service.name) to its own project.
	DSNByService map[string]configopaque.String `mapstructure:"dsn_by_service"`

	// Tags lists attribute keys (of the span or log record, else of the
	// resource) copied into event tags, which Sentry indexes for search.
	// Keys are made valid tag keys (32 characters of [a-zA-Z0-9_.:-]) and
	// values cut to 200 characters. Keep them of low cardinality.
	Tags []string `mapstructure:"tags"`
	// InAppInclude lists package path prefixes of the services' own code
	// ("github.com/acme/"). When set, only frames of these packages are
	// in-app; otherwise every frame outside the standard library,
	// dependencies (module cache, vendor folders, -trimpath's
	// module@version paths) and OpenTelemetry and zap is.
	InAppInclude []string `mapstructure:"in_app_include"`
	// InAppExclude lists package path prefixes that are never in-app,
	// e.g. a shared internal library that should not decide grouping.
	InAppExclude []string `mapstructure:"in_app_exclude"`
	// Environment is the Sentry environment of events whose resource has
	// no deployment.environment.name (or deployment.environment).
	Environment string `mapstructure:"environment"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without side effects. Errors name a
// DSN by its project, never by its key.
func (c *Config) Validate() error {
	var errs []error
	if c.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("endpoint: must be unset, each DSN names its Sentry (dsn, dsn_by_service)"))
	}
	if c.ClientConfig.Auth.HasValue() {
		errs = append(errs, errors.New("auth: must be unset, the DSN's key authenticates"))
	}
	if c.DSN != "" {
		if _, err := parseDSN(string(c.DSN)); err != nil {
			errs = append(errs, fmt.Errorf("dsn: %w", err))
		}
	}
	services := make([]string, 0, len(c.DSNByService))
	for s := range c.DSNByService {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, s := range services {
		if s == "" {
			errs = append(errs, errors.New("dsn_by_service: empty service name"))
			continue
		}
		if _, err := parseDSN(string(c.DSNByService[s])); err != nil {
			errs = append(errs, fmt.Errorf("dsn_by_service[%s]: %w", s, err))
		}
	}
	for i, t := range c.Tags {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("tags[%d]: empty attribute key", i))
		}
	}
	if strings.ContainsAny(c.Environment, "/ \n\r\t") || len(c.Environment) > maxEnvironment {
		errs = append(errs, fmt.Errorf("environment: at most %d characters, no slashes, spaces or newlines", maxEnvironment))
	}
	return errors.Join(errs...)
}

// parseDSN parses a DSN with sentry-go. Its errors can quote the whole URL,
// key included, so they are replaced by a description that cannot.
func parseDSN(raw string) (*sentry.Dsn, error) {
	dsn, err := sentry.NewDsn(raw)
	if err == nil {
		return dsn, nil
	}
	u, perr := url.Parse(raw)
	switch {
	case perr != nil:
		return nil, errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("scheme must be http or https")
	case u.User.Username() == "":
		return nil, errors.New("missing public key (https://<key>@host/<project>)")
	case u.Hostname() == "":
		return nil, errors.New("missing host")
	case strings.Trim(u.Path, "/") == "":
		return nil, errors.New("missing project id")
	}
	return nil, errors.New("not a valid Sentry DSN")
}
