package parity

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/rules"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// Tolerances of the comparison; doc.go gives the reasoning.
const (
	// relTolerance is the bound: 1% of the larger value.
	relTolerance = 0.01
	// burnFloor: below a burn rate difference of 0.001 (an error ratio
	// of one in a million for 99.9%) nothing can change, as every alert
	// threshold is at least 1, and a relative bound means nothing near 0.
	burnFloor = 1e-3
	// budgetFloor: a thousandth of the error budget; the remaining
	// budget crosses zero when it is spent, where relative errors blow up.
	budgetFloor = 1e-3
	// countFloor: half an event. Prometheus counts whole events here and
	// the tracker's interpolated counts differ by less than one.
	countFloor = 0.5
)

func within(a, b, floor float64) bool {
	d := math.Abs(a - b)
	return d <= floor || d <= relTolerance*math.Max(math.Abs(a), math.Abs(b))
}

func TestConnectorMatchesPrometheusRules(t *testing.T) {
	began := time.Now()
	specFiles := []string{filepath.Join("..", "examples", "checkout.yaml"), filepath.Join("testdata", "edge.yaml")}
	specs, err := slo.LoadFiles(specFiles...)
	if err != nil {
		t.Fatal(err)
	}
	var defs []slo.SLO
	for _, s := range specs {
		defs = append(defs, s.SLOs...)
	}
	if ids, want := sloIDs(defs), []string{availabilityID, latencyID, edgeID}; !slices.Equal(ids, want) {
		t.Fatalf("the specs define %v, the traffic is written for %v", ids, want)
	}
	groups, err := rules.Generate(specs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups {
		if time.Duration(g.Interval) != step {
			t.Fatalf("group %s evaluates every %v; the comparison steps every %v", g.Name, time.Duration(g.Interval), step)
		}
	}
	rendered, err := rules.Render(specs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ruleFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(ruleFile, rendered, 0o644); err != nil {
		t.Fatal(err)
	}

	end := simStart.Add(days * 24 * time.Hour)

	// The connector's side runs while Prometheus is fed: spans through
	// the slo connector, evaluated every minute.
	type connResult struct {
		r   *connectorReplay
		err error
	}
	connDone := make(chan connResult, 1)
	go func() {
		r, err := runConnector(specFiles, end)
		connDone <- connResult{r, err}
	}()

	// The library's side: the tracker, evaluated every minute.
	clock := tracker.NewSimClock(simStart)
	tr := tracker.New(defs, tracker.Options{Clock: clock.Now})
	replay, err := tracker.RunReplay(tr, clock, tracker.Replay{
		Start: simStart, End: end, Tick: tick,
		Traffic:       replayEvents,
		EvaluateEvery: step,
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := map[int64]map[string]tracker.Status{}
	for _, st := range replay {
		m := map[string]tracker.Status{}
		for _, s := range st.Statuses {
			m[s.SLOID] = s
		}
		stream[st.At.Unix()] = m
	}
	t.Logf("tracker: %d evaluations of %d SLOs over %v of traffic", len(replay), len(defs), end.Sub(simStart))

	// The Prometheus side: counter samples, then the recording rules
	// level by level.
	prom := newPromServer(t, dir, ruleFile, step)
	raw, err := counterSamples(defs, end)
	if err != nil {
		t.Fatal(err)
	}
	prom.backfill(raw)
	prom.restart()
	checkRulesLoaded(t, prom, groups)
	levels, err := ruleLevels(groups)
	if err != nil {
		t.Fatal(err)
	}
	for i, level := range levels {
		om := newOpenMetrics()
		for _, r := range level {
			for _, s := range prom.queryRange(r.Expr, simStart, end, step) {
				ts, vs := sortedSamples(s.values)
				lbls := map[string]string{}
				for k, v := range s.labels {
					if k != labels.MetricName {
						lbls[k] = v
					}
				}
				// As the rule manager does: the rule's labels override
				// the result's, the record name becomes the metric name.
				for k, v := range r.Labels {
					lbls[k] = v
				}
				if err := om.add(r.Record, "gauge", r.Record, lbls, ts, vs); err != nil {
					t.Fatal(err)
				}
			}
		}
		b, err := om.bytes()
		if err != nil {
			t.Fatalf("level %d (%s): %v", i+1, ruleNames(level), err)
		}
		prom.backfill(b)
		prom.restart()
	}
	t.Logf("prometheus: %d rule levels backfilled (%d blocks) in %v since the test began",
		len(levels), prom.blocks, time.Since(began).Round(time.Millisecond))

	cr := <-connDone
	if cr.err != nil {
		t.Fatalf("connector replay: %v", cr.err)
	}
	conn := cr.r
	t.Logf("connector: %d spans consumed, %d evaluations, in %v (concurrently with prometheus)",
		conn.spans, len(conn.steps), conn.took.Round(time.Millisecond))

	var steps []time.Time
	for at := simStart.Add(step); !at.After(end); at = at.Add(step) {
		steps = append(steps, at)
	}
	for i := range defs {
		def := &defs[i]
		t.Run(def.ID(), func(t *testing.T) {
			compareSLO(t, prom, def, groups, stream, conn, steps)
		})
	}
	t.Logf("whole test: %v", time.Since(began).Round(time.Millisecond))
}

func sloIDs(defs []slo.SLO) []string {
	var ids []string
	for i := range defs {
		ids = append(ids, defs[i].ID())
	}
	return ids
}

// counterSamples renders the replay's traffic as the connector's counter,
// vigil_slo_events_total{slo, service_name, outcome}, scraped at every tick:
// the cumulative count of events that ended at or before each sample. The
// sample at simStart is 0, the counter's creation.
func counterSamples(defs []slo.SLO, end time.Time) ([]byte, error) {
	type key struct{ id, outcome string }
	var ts []int64
	values := map[key][]float64{}
	cum := map[key]uint64{}
	for at := simStart; !at.After(end); at = at.Add(tick) {
		if at.After(simStart) {
			for _, ev := range replayEvents(at) {
				cum[key{ev.SLOID, conventions.OutcomeGood}] += ev.Good
				cum[key{ev.SLOID, conventions.OutcomeBad}] += ev.Bad
			}
		}
		ts = append(ts, at.Unix())
		for i := range defs {
			for _, o := range []string{conventions.OutcomeGood, conventions.OutcomeBad} {
				k := key{defs[i].ID(), o}
				values[k] = append(values[k], float64(cum[k]))
			}
		}
	}
	om := newOpenMetrics()
	for i := range defs {
		for _, o := range []string{conventions.OutcomeGood, conventions.OutcomeBad} {
			lbls := map[string]string{
				conventions.LabelSLO:         defs[i].Name,
				conventions.LabelServiceName: defs[i].Service,
				conventions.LabelOutcome:     o,
			}
			if err := om.add(conventions.MetricSLOEvents, "counter", conventions.MetricSLOEventsTotal, lbls, ts, values[key{defs[i].ID(), o}]); err != nil {
				return nil, err
			}
		}
	}
	return om.bytes()
}

func sortedSamples(m map[int64]float64) ([]int64, []float64) {
	ts := make([]int64, 0, len(m))
	for k := range m {
		ts = append(ts, k)
	}
	slices.Sort(ts)
	vs := make([]float64, len(ts))
	for i, k := range ts {
		vs[i] = m[k]
	}
	return ts, vs
}

// checkRulesLoaded proves the running Prometheus loaded every generated
// group from the rendered file, with no rule in error.
func checkRulesLoaded(t *testing.T, prom *promServer, groups rulefmt.RuleGroups) {
	t.Helper()
	// Health is "unknown" until a rule's first evaluation, "err" when it
	// failed; every rule of every group must be there.
	got := map[string]int{}
	for _, r := range prom.rules() {
		if r.health == "err" {
			t.Errorf("prometheus: rule %s in group %s: %s", r.name, r.group, r.lastError)
		}
		got[r.group]++
	}
	for _, g := range groups.Groups {
		if got[g.Name] != len(g.Rules) {
			t.Errorf("prometheus loaded %d rules of group %s, want %d", got[g.Name], g.Name, len(g.Rules))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// ruleLevels orders the recording rules by dependency: a rule is on the
// level after the highest level of any rule whose output one of its
// selectors can match. Prometheus reads a recorded series only once it is
// stored, so each level is evaluated after the levels below it are
// backfilled, which is what a running server's consecutive evaluations
// amount to.
func ruleLevels(groups rulefmt.RuleGroups) ([][]rulefmt.Rule, error) {
	var recs []rulefmt.Rule
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recs = append(recs, r)
			}
		}
	}
	p := parser.NewParser(parser.Options{})
	deps := make([][]int, len(recs))
	for i, r := range recs {
		expr, err := p.ParseExpr(r.Expr)
		if err != nil {
			return nil, fmt.Errorf("rule %s%v: %w", r.Record, r.Labels, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			for j, q := range recs {
				if selects(vs.LabelMatchers, q) {
					deps[i] = append(deps[i], j)
				}
			}
			return nil
		})
	}
	level := make([]int, len(recs))
	var visit func(i int, path []int) (int, error)
	visit = func(i int, path []int) (int, error) {
		if level[i] > 0 {
			return level[i], nil
		}
		if slices.Contains(path, i) {
			return 0, fmt.Errorf("recording rules depend on each other in a cycle through %s", recs[i].Record)
		}
		l := 1
		for _, j := range deps[i] {
			lj, err := visit(j, append(path, i))
			if err != nil {
				return 0, err
			}
			l = max(l, lj+1)
		}
		level[i] = l
		return l, nil
	}
	var out [][]rulefmt.Rule
	for i := range recs {
		l, err := visit(i, nil)
		if err != nil {
			return nil, err
		}
		for len(out) < l {
			out = append(out, nil)
		}
		out[l-1] = append(out[l-1], recs[i])
	}
	return out, nil
}

// selects reports whether a selector can match the output of rule q: every
// matcher on a label the rule sets (or on the metric name) must accept
// the rule's value; labels the rule leaves to its query could match.
func selects(ms []*labels.Matcher, q rulefmt.Rule) bool {
	for _, m := range ms {
		var v string
		var known bool
		if m.Name == labels.MetricName {
			v, known = q.Record, true
		} else {
			v, known = q.Labels[m.Name]
		}
		if known && !m.Matches(v) {
			return false
		}
	}
	return true
}

func ruleNames(rs []rulefmt.Rule) string {
	var names []string
	for _, r := range rs {
		names = append(names, r.Record+"{window="+r.Labels[conventions.LabelWindow]+"}")
	}
	return strings.Join(names, ", ")
}

// selector is the PromQL selector of a recorded series of def.
func selector(name string, def *slo.SLO, extra ...string) string {
	parts := []string{
		conventions.LabelSLO + `="` + def.Name + `"`,
		conventions.LabelServiceName + `="` + def.Service + `"`,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		parts = append(parts, extra[i]+`="`+extra[i+1]+`"`)
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// single returns the one series a query for one SLO and window returns.
func single(t *testing.T, what string, ss []series) map[int64]float64 {
	t.Helper()
	if len(ss) != 1 {
		var ls []string
		for _, s := range ss {
			ls = append(ls, fmt.Sprint(s.labels))
		}
		t.Fatalf("%s: %d series, want 1: %v", what, len(ss), ls)
	}
	return ss[0].values
}

// diffStat keeps the largest differences seen for one compared quantity.
type diffStat struct {
	name           string
	side           string // the stream side's name in messages; "" means tracker
	compared       int
	maxAbs, maxRel float64
	failures       int
}

func (d *diffStat) observe(t *testing.T, at time.Time, stream, prom, floor float64) {
	t.Helper()
	d.compared++
	abs := math.Abs(stream - prom)
	rel := 0.0
	// Relative differences are reported where the values are above the
	// floor; below it they say nothing (a budget crossing zero).
	if m := math.Max(math.Abs(stream), math.Abs(prom)); m > floor {
		rel = abs / m
	}
	d.maxAbs = max(d.maxAbs, abs)
	d.maxRel = max(d.maxRel, rel)
	if !within(stream, prom, floor) {
		d.failures++
		// Report the first few in full; the count says the rest.
		if d.failures <= 5 {
			side := d.side
			if side == "" {
				side = "tracker"
			}
			t.Errorf("%s at %s (step %v after start): %s %.9g, prometheus %.9g (|diff| %.3g, rel %.3g)",
				d.name, at.Format(time.RFC3339), at.Sub(simStart), side, stream, prom, abs, rel)
		}
	}
}

func (d *diffStat) report(t *testing.T) {
	t.Helper()
	if d.failures > 5 {
		t.Errorf("%s: %d steps out of tolerance in all", d.name, d.failures)
	}
	t.Logf("%-42s %5d steps, max |diff| %.3g, max rel %.3g", d.name, d.compared, d.maxAbs, d.maxRel)
}

func compareSLO(t *testing.T, prom *promServer, def *slo.SLO, groups rulefmt.RuleGroups, stream map[int64]map[string]tracker.Status, conn *connectorReplay, steps []time.Time) {
	first, last := steps[0], steps[len(steps)-1]
	statusAt := func(at time.Time) tracker.Status {
		s, ok := stream[at.Unix()][def.ID()]
		if !ok {
			t.Fatalf("tracker: no evaluation of %s at %s", def.ID(), at.Format(time.RFC3339))
		}
		return s
	}
	promAt := func(what string, m map[int64]float64, at time.Time) float64 {
		v, ok := m[at.Unix()]
		if !ok {
			t.Fatalf("prometheus: %s has no sample at %s", what, at.Format(time.RFC3339))
		}
		return v
	}

	period := def.Window.Period()
	windows := slo.BurnRateWindows(period)
	burn := map[time.Duration]map[int64]float64{}
	total := map[time.Duration]map[int64]float64{}
	bad := map[time.Duration]map[int64]float64{}
	for _, w := range append(slices.Clone(windows), period) {
		ws := slo.FormatDuration(w)
		inc := selector("vigil_slo:events:increase", def, conventions.LabelWindow, ws)
		total[w] = single(t, "events "+ws, prom.queryRange("sum without (outcome) ("+inc+")", first, last, step))
		bad[w] = single(t, "bad events "+ws, prom.queryRange(selector("vigil_slo:events:increase", def, conventions.LabelWindow, ws, conventions.LabelOutcome, conventions.OutcomeBad), first, last, step))
		if w != period {
			burn[w] = single(t, "burn rate "+ws, prom.queryRange(selector("vigil_slo:burn_rate", def, conventions.LabelWindow, ws), first, last, step))
		}
	}
	budget := single(t, "budget remaining", prom.queryRange(selector("vigil_slo:error_budget_remaining_ratio", def), first, last, step))

	var stats []*diffStat
	stat := func(name string) *diffStat {
		d := &diffStat{name: name}
		stats = append(stats, d)
		return d
	}
	burnStats, totalStats, badStats := map[time.Duration]*diffStat{}, map[time.Duration]*diffStat{}, map[time.Duration]*diffStat{}
	for _, w := range windows {
		burnStats[w] = stat("burn rate " + slo.FormatDuration(w))
	}
	for _, w := range append(slices.Clone(windows), period) {
		totalStats[w] = stat("events " + slo.FormatDuration(w))
		badStats[w] = stat("bad events " + slo.FormatDuration(w))
	}
	budgetStat := stat("error budget remaining")

	for _, at := range steps {
		st := statusAt(at)
		for _, ws := range st.Windows {
			w := ws.Window
			if _, ok := burn[w]; !ok {
				t.Fatalf("tracker reports window %v, not one of slo.BurnRateWindows %v", w, windows)
			}
			burnStats[w].observe(t, at, ws.BurnRate, promAt("burn rate", burn[w], at), burnFloor)
			totalStats[w].observe(t, at, ws.Good+ws.Bad, promAt("events", total[w], at), countFloor)
			badStats[w].observe(t, at, ws.Bad, promAt("bad events", bad[w], at), countFloor)
		}
		if len(st.Windows) != len(windows) {
			t.Fatalf("tracker reports %d windows at %s, want %d", len(st.Windows), at.Format(time.RFC3339), len(windows))
		}
		totalStats[period].observe(t, at, st.Good+st.Bad, promAt("events", total[period], at), countFloor)
		badStats[period].observe(t, at, st.Bad, promAt("bad events", bad[period], at), countFloor)
		budgetStat.observe(t, at, st.ErrorBudgetRemaining, promAt("budget remaining", budget, at), budgetFloor)
	}
	for _, d := range stats {
		d.report(t)
	}

	logSamples(t, def, windows, steps, statusAt, burn, budget)
	promFiring := compareAlerts(t, prom, def, groups, steps, statusAt, burn)
	compareConnector(t, prom, def, conn, steps, statusAt, burn, budget, promFiring)
}

// logSamples prints both sides at a few moments of the scenario.
func logSamples(t *testing.T, def *slo.SLO, windows []time.Duration, steps []time.Time,
	statusAt func(time.Time) tracker.Status, burn map[time.Duration]map[int64]float64, budget map[int64]float64) {
	t.Helper()
	moments := []time.Duration{at(0, 12, 0), at(1, 9, 0), at(1, 14, 20), at(1, 15, 0), at(2, 12, 0), at(3, 3, 34), at(3, 11, 15)}
	moments = append(moments, steps[len(steps)-1].Sub(simStart))
	for _, m := range moments {
		when := simStart.Add(m)
		st := statusAt(when)
		var b strings.Builder
		fmt.Fprintf(&b, "%s +%-9v", def.Name, m)
		for _, w := range windows {
			v, _ := st.BurnRate(w)
			fmt.Fprintf(&b, " %s %.4g|%.4g", slo.FormatDuration(w), v, burn[w][when.Unix()])
		}
		fmt.Fprintf(&b, " budget %.5g|%.5g", st.ErrorBudgetRemaining, budget[when.Unix()])
		t.Log(b.String())
	}
	t.Log("(burn rates and budget as tracker|prometheus)")
}

// compareAlerts evaluates each generated alerting rule's expression at
// every step, applies the rule's for: as Prometheus's rule manager does
// at evaluations every step (firing once the expression has returned a
// result at every evaluation of the last for:), and requires the
// tracker's alert of that severity to fire at exactly the steps where
// one of the severity's rules fires (a table whose rows wait differently
// has a rule per row), but for the ticket steps the stateless rule cannot
// follow (the tracker's paged-burst hold, see below). It returns the
// tracker's firing steps by severity, which the connector must match
// exactly.
func compareAlerts(t *testing.T, prom *promServer, def *slo.SLO, groups rulefmt.RuleGroups, steps []time.Time,
	statusAt func(time.Time) tracker.Status, burn map[time.Duration]map[int64]float64) map[string]map[int64]bool {
	t.Helper()
	promFiring := map[string]map[int64]bool{}
	expected := map[string]map[int64]bool{}
	alertRules := map[string][]rulefmt.Rule{} // by severity
	for _, g := range groups.Groups {
		if g.Name != rules.GroupName(def) {
			continue
		}
		for _, r := range g.Rules {
			if r.Alert != "" {
				severity := r.Labels[conventions.LabelSeverity]
				alertRules[severity] = append(alertRules[severity], r)
			}
		}
	}
	var severities []string
	for _, s := range []string{conventions.SeverityPage, conventions.SeverityTicket} {
		if st := statusAt(steps[0]); hasAlert(&st, s) {
			severities = append(severities, s)
		}
	}
	if got := slices.Sorted(maps.Keys(alertRules)); !slices.Equal(got, slices.Sorted(slices.Values(severities))) {
		t.Fatalf("alerting rules of severities %v, tracker alerts on %v", got, severities)
	}
	if len(alertRules) == 0 {
		t.Logf("%s has no alerting policy: no alert to compare", def.ID())
		return expected
	}
	// Alerts must agree at exactly the same steps: both sides compare the
	// same burn rates (equal up to float rounding, see doc.go) with the
	// same strict thresholds and the same min-events guard. That holds
	// unless a burn rate lands on a threshold within rounding at a step
	// where that comparison decides the pair (the other window above its
	// threshold, the guard met); the closest such approach says how far
	// the replay stays from it.
	closest, closestAt, closestWhat := math.Inf(1), time.Time{}, "none"
	for _, at := range steps {
		st := statusAt(at)
		for _, aw := range def.AlertWindows() {
			long, short := windowStatus(&st, aw.Long), windowStatus(&st, aw.Short)
			if long.Good+long.Bad < float64(minEventsOf(def, aw.Severity)) {
				continue
			}
			for _, pair := range [][2]tracker.WindowStatus{{long, short}, {short, long}} {
				this, other := pair[0], pair[1]
				if other.BurnRate <= aw.BurnRate {
					continue
				}
				if d := math.Abs(this.BurnRate-aw.BurnRate) / aw.BurnRate; d < closest {
					closest, closestAt = d, at
					closestWhat = fmt.Sprintf("%s: %s burn rate %.12g vs threshold %g (%s at %.6g)",
						aw.Severity, slo.FormatDuration(this.Window), this.BurnRate, aw.BurnRate, slo.FormatDuration(other.Window), other.BurnRate)
				}
			}
		}
	}
	t.Logf("closest deciding approach of a burn rate to an alert threshold: %s, rel %.3g, at +%v", closestWhat, closest, closestAt.Sub(simStart))
	if closest < 1e-9 {
		t.Errorf("a burn rate lands on an alert threshold within rounding where it decides the alert (%s at +%v): change the traffic so that the step comparison is meaningful", closestWhat, closestAt.Sub(simStart))
	}

	first, last := steps[0], steps[len(steps)-1]
	for _, severity := range severities {
		firing := map[int64]bool{}
		promFiring[severity] = firing
		waits := false
		anyActive := map[int64]bool{} // a rule's expression returns a result
		var changes []time.Time       // where a rule's expression starts or stops returning a result
		for _, r := range alertRules[severity] {
			wait := time.Duration(r.For)
			waits = waits || wait > 0
			active := map[int64]bool{}
			for _, s := range prom.queryRange(r.Expr, first, last, step) {
				for k, v := range s.labels {
					if r.Labels[k] != "" && r.Labels[k] != v {
						t.Fatalf("alert %s returned label %s=%q", r.Alert, k, v)
					}
				}
				for ts := range s.values {
					active[ts], anyActive[ts] = true, true
				}
			}
			// The rule fires at a step once its expression has returned a
			// result at every step of the last for:, as the rule manager
			// does (an alert active since activeAt fires at the first
			// evaluation at or after activeAt+for).
			var since time.Time
			for i, at := range steps {
				if !active[at.Unix()] {
					since = time.Time{}
				} else if since.IsZero() {
					since = at
				}
				if !since.IsZero() && at.Sub(since) >= wait {
					firing[at.Unix()] = true
				}
				if i > 0 && active[at.Unix()] != active[steps[i-1].Unix()] {
					// Spot-check the range query with an instant query at
					// the change and the step before it, as a server's
					// rule evaluation at that time would run it.
					for _, when := range []time.Time{at, steps[i-1]} {
						if got := len(prom.query(r.Expr, when)) > 0; got != active[when.Unix()] {
							t.Errorf("alert %s at %s: instant query active=%v, range query active=%v", r.Alert, when.Format(time.RFC3339), got, active[when.Unix()])
						}
					}
					changes = append(changes, at)
				}
			}
		}
		if waits && len(changes) == 0 {
			t.Errorf("%s: no rule's expression ever changed: the wait is not exercised", severity)
		}
		var streamFiring, promFiring, inhibited, held, kept, mismatches, waited int
		var streamEdges, promEdges []string
		prevS, prevP := false, false
		// want is the tracker's firing as the stateless rule sees it.
		// The rule cannot remember that a ticket's condition comes from
		// a burst the page fired for (tracker's "one problem, one
		// incident"): where the tracker holds such a ticket back
		// (AlertStatus.PagedBurst) the rule fires, and where a ticket
		// that fired before the page keeps firing through it the rule's
		// `unless` stops it. Those steps are counted, and the connector
		// is held to the tracker's firing below.
		want := map[int64]bool{}
		expected[severity] = want
		for _, at := range steps {
			st := statusAt(at)
			a, _ := st.Alert(severity)
			page, _ := st.Alert(conventions.SeverityPage)
			want[at.Unix()] = a.Firing
			p := firing[at.Unix()]
			if a.Firing {
				streamFiring++
			}
			if a.Inhibited {
				inhibited++
			}
			stateless := a.Firing
			if severity == conventions.SeverityTicket {
				switch {
				case a.PagedBurst:
					held++
					stateless = true
					if waits {
						// The rule fires there once its wait is over,
						// which the tracker, holding the ticket, does not
						// track: compare where the rule's expression
						// returns a result instead.
						stateless = p
						if want := conditionHolds(def, severity, &st) && !conditionHolds(def, conventions.SeverityPage, &st); anyActive[at.Unix()] != want {
							mismatches++
							t.Errorf("ticket at %s (+%v), held as the paged burst's: rules' expression active=%v, tracker's ticket condition without the page's=%v",
								at.Format(time.RFC3339), at.Sub(simStart), anyActive[at.Unix()], want)
						}
					}
				case a.Firing && (page.Firing || conditionHolds(def, conventions.SeverityPage, &st)):
					// Also while the page waits: the rule's `unless`
					// on the page's condition stops the ticket there.
					kept++
					stateless = false
				}
			}
			if p {
				promFiring++
			}
			if a.Firing != prevS {
				streamEdges = append(streamEdges, edge(at, a.Firing))
			}
			if p != prevP {
				promEdges = append(promEdges, edge(at, p))
			}
			if waits && !p && !a.Inhibited && !a.PagedBurst && conditionHolds(def, severity, &st) {
				waited++ // the condition holds, the rules' wait is not over
			}
			prevS, prevP = a.Firing, p
			if stateless != p {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("%s alert at %s (+%v): tracker firing=%v (paged burst %v), prometheus firing=%v; burn rates tracker|prometheus: %s",
						severity, at.Format(time.RFC3339), at.Sub(simStart), a.Firing, a.PagedBurst, p, burnDump(st, burn, at))
				}
			}
		}
		if mismatches > 5 {
			t.Errorf("%s alert: %d steps disagree in all", severity, mismatches)
		}
		t.Logf("%s alert: firing %d steps on the tracker, %d on prometheus", severity, streamFiring, promFiring)
		if waits {
			t.Logf("%s alert: condition held while the rules waited on %d steps", severity, waited)
			if waited == 0 {
				t.Errorf("%s alert: the condition never held without firing: the wait is not exercised", severity)
			}
		}
		if severity == conventions.SeverityTicket {
			// The per-step comparison covers these steps too: the rule's
			// `unless` must hold the ticket back exactly where the
			// tracker's inhibition does.
			t.Logf("ticket condition held but inhibited by the page on %d steps, held back as the paged burst's on %d, kept firing through the page on %d", inhibited, held, kept)
			if inhibited == 0 {
				t.Errorf("the ticket condition never held while the page fired: inhibition is not exercised")
			}
			if held == 0 {
				t.Errorf("the ticket condition never held after the page resolved: the paged-burst hold is not exercised")
			}
		}
		t.Logf("%s alert transitions, tracker:    %s", severity, strings.Join(streamEdges, ", "))
		t.Logf("%s alert transitions, prometheus: %s", severity, strings.Join(promEdges, ", "))
		checkScenario(t, def, severity, steps, statusAt)
	}
	return expected
}

func edge(at time.Time, firing bool) string {
	state := "resolved"
	if firing {
		state = "firing"
	}
	return fmt.Sprintf("%s +%v", state, at.Sub(simStart))
}

func burnDump(st tracker.Status, burn map[time.Duration]map[int64]float64, at time.Time) string {
	var b strings.Builder
	for _, w := range st.Windows {
		fmt.Fprintf(&b, "%s %.6g|%.6g ", slo.FormatDuration(w.Window), w.BurnRate, burn[w.Window][at.Unix()])
	}
	return strings.TrimSpace(b.String())
}

// checkScenario keeps the comparison from passing vacuously: the traffic
// must page during the error burst, raise a ticket during the elevated
// errors, hold the page back during the lone failures, and leave every
// alert resolved at the end. Agreement on alerts that never fire would
// prove nothing.
func checkScenario(t *testing.T, def *slo.SLO, severity string, steps []time.Time, statusAt func(time.Time) tracker.Status) {
	t.Helper()
	firingIn := func(from, to time.Duration) bool {
		for _, at := range steps {
			if off := at.Sub(simStart); off > from && off <= to {
				if st := statusAt(at); alertFiring(&st, severity) {
					return true
				}
			}
		}
		return false
	}
	finalStatus := statusAt(steps[len(steps)-1])
	final, _ := finalStatus.Alert(severity)
	if final.Firing {
		t.Errorf("%s alert still firing at the end of the replay", severity)
	}
	switch severity {
	case conventions.SeverityPage:
		if !firingIn(at(1, 14, 0), at(1, 14, 35)) {
			t.Errorf("page did not fire during the error burst")
		}
		if firingIn(at(1, 15, 30), at(4, 0, 0)) {
			t.Errorf("page fired after the error burst was over")
		}
		guard := statusAt(simStart.Add(at(3, 3, 34)))
		b5m, _ := guard.BurnRate(5 * time.Minute)
		b1h, _ := guard.BurnRate(time.Hour)
		if b5m <= 14.4 || b1h <= 14.4 {
			t.Errorf("lone failures: burn rates 5m %.4g and 1h %.4g, want both above 14.4 to exercise the min-events guard", b5m, b1h)
		}
	case conventions.SeverityTicket:
		// One problem, one incident: the error burst paged, so its
		// ticket condition, which outlives the page, opens no ticket.
		if firingIn(at(1, 14, 0), at(1, 23, 59)) {
			t.Errorf("ticket fired for the error burst that paged")
		}
		if !firingIn(at(2, 6, 0), at(2, 23, 59)) {
			t.Errorf("ticket did not fire during the elevated errors")
		}
	}
}

// conditionHolds reports whether a row of the severity holds in st: the
// burn rate above its threshold over both windows, the long one holding
// MinEvents.
func conditionHolds(def *slo.SLO, severity string, st *tracker.Status) bool {
	for _, aw := range def.AlertWindows() {
		long, short := windowStatus(st, aw.Long), windowStatus(st, aw.Short)
		if aw.Severity == severity && long.BurnRate > aw.BurnRate && short.BurnRate > aw.BurnRate && long.Good+long.Bad >= float64(minEventsOf(def, severity)) {
			return true
		}
	}
	return false
}

func hasAlert(st *tracker.Status, severity string) bool {
	_, ok := st.Alert(severity)
	return ok
}

func alertFiring(st *tracker.Status, severity string) bool {
	a, _ := st.Alert(severity)
	return a.Firing
}

func windowStatus(st *tracker.Status, w time.Duration) tracker.WindowStatus {
	for _, ws := range st.Windows {
		if ws.Window == w {
			return ws
		}
	}
	return tracker.WindowStatus{Window: w}
}

func minEventsOf(def *slo.SLO, severity string) int {
	p := def.Alerting.Page
	if severity == conventions.SeverityTicket {
		p = def.Alerting.Ticket
	}
	if p != nil && p.MinEvents > 0 {
		return p.MinEvents
	}
	return slo.DefaultMinEvents
}
