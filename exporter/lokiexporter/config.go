package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/internal/labelname"
)

// Loki's limits that shape what the exporter sends. A request breaking one
// of them is rejected (or the offending entry discarded) by Loki, so the
// exporter stays inside them. Defaults from
// https://grafana.com/docs/loki/latest/configure/#limits_config
const (
	// lokiMaxLabelNames is limits_config.max_label_names_per_series.
	lokiMaxLabelNames = 15
	// lokiMaxLabelValueLength is limits_config.max_label_value_length.
	lokiMaxLabelValueLength = 2048
	// lokiMaxLineSize is limits_config.max_line_size, "256KB". Loki parses
	// it with go-humanize, where KB is 1000 bytes.
	lokiMaxLineSize = 256_000
	// lokiMaxStructuredMetadataEntries is
	// limits_config.max_structured_metadata_entries_count; Loki discards a
	// whole entry above it.
	lokiMaxStructuredMetadataEntries = 128
	// lokiMaxStructuredMetadataSize is limits_config.max_structured_metadata_size
	// ("64kb", names plus values); Loki discards a whole entry above it.
	lokiMaxStructuredMetadataSize = 64_000
)

// pushPath is the push API's path, appended to an endpoint given without
// one.
const pushPath = "/loki/api/v1/push"

// LineFormat says how a log record becomes a Loki line.
type LineFormat string

// The line formats.
const (
	// LineFormatBody writes the body alone (a map or slice body as JSON);
	// log attributes go to structured metadata.
	LineFormatBody LineFormat = "body"
	// LineFormatJSON writes {"body": ..., "attributes": {...}}, for
	// LogQL's `| json`.
	LineFormatJSON LineFormat = "json"
	// LineFormatLogfmt writes msg=<body> (or a map body's keys) followed by
	// the attributes as key=value pairs, for LogQL's `| logfmt`.
	LineFormatLogfmt LineFormat = "logfmt"
)

// LabelsConfig chooses the stream labels.
type LabelsConfig struct {
	// ResourceAttributes are resource attribute keys to add as labels, for
	// example k8s.namespace.name. The label name is the key sanitised to
	// Loki's rules (k8s_namespace_name). Choose only attributes with few
	// values: every distinct label set is a separate stream.
	ResourceAttributes []string `mapstructure:"resource_attributes"`
	// Attributes are log record attribute keys to add as labels, sanitised
	// the same way.
	Attributes []string `mapstructure:"attributes"`
	// DisableDefaults drops the default labels service_namespace,
	// deployment_environment and level. service_name is always set (Loki
	// needs at least one label, and Grafana's log views group by it).
	DisableDefaults bool `mapstructure:"disable_defaults"`
}

// Config configures the Loki exporter.
type Config struct {
	// ClientConfig is the HTTP client: endpoint, TLS, headers, timeout and
	// auth (a basicauth or bearertokenauth extension). Endpoint is Loki's
	// base URL (http://loki:3100) or the full push URL; without a path the
	// exporter appends /loki/api/v1/push. Compression must stay unset: the
	// push body is already snappy-compressed.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// QueueConfig is exporterhelper's queue and batcher. The defaults batch
	// about 1 MiB of logs or one second, like Promtail, and block the
	// pipeline when the queue is full instead of dropping logs.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// BackOffConfig retries 429, 5xx and network failures with exponential
	// back-off; a Retry-After header sets the next delay.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// TenantID, when set, is sent as X-Scope-OrgID, the tenant of a
	// multi-tenant Loki (auth_enabled: true).
	TenantID string `mapstructure:"tenant_id"`
	// Labels chooses the stream labels.
	Labels LabelsConfig `mapstructure:"labels"`
	// LineFormat is body (default), json or logfmt.
	LineFormat LineFormat `mapstructure:"line_format"`
	// MaxLineSize is the longest line sent, in bytes; longer lines are cut
	// and end with TruncationMarker (the result is exactly MaxLineSize
	// bytes, cut on a UTF-8 boundary). Default 256000, Loki's
	// max_line_size; 0 sends every line whole.
	MaxLineSize int `mapstructure:"max_line_size"`
	// TruncationMarker ends a truncated line.
	TruncationMarker string `mapstructure:"truncation_marker"`

	// contribErrs are the settings of contrib's exporter this one refuses
	// (compat.go), reported by Validate with every other problem.
	contribErrs error
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration and reports every problem at once.
func (cfg *Config) Validate() error {
	errs := []error{cfg.contribErrs}
	if _, err := pushURL(cfg.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if cfg.ClientConfig.Compression != "" && cfg.ClientConfig.Compression != "none" {
		errs = append(errs, fmt.Errorf("compression: must be unset, the push body is already snappy-compressed (got %q)", cfg.ClientConfig.Compression))
	}
	switch cfg.LineFormat {
	case LineFormatBody, LineFormatJSON, LineFormatLogfmt:
	default:
		errs = append(errs, fmt.Errorf("line_format: %q is not one of body, json, logfmt", cfg.LineFormat))
	}
	if cfg.MaxLineSize < 0 {
		errs = append(errs, fmt.Errorf("max_line_size: must not be negative, got %d", cfg.MaxLineSize))
	} else if cfg.MaxLineSize > 0 && len(cfg.TruncationMarker) >= cfg.MaxLineSize {
		errs = append(errs, fmt.Errorf("truncation_marker: must be shorter than max_line_size (%d bytes)", cfg.MaxLineSize))
	}
	if strings.ContainsAny(cfg.TenantID, "|\r\n") {
		// Loki reads "a|b" as a multi-tenant query header; pushes take one tenant.
		errs = append(errs, errors.New("tenant_id: must be a single tenant (no '|' or line breaks)"))
	}
	if _, err := cfg.Labels.rules(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pushURL returns the push URL for an endpoint. Its errors never quote the
// endpoint, which may carry credentials.
func pushURL(endpoint string) (string, error) {
	if strings.TrimSpace(endpoint) == "" {
		return "", errors.New("endpoint: must be set (Loki's URL, e.g. http://127.0.0.1:3100)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", errors.New("endpoint: not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("endpoint: scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("endpoint: missing host")
	}
	if u.User != nil {
		// Go's client would send them as basic auth, and they would show in
		// the config dump; credentials belong in an auth extension.
		return "", errors.New("endpoint: must not contain credentials; use a basicauth or bearertokenauth extension")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = pushPath
	}
	return u.String(), nil
}

// labelRule promotes one attribute to a label.
type labelRule struct {
	key  string // attribute key
	name string // sanitised label name
}

// labelRules is the validated label configuration.
type labelRules struct {
	defaults bool
	resource []labelRule
	record   []labelRule
}

// defaultLabelNames are the labels set when the attribute is present (and
// service_name always).
var defaultLabelNames = []string{labelServiceName, labelServiceNamespace, labelDeploymentEnvironment, labelLevel}

// rules validates the allowlist and resolves label names. Label names must
// be unique, must not be reserved by Loki (a leading "__") and, with the
// defaults, at most lokiMaxLabelNames in all.
func (lc LabelsConfig) rules() (labelRules, error) {
	var errs []error
	r := labelRules{defaults: !lc.DisableDefaults}
	taken := map[string]string{labelServiceName: "the default label"}
	if r.defaults {
		for _, n := range defaultLabelNames {
			taken[n] = "the default label"
		}
	}
	add := func(field, key string) (labelRule, bool) {
		if key == "" {
			errs = append(errs, fmt.Errorf("labels::%s: empty attribute key", field))
			return labelRule{}, false
		}
		name, err := labelname.FromAttribute(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("labels::%s: %q: %w", field, key, err))
			return labelRule{}, false
		}
		if strings.HasPrefix(name, "__") {
			errs = append(errs, fmt.Errorf("labels::%s: %q becomes label %q; names starting with __ are reserved by Loki", field, key, name))
			return labelRule{}, false
		}
		if prev, ok := taken[name]; ok {
			errs = append(errs, fmt.Errorf("labels::%s: %q becomes label %q, already used by %s", field, key, name, prev))
			return labelRule{}, false
		}
		taken[name] = fmt.Sprintf("%s %q", field, key)
		return labelRule{key: key, name: name}, true
	}
	for _, k := range lc.ResourceAttributes {
		if rule, ok := add("resource_attributes", k); ok {
			r.resource = append(r.resource, rule)
		}
	}
	for _, k := range lc.Attributes {
		if rule, ok := add("attributes", k); ok {
			r.record = append(r.record, rule)
		}
	}
	if len(taken) > lokiMaxLabelNames {
		errs = append(errs, fmt.Errorf("labels: %d label names in all, Loki accepts at most %d per stream", len(taken), lokiMaxLabelNames))
	}
	return r, errors.Join(errs...)
}
