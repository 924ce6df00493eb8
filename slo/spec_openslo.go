package slo

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// APIVersionOpenSLO and APIVersionOpenSLOAlpha are the `apiVersion`s of
// OpenSLO v1 and v1alpha specs (https://github.com/OpenSLO/OpenSLO). A
// file holds one or more YAML documents of either version.
//
// Documents of kind SLO become SLOs; SLI, AlertPolicy and AlertCondition
// documents serve indicatorRef, alertPolicyRef and conditionRef; Service,
// DataSource and AlertNotificationTarget documents are accepted.
//
// Supported:
//   - an indicator inline or by reference, with a Prometheus ratioMetric
//     (good or bad, with total; v1alpha's ratioMetrics inside an objective)
//     or thresholdMetric; queries may use {{.window}} as Sloth's do, or be
//     plain counters (counter: true) whose increase over each window is
//     taken;
//   - time windows rolling (isRolling: true, a duration like 28d) or
//     calendar-aligned, of any count of days, weeks, months, quarters or
//     years (1w, 2w, 1M, 1Q, 1Y; v1alpha's count and unit), from
//     calendar.startTime in calendar.timeZone, or from 1970-01-01 UTC;
//   - budgetingMethod Occurrences, Timeslices (the share of slices of
//     timeSliceWindow, default one minute, whose good ratio is below
//     timeSliceTarget) and RatioTimeslices (the mean of the slices' error
//     ratios); a thresholdMetric is always counted in slices, of which it
//     is bad when the metric misses the objective's op and value;
//   - each objective becomes one SLO, named "<name>-<displayName or
//     index>" when there are several;
//   - alertPolicies, of one condition each as OpenSLO v1 says (a policy
//     of several is refused: Nobl9 fires it when all hold, other tools
//     when any does): each burnrate condition (the default kind) becomes
//     one alert window of the SLO, single-window since a condition has
//     one lookbackWindow (a note says so): the burn rate over
//     lookbackWindow above the threshold (op gt) or at it or above (gte),
//     for alertAfter. op, threshold and lookbackWindow are required, as
//     OpenSLO's Go SDK requires them; lt and lte are refused (an alert on
//     a budget burning slowly). A condition of severity page or critical
//     pages, any other makes a ticket, and the severity reaches the alert
//     as the user's label; policies of one tier are one alert, named
//     after the first (a note says so). Without alertPolicies the SLO
//     gets Vigil's page and ticket alerts, so that specs Vigil loaded
//     before it read alert policies keep paging; Sloth generates none for
//     OpenSLO specs (a note says so).
const (
	APIVersionOpenSLO      = "openslo/v1"
	APIVersionOpenSLOAlpha = "openslo/v1alpha"
)

// openSLOTimeSlice is the default time slice.
const openSLOTimeSlice = time.Minute

var openSLOKinds = []string{"SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}

// openSLODoc is one OpenSLO document: its version, kind, metadata and spec.
type openSLODoc struct {
	node    *yaml.Node
	alpha   bool
	kind    string
	name    string
	display string
	labels  *yaml.Node
	spec    *yaml.Node
}

func parseOpenSLO(p *problems, nodes []*yaml.Node) []SLO {
	var docs []openSLODoc
	byKind := map[string]map[string]*openSLODoc{}
	for _, n := range nodes {
		f := p.Fields(n, "OpenSLO document", "apiVersion", "kind", "metadata", "spec")
		d := openSLODoc{node: n, alpha: p.Str(f["apiVersion"], "apiVersion") == APIVersionOpenSLOAlpha, spec: f["spec"]}
		d.kind = p.Str(f["kind"], "kind")
		mdKnown := []string{"name", "displayName", "labels", "annotations"}
		if d.alpha {
			mdKnown = []string{"name", "displayName"}
		}
		md := p.Fields(f["metadata"], "metadata", mdKnown...)
		d.name, d.display, d.labels = p.Str(md["name"], "metadata.name"), p.Str(md["displayName"], "displayName"), md["labels"]
		switch {
		case f["kind"] == nil:
			p.Add(n, "OpenSLO document needs a kind")
			continue
		case !containsString(openSLOKinds, d.kind):
			p.Add(f["kind"], "unknown OpenSLO kind %q (known: %s)", d.kind, strings.Join(openSLOKinds, ", "))
			continue
		}
		docs = append(docs, d)
		if byKind[d.kind] == nil {
			byKind[d.kind] = map[string]*openSLODoc{}
		}
		byKind[d.kind][d.name] = &docs[len(docs)-1]
	}
	var out []SLO
	for i := range docs {
		if docs[i].kind == "SLO" {
			out = append(out, p.openSLO(&docs[i], byKind)...)
		}
	}
	return out
}

func (p *problems) openSLO(d *openSLODoc, byKind map[string]map[string]*openSLODoc) []SLO {
	known := []string{"description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"}
	windowKey := "timeWindow"
	if d.alpha {
		known = []string{"description", "service", "indicator", "timeWindows", "budgetingMethod", "objectives"}
		windowKey = "timeWindows"
	}
	sf := p.Fields(d.spec, "SLO spec", known...)
	base := SLO{
		Name:        d.name,
		Service:     p.Str(sf["service"], "service"),
		Description: p.Str(sf["description"], "description"),
		Labels:      p.labels(d.labels, "labels"),
		Format:      FormatOpenSLO,
		Pos:         p.Pos(d.node),
	}
	if d.alpha {
		base.Format = FormatOpenSLOAlpha
	}
	if base.Name == "" {
		p.Add(d.node, "SLO needs metadata.name")
	} else {
		p.name(&yaml.Node{Kind: yaml.ScalarNode, Value: base.Name, Line: d.node.Line, Column: d.node.Column}, "SLO name")
	}
	if base.Service == "" {
		p.Add(d.node, "SLO needs spec.service")
	}
	method := Occurrences
	if bm := sf["budgetingMethod"]; bm != nil {
		method = BudgetingMethod(p.Str(bm, "budgetingMethod"))
		if method != Occurrences && method != Timeslices && method != RatioTimeslices {
			p.Add(bm, "unknown budgetingMethod %q (known: Occurrences, Timeslices, RatioTimeslices)", method)
		}
	}
	base.Window = p.openSLOWindow(sf[windowKey], d.node, d.alpha)
	base.Alerting = p.openSLOAlerting(sf["alertPolicies"], &base, byKind)

	indicator := sf["indicator"]
	indicatorReported := false
	switch ref := sf["indicatorRef"]; {
	case indicator != nil && ref != nil:
		p.Add(ref, "SLO has both indicator and indicatorRef: choose one")
	case ref != nil:
		name := p.Str(ref, "indicatorRef")
		if sli := byKind["SLI"][name]; sli != nil {
			indicator = sli.spec
		} else {
			p.Add(ref, "indicatorRef %q names no SLI document in this file", name)
			indicatorReported = true
		}
	case indicator != nil && !d.alpha:
		inf := p.Fields(indicator, "indicator", "metadata", "spec")
		indicator = inf["spec"]
	}

	objectives := p.Seq(sf["objectives"], "objectives")
	if len(objectives) == 0 {
		p.Add(d.node, "SLO needs objectives")
	}
	var out []SLO
	for i, on := range objectives {
		known := []string{"displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight"}
		if d.alpha {
			known = []string{"displayName", "op", "value", "target", "timeSliceTarget", "ratioMetrics"}
		}
		of := p.Fields(on, "objective", known...)
		s := base
		s.Objective = p.openSLOTarget(of, on)
		b := p.openSLOBudgeting(method, of, on)
		if b.Method == Occurrences {
			s.Budgeting = Budgeting{} // the zero value; the slice stays for threshold SLIs
		} else {
			s.Budgeting = b
		}
		if len(objectives) > 1 {
			suffix := p.Str(of["displayName"], "displayName")
			if suffix == "" {
				suffix = fmt.Sprint(i + 1)
			}
			s.Name = base.Name + "-" + strings.ReplaceAll(suffix, " ", "_")
			s.Alerting = renameDefaultAlerts(base.Alerting, s.Service, base.Name, s.Name)
		}
		switch {
		case d.alpha && of["ratioMetrics"] != nil:
			s.SLI = p.openSLORatio(of["ratioMetrics"], true)
		case d.alpha && indicator != nil:
			s.SLI = p.openSLOAlphaThreshold(indicator, of, b)
		case d.alpha:
			p.Add(on, "objective needs ratioMetrics, or the SLO an indicator")
		case indicator != nil:
			s.SLI = p.openSLOIndicator(indicator, of, b)
		case !indicatorReported:
			p.Add(d.node, "SLO needs an indicator or indicatorRef")
		}
		out = append(out, s)
	}
	return out
}

// renameDefaultAlerts gives the alerts of one objective of several the
// objective's SLO name, where they have the default name.
func renameDefaultAlerts(a Alerting, service, from, to string) Alerting {
	rename := func(pol *AlertPolicy, tier string) *AlertPolicy {
		if pol == nil || pol.Name != DefaultAlertName(service, from, tier) {
			return pol
		}
		c := *pol
		c.Name = DefaultAlertName(service, to, tier)
		return &c
	}
	a.Page = rename(a.Page, conventions.SeverityPage)
	a.Ticket = rename(a.Ticket, conventions.SeverityTicket)
	return a
}

func (p *problems) openSLOBudgeting(method BudgetingMethod, of map[string]*yaml.Node, on *yaml.Node) Budgeting {
	b := Budgeting{Method: method, TimeSlice: openSLOTimeSlice}
	if w := of["timeSliceWindow"]; w != nil {
		if d, ok := p.duration(w, "timeSliceWindow"); ok {
			b.TimeSlice = d
		}
	}
	if t := of["timeSliceTarget"]; t != nil {
		if v, ok := p.Float(t, "timeSliceTarget"); ok {
			if v <= 0 || v > 1 {
				p.Add(t, "timeSliceTarget %v must be a ratio in (0, 1], like 0.95", v)
			}
			b.TimeSliceTarget = v
		}
	}
	if method == Timeslices && of["timeSliceTarget"] == nil && of["op"] == nil {
		p.Add(on, "a Timeslices objective of a ratio SLI needs timeSliceTarget: the good ratio a slice needs to be good")
	}
	return b
}

func (p *problems) openSLOTarget(of map[string]*yaml.Node, on *yaml.Node) float64 {
	switch {
	case of["target"] != nil && of["targetPercent"] != nil:
		p.Add(on, "objective has both target and targetPercent: choose one")
	case of["target"] != nil:
		// Exact decimal arithmetic, so that 0.999 becomes 99.9 and not
		// 99.89999999999999.
		r, ok := new(big.Rat).SetString(of["target"].Value)
		if !ok {
			p.Add(of["target"], "target must be a number, not %q", of["target"].Value)
			return 0
		}
		v, _ := r.Mul(r, big.NewRat(100, 1)).Float64()
		if v <= 0 || v >= 100 {
			p.Add(of["target"], "target %s must be a ratio strictly between 0 and 1, like 0.999", of["target"].Value)
		}
		return v
	case of["targetPercent"] != nil:
		return p.objective(of["targetPercent"])
	default:
		p.Add(on, "objective needs a target")
	}
	return 0
}

// openSLODurationRE is OpenSLO's duration shorthand: a count and a unit.
var openSLODurationRE = regexp.MustCompile(`^([1-9][0-9]*)([smhdwMQY])$`)

var openSLOUnits = map[string]CalendarPeriod{
	"d": CalendarDay, "w": CalendarWeek, "M": CalendarMonth, "Q": CalendarQuarter, "Y": CalendarYear,
	"Day": CalendarDay, "Week": CalendarWeek, "Month": CalendarMonth, "Quarter": CalendarQuarter, "Year": CalendarYear,
}

func (p *problems) openSLOWindow(n, parent *yaml.Node, alpha bool) Window {
	items := p.Seq(n, "timeWindow")
	if len(items) != 1 {
		p.Add(parent, "SLO needs exactly one time window")
		return Window{}
	}
	var count int
	var unit string
	var f map[string]*yaml.Node
	var at *yaml.Node
	if alpha {
		f = p.Fields(items[0], "timeWindows item", "unit", "count", "isRolling", "calendar")
		at = f["unit"]
		unit = p.Str(f["unit"], "unit")
		if f["count"] != nil {
			count, _ = p.Int(f["count"], "count")
		}
		if unit == "" || count < 1 {
			p.Add(items[0], "time window needs a unit (Day, Week, Month, Quarter, Year) and a positive count")
			return Window{}
		}
	} else {
		f = p.Fields(items[0], "timeWindow", "duration", "isRolling", "calendar")
		at = f["duration"]
		s := p.Str(f["duration"], "duration")
		m := openSLODurationRE.FindStringSubmatch(s)
		if m == nil {
			p.Add(items[0], "timeWindow needs a duration, a count and a unit among m, h, d, w, M, Q, Y, like 28d or 1M")
			return Window{}
		}
		count, _ = strconv.Atoi(m[1])
		unit = m[2]
	}
	rolling := p.Bool(f["isRolling"], "isRolling")
	if rolling {
		if f["calendar"] != nil {
			p.Add(f["calendar"], "a rolling time window has no calendar")
		}
		var d time.Duration
		switch c := openSLOUnits[unit]; {
		case c == CalendarDay || c == CalendarWeek:
			d = time.Duration(count) * c.nominal()
		default:
			p.Add(at, "rolling time window %d%s: write it in days or weeks, like 28d", count, unit)
			return Window{}
		}
		if d, ok := p.checkRolling(at, d); ok {
			return Window{Rolling: d}
		}
		return Window{}
	}
	c, ok := openSLOUnits[unit]
	if !ok {
		p.Add(at, "calendar time window unit %q is not supported (known: day, week, month, quarter, year)", unit)
		return Window{}
	}
	w := Window{Calendar: c}
	if count > 1 {
		w.Count = count
	}
	if cal := f["calendar"]; cal != nil {
		cf := p.Fields(cal, "calendar", "startTime", "timeZone")
		w.Location = time.UTC
		if tz := p.Str(cf["timeZone"], "timeZone"); tz != "" {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				p.Add(cf["timeZone"], "unknown time zone %q: use an IANA name like Europe/Paris", tz)
			} else {
				w.Location = loc
			}
		}
		if st := p.Str(cf["startTime"], "startTime"); st != "" {
			t, err := time.ParseInLocation("2006-01-02 15:04:05", st, w.Location)
			if err != nil {
				p.Add(cf["startTime"], "startTime %q must read like 2022-01-01 12:00:00", st)
			}
			w.Anchor = t
		}
	}
	if _, ok := p.checkRolling(at, w.Period()); !ok {
		return Window{}
	}
	return w
}

func (p *problems) openSLOIndicator(n *yaml.Node, objective map[string]*yaml.Node, b Budgeting) SLI {
	f := p.Fields(n, "SLI spec", "description", "thresholdMetric", "ratioMetric")
	switch {
	case f["thresholdMetric"] != nil && f["ratioMetric"] != nil:
		p.Add(n, "SLI has both thresholdMetric and ratioMetric: choose one")
	case f["ratioMetric"] != nil:
		return p.openSLORatio(f["ratioMetric"], false)
	case f["thresholdMetric"] != nil:
		return p.openSLOThreshold(p.metricSource(f["thresholdMetric"], "thresholdMetric"), f["thresholdMetric"], objective, b)
	default:
		p.Add(n, "SLI needs a ratioMetric or a thresholdMetric")
	}
	return SLI{}
}

// openSLOAlphaThreshold reads v1alpha's indicator: a thresholdMetric.
func (p *problems) openSLOAlphaThreshold(n *yaml.Node, objective map[string]*yaml.Node, b Budgeting) SLI {
	f := p.Fields(n, "indicator", "thresholdMetric")
	if f["thresholdMetric"] == nil {
		p.Add(n, "indicator needs a thresholdMetric")
		return SLI{}
	}
	return p.openSLOThreshold(p.alphaQuery(f["thresholdMetric"], "thresholdMetric"), f["thresholdMetric"], objective, b)
}

func (p *problems) openSLORatio(n *yaml.Node, alpha bool) SLI {
	known := []string{"counter", "good", "bad", "total", "rawType", "raw"}
	if alpha {
		known = []string{"counter", "good", "bad", "total"}
	}
	f := p.Fields(n, "ratioMetric", known...)
	p.Bool(f["counter"], "counter")
	if f["raw"] != nil {
		p.Add(f["raw"], "raw ratioMetric is not supported: state good or bad with total")
		return SLI{}
	}
	source := p.metricSource
	if alpha {
		source = p.alphaQuery
	}
	q := &PromQLSLI{
		GoodQuery:  source(f["good"], "good"),
		ErrorQuery: source(f["bad"], "bad"),
		TotalQuery: source(f["total"], "total"),
	}
	switch {
	case f["total"] == nil:
		p.Add(n, "ratioMetric needs total")
	case f["good"] == nil && f["bad"] == nil:
		p.Add(n, "ratioMetric needs good or bad")
	case f["good"] != nil && f["bad"] != nil:
		p.Add(n, "ratioMetric has both good and bad: choose one")
	}
	return SLI{PromQL: q}
}

// openSLOThreshold turns a threshold SLI into the fraction of time slices
// in which the metric misses the objective's threshold; TotalQuery "1"
// marks the error query as a ratio already.
func (p *problems) openSLOThreshold(q string, n *yaml.Node, objective map[string]*yaml.Node, b Budgeting) SLI {
	// Good is `metric op value`; bad is the negation.
	bad := map[string]parser.ItemType{"lt": parser.GTE, "lte": parser.GTR, "gt": parser.LTE, "gte": parser.LSS}
	op, opNode := p.Str(objective["op"], "op"), objective["op"]
	badOp, ok := bad[op]
	if !ok {
		p.Add(opNode, "thresholdMetric objective needs op lt, lte, gt or gte")
		return SLI{}
	}
	value, ok := p.Float(objective["value"], "value")
	if !ok || q == "" {
		return SLI{}
	}
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		return SLI{} // reported where the query was read
	}
	slice := b.TimeSlice
	if slice <= 0 {
		slice = openSLOTimeSlice
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
			Step:  slice,
		}},
	}
	return SLI{PromQL: &PromQLSLI{ErrorQuery: templateWindow(missed), TotalQuery: "1"}}
}

// metricSource reads the Prometheus query of an OpenSLO v1 metric source.
func (p *problems) metricSource(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	f := p.Fields(n, what, "metricSource")
	ms := p.Fields(f["metricSource"], "metricSource", "metricSourceRef", "type", "spec")
	if f["metricSource"] == nil {
		p.Add(n, "%s needs a metricSource", what)
		return ""
	}
	if t := p.Str(ms["type"], "type"); !strings.EqualFold(t, "prometheus") {
		p.Add(f["metricSource"], "metricSource type %q is not supported (known: Prometheus)", t)
		return ""
	}
	sp := p.Fields(ms["spec"], "metricSource spec", "query")
	if sp["query"] == nil {
		p.Add(f["metricSource"], "metricSource needs spec.query")
		return ""
	}
	return p.promQL(sp["query"], "query")
}

// alphaQuery reads a v1alpha metric: {source, queryType, query, metadata}.
func (p *problems) alphaQuery(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	f := p.Fields(n, what, "source", "queryType", "query", "metadata")
	if s := p.Str(f["source"], "source"); !strings.EqualFold(s, "prometheus") {
		p.Add(n, "%s source %q is not supported (known: prometheus)", what, s)
		return ""
	}
	if t := p.Str(f["queryType"], "queryType"); t != "" && !strings.EqualFold(t, "promql") {
		p.Add(f["queryType"], "queryType %q is not supported (known: promql)", t)
		return ""
	}
	if f["query"] == nil {
		p.Add(n, "%s needs a query", what)
		return ""
	}
	return p.promQL(f["query"], "query")
}

// openSLOAlerting maps the SLO's alertPolicies; without any, the SLO gets
// Vigil's page and ticket alerts.
func (p *problems) openSLOAlerting(n *yaml.Node, s *SLO, byKind map[string]map[string]*openSLODoc) Alerting {
	defaults := Alerting{
		Page:   &AlertPolicy{Name: DefaultAlertName(s.Service, s.Name, conventions.SeverityPage)},
		Ticket: &AlertPolicy{Name: DefaultAlertName(s.Service, s.Name, conventions.SeverityTicket)},
	}
	items := p.Seq(n, "alertPolicies")
	if len(items) == 0 {
		p.noteAt(s.Pos, "SLO %s has no alertPolicies: Vigil gives it its page and ticket burn-rate alerts (Sloth generates none for OpenSLO specs)", s.Name)
		return defaults
	}
	var a Alerting
	for _, item := range items {
		f := p.Fields(item, "alert policy", "kind", "metadata", "spec", "alertPolicyRef")
		name, spec := "", f["spec"]
		if ref := f["alertPolicyRef"]; ref != nil {
			name = p.Str(ref, "alertPolicyRef")
			doc := byKind["AlertPolicy"][name]
			if doc == nil {
				p.Add(ref, "alertPolicyRef %q names no AlertPolicy document in this file", name)
				continue
			}
			spec = doc.spec
		} else {
			md := p.Fields(f["metadata"], "metadata", "name", "displayName", "labels", "annotations")
			name = p.Str(md["name"], "metadata.name")
		}
		pf := p.Fields(spec, "AlertPolicy spec", "description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching", "conditions", "notificationTargets")
		if p.Bool(pf["alertWhenNoData"], "alertWhenNoData") {
			p.note(pf["alertWhenNoData"], "alertWhenNoData is not honoured: Vigil alerts on burn rates only")
		}
		conditions := p.Seq(pf["conditions"], "conditions")
		switch {
		case len(conditions) == 0 && spec != nil:
			p.Add(spec, "alert policy %q needs a condition", name)
		case len(conditions) > 1:
			// OpenSLO v1 allows one condition per policy (its conditions
			// list is "for future-proofing"); Nobl9, where the format
			// comes from, fires a policy when all its conditions hold,
			// other tools when any does. Either reading would page
			// wrongly for those who meant the other.
			p.Add(conditions[1], "alert policy %q has %d conditions: OpenSLO v1 allows one per policy, and tools read several differently (Nobl9 when all hold, others when any does); write one AlertPolicy per condition, each of which alerts on its own",
				name, len(conditions))
		}
		for _, cn := range conditions {
			p.openSLOCondition(cn, name, s, &a, byKind)
		}
	}
	return a
}

// openSLOCondition adds one burn-rate condition as an alert window of one
// length (OpenSLO's condition has one lookbackWindow): the alert holds
// while the burn rate over lookbackWindow is above the threshold (op gt)
// or at it or above (gte), for alertAfter.
func (p *problems) openSLOCondition(n *yaml.Node, policy string, s *SLO, a *Alerting, byKind map[string]map[string]*openSLODoc) {
	f := p.Fields(n, "condition", "kind", "metadata", "spec", "conditionRef")
	spec := f["spec"]
	name := p.Str(p.Fields(f["metadata"], "metadata", "name", "displayName", "labels", "annotations")["name"], "metadata.name")
	if ref := f["conditionRef"]; ref != nil {
		name = p.Str(ref, "conditionRef")
		doc := byKind["AlertCondition"][name]
		if doc == nil {
			p.Add(ref, "conditionRef %q names no AlertCondition document in this file", name)
			return
		}
		spec = doc.spec
	}
	if spec == nil {
		p.Add(n, "condition needs a spec or a conditionRef")
		return
	}
	cf := p.Fields(spec, "AlertCondition spec", "description", "severity", "condition")
	severity := p.Str(cf["severity"], "severity")
	cn := cf["condition"]
	if cn == nil {
		p.Add(spec, "AlertCondition needs a condition: {kind: burnrate, op: gt or gte, threshold, lookbackWindow}")
		return
	}
	c := p.Fields(cn, "condition", "kind", "op", "threshold", "lookbackWindow", "alertAfter")
	// The kind defaults to burnrate, as OpenSLO's README says.
	if k := p.Str(c["kind"], "kind"); k != "" && k != "burnrate" {
		p.Add(c["kind"], "condition kind %q is not supported (known: burnrate)", k)
		return
	}
	w := AlertWindow{}
	ok := true
	switch op := p.Str(c["op"], "op"); op {
	case "gt":
	case "gte":
		w.Inclusive = true
	case "":
		p.Add(cn, "burnrate condition needs op: gt (burn rate above the threshold) or gte (at it or above)")
		ok = false
	case "lt", "lte":
		p.Add(c["op"], "burnrate condition op %s would alert while the budget burns slowly: Vigil alerts on a burn rate above a threshold only (gt or gte)", op)
		ok = false
	default:
		p.Add(c["op"], "unknown op %q (known: gt, gte)", op)
		ok = false
	}
	switch th := c["threshold"]; {
	case th == nil:
		p.Add(cn, "burnrate condition needs a threshold, a burn rate like 14.4")
		ok = false
	default:
		v, good := p.Float(th, "threshold")
		switch {
		case !good:
			ok = false
		case v < 0:
			p.Add(th, "threshold %g must not be negative", v)
			ok = false
		case v == 0 && w.Inclusive:
			p.Add(th, "threshold 0 with op gte holds whenever there is traffic: use op gt to alert on any error")
			ok = false
		}
		w.BurnRate = v
	}
	switch lb := c["lookbackWindow"]; {
	case lb == nil:
		p.Add(cn, "burnrate condition needs a lookbackWindow, the window its burn rate is read over, like 1h")
		ok = false
	case lb.Kind == yaml.SequenceNode:
		p.Add(lb, "lookbackWindow is one duration: an OpenSLO condition has one window, and Vigil's alert from it is single-window (see README, SLOs); for a long and a short window, write the SLO in Vigil's format (alerting.windows)")
		ok = false
	default:
		d, good := p.duration(lb, "lookbackWindow")
		if period := s.Window.Period(); good && period > 0 && d > period {
			p.Add(lb, "lookbackWindow %s is longer than the SLO's %s window, whose budget its burn rate is read against", FormatDuration(d), FormatDuration(period))
			good = false
		}
		ok = ok && good
		w.Long, w.Short = d, d
	}
	if c["alertAfter"] != nil {
		// 0m is OpenSLO's default: fire at once.
		d, good := p.Duration(c["alertAfter"], "alertAfter")
		ok = ok && good
		w.For = d
	}
	if !ok {
		return
	}
	w.Severity = conventions.SeverityTicket
	if strings.EqualFold(severity, conventions.SeverityPage) || strings.EqualFold(severity, "critical") {
		w.Severity = conventions.SeverityPage
	}
	s.Windows = append(s.Windows, w)
	what := "condition"
	if name != "" {
		what = fmt.Sprintf("condition %q", name)
	}
	above := "above"
	if w.Inclusive {
		above = "at or above"
	}
	p.note(c["lookbackWindow"], "%s has one window, as OpenSLO conditions do: its %s fires while the burn rate over %s is %s %g and resolves once it is not, up to %s after the errors stop (Vigil's own alerts add a short window that clears sooner; see README, SLOs)",
		what, w.Severity, FormatDuration(w.Long), above, w.BurnRate, FormatDuration(w.Long))

	pol := &a.Page
	if w.Severity == conventions.SeverityTicket {
		pol = &a.Ticket
	}
	polName := policy
	if polName == "" {
		polName = DefaultAlertName(s.Service, s.Name, w.Severity)
	}
	switch {
	case *pol == nil:
		*pol = &AlertPolicy{Name: polName, Labels: map[string]string{}}
	case (*pol).Name != polName:
		// Vigil has one page and one ticket alert per SLO.
		p.note(n, "alert policies %q and %q both make a %s: Vigil raises one %s alert for the SLO, named %q, while either condition holds",
			(*pol).Name, polName, w.Severity, w.Severity, (*pol).Name)
	}
	if severity != "" && (*pol).Labels[conventions.LabelSeverity] == "" {
		(*pol).Labels[conventions.LabelSeverity] = severity
	}
}

// parenthesize keeps a binary expression whole when it becomes an operand:
// the printer writes the tree as it is, without adding parentheses.
func parenthesize(e parser.Expr) parser.Expr {
	if _, ok := e.(*parser.BinaryExpr); ok {
		return &parser.ParenExpr{Expr: e}
	}
	return e
}
