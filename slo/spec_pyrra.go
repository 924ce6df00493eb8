package slo

import (
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// APIVersionPyrra is the `apiVersion` of Pyrra's ServiceLevelObjective
// (https://github.com/pyrra-dev/pyrra), a Kubernetes resource that Pyrra
// also reads from files. A file may hold several documents.
//
// Each indicator becomes a PromQL SLI with the queries Pyrra records:
//   - ratio: errors over total, as rates of the two counters;
//   - latency: total minus success (the bucket at the threshold) over
//     total, as rates;
//   - latencyNative: 1 - histogram_fraction(0, latency, rate(total));
//   - bool_gauge: the share of samples at 0, from count_over_time and
//     sum_over_time.
//
// grouping sums by the listed labels, so there is one series and one
// alert per group. The SLO keeps Pyrra's burn-rate table (pyrraWindows:
// factors 14, 7, 2 and 1 over windows scaled from 28 days, each with its
// `for:`), so its alerts fire when Pyrra's would. Its service is the
// resource's namespace ("default" without one); labels prefixed pyrra.dev/
// go on its series and alerts without the prefix, as do the total's
// equality matchers, as Pyrra does; the page and ticket alerts carry
// severity critical and warning, Pyrra's own labels, and Vigil's tier in
// conventions.LabelVigilSeverity. Pyrra's absent alerts are not generated.
// Unknown fields are notes: the Kubernetes API server prunes them.
const APIVersionPyrra = "pyrra.dev/v1alpha1"

// pyrraPropagationPrefix marks metadata labels and annotations Pyrra puts
// on its rules.
const pyrraPropagationPrefix = "pyrra.dev/"

// Pyrra's default alert name and its severity labels.
const (
	pyrraAlertName      = "ErrorBudgetBurn"
	pyrraSeverityPage   = "critical"
	pyrraSeverityTicket = "warning"
)

func parsePyrra(p *problems, doc *yaml.Node) []SLO {
	top := p.lenientFields(doc, "Pyrra resource", "apiVersion", "kind", "metadata", "spec", "status")
	if k := p.Str(top["kind"], "kind"); k != "ServiceLevelObjective" {
		p.Add(top["kind"], "unknown kind %q for apiVersion %s (known: ServiceLevelObjective)", k, APIVersionPyrra)
	}
	md, _ := p.FieldsLenient(top["metadata"], "metadata", "name", "namespace", "labels", "annotations")
	s := SLO{
		Name:    p.name(md["name"], "metadata.name"),
		Service: p.Str(md["namespace"], "namespace"),
		Format:  FormatPyrra,
		Pos:     p.Pos(doc),
	}
	if s.Name == "" {
		p.Add(doc, "ServiceLevelObjective needs metadata.name")
	}
	if s.Service == "" {
		s.Service = "default"
	}
	s.Labels = p.pyrraLabels(md["labels"])
	annotations := map[string]string{}
	for k, v := range p.StringMap(md["annotations"], "annotations") {
		if strings.HasPrefix(k, pyrraPropagationPrefix) {
			annotations[strings.TrimPrefix(k, pyrraPropagationPrefix)] = v
		}
	}
	if top["spec"] == nil {
		p.Add(doc, "ServiceLevelObjective needs a spec")
		return nil
	}
	sf := p.lenientFields(top["spec"], "spec", "description", "target", "window", "indicator", "alerting", "partial_response_strategy")
	s.Description = p.Str(sf["description"], "description")
	if sf["target"] == nil {
		p.Add(top["spec"], "spec needs a target, like \"99.9\"")
	} else {
		s.Objective = p.objective(sf["target"])
	}
	if sf["window"] == nil {
		p.Add(top["spec"], "spec needs a window, like 28d")
	} else if d, ok := p.rollingWindow(sf["window"]); ok {
		s.Window = Window{Rolling: d}
		s.Windows = pyrraWindows(d)
	}
	var total *parser.VectorSelector
	s.SLI, s.GroupBy, total = p.pyrraIndicator(sf["indicator"], top["spec"])
	if total != nil {
		for _, m := range total.LabelMatchers {
			if m.Type != labels.MatchEqual || m.Name == labels.MetricName || containsString(s.GroupBy, m.Name) {
				continue
			}
			if containsString(reservedLabels, m.Name) {
				p.note(sf["indicator"], "Pyrra puts the total's matcher %s=%q on its rules; Vigil sets %q itself, so it is left out", m.Name, m.Value, m.Name)
				continue
			}
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[m.Name] = m.Value
		}
	}
	s.Alerting = p.pyrraAlerting(sf["alerting"], annotations)
	return []SLO{s}
}

func (p *problems) pyrraLabels(n *yaml.Node) map[string]string {
	var out map[string]string
	if n == nil || n.Kind != yaml.MappingNode {
		p.StringMap(n, "labels")
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !strings.HasPrefix(k.Value, pyrraPropagationPrefix) {
			continue
		}
		name := strings.TrimPrefix(k.Value, pyrraPropagationPrefix)
		one := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: name, Line: k.Line, Column: k.Column}, v}}
		for lk, lv := range p.labels(one, "labels") {
			if out == nil {
				out = map[string]string{}
			}
			out[lk] = lv
		}
	}
	return out
}

// pyrraIndicator builds the PromQL SLI of an indicator; it returns the
// grouping and the total's selector, whose matchers label the rules.
func (p *problems) pyrraIndicator(n, parent *yaml.Node) (SLI, []string, *parser.VectorSelector) {
	kinds := []string{"ratio", "latency", "latencyNative", "bool_gauge"}
	f := p.lenientFields(n, "indicator", kinds...)
	var set []string
	for _, k := range kinds {
		if f[k] != nil {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		if len(set) == 0 {
			p.Add(parent, "indicator needs one of ratio, latency, latencyNative, bool_gauge")
		} else {
			p.Add(n, "indicator has %s: choose one", strings.Join(set, " and "))
		}
		return SLI{}, nil, nil
	}
	kind := set[0]
	switch kind {
	case "ratio":
		rf := p.lenientFields(f[kind], kind, "errors", "total", "grouping")
		grouping := p.Strings(rf["grouping"], "grouping")
		errs, total := p.pyrraQuery(rf["errors"], f[kind], "errors"), p.pyrraQuery(rf["total"], f[kind], "total")
		if errs == nil || total == nil {
			return SLI{}, grouping, total
		}
		return SLI{PromQL: &PromQLSLI{
			ErrorQuery: templateWindow(sumRate(errs, grouping)),
			TotalQuery: templateWindow(sumRate(total, grouping)),
		}}, grouping, total
	case "latency":
		lf := p.lenientFields(f[kind], kind, "success", "total", "grouping")
		grouping := p.Strings(lf["grouping"], "grouping")
		success, total := p.pyrraQuery(lf["success"], f[kind], "success"), p.pyrraQuery(lf["total"], f[kind], "total")
		if success == nil || total == nil {
			return SLI{}, grouping, total
		}
		if !hasMatcher(success, labels.BucketLabel) {
			p.Add(lf["success"], "latency success metric needs an le matcher: the histogram bucket at the latency threshold")
		}
		return SLI{PromQL: &PromQLSLI{
			ErrorQuery: templateWindow(&parser.BinaryExpr{Op: parser.SUB, LHS: sumRate(total, grouping), RHS: sumRate(success, grouping),
				VectorMatching: &parser.VectorMatching{Card: parser.CardOneToOne}}),
			TotalQuery: templateWindow(sumRate(total, grouping)),
		}}, grouping, total
	case "latencyNative":
		lf := p.lenientFields(f[kind], kind, "total", "latency", "grouping")
		grouping := p.Strings(lf["grouping"], "grouping")
		total := p.pyrraQuery(lf["total"], f[kind], "total")
		latency, ok := p.duration(lf["latency"], "latency")
		if total == nil || !ok {
			return SLI{}, grouping, total
		}
		fraction := &parser.Call{Func: parser.Functions["histogram_fraction"], Args: parser.Expressions{
			&parser.NumberLiteral{Val: 0}, &parser.NumberLiteral{Val: latency.Seconds()}, sumRate(total, grouping)}}
		return SLI{PromQL: &PromQLSLI{
			ErrorQuery: templateWindow(&parser.BinaryExpr{Op: parser.SUB, LHS: &parser.NumberLiteral{Val: 1}, RHS: fraction}),
			TotalQuery: "1",
		}}, grouping, total
	default: // bool_gauge
		bf := p.lenientFields(f[kind], kind, "metric", "grouping")
		grouping := p.Strings(bf["grouping"], "grouping")
		metric := p.pyrraSelector(bf["metric"], f[kind], "metric")
		if metric == nil {
			return SLI{}, grouping, nil
		}
		count := sumOverWindow("count_over_time", metric, grouping)
		return SLI{PromQL: &PromQLSLI{
			ErrorQuery: templateWindow(&parser.BinaryExpr{Op: parser.SUB, LHS: count, RHS: sumOverWindow("sum_over_time", metric, grouping),
				VectorMatching: &parser.VectorMatching{Card: parser.CardOneToOne}}),
			TotalQuery: templateWindow(sumOverWindow("count_over_time", metric, grouping)),
		}}, grouping, metric
	}
}

// pyrraQuery reads a {metric: selector} query.
func (p *problems) pyrraQuery(n, parent *yaml.Node, what string) *parser.VectorSelector {
	if n == nil {
		p.Add(parent, "indicator needs %s: {metric: <selector>}", what)
		return nil
	}
	f := p.lenientFields(n, what, "metric")
	return p.pyrraSelector(f["metric"], n, what+".metric")
}

// pyrraSelector parses a Pyrra metric: one vector selector, maybe with an
// offset, as Pyrra requires.
func (p *problems) pyrraSelector(n, parent *yaml.Node, what string) *parser.VectorSelector {
	q := p.Str(n, what)
	if q == "" {
		p.Add(parent, "%s needs a metric selector, like http_requests_total{job=\"api\"}", what)
		return nil
	}
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		p.Add(n, "bad PromQL in %s: %s", what, strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil
	}
	vs, ok := expr.(*parser.VectorSelector)
	if !ok {
		p.Add(n, "%s must be a metric selector, like http_requests_total{job=\"api\"}, not a %T expression", what, expr)
		return nil
	}
	return vs
}

// sumRate is sum by (grouping) (rate(vs[window])), the window left to
// PromQLForWindow.
func sumRate(vs *parser.VectorSelector, grouping []string) parser.Expr {
	return sumOverWindow("rate", vs, grouping)
}

func sumOverWindow(fn string, vs *parser.VectorSelector, grouping []string) parser.Expr {
	c := *vs
	return &parser.AggregateExpr{Op: parser.SUM, Grouping: grouping, Expr: &parser.Call{
		Func: parser.Functions[fn],
		Args: parser.Expressions{&parser.MatrixSelector{VectorSelector: &c, Range: windowSentinel}},
	}}
}

func hasMatcher(vs *parser.VectorSelector, name string) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == name {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *problems) pyrraAlerting(n *yaml.Node, annotations map[string]string) Alerting {
	f := p.lenientFields(n, "alerting", "disabled", "burnrates", "absent", "name", "absentName", "burnRateType")
	if t := f["burnRateType"]; t != nil {
		if v := p.Str(t, "burnRateType"); v != "static" {
			p.Add(t, "burnRateType %q is not supported: Vigil's burn-rate alerts use Pyrra's static factors (14, 7, 2, 1); write burnRateType: static or leave it out", v)
		}
	}
	if p.Bool(f["disabled"], "disabled") {
		return Alerting{}
	}
	if f["burnrates"] != nil && !p.Bool(f["burnrates"], "burnrates") {
		return Alerting{}
	}
	if f["absent"] != nil && p.Bool(f["absent"], "absent") {
		p.note(f["absent"], "Vigil does not generate Pyrra's absent alert: alert on absent(<total metric>) in a rule file of your own")
	}
	name := p.Str(f["name"], "name")
	if name == "" {
		name = pyrraAlertName
	}
	policy := func(severity string) *AlertPolicy {
		return &AlertPolicy{
			Name:        name,
			Labels:      map[string]string{conventions.LabelSeverity: severity},
			Annotations: annotations,
		}
	}
	return Alerting{Page: policy(pyrraSeverityPage), Ticket: policy(pyrraSeverityTicket)}
}

// pyrraWindows is Pyrra's burn-rate table for an SLO window, as Pyrra
// derives it (pyrra-dev/pyrra slo/rules.go, Windows): written for 28 days
// and scaled with the window, every duration rounded to the minute.
func pyrraWindows(window time.Duration) []AlertWindow {
	scaled := func(divisor time.Duration) time.Duration { return (window / divisor).Round(time.Minute) }
	const hoursIn28d = 28 * 24
	return []AlertWindow{
		// 14x: 2.1% of the budget in an hour, all of it in two days.
		{Severity: conventions.SeverityPage, Long: scaled(hoursIn28d), Short: scaled(hoursIn28d * 12), BurnRate: 14, For: scaled(hoursIn28d * 30)},
		// 7x: 6.3% in six hours.
		{Severity: conventions.SeverityPage, Long: scaled(28 * 4), Short: scaled(hoursIn28d * 2), BurnRate: 7, For: scaled(hoursIn28d * 4)},
		// 2x: 7.1% in a day.
		{Severity: conventions.SeverityTicket, Long: scaled(28), Short: scaled(28 * 12), BurnRate: 2, For: scaled(hoursIn28d)},
		// 1x: 14% in four days, all of it by the window's end.
		{Severity: conventions.SeverityTicket, Long: scaled(7), Short: scaled(28 * 4), BurnRate: 1, For: scaled(28 * 8)},
	}
}
