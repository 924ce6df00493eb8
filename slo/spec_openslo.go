package slo

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// APIVersionOpenSLO is the `apiVersion` of OpenSLO v1 specs
// (https://github.com/OpenSLO/OpenSLO). A file holds one or more YAML
// documents; documents of kind SLO become SLOs, kind SLI documents serve
// indicatorRef, and the other kinds (Service, DataSource, AlertPolicy,
// AlertCondition, AlertNotificationTarget) are accepted and ignored.
//
// Supported: an indicator inline or by indicatorRef with a Prometheus
// ratioMetric (good or bad, with total) or thresholdMetric; timeWindow
// rolling (isRolling: true, duration like 28d) or calendar (1w, 1M); each
// objective becomes one SLO (named "<name>-<displayName or index>" when
// there are several). The queries become a PromQLSLI: a ratioMetric with
// plain counters is evaluated as increase() over each window, a
// thresholdMetric as the fraction of one-minute time slices that miss the
// threshold. alertPolicies are not mapped: every OpenSLO SLO gets the page
// and ticket burn-rate alerts.
const APIVersionOpenSLO = "openslo/v1"

// openSLOTimeSlice is the time slice of thresholdMetric SLIs.
const openSLOTimeSlice = time.Minute

var openSLOKinds = []string{"SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}

func parseOpenSLO(p *problems, docs []*yaml.Node) *Spec {
	spec := &Spec{File: p.file}
	// SLIs first, so that an indicatorRef may point to a later document.
	slis := map[string]*yaml.Node{}
	for _, doc := range docs {
		if kind, _ := openSLOHeader(p, doc); kind == "SLI" {
			f := p.fields(doc, "SLI", "apiVersion", "kind", "metadata", "spec")
			md := p.fields(f["metadata"], "metadata", "name", "displayName", "labels", "annotations")
			slis[p.str(md["name"], "name")] = f["spec"]
		}
	}
	for _, doc := range docs {
		kind, kindNode := openSLOHeader(p, doc)
		switch kind {
		case "SLO":
			spec.SLOs = append(spec.SLOs, p.openSLO(doc, slis)...)
		case "SLI":
		default:
			found := false
			for _, k := range openSLOKinds {
				found = found || k == kind
			}
			if !found {
				p.add(kindNode, "unknown OpenSLO kind %q (known: %s)", kind, strings.Join(openSLOKinds, ", "))
			}
		}
	}
	for i, s := range spec.SLOs {
		if i == 0 {
			spec.Service = s.Service
		} else if s.Service != spec.Service {
			spec.Service = ""
		}
	}
	checkSpecDuplicates(p, spec)
	return spec
}

func openSLOHeader(p *problems, doc *yaml.Node) (kind string, at *yaml.Node) {
	if doc.Kind != yaml.MappingNode {
		return "", doc
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "apiVersion":
			if v.Value != APIVersionOpenSLO {
				p.add(v, "apiVersion %q: every document of an OpenSLO file must be %s", v.Value, APIVersionOpenSLO)
			}
		case "kind":
			kind, at = v.Value, v
		}
	}
	if at == nil {
		p.add(doc, "OpenSLO document needs a kind")
		return "", doc
	}
	return kind, at
}

func (p *problems) openSLO(doc *yaml.Node, slis map[string]*yaml.Node) []SLO {
	f := p.fields(doc, "SLO", "apiVersion", "kind", "metadata", "spec")
	md := p.fields(f["metadata"], "metadata", "name", "displayName", "labels", "annotations")
	sf := p.fields(f["spec"], "SLO spec", "description", "service", "indicator", "indicatorRef",
		"timeWindow", "budgetingMethod", "objectives", "alertPolicies")
	base := SLO{
		Name:        p.name(md["name"], "SLO name"),
		Service:     p.str(sf["service"], "service"),
		Description: p.str(sf["description"], "description"),
		Labels:      p.labels(md["labels"], "labels"),
		Pos:         p.pos(doc),
	}
	if base.Name == "" {
		p.add(doc, "SLO needs metadata.name")
	}
	if base.Service == "" {
		p.add(doc, "SLO needs spec.service")
	}
	if bm := sf["budgetingMethod"]; bm != nil {
		if m := p.str(bm, "budgetingMethod"); m != "Occurrences" && m != "Timeslices" && m != "RatioTimeslices" {
			p.add(bm, "unknown budgetingMethod %q (known: Occurrences, Timeslices, RatioTimeslices)", m)
		}
	}
	base.Window = p.openSLOWindow(sf["timeWindow"], doc)
	base.Alerting = Alerting{
		Page:   &AlertPolicy{Name: DefaultAlertName(base.Service, base.Name, conventions.SeverityPage)},
		Ticket: &AlertPolicy{Name: DefaultAlertName(base.Service, base.Name, conventions.SeverityTicket)},
	}

	indicator := sf["indicator"]
	switch ref := sf["indicatorRef"]; {
	case indicator != nil && ref != nil:
		p.add(ref, "SLO has both indicator and indicatorRef: choose one")
	case ref != nil:
		name := p.str(ref, "indicatorRef")
		if indicator = slis[name]; indicator == nil {
			p.add(ref, "indicatorRef %q names no SLI document in this file", name)
		}
	case indicator != nil:
		inf := p.fields(indicator, "indicator", "metadata", "spec")
		indicator = inf["spec"]
	default:
		p.add(doc, "SLO needs an indicator or indicatorRef")
	}

	objectives := p.seq(sf["objectives"], "objectives")
	if len(objectives) == 0 {
		p.add(doc, "SLO needs objectives")
	}
	var out []SLO
	for i, on := range objectives {
		of := p.fields(on, "objective", "displayName", "op", "value", "target", "targetPercent",
			"timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight")
		s := base
		s.Objective = p.openSLOTarget(of, on)
		if len(objectives) > 1 {
			suffix := p.str(of["displayName"], "displayName")
			if suffix == "" {
				suffix = fmt.Sprint(i + 1)
			}
			s.Name = base.Name + "-" + strings.ReplaceAll(suffix, " ", "_")
			s.Alerting = Alerting{
				Page:   &AlertPolicy{Name: DefaultAlertName(s.Service, s.Name, conventions.SeverityPage)},
				Ticket: &AlertPolicy{Name: DefaultAlertName(s.Service, s.Name, conventions.SeverityTicket)},
			}
		}
		if indicator != nil {
			s.SLI = p.openSLOIndicator(indicator, of)
		}
		out = append(out, s)
	}
	return out
}

func (p *problems) openSLOTarget(of map[string]*yaml.Node, on *yaml.Node) float64 {
	switch {
	case of["target"] != nil && of["targetPercent"] != nil:
		p.add(on, "objective has both target and targetPercent: choose one")
	case of["target"] != nil:
		// Exact decimal arithmetic, so that 0.999 becomes 99.9 and not
		// 99.89999999999999.
		r, ok := new(big.Rat).SetString(of["target"].Value)
		if !ok {
			p.add(of["target"], "target must be a number, not %q", of["target"].Value)
			return 0
		}
		v, _ := r.Mul(r, big.NewRat(100, 1)).Float64()
		if v <= 0 || v >= 100 {
			p.add(of["target"], "target %s must be a ratio strictly between 0 and 1, like 0.999", of["target"].Value)
		}
		return v
	case of["targetPercent"] != nil:
		return p.objective(of["targetPercent"])
	default:
		p.add(on, "objective needs a target")
	}
	return 0
}

func (p *problems) openSLOWindow(n, parent *yaml.Node) Window {
	items := p.seq(n, "timeWindow")
	if len(items) != 1 {
		p.add(parent, "SLO needs exactly one timeWindow")
		return Window{}
	}
	f := p.fields(items[0], "timeWindow", "duration", "isRolling", "calendar")
	rolling := p.bool(f["isRolling"], "isRolling")
	dn := f["duration"]
	if dn == nil {
		p.add(items[0], "timeWindow needs a duration")
		return Window{}
	}
	if rolling {
		d, _ := p.rollingWindow(dn)
		return Window{Rolling: d}
	}
	if c := f["calendar"]; c != nil {
		p.fields(c, "calendar", "startTime", "timeZone")
	}
	switch p.str(dn, "duration") {
	case "1w":
		return Window{Calendar: CalendarWeek}
	case "1M":
		return Window{Calendar: CalendarMonth}
	}
	p.add(dn, "calendar timeWindow %q is not supported (known: 1w, 1M)", dn.Value)
	return Window{}
}

func (p *problems) openSLOIndicator(n *yaml.Node, objective map[string]*yaml.Node) SLI {
	f := p.fields(n, "SLI spec", "description", "thresholdMetric", "ratioMetric")
	switch {
	case f["thresholdMetric"] != nil && f["ratioMetric"] != nil:
		p.add(n, "SLI has both thresholdMetric and ratioMetric: choose one")
	case f["ratioMetric"] != nil:
		return p.openSLORatio(f["ratioMetric"])
	case f["thresholdMetric"] != nil:
		return p.openSLOThreshold(f["thresholdMetric"], objective)
	default:
		p.add(n, "SLI needs a ratioMetric or a thresholdMetric")
	}
	return SLI{}
}

func (p *problems) openSLORatio(n *yaml.Node) SLI {
	f := p.fields(n, "ratioMetric", "counter", "good", "bad", "total", "rawType", "raw")
	p.bool(f["counter"], "counter")
	if f["raw"] != nil {
		p.add(f["raw"], "raw ratioMetric is not supported: state good or bad with total")
		return SLI{}
	}
	q := &PromQLSLI{
		GoodQuery:  p.metricSource(f["good"], "good"),
		ErrorQuery: p.metricSource(f["bad"], "bad"),
		TotalQuery: p.metricSource(f["total"], "total"),
	}
	switch {
	case f["total"] == nil:
		p.add(n, "ratioMetric needs total")
	case f["good"] == nil && f["bad"] == nil:
		p.add(n, "ratioMetric needs good or bad")
	case f["good"] != nil && f["bad"] != nil:
		p.add(n, "ratioMetric has both good and bad: choose one")
	}
	return SLI{PromQL: q}
}

// openSLOThreshold turns a threshold SLI into the fraction of time slices
// in which the metric misses the objective's threshold; TotalQuery "1"
// marks the error query as a ratio already.
func (p *problems) openSLOThreshold(n *yaml.Node, objective map[string]*yaml.Node) SLI {
	f := p.fields(n, "thresholdMetric", "metricSource")
	q := p.metricSource(n, "thresholdMetric")
	if f["metricSource"] == nil {
		return SLI{}
	}
	// Good is `metric op value`; bad is the negation.
	bad := map[string]parser.ItemType{"lt": parser.GTE, "lte": parser.GTR, "gt": parser.LTE, "gte": parser.LSS}
	op, opNode := p.str(objective["op"], "op"), objective["op"]
	badOp, ok := bad[op]
	if !ok {
		p.add(opNode, "thresholdMetric objective needs op lt, lte, gt or gte")
		return SLI{}
	}
	value, ok := p.float(objective["value"], "value")
	if !ok || q == "" {
		return SLI{}
	}
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		return SLI{} // reported by metricSource
	}
	missed := &parser.Call{
		Func: parser.Functions["avg_over_time"],
		Args: parser.Expressions{&parser.SubqueryExpr{
			Expr: &parser.ParenExpr{Expr: &parser.BinaryExpr{
				Op:         badOp,
				LHS:        parenthesize(expr),
				RHS:        &parser.NumberLiteral{Val: value},
				ReturnBool: true,
			}},
			Range: windowSentinel,
			Step:  openSLOTimeSlice,
		}},
	}
	return SLI{PromQL: &PromQLSLI{ErrorQuery: templateWindow(missed), TotalQuery: "1"}}
}

// metricSource reads the Prometheus query of an OpenSLO metric source.
func (p *problems) metricSource(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	f := p.fields(n, what, "metricSource")
	ms := p.fields(f["metricSource"], "metricSource", "metricSourceRef", "type", "spec")
	if f["metricSource"] == nil {
		p.add(n, "%s needs a metricSource", what)
		return ""
	}
	if t := p.str(ms["type"], "type"); !strings.EqualFold(t, "prometheus") {
		p.add(f["metricSource"], "metricSource type %q is not supported (known: Prometheus)", t)
		return ""
	}
	sp := p.fields(ms["spec"], "metricSource spec", "query")
	if sp["query"] == nil {
		p.add(f["metricSource"], "metricSource needs spec.query")
		return ""
	}
	return p.promQL(sp["query"], "query")
}

// parenthesize keeps a binary expression whole when it becomes an operand:
// the printer writes the tree as it is, without adding parentheses.
func parenthesize(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.BinaryExpr); ok {
		return &parser.ParenExpr{Expr: e}
	}
	return e
}
