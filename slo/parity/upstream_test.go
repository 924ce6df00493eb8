package parity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/rules"
)

// The behaviour comparison with the tools the specs come from.
//
// For every example spec of Sloth and Pyrra that Vigil accepts (see
// slo/testdata/upstream), the rules `vigil slo rules` generates and the
// rules the tool generates for the same spec are loaded into one real
// Prometheus, over the same four days of backfilled input series, and
// their alert expressions are evaluated at every minute. Sloth's rules are
// Sloth v0.16.0's own output (examples/_gen). Pyrra's module does not
// resolve through the module proxy here, so Pyrra's rules are written out
// below as Pyrra's generator writes them (its burn-rate recordings and one
// alert per burn-rate row, threshold factor * (1 - target), for: per row;
// pyrra-dev/pyrra slo/rules.go), independently of Vigil's generator.
//
// What must hold at every step, SLO by SLO:
//   - the page condition: Vigil's page alert expression is non-empty
//     exactly when the tool's page alert expressions (Sloth's
//     sloth_severity="page", Pyrra's severity="critical") are;
//   - the ticket condition: Vigil's ticket expression is non-empty
//     exactly when the tool's is and Vigil's page condition is not. This
//     is the deliberate difference: a page inhibits the ticket of the same
//     burst (the ticket waits for the page to resolve), where Sloth and
//     Pyrra raise both. The test counts the steps it suppresses;
//   - the `for:` of each burn-rate row is the tool's, so that alerts with
//     equal conditions fire and resolve at equal steps.
//
// The min-events guard, Vigil's other deliberate difference, does not
// apply: PromQL SLIs have no event counts in the rules (it applies in the
// stream, and to Vigil's native SLIs; see the parity test above).
//
// The input: a counter per label set the queries select, 10 requests a
// second, whose errors follow one burn-rate schedule (burnSchedule),
// scaled to each SLO's error budget: healthy at half the budget, a
// 45-minute burst at 30x (pages), 12 hours at 4x (tickets), healthy again.

// upstreamDays is how long the scenario lasts: the 3-day and 4-day
// windows of the ticket rows fill, and the alerts resolve.
const upstreamDays = 4

// burnSchedule is the burn rate of the input at time t after the start.
func burnSchedule(t time.Duration) float64 {
	switch h := t.Hours(); {
	case h >= 26 && h < 26.75:
		return 30
	case h >= 40 && h < 52:
		return 4
	}
	return 0.5
}

// requestsPerSecond is the traffic of every SLI.
const requestsPerSecond = 10

type upstreamCase struct {
	spec      string
	reference func(t *testing.T, spec string) rulefmt.RuleGroups
	tool      string
}

func TestUpstreamRulesBehaveAsTheToolsRules(t *testing.T) {
	var cases []upstreamCase
	sloth, err := filepath.Glob("../testdata/upstream/sloth/*.y*ml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sloth {
		cases = append(cases, upstreamCase{spec: f, reference: slothReference, tool: "sloth"})
	}
	pyrra, err := filepath.Glob("../testdata/upstream/pyrra/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pyrra {
		cases = append(cases, upstreamCase{spec: f, reference: pyrraReference, tool: "pyrra"})
	}

	// One Prometheus for all: every spec's SLOs get inputs of their own
	// (the input series carry the SLO's ID in a label the queries do not
	// select... they cannot: the queries select what they select), so
	// specs are compared one file at a time, each on a fresh TSDB.
	compared, suppressed, pages, tickets, openSLODefaults := 0, 0, 0, 0, 0
	var refused []string
	for _, c := range cases {
		specs, err := slo.LoadFiles(c.spec)
		var verrs slo.ValidationErrors
		if errors.As(err, &verrs) {
			refused = append(refused, filepath.Base(c.spec))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.tool+"/"+filepath.Base(c.spec), func(t *testing.T) {
			r := compareSpec(t, specs, c.reference(t, c.spec))
			suppressed += r.suppressed
			pages += r.pageSteps
			tickets += r.ticketSteps
			openSLODefaults += r.openSLODefaults
			if r.compared > 0 {
				compared++
			}
		})
	}
	t.Logf("compared %d spec files with their tools' rules; refused by Vigil (see TestUpstreamExamples): %v", compared, refused)
	t.Logf("tool page steps %d, tool ticket steps %d, ticket steps Vigil holds back while its page fires: %d; OpenSLO SLOs Sloth gives no alerts and Vigil does: %d",
		pages, tickets, suppressed, openSLODefaults)
	if pages == 0 || tickets == 0 || suppressed == 0 {
		t.Errorf("the scenario must page, raise tickets and show the inhibition: pages %d, tickets %d, suppressed %d", pages, tickets, suppressed)
	}
}

type specResult struct {
	compared, openSLODefaults          int
	pageSteps, ticketSteps, suppressed int
}

func compareSpec(t *testing.T, specs []slo.Spec, reference rulefmt.RuleGroups) specResult {
	var res specResult
	vigil, err := rules.Generate(specs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := simStart
	end := start.Add(upstreamDays * 24 * time.Hour)
	var inputs []inputSeries
	for i := range specs[0].SLOs {
		in, ok := sliInputs(t, &specs[0].SLOs[i])
		if !ok {
			t.Logf("SLO %s: no input written for its SLI; not compared", specs[0].SLOs[i].ID())
			continue
		}
		inputs = append(inputs, in...)
	}
	if len(inputs) == 0 {
		return res
	}
	all := rulefmt.RuleGroups{Groups: append(slices.Clone(vigil.Groups), reference.Groups...)}
	dir := t.TempDir()
	ruleFile := filepath.Join(dir, "rules.yaml")
	out, err := yaml.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ruleFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := newPromServer(t, dir, ruleFile, step)
	raw, err := inputOpenMetrics(inputs, start, end)
	if err != nil {
		t.Fatal(err)
	}
	prom.backfill(raw)
	prom.restart()
	checkRulesLoaded(t, prom, all)

	// Only the recordings the alerts read, level by level.
	var alertsOnly []rulefmt.Rule
	for _, g := range all.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alertsOnly = append(alertsOnly, r)
			}
		}
	}
	levels, err := ruleLevels(neededBy(all, alertsOnly))
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range levels {
		om := newOpenMetrics()
		for _, r := range level {
			for _, s := range prom.queryRange(r.Expr, start, end, step) {
				ts, vs := sortedSamples(s.values)
				lbls := map[string]string{}
				for k, v := range s.labels {
					if k != labels.MetricName {
						lbls[k] = v
					}
				}
				maps.Copy(lbls, r.Labels)
				if err := om.add(r.Record, "gauge", r.Record, lbls, ts, vs); err != nil {
					t.Fatal(err)
				}
			}
		}
		b, err := om.bytes()
		if err != nil {
			t.Fatal(err)
		}
		prom.backfill(b)
		prom.restart()
	}

	for i := range specs[0].SLOs {
		def := &specs[0].SLOs[i]
		toolPage, toolTicket := toolAlerts(reference, def)
		vigilPage, vigilTicket := vigilAlerts(vigil, def)
		if len(vigilPage)+len(vigilTicket) == 0 && len(toolPage)+len(toolTicket) == 0 {
			continue
		}
		if len(toolPage)+len(toolTicket) == 0 && (def.Format == slo.FormatOpenSLO || def.Format == slo.FormatOpenSLOAlpha) {
			// Deliberate: Sloth generates no alerts for OpenSLO specs;
			// Vigil gives an OpenSLO SLO without alertPolicies its page
			// and ticket alerts (see slo/spec_openslo.go).
			t.Logf("SLO %s: OpenSLO without alert policies: Sloth generates no alerts, Vigil its page and ticket alerts", def.ID())
			res.openSLODefaults++
			continue
		}
		if len(vigilPage) != len(toolPage) && (len(vigilPage) == 0 || len(toolPage) == 0) {
			t.Errorf("SLO %s: the tool has %d page rules, Vigil %d", def.ID(), len(toolPage), len(vigilPage))
			continue
		}
		if (len(vigilTicket) == 0) != (len(toolTicket) == 0) {
			t.Errorf("SLO %s: the tool has %d ticket rules, Vigil %d", def.ID(), len(toolTicket), len(vigilTicket))
			continue
		}
		if got, want := forsOf(vigilPage), forsOf(toolPage); !slices.Equal(got, want) {
			t.Errorf("SLO %s: page for: %v, the tool's %v", def.ID(), got, want)
		}
		if got, want := forsOf(vigilTicket), forsOf(toolTicket); !slices.Equal(got, want) {
			t.Errorf("SLO %s: ticket for: %v, the tool's %v", def.ID(), got, want)
		}
		tp, tt := firingSteps(prom, toolPage, start, end), firingSteps(prom, toolTicket, start, end)
		vp, vt := firingSteps(prom, vigilPage, start, end), firingSteps(prom, vigilTicket, start, end)
		mismatch := 0
		for at := start.Add(step); !at.After(end); at = at.Add(step) {
			ts := at.Unix()
			if vp[ts] != tp[ts] {
				mismatch++
				if mismatch <= 5 {
					t.Errorf("SLO %s at %s: Vigil's page condition %v, the tool's %v", def.ID(), at.Sub(start), vp[ts], tp[ts])
				}
			}
			wantTicket := tt[ts] && !vp[ts]
			if vt[ts] != wantTicket {
				mismatch++
				if mismatch <= 5 {
					t.Errorf("SLO %s at %s: Vigil's ticket condition %v, want %v (the tool's %v, Vigil's page %v)", def.ID(), at.Sub(start), vt[ts], wantTicket, tt[ts], vp[ts])
				}
			}
			if tp[ts] {
				res.pageSteps++
			}
			if tt[ts] {
				res.ticketSteps++
				if vp[ts] {
					res.suppressed++
				}
			}
		}
		t.Logf("SLO %s: page on %d steps, ticket on %d (the tool's: %d), %d mismatches", def.ID(), len(vp), len(vt), len(tt), mismatch)
		res.compared++
	}
	return res
}

// firingSteps evaluates the alert expressions at every step and returns
// the steps at which any of them returns a series.
func firingSteps(prom *promServer, alerts []rulefmt.Rule, start, end time.Time) map[int64]bool {
	out := map[int64]bool{}
	for _, r := range alerts {
		for _, s := range prom.queryRange(r.Expr, start, end, step) {
			for ts := range s.values {
				out[ts] = true
			}
		}
	}
	return out
}

func forsOf(rs []rulefmt.Rule) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, time.Duration(r.For))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// vigilAlerts are the page and ticket rules of an SLO in Vigil's rules.
func vigilAlerts(groups rulefmt.RuleGroups, def *slo.SLO) (page, ticket []rulefmt.Rule) {
	for _, g := range groups.Groups {
		if g.Name != rules.GroupName(def) {
			continue
		}
		for _, r := range g.Rules {
			switch r.Labels[conventions.LabelVigilSeverity] {
			case conventions.SeverityPage:
				page = append(page, r)
			case conventions.SeverityTicket:
				ticket = append(ticket, r)
			}
		}
	}
	return page, ticket
}

// toolAlerts are the page and ticket rules of an SLO in the tool's rules:
// the alerts whose expression selects the SLO's recordings.
func toolAlerts(groups rulefmt.RuleGroups, def *slo.SLO) (page, ticket []rulefmt.Rule) {
	p := parser.NewParser(parser.Options{})
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				continue
			}
			mine := false
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					m := matcherValues(vs)
					// Sloth: sloth_service and sloth_slo; Pyrra: slo (its name).
					if (m["sloth_service"] == def.Service && m["sloth_slo"] == def.Name) || (m["sloth_service"] == "" && m["slo"] == def.Name && m["slo"] != "") {
						mine = true
					}
				}
				return nil
			})
			if !mine {
				continue
			}
			switch {
			case r.Labels["sloth_severity"] == "page" || r.Labels["pyrra_tier"] == "page":
				page = append(page, r)
			case r.Labels["sloth_severity"] == "ticket" || r.Labels["pyrra_tier"] == "ticket":
				ticket = append(ticket, r)
			}
		}
	}
	return page, ticket
}

func matcherValues(vs *parser.VectorSelector) map[string]string {
	out := map[string]string{}
	for _, m := range vs.LabelMatchers {
		if m.Type == labels.MatchEqual {
			out[m.Name] = m.Value
		}
	}
	return out
}

// neededBy keeps the recording rules the given rules read, transitively.
func neededBy(all rulefmt.RuleGroups, roots []rulefmt.Rule) rulefmt.RuleGroups {
	var recs []rulefmt.Rule
	for _, g := range all.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recs = append(recs, r)
			}
		}
	}
	p := parser.NewParser(parser.Options{})
	keep := make([]bool, len(recs))
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		expr, err := p.ParseExpr(r.Expr)
		if err != nil {
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			for i, q := range recs {
				if !keep[i] && selects(vs.LabelMatchers, q) {
					keep[i] = true
					queue = append(queue, q)
				}
			}
			return nil
		})
	}
	var out rulefmt.RuleGroups
	g := rulefmt.RuleGroup{Name: "needed"}
	for i, r := range recs {
		if keep[i] {
			g.Rules = append(g.Rules, r)
		}
	}
	out.Groups = []rulefmt.RuleGroup{g}
	return out
}

// slothReference reads the rules Sloth v0.16.0 generated for an example
// (examples/_gen), plain rule files or PrometheusRule resources.
func slothReference(t *testing.T, spec string) rulefmt.RuleGroups {
	gen := filepath.Join(filepath.Dir(spec), "_gen", filepath.Base(spec))
	data, err := os.ReadFile(gen)
	if err != nil {
		t.Fatalf("Sloth's rules for %s: %v", spec, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out rulefmt.RuleGroups
	for {
		var doc struct {
			Groups []rulefmt.RuleGroup `yaml:"groups"`
			Spec   struct {
				Groups []rulefmt.RuleGroup `yaml:"groups"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", gen, err)
		}
		out.Groups = append(out.Groups, doc.Groups...)
		out.Groups = append(out.Groups, doc.Spec.Groups...)
	}
	// sloth_slo_info carries the info_labels plugin's labels, which
	// Sloth writes unchecked (plug-l1) and Prometheus refuses; no alert
	// reads it.
	for i := range out.Groups {
		out.Groups[i].Rules = slices.DeleteFunc(out.Groups[i].Rules, func(r rulefmt.Rule) bool { return r.Record == "sloth_slo_info" })
	}
	// Several resources of one file may use one group name; Prometheus
	// wants them unique in a file.
	for i := range out.Groups {
		out.Groups[i].Name = fmt.Sprintf("sloth-%d-%s", i, out.Groups[i].Name)
	}
	return out
}

// pyrraReference writes Pyrra's rules for a spec as Pyrra's generator
// writes them: per burn-rate window, the error ratio recorded as
// <metric>:burnrate<window>; per row of Pyrra's table, one alert
// `short > factor * (1-target) and long > factor * (1-target)` with its
// for:. The table is Pyrra's (28-day windows scaled to the SLO's and
// rounded to the minute), written out here independently of Vigil's.
func pyrraReference(t *testing.T, spec string) rulefmt.RuleGroups {
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out rulefmt.RuleGroups
	for {
		var o pyrraObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.Metadata.Name == "" {
			continue
		}
		out.Groups = append(out.Groups, o.rules(t))
	}
	return out
}

type pyrraQuery struct {
	Metric string `yaml:"metric"`
}

type pyrraObject struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Target    string `yaml:"target"`
		Window    string `yaml:"window"`
		Indicator struct {
			Ratio *struct {
				Errors   pyrraQuery `yaml:"errors"`
				Total    pyrraQuery `yaml:"total"`
				Grouping []string   `yaml:"grouping"`
			} `yaml:"ratio"`
			Latency *struct {
				Success  pyrraQuery `yaml:"success"`
				Total    pyrraQuery `yaml:"total"`
				Grouping []string   `yaml:"grouping"`
			} `yaml:"latency"`
		} `yaml:"indicator"`
	} `yaml:"spec"`
}

func (o pyrraObject) rules(t *testing.T) rulefmt.RuleGroup {
	window, err := parseDuration(o.Spec.Window)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		tier              string
		forD, long, short time.Duration
		factor            float64
	}
	sc := func(d time.Duration) time.Duration { return (window / d).Round(time.Minute) }
	rows := []row{
		{"page", sc(28 * 24 * 30), sc(28 * 24), sc(28 * 24 * 12), 14},
		{"page", sc(28 * 24 * 4), sc(28 * 4), sc(28 * 24 * 2), 7},
		{"ticket", sc(28 * 24), sc(28), sc(28 * 12), 2},
		{"ticket", sc(28 * 8), sc(7), sc(28 * 4), 1},
	}
	var errMetric, totalMetric string
	var grouping []string
	latency := false
	switch {
	case o.Spec.Indicator.Ratio != nil:
		errMetric, totalMetric, grouping = o.Spec.Indicator.Ratio.Errors.Metric, o.Spec.Indicator.Ratio.Total.Metric, o.Spec.Indicator.Ratio.Grouping
	case o.Spec.Indicator.Latency != nil:
		errMetric, totalMetric, grouping = o.Spec.Indicator.Latency.Success.Metric, o.Spec.Indicator.Latency.Total.Metric, o.Spec.Indicator.Latency.Grouping
		latency = true
	default:
		t.Fatalf("%s: no indicator this test writes Pyrra's rules for", o.Metadata.Name)
	}
	by := ""
	if len(grouping) > 0 {
		by = " by (" + strings.Join(grouping, ", ") + ")"
	}
	withRange := func(sel string, w time.Duration) string {
		// A selector with an offset takes its range before the offset.
		if i := strings.Index(sel, "} offset "); i >= 0 {
			return sel[:i+1] + "[" + formatDur(w) + "]" + sel[i+1:]
		}
		return sel + "[" + formatDur(w) + "]"
	}
	base := strings.TrimSuffix(strings.TrimSuffix(metricName(t, totalMetric), "_total"), "_count")
	var g rulefmt.RuleGroup
	g.Name = "pyrra-" + o.Metadata.Name
	seen := map[time.Duration]bool{}
	for _, r := range rows {
		for _, w := range []time.Duration{r.short, r.long} {
			if seen[w] {
				continue
			}
			seen[w] = true
			total := fmt.Sprintf("sum%s (rate(%s))", by, withRange(totalMetric, w))
			part := fmt.Sprintf("sum%s (rate(%s))", by, withRange(errMetric, w))
			expr := part + " / " + total
			if latency {
				expr = "(" + total + " - " + part + ") / " + total
			}
			g.Rules = append(g.Rules, rulefmt.Rule{Record: base + ":burnrate" + formatDur(w), Expr: expr, Labels: map[string]string{"slo": o.Metadata.Name}})
		}
	}
	target := strings.TrimSpace(o.Spec.Target)
	for _, r := range rows {
		thr := fmt.Sprintf("(%g * (1-%s))", r.factor, ratioOf(t, target))
		sel := func(w time.Duration) string {
			return fmt.Sprintf(`%s:burnrate%s{slo=%q}`, base, formatDur(w), o.Metadata.Name)
		}
		g.Rules = append(g.Rules, rulefmt.Rule{
			Alert:  "ErrorBudgetBurn",
			Expr:   fmt.Sprintf("%s > %s and %s > %s", sel(r.short), thr, sel(r.long), thr),
			For:    modelDuration(r.forD),
			Labels: map[string]string{"pyrra_tier": r.tier},
		})
	}
	return g
}

func metricName(t *testing.T, sel string) string {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(sel)
	if err != nil {
		t.Fatal(err)
	}
	return expr.(*parser.VectorSelector).Name
}

// ratioOf writes a percentage target as Pyrra's ratio (target / 100).
func ratioOf(t *testing.T, pct string) string {
	var v float64
	if _, err := fmt.Sscan(pct, &v); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%g", v/100)
}

// inputSeries is one backfilled series: a counter growing at rate(t) per
// second, or a gauge of value(t).
type inputSeries struct {
	name   string
	labels map[string]string
	rate   func(t time.Duration) float64
	value  func(t time.Duration) float64
}

func inputOpenMetrics(inputs []inputSeries, start, end time.Time) ([]byte, error) {
	om := newOpenMetrics()
	done := map[string]bool{}
	for _, in := range inputs {
		key := in.name + fmt.Sprint(sortedLabels(in.labels))
		if done[key] {
			continue // two SLOs of a spec reading the same series
		}
		done[key] = true
		var ts []int64
		var vs []float64
		var sum float64
		for at := start; !at.After(end); at = at.Add(tick) {
			ts = append(ts, at.Unix())
			if in.rate != nil {
				vs = append(vs, sum)
				sum += in.rate(at.Sub(start)) * tick.Seconds()
			} else {
				vs = append(vs, in.value(at.Sub(start)))
			}
		}
		family, sample := in.name, in.name
		typ := "gauge"
		if in.rate != nil {
			typ = "counter"
			family = strings.TrimSuffix(in.name, "_total")
			if !strings.HasSuffix(in.name, "_total") {
				// OpenMetrics counters end in _total; other monotonic
				// series (_count, _bucket) are written as gauges, which
				// rate() reads alike.
				typ, family = "gauge", in.name
			}
		}
		if err := om.add(family, typ, sample, in.labels, ts, vs); err != nil {
			return nil, err
		}
	}
	return om.bytes()
}

func sortedLabels(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// errorFraction is the share of bad events at t for an SLO with budget b.
func errorFraction(b float64, t time.Duration) float64 {
	return math.Min(burnSchedule(t)*b, 0.9)
}

// sliInputs writes the input series an SLO's queries select: for a
// ratio of counters, a series the error query selects and one only the
// total selects; for a histogram's count and bucket, the bucket at the
// threshold, +Inf and the count; for Sloth's home-wifi gauges, twenty
// clients' satisfaction. The label values are chosen to satisfy the
// queries' matchers (and, for the good series, to fail the error query's).
func sliInputs(t *testing.T, def *slo.SLO) ([]inputSeries, bool) {
	if def.SLI.PromQL == nil {
		return nil, false
	}
	budget := def.ErrorBudget()
	bad := func(d time.Duration) float64 { return requestsPerSecond * errorFraction(budget, d) }
	good := func(d time.Duration) float64 { return requestsPerSecond * (1 - errorFraction(budget, d)) }
	all := func(time.Duration) float64 { return requestsPerSecond }
	q := *def.SLI.PromQL
	if strings.Contains(q.ErrorQuery+q.TotalQuery, "unifipoller_client_satisfaction_ratio") {
		return wifiClients(), true
	}
	// Shape the SLI as the stream would, whatever its budgeting.
	shape := *def
	shape.Budgeting = slo.Budgeting{}
	q.PeriodDenominator = false
	shape.SLI.PromQL = &q
	ev := shape.Evaluation()
	if ev.Metrics == nil {
		return nil, false
	}
	group := map[string]string{}
	for _, g := range ev.GroupBy {
		group[g] = "g1"
	}
	m := ev.Metrics
	if h := m.Histogram; h != nil {
		lbls, ok := satisfy(h.Attributes, nil)
		if !ok {
			t.Fatalf("SLO %s: no labels satisfy %v", def.ID(), h.Attributes)
		}
		maps.Copy(lbls, group)
		le := strconv.FormatFloat(h.LatencyAbove.Seconds(), 'g', -1, 64)
		return []inputSeries{
			{name: h.Metric + "_bucket", labels: with(lbls, "le", le), rate: good},
			{name: h.Metric + "_bucket", labels: with(lbls, "le", "+Inf"), rate: all},
			{name: h.Metric + "_count", labels: lbls, rate: all},
		}, true
	}
	part, partIsBad := m.Bad, true
	if part == nil {
		part, partIsBad = m.Good, false
	}
	if part.Metric != m.Total.Metric {
		p, ok1 := satisfy(part.Attributes, nil)
		tl, ok2 := satisfy(m.Total.Attributes, nil)
		if !ok1 || !ok2 {
			t.Fatalf("SLO %s: no labels satisfy its selectors", def.ID())
		}
		maps.Copy(p, group)
		maps.Copy(tl, group)
		partRate := bad
		if !partIsBad {
			partRate = good
		}
		return []inputSeries{{name: part.Metric, labels: p, rate: partRate}, {name: m.Total.Metric, labels: tl, rate: all}}, true
	}
	in, ok1 := satisfy(append(slices.Clone(m.Total.Attributes), part.Attributes...), nil)
	out, ok2 := satisfy(m.Total.Attributes, part.Attributes)
	if !ok1 || !ok2 {
		t.Fatalf("SLO %s: no labels satisfy %v and %v", def.ID(), m.Total.Attributes, part.Attributes)
	}
	maps.Copy(in, group)
	maps.Copy(out, group)
	inRate, outRate := bad, good
	if !partIsBad {
		inRate, outRate = good, bad
	}
	return []inputSeries{{name: m.Total.Metric, labels: in, rate: inRate}, {name: m.Total.Metric, labels: out, rate: outRate}}, true
}

func with(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	c[k] = v
	return c
}

// labelCandidates are the values tried for a label: those the examples'
// matchers name or exclude.
var labelCandidates = []string{"200", "500", "503", "429", "404", "GET", "LIST", "POST", "WATCH", "resource", "cluster",
	"namespace", "/api/v1/query", "SERVFAIL", "NOERROR", "apiserver", "ok", "x"}

// satisfy picks label values matching every matcher of ms and, when not
// is given, failing at least one of not's.
func satisfy(ms, not []slo.AttributeMatcher) (map[string]string, bool) {
	pick := func(key string, must []slo.AttributeMatcher, mustNot *slo.AttributeMatcher) (string, bool) {
		var cands []string
		for _, m := range must {
			if m.Op == slo.MatchEqual {
				cands = append(cands, m.Value)
			}
		}
		cands = append(cands, labelCandidates...)
		for _, c := range cands {
			ok := true
			for _, m := range must {
				ok = ok && matches(m, c)
			}
			if ok && (mustNot == nil || !matches(*mustNot, c)) {
				return c, true
			}
		}
		return "", false
	}
	byKey := func(list []slo.AttributeMatcher) map[string][]slo.AttributeMatcher {
		out := map[string][]slo.AttributeMatcher{}
		for _, m := range list {
			out[m.Key] = append(out[m.Key], m)
		}
		return out
	}
	must := byKey(ms)
	if len(not) == 0 {
		out := map[string]string{}
		for k, list := range must {
			v, ok := pick(k, list, nil)
			if !ok {
				return nil, false
			}
			if v != "" {
				out[k] = v
			}
		}
		return out, true
	}
	// Fail one of not's matchers on its key; satisfy both elsewhere.
	for _, failing := range not {
		f := failing
		out := map[string]string{}
		ok := true
		keys := map[string]bool{f.Key: true}
		for k := range must {
			keys[k] = true
		}
		for k := range keys {
			var v string
			var found bool
			if k == f.Key {
				v, found = pick(k, must[k], &f)
			} else {
				v, found = pick(k, must[k], nil)
			}
			if !found {
				ok = false
				break
			}
			if v != "" {
				out[k] = v
			}
		}
		if ok {
			return out, true
		}
	}
	return nil, false
}

func matches(m slo.AttributeMatcher, v string) bool {
	lm, err := labels.NewMatcher(map[slo.MatchOp]labels.MatchType{
		slo.MatchEqual: labels.MatchEqual, slo.MatchNotEqual: labels.MatchNotEqual,
		slo.MatchRegexp: labels.MatchRegexp, slo.MatchNotRegexp: labels.MatchNotRegexp,
	}[m.Op], m.Key, m.Value)
	return err == nil && lm.Matches(v)
}

// wifiClients are twenty clients' satisfaction ratios (Sloth's home-wifi
// examples): a share of them, following the schedule for a 95% objective,
// at 0.4, below both examples' thresholds; the others at 0.95.
func wifiClients() []inputSeries {
	var out []inputSeries
	for i := 0; i < 20; i++ {
		i := i
		out = append(out, inputSeries{
			name:   "unifipoller_client_satisfaction_ratio",
			labels: map[string]string{"name": fmt.Sprintf("client-%02d", i)},
			value: func(d time.Duration) float64 {
				if float64(i) < math.Floor(errorFraction(0.05, d)*20) {
					return 0.4
				}
				return 0.95
			},
		})
	}
	return out
}

func parseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func formatDur(d time.Duration) string { return model.Duration(d).String() }

func modelDuration(d time.Duration) model.Duration { return model.Duration(d) }
