package alertmanagerexporter // import "github.com/vigil-otel/vigil/exporter/alertmanagerexporter"

import (
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the configuration of the alertmanager exporter.
type Config struct {
	// ClientConfig is the HTTP client; its endpoint is Alertmanager's base
	// URL (http://127.0.0.1:9093 by default), to which /api/v2/alerts is
	// appended. Auth, TLS, headers and timeout work as for any collector
	// HTTP client.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// QueueConfig queues requests for sending (exporterhelper).
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig retries 429, 5xx and network failures with backoff.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the network.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.ClientConfig.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint %q: want Alertmanager's absolute http or https base URL", c.ClientConfig.Endpoint))
	}
	return errors.Join(errs...)
}
