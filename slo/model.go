// Package slo is Vigil's SLO engine as a plain library: the spec and its
// validated model, SLI accounting in time windows, error budgets, multiwindow
// multi-burn-rate alert evaluation, and Prometheus rule generation.
//
// It knows nothing of the collector: components turn pdata into calls on
// this package (see connector/sloconnector).
package slo

import (
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Position says where something was written: a file, a 1-based line and a
// 1-based column. Validation errors carry one.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Spec is one loaded spec file, whatever its format (vigil/v1, openslo/v1,
// prometheus/v1 as Sloth writes it), turned into the validated model.
type Spec struct {
	File    string
	Service string
	SLOs    []SLO
}

// SLO is one validated service level objective.
type SLO struct {
	// Name is unique within a service.
	Name string
	// Service is the service the SLO belongs to (service.name).
	Service     string
	Description string
	// Objective is the target in percent, in (0, 100): 99.9 means 99.9%.
	Objective float64
	Window    Window
	SLI       SLI
	// GroupBy lists attributes that split the SLO into one series per value
	// combination (for example per route). Empty means one series.
	GroupBy []string
	// MaxGroups caps the number of GroupBy series; events of further
	// groups are counted as refused and reported. Zero means the default.
	MaxGroups int
	Alerting  Alerting
	// Labels are added to every metric series and alert of the SLO.
	Labels map[string]string
	// Pos is where the SLO is defined.
	Pos Position
}

// ID identifies an SLO across files and reloads: service and name.
func (s *SLO) ID() string { return s.Service + "/" + s.Name }

// ObjectiveRatio is the objective as a ratio: 0.999 for 99.9%.
func (s *SLO) ObjectiveRatio() float64 {
	r, _ := objectiveRat(s.Objective).Float64()
	return r
}

// ErrorBudget is the fraction of events allowed to be bad: 0.001 for 99.9%.
func (s *SLO) ErrorBudget() float64 {
	b, _ := new(big.Rat).Sub(big.NewRat(1, 1), objectiveRat(s.Objective)).Float64()
	return b
}

// objectiveRat is objective/100 computed on the objective as written (the
// shortest decimal that round-trips its float, "99.9"), not on its nearest
// binary float. In float arithmetic 1 - 99.9/100 is 0.00099999999999989,
// which makes a burn rate sitting exactly on a threshold (3 bad in 1000
// against 3) compare differently here and in the Prometheus rules. Every
// user of the objective goes through here so the collector and the rules
// decide ties alike.
func objectiveRat(objective float64) *big.Rat {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(objective, 'f', -1, 64))
	return r.Quo(r, big.NewRat(100, 1))
}

// CalendarPeriod names a calendar-aligned window.
type CalendarPeriod string

// Calendar periods. Weeks start on Monday 00:00 UTC, months on the 1st 00:00 UTC.
const (
	CalendarWeek  CalendarPeriod = "week"
	CalendarMonth CalendarPeriod = "month"
)

// Window is the compliance window of an SLO: rolling (the last Rolling of
// time) or calendar-aligned, where the budget resets at each period's start.
// Exactly one of Rolling and Calendar is set.
type Window struct {
	Rolling  time.Duration
	Calendar CalendarPeriod
}

// Period is the nominal length of the window. Burn rates and alert windows
// are derived from it; a calendar month counts as 30 days, a week as 7.
func (w Window) Period() time.Duration {
	switch w.Calendar {
	case CalendarWeek:
		return 7 * 24 * time.Hour
	case CalendarMonth:
		return 30 * 24 * time.Hour
	}
	return w.Rolling
}

// Start is the start of the window that ends at t: t-Rolling for a rolling
// window, the start of the current week or month (UTC) for a calendar one.
func (w Window) Start(t time.Time) time.Time {
	t = t.UTC()
	switch w.Calendar {
	case CalendarWeek:
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		offset := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -offset)
	case CalendarMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Add(-w.Rolling)
}

// SLI says how events are classified. Exactly one field is set.
type SLI struct {
	Spans   *SpanSLI
	Metrics *MetricSLI
	// PromQL SLIs come from OpenSLO and Sloth specs that state their SLI as
	// queries. They cannot be evaluated on the stream and feed only the
	// Prometheus rule generator.
	PromQL *PromQLSLI
}

// Streamable reports whether the collector can evaluate the SLI itself.
func (s SLI) Streamable() bool { return s.Spans != nil || s.Metrics != nil }

// SpanSLI classifies spans: a span that matches Match is an event, and it
// is bad when any condition of Bad holds.
type SpanSLI struct {
	Match SpanMatch
	Bad   SpanBad
}

// SpanMatch selects the spans that are events of the SLI. Empty fields
// match everything.
type SpanMatch struct {
	// Service defaults to the SLO's service; "*" matches every service.
	Service string
	// SpanKind is one of server, client, producer, consumer, internal.
	SpanKind string
	// SpanNames, when set, lists the span names that match.
	SpanNames  []string
	Attributes []AttributeMatcher
	// Condition is an OTTL span condition, evaluated by the connector, for
	// selections the fields above cannot express.
	Condition string
}

// SpanBad lists the conditions that make a matching span bad; any one is
// enough. Zero values are unset conditions.
type SpanBad struct {
	// StatusError: the span status is Error.
	StatusError bool
	// HTTPStatusAtLeast: the HTTP response status (http.response.status_code,
	// or the older http.status_code) is at least this, typically 500.
	HTTPStatusAtLeast int
	// GRPCCodes: rpc.grpc.status_code is one of these numeric codes.
	GRPCCodes []int
	// LatencyAbove: the span lasted longer than this.
	LatencyAbove time.Duration
}

// MatchOp is the operator of an AttributeMatcher.
type MatchOp string

// Matcher operators, as in Prometheus label matchers.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// AttributeMatcher matches an attribute's value, compared as a string.
// Regular expressions are anchored, as in Prometheus.
type AttributeMatcher struct {
	Key   string
	Op    MatchOp
	Value string
}

// MetricSLI counts events from metrics: a ratio of counters, or latency
// from a histogram at a bucket boundary. Exactly one of the forms is set:
// Total with Good or Bad; or Histogram.
type MetricSLI struct {
	Good      *MetricSelector
	Bad       *MetricSelector
	Total     *MetricSelector
	Histogram *HistogramSLI
}

// MetricSelector picks the data points of one metric by attributes.
type MetricSelector struct {
	Metric     string
	Attributes []AttributeMatcher
}

// HistogramSLI counts observations above LatencyAbove as bad; LatencyAbove
// must be one of the histogram's bucket boundaries.
type HistogramSLI struct {
	MetricSelector
	LatencyAbove time.Duration
}

// PromQLSLI is an SLI written as PromQL. ErrorQuery and TotalQuery may use
// {{.window}} for the range (Sloth's convention); when GoodQuery is set
// instead of ErrorQuery, errors are total minus good.
type PromQLSLI struct {
	ErrorQuery string
	GoodQuery  string
	TotalQuery string
}

// Alerting says which burn-rate alerts the SLO has. A nil policy means no
// alert of that severity.
type Alerting struct {
	Page   *AlertPolicy
	Ticket *AlertPolicy
	// RunbookURL and DashboardURL go into alert annotations and events.
	RunbookURL   string
	DashboardURL string
}

// AlertPolicy configures the alerts of one severity.
type AlertPolicy struct {
	// Name of the alert; defaults to a name derived from the SLO.
	Name string
	// MinEvents is the minimum number of events in the long window before
	// the alert may fire, so that a handful of failures on a quiet night
	// does not page. Zero means DefaultMinEvents.
	MinEvents int
	// Labels and Annotations are added to the alert.
	Labels      map[string]string
	Annotations map[string]string
}

// DefaultMinEvents is the default minimum-events guard of an alert policy.
const DefaultMinEvents = 10

// DefaultMaxGroups is the default cap on GroupBy series of one SLO.
const DefaultMaxGroups = 1000
