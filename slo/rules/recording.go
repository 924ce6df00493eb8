package rules

import (
	"math/big"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// eventRecordings records event counts per outcome for every window,
// chaining long windows from shorter ones (see the package documentation),
// then error ratios and burn rates.
func (g *sloRules) eventRecordings() {
	windows := append(append([]time.Duration(nil), g.windows...), g.slo.Window.Period())
	by := append([]string{conventions.LabelSLO, conventions.LabelServiceName, conventions.LabelOutcome}, g.groupLabels...)
	raw := func(w time.Duration) parser.Expr {
		src := selector(conventions.MetricSLOEventsTotal, g.ids()...)
		return sumBy(call("increase", rangeOf(src, w)), by...)
	}
	var recorded []time.Duration
	for _, w := range windows {
		if len(recorded) > 0 && recorded[len(recorded)-1] == w {
			continue
		}
		expr := raw(w)
		if from := chainSource(recorded, w); from > 0 {
			expr = g.tiles(from, int(w/from))
		}
		g.record(conventions.RuleSLOEventsIncrease, expr, w)
		recorded = append(recorded, w)
	}
	for _, w := range recorded {
		g.record(conventions.RuleSLOErrorRatio, g.errorRatio(w), w)
	}
	for _, w := range g.windows {
		g.record(conventions.RuleSLOBurnRate, arith(parser.DIV, g.series(conventions.RuleSLOErrorRatio, w), num(g.budget)), w)
	}
}

// chainSource is the longest recorded window that tiles w in at most
// maxTiles copies, or 0 when none does.
func chainSource(recorded []time.Duration, w time.Duration) time.Duration {
	for i := len(recorded) - 1; i >= 0; i-- {
		if s := recorded[i]; w%s == 0 && w/s <= maxTiles {
			return s
		}
	}
	return 0
}

// tiles sums k adjacent copies of the recorded window s, the older ones
// counting zero before the recorded history begins.
func (g *sloRules) tiles(s time.Duration, k int) parser.Expr {
	cur := g.series(conventions.RuleSLOEventsIncrease, s)
	var sum parser.Expr = cur
	for i := 1; i < k; i++ {
		older := setOp(parser.LOR, offset(cur, time.Duration(i)*s), arith(parser.MUL, cur, num(0)))
		sum = arith(parser.ADD, sum, older)
	}
	return sum
}

// errorRatio is bad over total events in window w. A window without bad
// events may have no bad series at all, hence the zero fallback; the
// total is clamped to 1 so that an empty window has ratio 0, not NaN.
func (g *sloRules) errorRatio(w time.Duration) parser.Expr {
	inc := g.series(conventions.RuleSLOEventsIncrease, w)
	bad := g.series(conventions.RuleSLOEventsIncrease, w, conventions.LabelOutcome, conventions.OutcomeBad)
	total := aggWithout(parser.SUM, inc, conventions.LabelOutcome)
	badSum := setOp(parser.LOR, aggWithout(parser.SUM, bad, conventions.LabelOutcome), arith(parser.MUL, total, num(0)))
	return arith(parser.DIV, badSum, call("clamp_min", total, num(1)))
}

// series selects a recorded series of this SLO for window w.
func (g *sloRules) series(name string, w time.Duration, pairs ...string) *parser.VectorSelector {
	return selector(name, append(append(g.ids(), conventions.LabelWindow, slo.FormatDuration(w)), pairs...)...)
}

// promQLRecordings records the error ratio of a PromQL SLI for every
// window from the user's queries, and the burn rates.
func (g *sloRules) promQLRecordings() error {
	windows := append(append([]time.Duration(nil), g.windows...), g.slo.Window.Period())
	for _, w := range windows {
		ratio, err := g.promQLRatio(w)
		if err != nil {
			return err
		}
		g.record(conventions.RuleSLOErrorRatio, ratio, w)
	}
	for _, w := range g.windows {
		g.record(conventions.RuleSLOBurnRate, arith(parser.DIV, g.series(conventions.RuleSLOErrorRatio, w), num(g.budget)), w)
	}
	return nil
}

// promQLRatio is the error ratio of a PromQL SLI over window w, as its
// budgeting method counts it:
//   - occurrences: bad over total events in w (1 - good/total), or the
//     query's own ratio (TotalQuery "1"); with PeriodDenominator the bad
//     events of w are weighed by w's share of the period's traffic;
//   - Timeslices: the share of w's slices whose good ratio is below the
//     slice target, by a subquery stepping one slice;
//   - RatioTimeslices: the mean error ratio of w's slices.
func (g *sloRules) promQLRatio(w time.Duration) (parser.Expr, error) {
	b := g.slo.Budgeting
	if !b.Sliced() || g.slo.SLI.PromQL.TotalQuery == "1" {
		ratio, err := g.occurrenceRatio(w)
		if err != nil || !g.slo.SLI.PromQL.PeriodDenominator {
			return ratio, err
		}
		total, err := slo.PromQLForWindow(g.slo.SLI.PromQL.TotalQuery, w)
		if err != nil {
			return nil, err
		}
		period, err := slo.PromQLForWindow(g.slo.SLI.PromQL.TotalQuery, g.slo.Window.Period())
		if err != nil {
			return nil, err
		}
		return arith(parser.MUL, paren(ratio), arith(parser.DIV, total, period)), nil
	}
	slice, err := g.occurrenceRatio(b.TimeSlice)
	if err != nil {
		return nil, err
	}
	if b.Method == slo.Timeslices {
		// A slice is bad when its good ratio is below the target, i.e.
		// its error ratio above 1 - target.
		slice = &parser.BinaryExpr{Op: parser.GTR, LHS: paren(slice), RHS: num(complement(b.TimeSliceTarget)), ReturnBool: true}
	}
	return call("avg_over_time", &parser.SubqueryExpr{Expr: &parser.ParenExpr{Expr: slice}, Range: w, Step: b.TimeSlice}), nil
}

// occurrenceRatio is bad over total events of the PromQL SLI in w.
func (g *sloRules) occurrenceRatio(w time.Duration) (parser.Expr, error) {
	q := g.slo.SLI.PromQL
	total, err := slo.PromQLForWindow(q.TotalQuery, w)
	if err != nil {
		return nil, err
	}
	if q.GoodQuery != "" {
		good, err := slo.PromQLForWindow(q.GoodQuery, w)
		if err != nil {
			return nil, err
		}
		return arith(parser.SUB, num(1), arith(parser.DIV, good, total)), nil
	}
	bad, err := slo.PromQLForWindow(q.ErrorQuery, w)
	if err != nil {
		return nil, err
	}
	if n, ok := total.(*parser.NumberLiteral); ok && n.Val == 1 {
		return bad, nil
	}
	return arith(parser.DIV, bad, total), nil
}

// common records the objective and the budget remaining over the period.
func (g *sloRules) common() {
	g.record(conventions.RuleSLOObjective, call("vector", num(g.objective)), 0)
	period := aggWithout(parser.SUM, g.series(conventions.RuleSLOErrorRatio, g.slo.Window.Period()), conventions.LabelWindow)
	g.record(conventions.RuleSLOErrorBudgetRemaining, arith(parser.SUB, num(1), arith(parser.DIV, period, num(g.budget))), 0)
}

// complement is 1 - r computed on r as written (0.95 gives 0.05, not
// 0.050000000000000044), so that a slice exactly at its target is good.
func complement(r float64) float64 {
	x, _ := new(big.Rat).SetString(strconv.FormatFloat(r, 'f', -1, 64))
	c, _ := new(big.Rat).Sub(big.NewRat(1, 1), x).Float64()
	return c
}
