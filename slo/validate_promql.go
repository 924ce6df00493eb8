package slo

import (
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// windowSentinel stands for the window while a query is parsed: the
// template placeholder {{.window}} is not PromQL, so it is rendered as a
// duration no one writes by hand, and the parsed ranges equal to it are then
// set to the wanted window.
const windowSentinel = 7777777 * time.Second

// WindowPlaceholder is the template placeholder of the window in PromQL
// SLI queries, as Sloth writes it.
const WindowPlaceholder = "{{.window}}"

// promqlParser parses with the defaults of a stock Prometheus, so that a
// query that parses here also loads there.
var promqlParser = parser.NewParser(parser.Options{})

// PromQLForWindow parses a PromQL SLI query and sets its window:
//   - where the query uses {{.window}} (Sloth), that range becomes window;
//   - else, if it has range selectors (rate(x[5m])), every range becomes
//     window: the query was written for one window and is reused for all;
//   - else its selectors are counters (OpenSLO ratioMetric with counter:
//     true) and each becomes increase(selector[window]); a query that is
//     one bare selector is summed as well.
//
// The result is a parsed expression that rule generation embeds or
// rewrites further.
func PromQLForWindow(query string, window time.Duration) (parser.Expr, error) {
	rendered, templated, err := renderWindow(query)
	if err != nil {
		return nil, err
	}
	expr, err := promqlParser.ParseExpr(rendered)
	if err != nil {
		return nil, err
	}
	hasRange := false
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			hasRange = true
			if !templated || n.Range == windowSentinel {
				n.Range, n.RangeExpr = window, nil
			}
		case *parser.SubqueryExpr:
			hasRange = true
			if n.Range == windowSentinel {
				n.Range, n.RangeExpr = window, nil
			}
		}
		return nil
	})
	if templated || hasRange {
		return expr, nil
	}
	if vs, ok := expr.(*parser.VectorSelector); ok {
		// A bare counter has a series per label set, and the error and
		// total queries differ in labels (code="500"): summed, they divide.
		return &parser.AggregateExpr{Op: parser.SUM, Expr: wrapCounters(vs, window)}, nil
	}
	return wrapCounters(expr, window), nil
}

// renderWindow renders a query's {{.window}} as windowSentinel, and says
// whether the query had any template action.
func renderWindow(query string) (string, bool, error) {
	tmpl, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, map[string]string{"window": FormatDuration(windowSentinel)}); err != nil {
		return "", false, err
	}
	return b.String(), b.String() != query, nil
}

// fixedRange is a range of a PromQL SLI query that does not follow the
// window: its text as written ("[5m]"), and which occurrence of that text
// in the query it is (from 0), for its position.
type fixedRange struct {
	text string
	nth  int
}

// fixedRanges lists the ranges of a query that cover the same time in
// every window: in a query without {{.window}}, all of them (Vigil sets
// them to the window, see PromQLForWindow; Sloth keeps them); in one with
// it, those outside any subquery. Inside a subquery a range is the
// resolution the subquery samples at (rate(x[5m]) under
// [{{.window}}:1m]), not the window's length.
func fixedRanges(query string) (ranges []fixedRange, templated bool) {
	rendered, templated, err := renderWindow(query)
	if err != nil {
		return nil, false
	}
	expr, err := promqlParser.ParseExpr(rendered)
	if err != nil {
		return nil, false
	}
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		ms, ok := n.(*parser.MatrixSelector)
		if !ok || ms.Range == windowSentinel {
			return nil
		}
		if templated {
			for _, up := range path {
				if _, sub := up.(*parser.SubqueryExpr); sub {
					return nil
				}
			}
		}
		// The range ends the selector's text; no template action
		// renders into it, so the occurrences of its text before it are
		// the same in the query as rendered.
		pr := ms.PositionRange()
		written := rendered[pr.Start:pr.End]
		open := strings.LastIndexByte(written, '[')
		end := strings.LastIndexByte(written, ']')
		if open < 0 || end < open {
			return nil
		}
		text := written[open : end+1]
		ranges = append(ranges, fixedRange{text: text, nth: strings.Count(rendered[:int(pr.Start)+open], text)})
		return nil
	})
	return ranges, templated
}

// wrapCounters turns every instant selector of expr into
// increase(selector[window]).
func wrapCounters(expr parser.Expr, window time.Duration) parser.Expr {
	increase := parser.Functions["increase"]
	wrap := func(e parser.Expr) parser.Expr {
		if vs, ok := e.(*parser.VectorSelector); ok {
			return &parser.Call{Func: increase, Args: parser.Expressions{
				&parser.MatrixSelector{VectorSelector: vs, Range: window},
			}}
		}
		return wrapCounters(e, window)
	}
	switch n := expr.(type) {
	case *parser.VectorSelector:
		return wrap(n)
	case *parser.AggregateExpr:
		n.Expr = wrap(n.Expr)
	case *parser.BinaryExpr:
		n.LHS, n.RHS = wrap(n.LHS), wrap(n.RHS)
	case *parser.ParenExpr:
		n.Expr = wrap(n.Expr)
	case *parser.UnaryExpr:
		n.Expr = wrap(n.Expr)
	case *parser.Call:
		for i, a := range n.Args {
			n.Args[i] = wrap(a)
		}
	}
	return expr
}

// promQL checks a PromQL SLI query where it was written.
func (p *problems) promQL(n *yaml.Node, what string) string {
	q := p.Str(n, what)
	if n == nil {
		return ""
	}
	if q == "" {
		p.Add(n, "%s must not be empty", what)
		return ""
	}
	expr, err := PromQLForWindow(q, time.Hour)
	if err != nil {
		p.Add(n, "bad PromQL in %s: %s", what, strings.ReplaceAll(err.Error(), "\n", "; "))
		return q
	}
	if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
		p.Add(n, "%s must be an instant vector, not a %s", what, t)
	}
	if ranges, templated := fixedRanges(q); templated && len(ranges) > 0 {
		// Sloth renders {{.window}} and leaves the rest as written, and
		// so do Vigil's rules: a fixed range beside the window is likely
		// a range meant to follow it. One note per query, at the first.
		r := ranges[0]
		p.noteAt(p.PosOfText(n, r.text, r.nth),
			"%s uses %s but also the fixed range %s, outside any subquery: that part covers %s whatever the window, in Vigil's rules as in Sloth's; write [%s] if it should follow the window",
			what, WindowPlaceholder, r.text, strings.Trim(r.text, "[]"), WindowPlaceholder)
	}
	return q
}

// templateWindow renders an expression built around windowSentinel with
// the placeholder instead, so that a generated query reads as a user would
// write it.
func templateWindow(e parser.Expr) string {
	return strings.ReplaceAll(e.String(), FormatDuration(windowSentinel), WindowPlaceholder)
}
