package sloconnector

import (
	"errors"
	"fmt"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/vigil-otel/vigil/internal/dedup"
)

// EmbeddedSpecs is the value of Config.Specs that names the example specs
// compiled into the binary (package slo/examples).
const EmbeddedSpecs = "embedded"

// Defaults of Config.
const (
	defaultEvaluationInterval  = 10 * time.Second
	defaultCheckpointInterval  = time.Minute
	defaultReloadCheckInterval = 10 * time.Second
	defaultAlertResendInterval = time.Minute
)

// Config is the configuration of the slo connector.
type Config struct {
	// Specs lists SLO spec files or folders (whose *.yaml and *.yml files
	// are read). Empty, or the word "embedded", means the example specs
	// compiled into the binary.
	Specs []string `mapstructure:"specs"`
	// EvaluationInterval is how often burn rates, budgets and alerts are
	// evaluated and emitted. Evaluations fall on whole multiples of it
	// (on the minute, for a 10s interval every sixth one), where the
	// tracker's window sums are exact.
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`
	// Storage is the ID of a storage extension (for example file_storage)
	// that keeps the state across restarts. Without it a restart starts
	// every budget from scratch.
	Storage *component.ID `mapstructure:"storage"`
	// CheckpointInterval is how often the state is written to Storage, on
	// top of the writes at every alert transition and at shutdown. A
	// crash loses at most this much of the counts, and no alert state.
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`
	// LateTolerance is how long after its end a span or metric point still
	// counts, in the bucket of its end time; older ones are refused and
	// counted. Zero means the tracker's default (5m).
	LateTolerance time.Duration `mapstructure:"late_tolerance"`
	// FutureTolerance is how far ahead of the collector's clock an event
	// may end (clock skew); it counts as ending now. Zero means the
	// tracker's default (1m).
	FutureTolerance time.Duration `mapstructure:"future_tolerance"`
	// ResolveHoldDown keeps a firing alert firing until its condition has
	// been false this long, against flapping. Zero resolves at once.
	ResolveHoldDown time.Duration `mapstructure:"resolve_hold_down"`
	// DashboardURL and RunbookURL are Go templates of the links put on
	// alert events of SLOs whose spec sets none; they see .Service, .SLO
	// and .Severity, as in `vigil slo rules`.
	DashboardURL string `mapstructure:"dashboard_url"`
	RunbookURL   string `mapstructure:"runbook_url"`
	// ReloadCheckInterval is how often spec files are checked for changes
	// (by content, package internal/filewatch). Zero means the default
	// (10s); a negative value turns the check off (SIGHUP, which rebuilds
	// the collector's pipelines, still reloads).
	ReloadCheckInterval time.Duration `mapstructure:"reload_check_interval"`
	// AlertResendInterval is how often events of still-firing alerts are
	// sent again, so that a downstream that resolves stale alerts keeps
	// them open. Zero means the default (1m).
	AlertResendInterval time.Duration `mapstructure:"alert_resend_interval"`
	// RED computes span_metrics-compatible RED metrics from every span in
	// the same pass as the SLO accounting (see REDConfig).
	RED REDConfig `mapstructure:"red"`
	// Dedup remembers the requests the connector counted (spans and
	// metric points each), so that a sender's retry of one, after another
	// consumer of the request refused it (a storage exporter's full
	// queue), is not counted again (package internal/dedup: what a
	// request's fingerprint is, why the 5-minute window, what it cannot
	// catch). window: 0 turns it off.
	Dedup dedup.Config `mapstructure:"dedup"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without side effects. It loads and
// compiles the specs as Start does, so an invalid spec, a missing file or
// folder, or an OTTL condition that does not parse is refused at
// configuration time (`vigil validate` included) with every problem,
// file:line:col, and with the message Start would fail with; when the
// collector rebuilds its pipelines they are left to Start (see
// checkSpecs).
func (c *Config) Validate() error {
	var errs []error
	if c.EvaluationInterval <= 0 {
		errs = append(errs, errors.New("evaluation_interval must be positive"))
	}
	if c.CheckpointInterval < 0 {
		errs = append(errs, errors.New("checkpoint_interval must not be negative"))
	}
	if c.LateTolerance < 0 {
		errs = append(errs, errors.New("late_tolerance must not be negative"))
	}
	if c.FutureTolerance < 0 {
		errs = append(errs, errors.New("future_tolerance must not be negative"))
	}
	if c.ResolveHoldDown < 0 {
		errs = append(errs, errors.New("resolve_hold_down must not be negative"))
	}
	if c.AlertResendInterval < 0 {
		errs = append(errs, errors.New("alert_resend_interval must not be negative"))
	}
	for _, u := range []struct{ name, tmpl string }{{"dashboard_url", c.DashboardURL}, {"runbook_url", c.RunbookURL}} {
		if _, err := parseURLTemplate(u.tmpl); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	emptyPath := false
	for i, p := range c.Specs {
		if p == "" {
			errs = append(errs, fmt.Errorf("specs[%d] is empty", i))
			emptyPath = true
		}
	}
	if !emptyPath {
		if err := checkSpecs(c.Specs); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.RED.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// parseURLTemplate parses a link template; an empty one gives nil.
func parseURLTemplate(s string) (*template.Template, error) {
	if s == "" {
		return nil, nil
	}
	return template.New("url").Option("missingkey=error").Parse(s)
}

func createDefaultConfig() component.Config {
	return &Config{
		Specs:               []string{EmbeddedSpecs},
		EvaluationInterval:  defaultEvaluationInterval,
		CheckpointInterval:  defaultCheckpointInterval,
		ReloadCheckInterval: defaultReloadCheckInterval,
		AlertResendInterval: defaultAlertResendInterval,
		Dedup:               dedup.NewDefaultConfig(),
	}
}
