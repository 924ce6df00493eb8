package anomalyconnector

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/dedup"
)

// Config is the anomaly connector's configuration.
type Config struct {
	// Interval is the aggregation interval: every watched series yields one
	// point per interval, fed to its detector at the interval boundary.
	// The detector's seasonal profiles are learned by wall-clock time, so
	// the interval can change without losing them.
	Interval time.Duration `mapstructure:"interval"`
	// RED configures the series derived from the span_metrics connector's
	// output.
	RED REDConfig `mapstructure:"red"`
	// Metrics selects further metrics to watch, by name and attributes.
	Metrics []MetricConfig `mapstructure:"metrics"`
	// MaxSeries caps the watched series (each has a detector of about
	// 4 KiB). New series beyond it are not watched; the connector logs it
	// and counts them in its own telemetry.
	MaxSeries int `mapstructure:"max_series"`
	// IdleTimeout forgets a series that has had no data for this long (a
	// service or operation that is gone), freeing its place under MaxSeries.
	// A firing alert of an expiring series is resolved.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// Severity is the alert.severity of anomaly alerts: "ticket" (default)
	// or "page".
	Severity string `mapstructure:"severity"`
	// ResendInterval is how often a firing alert is sent again while it
	// fires. It must be shorter than the alert engine's resolve timeout
	// (5m by default), which resolves alerts that stop being reported.
	ResendInterval time.Duration `mapstructure:"resend_interval"`
	// Storage is the ID of a storage extension (such as file_storage) that
	// keeps detector state across restarts. Without it a restart starts
	// every series from scratch.
	Storage *component.ID `mapstructure:"storage"`
	// CheckpointInterval is how often state is written to Storage; it is
	// also written at shutdown, and the series with an alert transition
	// at the transition.
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`
	// Detector tunes every series' detector (see anomaly.Config).
	Detector anomaly.Config `mapstructure:"detector"`
	// Dedup remembers the requests the connector took, so that a
	// sender's retry of one, after another consumer of the request
	// refused it, is not taken again: a delta point's value would count
	// twice in a rate (package internal/dedup). window: 0 turns it off.
	Dedup dedup.Config `mapstructure:"dedup"`
}

// REDConfig selects the span_metrics connector's output to derive request
// rate, error ratio and latency quantiles from.
type REDConfig struct {
	// Enabled turns RED derivation on (default true).
	Enabled bool `mapstructure:"enabled"`
	// CallsMetric is the name of the calls counter (a sum with
	// service.name, span.name and status.code).
	CallsMetric string `mapstructure:"calls_metric"`
	// DurationMetric is the name of the duration histogram: explicit
	// buckets or exponential (span_metrics' `histogram: exponential:`),
	// cumulative or delta.
	DurationMetric string `mapstructure:"duration_metric"`
	// Quantiles are the latency quantiles to watch, in (0, 1).
	Quantiles []float64 `mapstructure:"quantiles"`
	// MinLatencySamples is the number of requests an interval needs before
	// its latency quantiles are fed to the detectors: the p99 of three
	// requests is one request's latency, noise that would teach the
	// detector a band too wide to catch a real slowdown, or flag nothing.
	MinLatencySamples int `mapstructure:"min_latency_samples"`
}

// MetricConfig selects one metric to watch.
type MetricConfig struct {
	// Name is the metric's name as it arrives in the pipeline (pdata name,
	// not the Prometheus form). Gauges are watched by their last value in
	// the interval, monotonic sums by their per-second rate, non-monotonic
	// sums like gauges.
	Name string `mapstructure:"name"`
	// MatchAttributes keeps only datapoints whose attributes (or, failing
	// that, resource attributes) have exactly these values.
	MatchAttributes map[string]string `mapstructure:"match_attributes"`
	// MatchAttributesRegexp keeps only datapoints whose attributes (or,
	// failing that, resource attributes) match these RE2 regular
	// expressions. Each is anchored at both ends: `GET|POST` matches "GET"
	// but not "GETX". A datapoint must satisfy these and MatchAttributes.
	MatchAttributesRegexp map[string]string `mapstructure:"match_attributes_regexp"`
}

// compileAnchored compiles a match_attributes_regexp expression, anchored
// at both ends so that it must match the whole attribute value. The
// expression is parsed on its own first: an unbalanced one such as
// "a)|(b" would otherwise compile, wrapped, as ^(?:a)|(b)$ and escape its
// anchors, and errors quote the expression as written.
func compileAnchored(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile("^(?:" + expr + ")$")
}

// compileMatchers compiles a selection's regular expressions.
func (m *MetricConfig) compileMatchers() (map[string]*regexp.Regexp, error) {
	if len(m.MatchAttributesRegexp) == 0 {
		return nil, nil
	}
	out := make(map[string]*regexp.Regexp, len(m.MatchAttributesRegexp))
	for k, expr := range m.MatchAttributesRegexp {
		re, err := compileAnchored(expr)
		if err != nil {
			return nil, fmt.Errorf("metrics %q: match_attributes_regexp[%q]: %w", m.Name, k, err)
		}
		out[k] = re
	}
	return out, nil
}

var _ component.Config = (*Config)(nil)

// Names of the span_metrics connector's outputs with its default namespace.
const (
	defaultCallsMetric    = "traces.span.metrics.calls"
	defaultDurationMetric = "traces.span.metrics.duration"
)

func createDefaultConfig() component.Config {
	det := anomaly.DefaultConfig()
	// An alert should resolve soon after the series recovers: half an hour
	// of calm, not the six hours the detector holds a flag by default (in
	// offline detection a held flag only suppresses repeated detections).
	det.ClearAfter = 30 * time.Minute
	return &Config{
		Interval: time.Minute,
		RED: REDConfig{
			Enabled:        true,
			CallsMetric:    defaultCallsMetric,
			DurationMetric: defaultDurationMetric,
			Quantiles:      []float64{0.95, 0.99},
			// The p99 of fewer requests is one request's latency.
			MinLatencySamples: 10,
		},
		MaxSeries:          10000,
		IdleTimeout:        6 * time.Hour,
		Severity:           conventions.SeverityTicket,
		ResendInterval:     time.Minute,
		CheckpointInterval: 5 * time.Minute,
		Detector:           det,
		Dedup:              dedup.NewDefaultConfig(),
	}
}

// Validate reports every invalid field at once, without side effects.
func (c *Config) Validate() error {
	var errs []error
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("interval must be at least 1s, got %v", c.Interval))
	}
	if c.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("max_series must be positive, got %d", c.MaxSeries))
	}
	if c.IdleTimeout < c.Interval {
		errs = append(errs, fmt.Errorf("idle_timeout (%v) must be at least interval (%v)", c.IdleTimeout, c.Interval))
	}
	if c.Severity != conventions.SeverityTicket && c.Severity != conventions.SeverityPage {
		errs = append(errs, fmt.Errorf("severity must be %q or %q, got %q", conventions.SeverityTicket, conventions.SeverityPage, c.Severity))
	}
	if c.ResendInterval <= 0 {
		errs = append(errs, fmt.Errorf("resend_interval must be positive, got %v", c.ResendInterval))
	}
	if c.Storage != nil && c.CheckpointInterval <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint_interval must be positive, got %v", c.CheckpointInterval))
	}
	if c.RED.Enabled {
		if c.RED.CallsMetric == "" && c.RED.DurationMetric == "" {
			errs = append(errs, errors.New("red: calls_metric or duration_metric must be set when red is enabled"))
		}
		if c.RED.MinLatencySamples < 0 {
			errs = append(errs, fmt.Errorf("red::min_latency_samples must be >= 0, got %d", c.RED.MinLatencySamples))
		}
		for i, q := range c.RED.Quantiles {
			if !(q > 0 && q < 1) {
				errs = append(errs, fmt.Errorf("red::quantiles[%d] must be in (0, 1), got %v", i, q))
			}
		}
	}
	seen := map[string]int{}
	for i, m := range c.Metrics {
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("metrics[%d]: name must be set", i))
			continue
		}
		if c.RED.Enabled && (m.Name == c.RED.CallsMetric || m.Name == c.RED.DurationMetric) {
			errs = append(errs, fmt.Errorf("metrics[%d]: %q is already watched by red", i, m.Name))
		}
		for _, k := range slices.Sorted(maps.Keys(m.MatchAttributesRegexp)) {
			if _, err := compileAnchored(m.MatchAttributesRegexp[k]); err != nil {
				errs = append(errs, fmt.Errorf("metrics[%d] (%q): match_attributes_regexp[%q]: %w", i, m.Name, k, err))
			}
		}
		if j, dup := seen[m.Name]; dup {
			errs = append(errs, fmt.Errorf("metrics[%d]: %q is already selected by metrics[%d]", i, m.Name, j))
		}
		seen[m.Name] = i
	}
	if !c.RED.Enabled && len(c.Metrics) == 0 {
		errs = append(errs, errors.New("nothing to watch: enable red or select metrics"))
	}
	if err := c.Detector.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("detector: %w", err))
	}
	return errors.Join(errs...)
}
