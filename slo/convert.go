package slo

import (
	"bytes"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// Convert writes specs in Vigil's native form (VersionVigil), one YAML
// document per service in the order the services first appear: what
// `vigil slo convert` prints for Sloth, Pyrra and OpenSLO specs. The
// result loads into the same SLOs (Parse of the output gives the model
// the input gave, but for positions and Format), so every setting the
// source honoured is written out: an own burn-rate table (Pyrra's, or
// OpenSLO alert conditions), `for:`, budgeting by time slices, calendar
// counts, anchors and time zones, evaluation intervals.
func Convert(specs []Spec) ([]byte, error) {
	type doc struct {
		service string
		slos    []nativeSLO
	}
	var docs []*doc
	byService := map[string]*doc{}
	for _, spec := range specs {
		for i := range spec.SLOs {
			s := &spec.SLOs[i]
			d := byService[s.Service]
			if d == nil {
				d = &doc{service: s.Service}
				byService[s.Service] = d
				docs = append(docs, d)
			}
			n, err := toNative(s)
			if err != nil {
				return nil, fmt.Errorf("SLO %s: %w", s.ID(), err)
			}
			d.slos = append(d.slos, n)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(nativeSpec{Version: VersionVigil, Service: d.service, SLOs: d.slos}); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// The native spec as written; see VersionVigil for the meaning of each
// field. Field order is the documented order.
type nativeSpec struct {
	Version string      `yaml:"version"`
	Service string      `yaml:"service"`
	SLOs    []nativeSLO `yaml:"slos"`
}

type nativeSLO struct {
	Name        string            `yaml:"name"`
	Objective   float64           `yaml:"objective"`
	Window      any               `yaml:"window"`
	Description string            `yaml:"description,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	GroupBy     []string          `yaml:"group_by,omitempty"`
	MaxGroups   int               `yaml:"max_groups,omitempty"`
	Budgeting   *nativeBudgeting  `yaml:"budgeting,omitempty"`
	Interval    string            `yaml:"interval,omitempty"`
	SLI         nativeSLI         `yaml:"sli"`
	Alerting    *nativeAlerting   `yaml:"alerting,omitempty"`
}

type nativeWindow struct {
	Calendar string `yaml:"calendar"`
	Count    int    `yaml:"count,omitempty"`
	Start    string `yaml:"start,omitempty"`
	TimeZone string `yaml:"time_zone,omitempty"`
}

type nativeBudgeting struct {
	Method          string  `yaml:"method"`
	TimeSlice       string  `yaml:"time_slice,omitempty"`
	TimeSliceTarget float64 `yaml:"time_slice_target,omitempty"`
}

type nativeSLI struct {
	PromQL  *nativePromQL `yaml:"promql,omitempty"`
	Spans   any           `yaml:"spans,omitempty"`
	Metrics any           `yaml:"metrics,omitempty"`
}

type nativePromQL struct {
	ErrorQuery        string `yaml:"error_query,omitempty"`
	GoodQuery         string `yaml:"good_query,omitempty"`
	TotalQuery        string `yaml:"total_query"`
	PeriodDenominator bool   `yaml:"period_denominator,omitempty"`
}

type nativeAlerting struct {
	Page         *nativePolicy       `yaml:"page,omitempty"`
	Ticket       *nativePolicy       `yaml:"ticket,omitempty"`
	RunbookURL   string              `yaml:"runbook_url,omitempty"`
	DashboardURL string              `yaml:"dashboard_url,omitempty"`
	Windows      []nativeAlertWindow `yaml:"windows,omitempty"`
}

type nativePolicy struct {
	Name        string            `yaml:"name,omitempty"`
	MinEvents   int               `yaml:"min_events,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type nativeAlertWindow struct {
	Severity string  `yaml:"severity"`
	Long     string  `yaml:"long"`
	Short    string  `yaml:"short"`
	BurnRate float64 `yaml:"burn_rate"`
	Op       string  `yaml:"op,omitempty"`
	For      string  `yaml:"for,omitempty"`
}

func toNative(s *SLO) (nativeSLO, error) {
	n := nativeSLO{
		Name:        s.Name,
		Objective:   s.Objective,
		Description: s.Description,
		Labels:      s.Labels,
		GroupBy:     s.GroupBy,
		MaxGroups:   s.MaxGroups,
	}
	switch {
	case s.Window.Calendar == "":
		n.Window = FormatDuration(s.Window.Rolling)
	case s.Window.Count <= 1 && s.Window.Anchor.IsZero() && s.Window.Location == nil:
		n.Window = string(s.Window.Calendar)
	default:
		w := nativeWindow{Calendar: string(s.Window.Calendar), Count: s.Window.Count}
		if s.Window.Count == 1 {
			w.Count = 0
		}
		if s.Window.Location != nil {
			w.TimeZone = s.Window.Location.String()
		}
		if !s.Window.Anchor.IsZero() {
			w.Start = s.Window.Anchor.Format(time.RFC3339)
		}
		n.Window = w
	}
	if s.Budgeting.Method != "" && s.Budgeting.Method != Occurrences {
		b := &nativeBudgeting{Method: string(s.Budgeting.Method), TimeSliceTarget: s.Budgeting.TimeSliceTarget}
		if s.Budgeting.TimeSlice > 0 {
			b.TimeSlice = FormatDuration(s.Budgeting.TimeSlice)
		}
		n.Budgeting = b
	}
	if s.Interval > 0 {
		n.Interval = FormatDuration(s.Interval)
	}
	switch {
	case s.SLI.PromQL != nil:
		q := s.SLI.PromQL
		n.SLI.PromQL = &nativePromQL{ErrorQuery: q.ErrorQuery, GoodQuery: q.GoodQuery, TotalQuery: q.TotalQuery, PeriodDenominator: q.PeriodDenominator}
	default:
		return n, fmt.Errorf("only PromQL SLIs are converted: the other kinds are native already")
	}
	a := s.Alerting
	if a.Page != nil || a.Ticket != nil || a.RunbookURL != "" || a.DashboardURL != "" || len(s.Windows) > 0 {
		na := &nativeAlerting{
			Page:         nativePolicyOf(a.Page, s, conventions.SeverityPage),
			Ticket:       nativePolicyOf(a.Ticket, s, conventions.SeverityTicket),
			RunbookURL:   a.RunbookURL,
			DashboardURL: a.DashboardURL,
		}
		for _, w := range s.Windows {
			nw := nativeAlertWindow{Severity: w.Severity, Long: FormatDuration(w.Long), Short: FormatDuration(w.Short), BurnRate: w.BurnRate}
			if w.Inclusive {
				nw.Op = w.Op()
			}
			if w.For > 0 {
				nw.For = FormatDuration(w.For)
			}
			na.Windows = append(na.Windows, nw)
		}
		n.Alerting = na
	}
	return n, nil
}

func nativePolicyOf(p *AlertPolicy, s *SLO, tier string) *nativePolicy {
	if p == nil {
		return nil
	}
	n := &nativePolicy{MinEvents: p.MinEvents, Labels: p.Labels, Annotations: p.Annotations}
	if p.Name != DefaultAlertName(s.Service, s.Name, tier) {
		n.Name = p.Name
	}
	return n
}
