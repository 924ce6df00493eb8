package rules

import "time"

// Options tune rule generation. The zero value is usable.
type Options struct {
	// RunbookURL and DashboardURL are text/template URLs for the alert
	// annotations of SLOs whose spec names none, with fields .Service, .SLO
	// and .Severity, e.g. https://runbooks.example.com/{{.Service}}/{{.SLO}}.
	RunbookURL   string
	DashboardURL string
	// MaxInterval caps each group's evaluation interval (default 1m). The
	// interval is the longest one not above MaxInterval that divides the
	// shortest burn-rate window in whole seconds, so that chained windows
	// tile exactly (see the package documentation).
	MaxInterval time.Duration
	// For is the `for:` of every alert (default 0, see the package
	// documentation).
	For time.Duration
}

// DefaultMaxInterval is the default of Options.MaxInterval.
const DefaultMaxInterval = time.Minute

// maxTiles bounds the terms of one chained window: beyond it the window is
// chained from a longer recorded one or, failing that, read from the raw
// counter.
const maxTiles = 12
