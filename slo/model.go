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

	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// Position says where something was written: a file, a 1-based line and a
// 1-based column. Validation errors carry one.
type Position = yamlpos.Position

// Spec is one loaded spec file, whatever its format (see Format), turned
// into the validated model. A file may hold SLOs of several services (a
// multi-document Sloth file, OpenSLO documents); Service is then "".
type Spec struct {
	File string
	// Format is the format of the file's documents, one of the Format
	// constants; FormatMixed when documents of several formats share it.
	Format  Format
	Service string
	SLOs    []SLO
	// Notes are remarks found while loading: what was accepted but
	// changes nothing, or is honoured only in part.
	Notes []Note
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
	// Budgeting is how events count against the objective: occurrences
	// (the default) or time slices, as OpenSLO's budgetingMethod says.
	Budgeting Budgeting
	// Windows, when set, is the SLO's own burn-rate table, replacing the
	// one derived from the period (see AlertWindows): specs of tools with
	// a table of their own (Pyrra) keep their alert timing.
	Windows []AlertWindow
	// Interval is the rule evaluation interval the spec asks for (Sloth's
	// interval); zero lets `vigil slo rules` choose.
	Interval time.Duration
	// Format is the spec format the SLO was written in.
	Format Format
	// Pos is where the SLO is defined.
	Pos Position
}

// AlertWindows is the SLO's burn-rate table: its own Windows, or the SRE
// Workbook's table scaled to its period.
func (s *SLO) AlertWindows() []AlertWindow {
	if len(s.Windows) > 0 {
		return s.Windows
	}
	return AlertWindows(s.Window.Period())
}

// BurnRateWindows lists every distinct window of the SLO's burn-rate
// table, shortest first: the windows of vigil_slo_burn_rate.
func (s *SLO) BurnRateWindows() []time.Duration { return distinctWindows(s.AlertWindows()) }

// BudgetingMethod names how events count against an objective, as
// OpenSLO names it.
type BudgetingMethod string

// Budgeting methods.
const (
	// Occurrences counts good and bad events: the ratio of bad events in
	// a window is its error ratio.
	Occurrences BudgetingMethod = "Occurrences"
	// Timeslices cuts the window into slices of TimeSlice; a slice is bad
	// when its ratio of good events is below TimeSliceTarget, and the
	// error ratio is the fraction of bad slices.
	Timeslices BudgetingMethod = "Timeslices"
	// RatioTimeslices averages the error ratios of the window's slices,
	// each slice weighing the same whatever its traffic.
	RatioTimeslices BudgetingMethod = "RatioTimeslices"
)

// Budgeting says how events count against the objective. The zero value
// is Occurrences.
type Budgeting struct {
	Method BudgetingMethod
	// TimeSlice is the length of a slice (Timeslices, RatioTimeslices).
	TimeSlice time.Duration
	// TimeSliceTarget is the ratio of good events a slice needs to be
	// good (Timeslices), in (0, 1].
	TimeSliceTarget float64
}

// Sliced reports whether the SLO is budgeted by time slices.
func (b Budgeting) Sliced() bool { return b.Method == Timeslices || b.Method == RatioTimeslices }

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

// CalendarPeriod names the unit of a calendar-aligned window.
type CalendarPeriod string

// Calendar periods, nominally 1, 7, 30, 90 and 365 days long.
const (
	CalendarDay     CalendarPeriod = "day"
	CalendarWeek    CalendarPeriod = "week"
	CalendarMonth   CalendarPeriod = "month"
	CalendarQuarter CalendarPeriod = "quarter"
	CalendarYear    CalendarPeriod = "year"
)

// CalendarPeriods lists the calendar periods, shortest first.
var CalendarPeriods = []CalendarPeriod{CalendarDay, CalendarWeek, CalendarMonth, CalendarQuarter, CalendarYear}

// nominal is the length burn rates and alert windows are derived from.
func (c CalendarPeriod) nominal() time.Duration {
	day := 24 * time.Hour
	switch c {
	case CalendarDay:
		return day
	case CalendarWeek:
		return 7 * day
	case CalendarMonth:
		return 30 * day
	case CalendarQuarter:
		return 90 * day
	case CalendarYear:
		return 365 * day
	}
	return 0
}

// longest is the longest a period can last: 31 days for a month, 92 for a
// quarter, 366 for a year.
func (c CalendarPeriod) longest() time.Duration {
	day := 24 * time.Hour
	switch c {
	case CalendarMonth:
		return 31 * day
	case CalendarQuarter:
		return 92 * day
	case CalendarYear:
		return 366 * day
	}
	return c.nominal()
}

// Window is the compliance window of an SLO: rolling (the last Rolling of
// time) or calendar-aligned, where the budget resets at the start of each
// period of Count Calendar units (a 2-week window resets every other
// Monday). Exactly one of Rolling and Calendar is set.
type Window struct {
	Rolling  time.Duration
	Calendar CalendarPeriod
	// Count is the number of Calendar units in one period; 0 means 1.
	// (The new fields are left out of JSON when unset, so that the
	// tracker's accounting fingerprints of existing SLOs do not change.)
	Count int `json:",omitempty"`
	// Anchor is the start of one period, from which the others follow;
	// zero means the natural start: Monday 1970-01-05 for weeks, the
	// 1st of January 1970 for the other units, at midnight in Location.
	Anchor time.Time `json:",omitzero"`
	// Location is the time zone periods start in; nil means UTC.
	Location *time.Location `json:",omitempty"`
}

func (w Window) count() int { return max(w.Count, 1) }

// Period is the nominal length of the window. Burn rates and alert windows
// are derived from it; a calendar month counts as 30 days, a quarter as
// 90, a year as 365, a week as 7.
func (w Window) Period() time.Duration {
	if w.Calendar != "" {
		return time.Duration(w.count()) * w.Calendar.nominal()
	}
	return w.Rolling
}

// MaxLength is the longest the window can be: Period for a rolling
// window, the longest calendar period for a calendar one.
func (w Window) MaxLength() time.Duration {
	if w.Calendar != "" {
		d := time.Duration(w.count()) * w.Calendar.longest()
		if w.Location != nil && w.Location != time.UTC {
			d += time.Hour // a daylight-saving change inside the period
		}
		return d
	}
	return w.Rolling
}

// Start is the start of the window that ends at t: t-Rolling for a rolling
// window, the start of the current calendar period for a calendar one.
func (w Window) Start(t time.Time) time.Time {
	if w.Calendar == "" {
		return t.Add(-w.Rolling)
	}
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	anchor := w.Anchor
	if anchor.IsZero() {
		anchor = time.Date(1970, 1, 1, 0, 0, 0, 0, loc)
		if w.Calendar == CalendarWeek {
			anchor = time.Date(1970, 1, 5, 0, 0, 0, 0, loc) // a Monday
		}
	}
	anchor = anchor.In(loc)
	switch w.Calendar {
	case CalendarDay, CalendarWeek:
		// Calendar days, not 24h steps, so that periods start at the
		// anchor's clock time across daylight-saving changes.
		step := w.count()
		if w.Calendar == CalendarWeek {
			step *= 7
		}
		days := civilDays(anchor, t)
		k := floorDiv(days, step)
		start := anchor.AddDate(0, 0, k*step)
		if start.After(t) { // t is before the anchor's clock time that day
			start = anchor.AddDate(0, 0, (k-1)*step)
		}
		return start
	default:
		step := w.count()
		switch w.Calendar {
		case CalendarQuarter:
			step *= 3
		case CalendarYear:
			step *= 12
		}
		months := (t.Year()-anchor.Year())*12 + int(t.Month()-anchor.Month())
		k := floorDiv(months, step)
		start := anchor.AddDate(0, k*step, 0)
		if start.After(t) {
			start = anchor.AddDate(0, (k-1)*step, 0)
		}
		return start
	}
}

// describe names a calendar period: "month", "2 weeks".
func (w Window) describe() string {
	if w.count() == 1 {
		return string(w.Calendar)
	}
	return fmt.Sprintf("%d %ss", w.count(), w.Calendar)
}

// civilDays counts calendar days from a's date to b's date.
func civilDays(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
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
	// PrometheusNames says the selectors name metrics and attributes as
	// Prometheus sees them after the OpenTelemetry translation
	// (http_server_request_duration_seconds, http_route), as the PromQL
	// SLIs they come from do (see SLO.Evaluation); job and instance are
	// service.namespace/service.name and service.instance.id. A counter
	// named with _count reads a histogram's count.
	PrometheusNames bool `json:",omitempty"`
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
	// PeriodDenominator divides the errors of each window by the events
	// of the whole period, scaled to the window, rather than by the
	// window's own: a burst at night, when traffic is low, burns less
	// (Sloth's denominator_corrected_rules plugin).
	PeriodDenominator bool `json:",omitempty"`
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
