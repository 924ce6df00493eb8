package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
)

// Config is the configuration of the pagerduty exporter.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the default
	// receiver (and of routing-file receivers of type pagerduty that set
	// none). Empty sends every notification to the collector's log instead,
	// which is what the embedded default does when PAGERDUTY_ROUTING_KEY is
	// unset.
	RoutingKey configopaque.String `mapstructure:"routing_key"`
	// URL is the Events API v2 enqueue endpoint; tests and proxies point it
	// elsewhere. Default: PagerDuty's https://events.pagerduty.com/v2/enqueue.
	URL string `mapstructure:"url"`
	// SeverityMap maps Vigil severities (page, ticket, ...) to PagerDuty
	// severities (critical, error, warning, info). Entries override the
	// defaults page→critical and ticket→warning.
	SeverityMap map[string]string `mapstructure:"severity_map"`
	// Client is the client field of trigger events, shown by PagerDuty as
	// the monitoring tool's name. Default: "Vigil".
	Client string `mapstructure:"client"`
	// ClientURL is the client_url field of trigger events (a Grafana home,
	// say); empty leaves it out.
	ClientURL string `mapstructure:"client_url"`
	// DashboardURLTemplate builds the dashboard link of a trigger when the
	// alert event carries no alert.dashboard_url. It is a Go text/template
	// over {Labels, Annotations, Fingerprint}, e.g.
	// `https://grafana.example/d/vigil-slo?var-service={{ .Labels.service | urlquery }}`.
	DashboardURLTemplate string `mapstructure:"dashboard_url_template"`
	// RunbookURLTemplate builds the runbook link when the alert event
	// carries no alert.runbook_url; same data as DashboardURLTemplate.
	RunbookURLTemplate string `mapstructure:"runbook_url_template"`
	// TraceSearchURLTemplate builds a link to the alert's sample traces;
	// .TraceIDs holds the IDs of alert.trace_ids. Only used when the event
	// names trace IDs.
	TraceSearchURLTemplate string `mapstructure:"trace_search_url_template"`
	// Routing is the path of an alert routing file (receivers, routing
	// tree, grouping, inhibition, time intervals; see alerts.ParseConfig).
	// Empty means alerts.DefaultConfig with a single receiver: PagerDuty
	// with RoutingKey, or the log when RoutingKey is empty. The file is
	// re-read when it changes.
	Routing string `mapstructure:"routing"`
	// Silences is the path of a silences file (see alerts.ParseSilences),
	// re-read when it changes; a missing file means no silences.
	Silences string `mapstructure:"silences"`
	// Storage is the ID of a storage extension (file_storage) that keeps
	// the notification log across restarts. Without it a restart forgets
	// which incidents are open: triggers may repeat and resolves be lost.
	Storage *component.ID `mapstructure:"storage"`
	// FlushInterval is how often the dispatcher reloads the routing and
	// silences files and flushes due notifications. Default 1s.
	FlushInterval time.Duration `mapstructure:"flush_interval"`

	// TimeoutConfig bounds each HTTP request to PagerDuty. It is applied to
	// the request only, not to exporterhelper's send, so that an event
	// queued behind the per-routing-key rate limit is not cut short.
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig queues notifications for sending. Only an in-memory queue
	// without batching is supported: the notification log in Storage is
	// what survives a restart (a persistent queue would send again what the
	// log already re-sends), and every notification is its own event.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig retries 429, 5xx and network failures with backoff; a
	// 429's Retry-After is honoured.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without touching files or the network.
// No error it returns contains the routing key.
func (c *Config) Validate() error {
	var errs []error
	if c.RoutingKey != "" {
		if err := events.ValidateRoutingKey(events.RoutingKey(c.RoutingKey)); err != nil {
			errs = append(errs, fmt.Errorf("routing_key: %w", err))
		}
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("url %q: want an absolute http or https URL", c.URL))
		}
	}
	if _, err := events.NewBuilder(c.builderSettings()); err != nil {
		errs = append(errs, err)
	}
	for name, text := range map[string]string{
		"dashboard_url_template":    c.DashboardURLTemplate,
		"runbook_url_template":      c.RunbookURLTemplate,
		"trace_search_url_template": c.TraceSearchURLTemplate,
	} {
		if _, err := parseTemplate(name, text); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush_interval %s: must not be negative", c.FlushInterval))
	}
	if c.TimeoutConfig.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must not be negative", c.TimeoutConfig.Timeout))
	}
	if q := c.QueueConfig.Get(); q != nil {
		if q.StorageID != nil {
			errs = append(errs, errors.New("sending_queue::storage is not supported: the notification log (storage) is what survives a restart"))
		}
		if q.Batch.HasValue() {
			errs = append(errs, errors.New("sending_queue::batch is not supported: every notification is its own PagerDuty event"))
		}
	}
	return errors.Join(errs...)
}

// builderSettings is the events.Builder configuration the exporter uses.
func (c *Config) builderSettings() events.BuilderSettings {
	s := events.BuilderSettings{Client: c.Client, ClientURL: c.ClientURL}
	if len(c.SeverityMap) > 0 {
		s.Severities = make(map[string]events.Severity, len(c.SeverityMap))
		for k, v := range c.SeverityMap {
			s.Severities[k] = events.Severity(v)
		}
	}
	return s
}

// parseTemplate parses a link template; an empty text gives a nil template.
func parseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	return template.New(name).Option("missingkey=zero").Parse(text)
}
