package rules

import (
	"fmt"
	"maps"
	"strings"
	"text/template"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// alerts adds the page and ticket alerting rules the SLO asks for.
func (g *sloRules) alerts() error {
	windows := g.slo.AlertWindows()
	policies := []struct {
		severity string
		policy   *slo.AlertPolicy
	}{
		{conventions.SeverityPage, g.slo.Alerting.Page},
		{conventions.SeverityTicket, g.slo.Alerting.Ticket},
	}
	// A page inhibits the ticket of the same SLO and group, as in the
	// collector: the ticket rule excludes the series the page condition
	// holds for, and fires once the page resolves if its own still holds.
	var inhibitor parser.Expr
	for _, p := range policies {
		if p.policy == nil {
			continue
		}
		var rows []slo.AlertWindow
		for _, w := range windows {
			if w.Severity == p.severity {
				rows = append(rows, w)
			}
		}
		if len(rows) == 0 {
			continue
		}
		// Rows that wait alike (for:) are one rule; rows that wait
		// differently (Pyrra's table) are a rule each, told apart by their
		// windows, as Pyrra's are.
		split := false
		for _, r := range rows[1:] {
			split = split || r.For != rows[0].For
		}
		sets := [][]slo.AlertWindow{rows}
		if split {
			sets = nil
			for _, r := range rows {
				sets = append(sets, []slo.AlertWindow{r})
			}
		}
		for _, set := range sets {
			cond := g.condition(p.policy, set)
			expr := parser.Expr(cond)
			if inhibitor != nil {
				expr = setOp(parser.LUNLESS, cond, inhibitor)
			}
			rule, err := g.alert(p.severity, p.policy, set, expr, split)
			if err != nil {
				return err
			}
			g.rules = append(g.rules, rule)
		}
		if p.severity == conventions.SeverityPage {
			inhibitor = g.condition(p.policy, rows)
		}
	}
	return nil
}

// condition is the multiwindow condition of one severity: any row's long
// and short burn rates above its factor, with enough events in the long
// window, the window label dropped so that one series per SLO and group
// remains whichever row holds; its value is the highest long-window burn
// rate among the rows that hold.
func (g *sloRules) condition(policy *slo.AlertPolicy, rows []slo.AlertWindow) parser.Expr {
	minEvents := policy.MinEvents
	if minEvents <= 0 {
		minEvents = slo.DefaultMinEvents
	}
	var cond parser.Expr
	for _, row := range rows {
		var op parser.ItemType = parser.GTR
		if row.Inclusive {
			op = parser.GTE
		}
		c := parser.Expr(filter(op, g.series(conventions.RuleSLOBurnRate, row.Long), row.BurnRate))
		if row.Short != row.Long {
			c = setOp(parser.LAND, c, filter(op, g.series(conventions.RuleSLOBurnRate, row.Short), row.BurnRate), conventions.LabelWindow)
		}
		if g.slo.SLI.Streamable() {
			events := aggWithout(parser.SUM, g.series(conventions.RuleSLOEventsIncrease, row.Long), conventions.LabelOutcome)
			c = setOp(parser.LAND, c, filter(parser.GTE, events, float64(minEvents)), conventions.LabelWindow)
		}
		if cond == nil {
			cond = c
		} else {
			cond = setOp(parser.LOR, cond, c)
		}
	}
	return aggWithout(parser.MAX, cond, conventions.LabelWindow)
}

// alertLabels are the labels of the SLO's alerts of a severity: the SLO's
// and the policy's, the tier in LabelVigilSeverity, and severity set to
// the tier where the spec's labels set none, as it always was.
func alertLabels(s *slo.SLO, severity string, policy *slo.AlertPolicy) map[string]string {
	labels := map[string]string{}
	maps.Copy(labels, s.Labels)
	maps.Copy(labels, policy.Labels)
	if labels[conventions.LabelSeverity] == "" {
		labels[conventions.LabelSeverity] = severity
	}
	labels[conventions.LabelVigilSeverity] = severity
	labels[conventions.LabelSLO] = s.Name
	labels[conventions.LabelServiceName] = s.Service
	return labels
}

func (g *sloRules) alert(severity string, policy *slo.AlertPolicy, rows []slo.AlertWindow, expr parser.Expr, split bool) (rulefmt.Rule, error) {
	name := policy.Name
	if name == "" {
		name = slo.DefaultAlertName(g.slo.Service, g.slo.Name, severity)
	}
	labels := alertLabels(g.slo, severity, policy)
	if split {
		labels[conventions.LabelAlertWindowLong] = slo.FormatDuration(rows[0].Long)
		labels[conventions.LabelAlertWindowShort] = slo.FormatDuration(rows[0].Short)
	}
	annotations, err := g.annotations(severity, policy, rows)
	if err != nil {
		return rulefmt.Rule{}, err
	}
	wait := g.opts.For
	if rows[0].For > 0 {
		wait = rows[0].For
	}
	return rulefmt.Rule{
		Alert:       name,
		Expr:        expr.String(),
		For:         model.Duration(wait),
		Labels:      labels,
		Annotations: annotations,
	}, nil
}

func (g *sloRules) annotations(severity string, policy *slo.AlertPolicy, rows []slo.AlertWindow) (map[string]string, error) {
	s := g.slo
	conds := make([]string, len(rows))
	for i, r := range rows {
		above := "above"
		if r.Inclusive {
			above = "at or above"
		}
		if r.Short == r.Long {
			conds[i] = fmt.Sprintf("%s %s %g", slo.FormatDuration(r.Long), above, r.BurnRate)
		} else {
			conds[i] = fmt.Sprintf("%s and %s %s %g", slo.FormatDuration(r.Long), slo.FormatDuration(r.Short), above, r.BurnRate)
		}
	}
	what := s.Description
	if what == "" {
		what = "SLO " + s.ID()
	}
	out := map[string]string{
		conventions.AnnotationSummary: fmt.Sprintf("%s/%s is burning its error budget (%s)", s.Service, s.Name, severity),
		conventions.AnnotationDescription: fmt.Sprintf(
			"%s Objective %g%% over %s. Burn rate {{ $value | humanize }} (%s).",
			strings.TrimSpace(what), s.Objective, slo.FormatDuration(s.Window.Period()), strings.Join(conds, ", or ")),
	}
	urls := []struct{ key, own, tmpl string }{
		{conventions.AnnotationRunbookURL, s.Alerting.RunbookURL, g.opts.RunbookURL},
		{conventions.AnnotationDashboardURL, s.Alerting.DashboardURL, g.opts.DashboardURL},
	}
	for _, u := range urls {
		v := u.own
		if v == "" && u.tmpl != "" {
			var err error
			if v, err = expandURL(u.tmpl, s, severity); err != nil {
				return nil, fmt.Errorf("%s template: %w", u.key, err)
			}
		}
		if v != "" {
			out[u.key] = v
		}
	}
	maps.Copy(out, policy.Annotations)
	return out, nil
}

func expandURL(tmpl string, s *slo.SLO, severity string) (string, error) {
	t, err := template.New("url").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = t.Execute(&b, struct{ Service, SLO, Severity string }{s.Service, s.Name, severity})
	return b.String(), err
}
