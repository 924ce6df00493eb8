package webhookexporter // import "github.com/vigil-otel/vigil/exporter/webhookexporter"

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

// Config is the configuration of the webhook exporter.
type Config struct {
	// ClientConfig is the HTTP client; its endpoint is the URL the payload
	// is posted to. Auth, TLS, headers and timeout work as for any
	// collector HTTP client. An empty endpoint disables the exporter
	// (notifications are dropped, as the log says at start), so a shipped
	// configuration can wire it and leave the URL to the environment.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// ExternalURL is the payload's externalURL: where people see the
	// alerts. Default: the alert console of the embedded default,
	// http://127.0.0.1:9094.
	ExternalURL string `mapstructure:"external_url"`
	// MaxAlerts caps the alerts of one message, as Alertmanager's
	// max_alerts; the rest are counted in truncatedAlerts. 0: no cap.
	MaxAlerts int `mapstructure:"max_alerts"`
	// QueueConfig queues notifications for sending (exporterhelper). It
	// must be persistent (storage) or wait for the result: the router
	// counts a notification as delivered once the queue took it.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig retries 429, 5xx and network failures with backoff.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching the network. Its
// errors never repeat the endpoint's path or query, which often hold a
// token.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.ClientConfig.Endpoint); c.ClientConfig.Endpoint != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, errors.New("endpoint: want an absolute http or https URL"))
	}
	if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("external_url %q: want an absolute http or https URL", c.ExternalURL))
	}
	if c.MaxAlerts < 0 {
		errs = append(errs, fmt.Errorf("max_alerts %d: must be 0 (no cap) or positive", c.MaxAlerts))
	}
	if q := c.QueueConfig.Get(); q != nil {
		if q.StorageID == nil && !q.WaitForResult {
			errs = append(errs, errors.New("sending_queue: an in-memory queue without wait_for_result loses, on a crash, "+
				"notifications the alert router counts as delivered; set sending_queue::storage (persistent) or wait_for_result: true"))
		}
		if q.Batch.HasValue() {
			errs = append(errs, errors.New("sending_queue::batch is not supported: the router hands over each notification when it is due"))
		}
	}
	return errors.Join(errs...)
}
