package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
)

// Link texts shown on the PagerDuty alert.
const (
	linkTextDashboard   = "Dashboard"
	linkTextRunbook     = "Runbook"
	linkTextTraceSearch = "Sample traces"
	linkTextConsole     = "Vigil console"
	linkTextSilence     = "Silence in Vigil"
)

// consoleAlertsURL is the console's list of firing alerts: the status
// page's alerts section.
func consoleAlertsURL(console string) string {
	return strings.TrimRight(console, "/") + "/#alerts"
}

// consoleSilenceURL is the console's silence form filled with the alert's
// labels as matchers, what the status page's own "silence…" link on the
// alert opens (statuspage: the silence query parameter, the new-silence
// anchor).
func consoleSilenceURL(console string, labels map[string]string) string {
	ms := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		ms = append(ms, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return strings.TrimRight(console, "/") + "/?silence=" + url.QueryEscape(strings.Join(ms, ", ")) + "#new-silence"
}

// linkTemplates are the parsed URL templates of the configuration, and
// the console's URL (Config.ConsoleURL).
type linkTemplates struct {
	dashboard, runbook, traceSearch *template.Template
	console                         string
}

func newLinkTemplates(cfg *Config) (linkTemplates, error) {
	var (
		t   linkTemplates
		err error
	)
	if t.dashboard, err = parseTemplate("dashboard_url_template", cfg.DashboardURLTemplate); err != nil {
		return t, err
	}
	if t.runbook, err = parseTemplate("runbook_url_template", cfg.RunbookURLTemplate); err != nil {
		return t, err
	}
	t.traceSearch, err = parseTemplate("trace_search_url_template", cfg.TraceSearchURLTemplate)
	t.console = cfg.ConsoleURL
	return t, err
}

// templateData is what link templates see.
type templateData struct {
	Labels      map[string]string
	Annotations map[string]string
	Fingerprint string
	TraceIDs    []string
}

// render executes t; a template that fails gives no link rather than no
// page (the events builder also drops links that are not absolute URLs).
func render(t *template.Template, data templateData) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return ""
	}
	return strings.TrimSpace(b.String())
}

// linkAnnotations are annotations shown as links, not as custom details.
var linkAnnotations = map[string]bool{
	conventions.AttrAlertDashboardURL: true,
	conventions.AttrAlertRunbookURL:   true,
	alerts.AnnotationSummary:          true,
}

// eventAlert maps an alert to the events package's plain alert: labels and
// annotations to payload fields, custom details and links.
func (e *pdExporter) eventAlert(action alerts.Action, a alerts.Alert) events.Alert {
	traceIDs := splitList(a.Annotations[conventions.AttrAlertTraceIDs])
	data := templateData{Labels: a.Labels, Annotations: a.Annotations, Fingerprint: a.Fingerprint, TraceIDs: traceIDs}
	out := events.Alert{
		Action:      events.Action(action),
		Fingerprint: a.Fingerprint,
		Name:        a.Labels[alerts.LabelAlertName],
		Summary:     a.Annotations[alerts.AnnotationSummary],
		Service:     a.Labels[alerts.LabelService],
		Severity:    a.Labels[alerts.LabelSeverity],
		// As in alerts/alertmanager.example.yml, so the two paths file
		// alerts alike: the service is the component, the SLO (or the
		// anomaly's metric) the group, the source the class.
		Component: a.Labels[alerts.LabelService],
		Group:     firstNonEmpty(a.Labels[alerts.LabelSLO], a.Labels[alerts.LabelMetric]),
		Class:     a.Labels[alerts.LabelSource],
		Time:      a.StartsAt,
	}
	if action != alerts.ActionTrigger {
		return out
	}
	details := make(map[string]any, len(a.Labels)+len(a.Annotations))
	for k, v := range a.Labels {
		details[k] = v
	}
	for k, v := range a.Annotations {
		if linkAnnotations[k] {
			continue
		}
		if k == conventions.AttrAlertTraceIDs {
			details[k] = traceIDs
			continue
		}
		details[k] = number(v)
	}
	out.Details = details

	dashboard := firstNonEmpty(a.Annotations[conventions.AttrAlertDashboardURL], render(e.links.dashboard, data))
	runbook := firstNonEmpty(a.Annotations[conventions.AttrAlertRunbookURL], render(e.links.runbook, data))
	var traces string
	if len(traceIDs) > 0 {
		traces = render(e.links.traceSearch, data)
	}
	var console, silence string
	if e.links.console != "" {
		console = consoleAlertsURL(e.links.console)
		silence = consoleSilenceURL(e.links.console, a.Labels)
	}
	for _, l := range []events.Link{
		{Href: dashboard, Text: linkTextDashboard},
		{Href: runbook, Text: linkTextRunbook},
		{Href: traces, Text: linkTextTraceSearch},
		{Href: console, Text: linkTextConsole},
		{Href: silence, Text: linkTextSilence},
	} {
		if l.Href != "" {
			out.Links = append(out.Links, l)
		}
	}
	return out
}

// number returns v as a float64 when it is one (burn rates, budget,
// scores), so PagerDuty shows and filters it as a number.
func number(v string) any {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	return v
}

// splitList splits alert.trace_ids, written comma- or space-separated.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
