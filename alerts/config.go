package alerts

import (
	"time"

	"github.com/vigil-otel/vigil/conventions"
)

// Defaults of the built-in configuration and of fields a config leaves out.
const (
	// DefaultReceiverName names the receiver of the built-in configuration.
	DefaultReceiverName = "default"
	// DefaultGroupWait is short because Vigil's SLO alerts are already
	// debounced by their multiwindow burn-rate condition: a long group_wait
	// only delays the page. The few seconds let a page and the ticket it
	// inhibits, raised by the same evaluation, arrive together, so the ticket
	// is never sent ahead of its page.
	DefaultGroupWait = 5 * time.Second
	// DefaultGroupInterval bounds how late a new alert of an already
	// notified group, or a resolve, goes out.
	DefaultGroupInterval = time.Minute
	// DefaultRepeatInterval re-sends the trigger of a still-firing alert;
	// PagerDuty folds it into the open incident (same dedup key), so it
	// only matters if the incident was resolved by hand meanwhile.
	DefaultRepeatInterval = 4 * time.Hour
	// DefaultResolveTimeout resolves a firing alert that has not been
	// re-reported for this long. The SLO connector re-emits firing alerts
	// on every evaluation, so silence means the alert is gone (or its
	// source restarted without it).
	DefaultResolveTimeout = 5 * time.Minute
)

// DefaultGroupBy groups the alerts of one SLO of one service together.
var DefaultGroupBy = []string{LabelAlertName, LabelService, LabelSLO}

// Config is the alert engine's configuration: receivers, the routing tree,
// inhibition rules and time intervals. Silences live in their own file.
type Config struct {
	// ResolveTimeout resolves firing alerts not re-reported for this long.
	ResolveTimeout time.Duration
	Receivers      []Receiver
	// Route is the root of the routing tree; it matches every alert.
	Route        *Route
	InhibitRules []InhibitRule
	// TimeIntervals by name, referred to by routes.
	TimeIntervals map[string]*TimeInterval
}

// Receiver is a named destination. The engine only passes its name along in
// notifications; what the name leads to (pipelines, and the exporters that
// send) is configured outside the library.
type Receiver struct {
	Name string
	// Pos is where the config file defines the receiver (its name), so
	// that a check made outside the library (the alertrouter connector's:
	// every receiver mapped to pipelines) can report file:line:col. Zero
	// for the built-in receiver of DefaultConfig.
	Pos Position
}

// Receiver returns the receiver named name, if any.
func (c *Config) Receiver(name string) (Receiver, bool) {
	for _, r := range c.Receivers {
		if r.Name == name {
			return r, true
		}
	}
	return Receiver{}, false
}

// DefaultConfig is the configuration used when none is given: every alert
// goes to the receiver named DefaultReceiverName, grouped by alertname,
// service and slo, and a page inhibits the ticket of the same SLO and
// service (the ticket's slower burn rate says nothing the page does not
// already say louder).
func DefaultConfig() *Config {
	return &Config{
		ResolveTimeout: DefaultResolveTimeout,
		Receivers:      []Receiver{{Name: DefaultReceiverName}},
		Route: &Route{
			ID:             "0",
			Receiver:       DefaultReceiverName,
			GroupBy:        append([]string(nil), DefaultGroupBy...),
			GroupWait:      DefaultGroupWait,
			GroupInterval:  DefaultGroupInterval,
			RepeatInterval: DefaultRepeatInterval,
		},
		InhibitRules:  []InhibitRule{DefaultInhibitRule()},
		TimeIntervals: map[string]*TimeInterval{},
	}
}

// DefaultInhibitRule lets a page inhibit the ticket for the same SLO and
// service. It matches the tier, vigil_severity, so that it holds whatever
// severity the spec's alert labels set.
func DefaultInhibitRule() InhibitRule {
	return InhibitRule{
		SourceMatchers: Matchers{mustMatcher(MatchEqual, LabelVigilSeverity, conventions.SeverityPage)},
		TargetMatchers: Matchers{mustMatcher(MatchEqual, LabelVigilSeverity, conventions.SeverityTicket)},
		Equal:          []string{LabelSLO, LabelService},
	}
}

func mustMatcher(t MatchType, name, value string) *Matcher {
	m, err := NewMatcher(t, name, value)
	if err != nil {
		panic(err)
	}
	return m
}
