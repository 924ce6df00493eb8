package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"text/template"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
)

// Config is the configuration of the pagerduty exporter.
type Config struct {
	// ClientConfig is the HTTP client: endpoint (the Events API v2 enqueue
	// URL, by default PagerDuty's https://events.pagerduty.com/v2/enqueue;
	// tests and proxies point it elsewhere), timeout per request (10s),
	// TLS, proxy and the collector's other client settings.
	confighttp.ClientConfig `mapstructure:",squash"`
	// RoutingKey is the Events API v2 integration key every event of this
	// exporter goes to: one exporter per PagerDuty service, as one receiver
	// of the alertrouter connector. Empty writes every notification to the
	// collector's log instead, which is what the embedded default does when
	// PAGERDUTY_ROUTING_KEY is unset.
	RoutingKey configopaque.String `mapstructure:"routing_key"`
	// SeverityMap maps Vigil severities (page, ticket, ...) to PagerDuty
	// severities (critical, error, warning, info). Entries override the
	// defaults page→critical and ticket→warning.
	SeverityMap map[string]string `mapstructure:"severity_map"`
	// Client is the client field of trigger events, shown by PagerDuty as
	// the monitoring tool's name. Default: "Vigil".
	Client string `mapstructure:"client"`
	// ClientURL is the client_url field of trigger events (a Grafana home,
	// say); empty leaves it out, or makes it the console's firing alerts
	// when ConsoleURL is set.
	ClientURL string `mapstructure:"client_url"`
	// ConsoleURL is Vigil's alert console (the alertrouter connector's
	// status page) as whoever is paged reaches it; the shipped
	// configurations set it from VIGIL_CONSOLE_URL. When set, every trigger
	// links to the console's firing alerts (client_url, unless ClientURL
	// is set, and the link "Vigil console") and to its silence form filled
	// with the alert's labels ("Silence in Vigil"): the page alone tells
	// on-call where to look and how to mute it. Empty: no console links.
	ConsoleURL string `mapstructure:"console_url"`
	// DashboardURLTemplate builds the dashboard link of a trigger when the
	// alert event carries no alert.dashboard_url. It is a Go text/template
	// over {Labels, Annotations, Fingerprint}, e.g.
	// `https://grafana.example/d/vigil-slo?var-service={{ .Labels.service_name | urlquery }}`.
	DashboardURLTemplate string `mapstructure:"dashboard_url_template"`
	// RunbookURLTemplate builds the runbook link when the alert event
	// carries no alert.runbook_url; same data as DashboardURLTemplate.
	RunbookURLTemplate string `mapstructure:"runbook_url_template"`
	// TraceSearchURLTemplate builds a link to the alert's sample traces;
	// .TraceIDs holds the IDs of alert.trace_ids. Only used when the event
	// names trace IDs.
	TraceSearchURLTemplate string `mapstructure:"trace_search_url_template"`
	// QueueConfig is exporterhelper's sending queue. Left out, sending is
	// synchronous: the alertrouter connector's handover returns once
	// PagerDuty took the event. Set it with storage (a persistent queue) so
	// that the handover returns once the event is on disk and a restart
	// sends what was queued; an in-memory queue must set wait_for_result,
	// or a crash would lose notifications the router counts as delivered.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig retries 429, 5xx and network failures with backoff; a
	// 429's Retry-After is honoured. max_elapsed_time defaults to 0 (never
	// give up): a page late is better than a page lost.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Moved catches the keys of the exporter's earlier, stateful form, so
	// Validate can say where each went rather than only that it is unknown.
	Moved map[string]any `mapstructure:",remain"`
}

var _ component.Config = (*Config)(nil)

// movedKeys says where each key of the earlier form went.
var movedKeys = map[string]string{
	"url":            "renamed endpoint",
	"routing":        "routing moved to the alertrouter connector (connectors::alertrouter::routing)",
	"silences":       "silences moved to the alertrouter connector (connectors::alertrouter::silences)",
	"storage":        "the notification log moved to the alertrouter connector (connectors::alertrouter::storage); for a persistent queue set sending_queue::storage",
	"flush_interval": "flush_interval moved to the alertrouter connector",
}

// Validate checks the configuration without touching files or the network.
// No error it returns contains the routing key.
func (c *Config) Validate() error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(c.Moved)) {
		if hint, ok := movedKeys[k]; ok {
			errs = append(errs, fmt.Errorf("%s: %s", k, hint))
		} else {
			errs = append(errs, fmt.Errorf("%s: unknown field", k))
		}
	}
	if c.RoutingKey != "" {
		if err := events.ValidateRoutingKey(events.RoutingKey(c.RoutingKey)); err != nil {
			errs = append(errs, fmt.Errorf("routing_key: %w", err))
		}
	}
	if !httpURL(c.Endpoint) {
		errs = append(errs, fmt.Errorf("endpoint %q: want an absolute http or https URL", c.Endpoint))
	}
	if c.ConsoleURL != "" && !httpURL(c.ConsoleURL) {
		errs = append(errs, fmt.Errorf("console_url %q: want an absolute http or https URL (the console as people reach it)", c.ConsoleURL))
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
	if q := c.QueueConfig.Get(); q != nil {
		if q.StorageID == nil && !q.WaitForResult {
			errs = append(errs, errors.New("sending_queue: an in-memory queue without wait_for_result loses, on a crash, "+
				"notifications the alert router counts as delivered; set sending_queue::storage (persistent) or wait_for_result: true"))
		}
		if q.Batch.HasValue() {
			errs = append(errs, errors.New("sending_queue::batch is not supported: every notification is its own PagerDuty event"))
		}
	}
	return errors.Join(errs...)
}

// httpURL reports whether s is an absolute http or https URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// builderSettings is the events.Builder configuration the exporter uses.
func (c *Config) builderSettings() events.BuilderSettings {
	s := events.BuilderSettings{Client: c.Client, ClientURL: c.ClientURL}
	if s.ClientURL == "" && c.ConsoleURL != "" {
		s.ClientURL = consoleAlertsURL(c.ConsoleURL)
	}
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
