// Package statuspage is the alert router's status page: what fires, what
// is silenced, how each SLO spends its error budget, and what the anomaly
// detector flags, on one server-rendered page (html/template, no
// JavaScript, no build step) that reads on a laptop and on a phone.
//
// Silences are created and expired from the page with plain HTML forms
// that post to the page's own handlers and redirect back (post, redirect,
// get). Cross-site request forgery is refused by the server the page is
// mounted on (net/http's CrossOriginProtection, which rejects a
// cross-origin browser POST by its Sec-Fetch-Site and Origin headers):
// forms of the page itself are same-origin, so they need no token.
package statuspage // import "github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/statuspage"

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/matchers"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/statusboard"
	"github.com/vigil-otel/vigil/slo"
)

//go:embed page.html.tmpl
var pageText string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" },
	"objective": func(v float64) string {
		return strconv.FormatFloat(v*100, 'f', -1, 64) + "%"
	},
	"rate":   func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" },
	"num":    func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
	"window": func(d time.Duration) string { return model.Duration(d).String() },
	"ago":    ago,
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"hot":    func(v float64) bool { return v >= 1 },
	// short is a silence ID's first block, enough to tell silences apart
	// on the page; the link leads to the whole.
	"short": func(id string) string { first, _, _ := strings.Cut(id, "-"); return first },
}).Parse(pageText))

// Settings configure the page.
type Settings struct {
	// Engine holds alerts and silences.
	Engine *alerts.Engine
	// Board holds the SLO and anomaly snapshots of the connectors.
	Board *statusboard.Board
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TraceURL, when set, links each trace ID of an alert: "{trace_id}"
	// in it is replaced by the ID.
	TraceURL string
	// Alerts lists the firing alerts; nil means the Engine's. In a fleet
	// it adds the other evaluators' alerts.
	Alerts func(ctx context.Context, now time.Time) []alerts.AlertStatus
	// Fleet returns the boards of the other evaluators of a fleet, merged
	// into Board's; nil on a single node.
	Fleet func(ctx context.Context, now time.Time) []statusboard.Snapshot
}

// Page is the status page.
type Page struct{ s Settings }

// New returns the page; Register mounts it.
func New(s Settings) *Page {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Alerts == nil {
		s.Alerts = func(_ context.Context, now time.Time) []alerts.AlertStatus { return s.Engine.Alerts(now) }
	}
	return &Page{s: s}
}

// Register mounts the page and its form handlers on mux.
func (p *Page) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.get)
	mux.HandleFunc("POST /silences", p.createSilence)
	mux.HandleFunc("POST /silences/{id}/expire", p.expireSilence)
}

// view is what the template renders.
type view struct {
	Now       time.Time
	Firing    []alertView
	SLOs      []sloView
	Silences  []silenceView
	Anomalies []statusboard.Anomaly
	Watched   int
	Form      formView
	Error     string
	Notice    string
}

type alertView struct {
	Name, Service, Severity, Summary string
	Fingerprint                      string // the element's anchor, #alert-<fingerprint>
	Since                            time.Time
	Matchers                         string // what "silence…" fills the form with
	Runbook, Dashboard               string
	Traces                           []link
	// SilencedBy link the silences' rows; InhibitedBy the inhibiting
	// alerts, when listed (a fleet's console may not read them all).
	SilencedBy, InhibitedBy []link
	Muted                   bool
	inhibitedBy             []string // fingerprints, made links once all alerts are known
}

// silenceView is a silence and, unless expired, how many of the firing
// alerts its matchers select now: a silence with a typo in a value
// (service_name="chekout") selects none, where one that works shows the
// alerts it mutes.
type silenceView struct {
	alerts.SilenceStatus
	Firing int
}

type link struct{ Text, URL string }

type sloView struct {
	statusboard.SLO
	Title  string
	Firing []string
	// DataSeen words the budget while its data covers little of the
	// period (slo.DataSeen), as the alerts' summaries do; empty otherwise.
	DataSeen string
	Chart    chart
}

// chart is the budget history drawn as an SVG polyline.
type chart struct {
	Points        string
	ZeroY         float64
	Width, Height float64
	Low, High     string
	From          string
}

type formView struct {
	Matchers, Duration, Comment, CreatedBy string
	UntilResolved                          bool
}

func (p *Page) get(w http.ResponseWriter, r *http.Request) {
	v := p.build(r.Context())
	v.Form = formView{Matchers: r.URL.Query().Get("silence"), Duration: "2h"}
	switch r.URL.Query().Get("done") {
	case "created":
		v.Notice = "Silence created: it applies from the next notification."
	case "expired":
		v.Notice = "Silence expired."
	}
	p.render(w, http.StatusOK, v)
}

func (p *Page) render(w http.ResponseWriter, code int, v *view) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page runs no script and loads nothing from elsewhere.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (p *Page) build(ctx context.Context) *view {
	now := p.s.Now()
	v := &view{Now: now}
	firing := p.s.Alerts(ctx, now)
	names := make(map[string]string, len(firing))
	for _, st := range firing {
		v.Firing = append(v.Firing, p.alertView(&st))
		names[st.Alert.Fingerprint] = alertTitle(&st.Alert)
	}
	for i := range v.Firing {
		for _, fp := range v.Firing[i].inhibitedBy {
			l := link{Text: fp}
			if name, ok := names[fp]; ok {
				l = link{Text: name, URL: "#alert-" + fp}
			}
			v.Firing[i].InhibitedBy = append(v.Firing[i].InhibitedBy, l)
		}
	}
	for _, s := range p.s.Engine.Silences(now) {
		sv := silenceView{SilenceStatus: s}
		if s.State != alerts.SilenceExpired {
			for _, st := range firing {
				if s.Matchers.Matches(st.Alert.Labels) {
					sv.Firing++
				}
			}
		}
		v.Silences = append(v.Silences, sv)
	}
	slices.SortStableFunc(v.Firing, func(a, b alertView) int {
		// Pages first, then the longest firing.
		if (a.Severity == conventions.SeverityPage) != (b.Severity == conventions.SeverityPage) {
			if a.Severity == conventions.SeverityPage {
				return -1
			}
			return 1
		}
		return a.Since.Compare(b.Since)
	})
	board := p.s.Board.Snapshot(0)
	if p.s.Fleet != nil {
		board = statusboard.Merge(board, p.s.Fleet(ctx, now)...)
	}
	for _, s := range board.SLOs {
		v.SLOs = append(v.SLOs, sloViewOf(s, now))
	}
	slices.SortStableFunc(v.SLOs, func(a, b sloView) int {
		// Burning SLOs first, then the least budget left.
		if (len(a.Firing) > 0) != (len(b.Firing) > 0) {
			if len(a.Firing) > 0 {
				return -1
			}
			return 1
		}
		return compareFloat(a.BudgetRemaining, b.BudgetRemaining)
	})
	v.Anomalies, v.Watched = board.Anomalies, board.Watched
	return v
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// alertTitle names an alert where the page links to it: its name, with
// its service and severity when the name does not say them (an SLO
// alert's default name does, an anomaly alert's does not).
func alertTitle(a *alerts.Alert) string {
	name := a.Labels[alerts.LabelAlertName]
	var more []string
	if service := a.Labels[alerts.LabelService]; service != "" && !strings.Contains(name, service) {
		more = append(more, service)
	}
	if severity := a.Labels[alerts.LabelSeverity]; severity != "" && !strings.HasSuffix(name, "-"+severity) {
		more = append(more, severity)
	}
	if len(more) == 0 {
		return name
	}
	return name + " (" + strings.Join(more, ", ") + ")"
}

func (p *Page) alertView(st *alerts.AlertStatus) alertView {
	a := st.Alert
	v := alertView{
		Name: a.Labels[alerts.LabelAlertName], Service: a.Labels[alerts.LabelService],
		Severity: a.Labels[alerts.LabelSeverity], Summary: a.Annotations[alerts.AnnotationSummary],
		Fingerprint: a.Fingerprint, Since: a.StartsAt, Runbook: safeURL(a.Annotations[conventions.AttrAlertRunbookURL]),
		Dashboard: safeURL(a.Annotations[conventions.AttrAlertDashboardURL]),
		Muted:     len(st.MutedBy) > 0, inhibitedBy: st.InhibitedBy,
		Matchers: silenceMatchers(a.Labels),
	}
	for _, id := range st.SilencedBy {
		v.SilencedBy = append(v.SilencedBy, link{Text: id, URL: "#silence-" + id})
	}
	for id := range strings.SplitSeq(a.Annotations[conventions.AttrAlertTraceIDs], ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		l := link{Text: id}
		if p.s.TraceURL != "" {
			l.URL = safeURL(strings.ReplaceAll(p.s.TraceURL, "{trace_id}", url.PathEscape(id)))
		}
		v.Traces = append(v.Traces, l)
	}
	return v
}

// silenceMatchers are the matchers "silence…" on an alert fills the
// form with: its labels but those of the tier (severity, vigil_severity),
// so that the silence covers the problem, page and ticket alike, not one
// tier of it (a silence of the ticket let the page through). An SLO
// alert's default name names its tier too
// (SLOBurnRate-checkout-availability-page) and is left out as well: its
// source, service_name, slo and grouping labels are what the page and
// the ticket share, those the built-in inhibit rule compares.
func silenceMatchers(labels map[string]string) string {
	var ms []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		switch k {
		case alerts.LabelSeverity, alerts.LabelVigilSeverity:
			continue
		case alerts.LabelAlertName:
			tier := labels[alerts.LabelVigilSeverity]
			if tier == "" {
				tier = labels[alerts.LabelSeverity]
			}
			if labels[k] == slo.DefaultAlertName(labels[alerts.LabelService], labels[alerts.LabelSLO], tier) {
				continue
			}
		}
		ms = append(ms, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return strings.Join(ms, ", ")
}

// safeURL keeps only http and https links: an annotation comes from a spec
// or an attribute, and a javascript: URL must not become a link.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return s
}

func sloViewOf(s statusboard.SLO, now time.Time) sloView {
	v := sloView{SLO: s, Title: s.Service + " / " + s.Name, DataSeen: slo.DataSeen(s.Period, s.At, s.DataSince)}
	if len(s.Group) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Group)) {
			parts = append(parts, k+"="+s.Group[k])
		}
		v.Title += " {" + strings.Join(parts, ", ") + "}"
	}
	for _, a := range s.Alerts {
		if a.Firing {
			v.Firing = append(v.Firing, a.Severity)
		}
	}
	v.Chart = budgetChart(s.Budget, s.Period, now)
	return v
}

// budgetChart draws the budget history over the SLO's period ending now:
// x is time, y the budget remaining, with the zero line marked. The y
// range covers [0, 1] and stretches to overspent values. A history shorter
// than the period (it starts with the process) is drawn over the time it
// covers, and the left edge says so, rather than as a sliver at the right
// edge of an empty month.
func budgetChart(points []statusboard.Point, period time.Duration, now time.Time) chart {
	const w, h = 240.0, 60.0
	c := chart{Width: w, Height: h, From: "-" + model.Duration(period).String()}
	if len(points) > 0 {
		if covered := now.Sub(points[0].At); covered < period {
			period = max(covered, time.Second)
			c.From = "-" + model.Duration(period.Round(time.Second)).String() + " (since start)"
		}
	}
	lo, hi := 0.0, 1.0
	for _, p := range points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	y := func(v float64) float64 { return math.Round((h-2-(v-lo)/(hi-lo)*(h-4))*10) / 10 }
	c.ZeroY = y(0)
	c.Low, c.High = strconv.FormatFloat(lo*100, 'f', 0, 64)+"%", strconv.FormatFloat(hi*100, 'f', 0, 64)+"%"
	start := now.Add(-period)
	var b strings.Builder
	for _, p := range points {
		x := float64(p.At.Sub(start)) / float64(period) * w
		x = math.Round(math.Max(0, math.Min(w, x))*10) / 10
		fmt.Fprintf(&b, "%g,%g ", x, y(p.Value))
	}
	c.Points = strings.TrimSpace(b.String())
	return c
}

func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + model.Duration(-d).String()
	}
	return model.Duration(d).String() + " ago"
}

// createSilence takes the page's form: matchers as Alertmanager writes
// them (`service_name="checkout", slo=~"avail.*"`), a duration (2h, 1d), a
// comment, the author and whether it lasts until the alerts resolve. A
// form that does not parse renders the page again with what is wrong and
// what was typed.
func (p *Page) createSilence(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "reading the form: "+err.Error(), http.StatusBadRequest)
		return
	}
	form := formView{
		Matchers: strings.TrimSpace(r.PostForm.Get("matchers")), Duration: strings.TrimSpace(r.PostForm.Get("duration")),
		Comment: strings.TrimSpace(r.PostForm.Get("comment")), CreatedBy: strings.TrimSpace(r.PostForm.Get("created_by")),
		UntilResolved: r.PostForm.Get("until_resolved") != "",
	}
	s, err := parseForm(form, p.s.Now())
	if err == nil {
		_, err = p.s.Engine.SetSilence(r.Context(), s, p.s.Now())
	}
	if err != nil {
		v := p.build(r.Context())
		v.Form, v.Error = form, "Silence not created: "+err.Error()
		code := http.StatusBadRequest
		if !errors.Is(err, alerts.ErrInvalidSilence) && !errors.Is(err, errForm) {
			code = http.StatusInternalServerError
		}
		p.render(w, code, v)
		return
	}
	http.Redirect(w, r, "/?done=created#silences", http.StatusSeeOther)
}

var errForm = errors.New("form")

func parseForm(f formView, now time.Time) (alerts.Silence, error) {
	var errs []error
	ms, err := matchers.ParseList(f.Matchers)
	if err != nil {
		errs = append(errs, fmt.Errorf("matchers: %w", err))
	}
	d, err := model.ParseDuration(f.Duration)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("duration %q: want a positive duration such as 30m, 2h or 1d", f.Duration))
	}
	if f.CreatedBy == "" {
		errs = append(errs, errors.New("created by: say who you are"))
	}
	if f.Comment == "" {
		errs = append(errs, errors.New("comment: say why"))
	}
	if len(errs) > 0 {
		return alerts.Silence{}, fmt.Errorf("%w: %w", errForm, errors.Join(errs...))
	}
	comment := f.Comment
	if f.UntilResolved && !strings.Contains(strings.ToLower(comment), alerts.UntilResolvedMarker) {
		comment = alerts.UntilResolvedMarker + " " + comment
	}
	return alerts.Silence{
		Matchers: ms, StartsAt: now, EndsAt: now.Add(time.Duration(d)),
		CreatedBy: f.CreatedBy, Comment: comment,
	}, nil
}

func (p *Page) expireSilence(w http.ResponseWriter, r *http.Request) {
	err := p.s.Engine.ExpireSilence(r.Context(), r.PathValue("id"), p.s.Now())
	if err != nil {
		v := p.build(r.Context())
		v.Error = "Silence not expired: " + err.Error()
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, alerts.ErrSilenceNotFound):
			code = http.StatusNotFound
		case errors.Is(err, alerts.ErrSilenceReadOnly):
			code = http.StatusBadRequest
		}
		p.render(w, code, v)
		return
	}
	http.Redirect(w, r, "/?done=expired#silences", http.StatusSeeOther)
}
