package rules

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The helpers below build PromQL trees node by node; the printer of
// Prometheus's parser renders them, quoting and escaping label values.

// selector selects metric name with equality matchers, given as
// name/value pairs.
func selector(name string, pairs ...string) *parser.VectorSelector {
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name)}
	for i := 0; i+1 < len(pairs); i += 2 {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, pairs[i], pairs[i+1]))
	}
	return &parser.VectorSelector{Name: name, LabelMatchers: ms}
}

func offset(vs *parser.VectorSelector, d time.Duration) *parser.VectorSelector {
	c := *vs
	c.OriginalOffset = d
	return &c
}

func call(fn string, args ...parser.Expr) *parser.Call {
	return &parser.Call{Func: parser.Functions[fn], Args: args}
}

func rangeOf(vs *parser.VectorSelector, d time.Duration) *parser.MatrixSelector {
	return &parser.MatrixSelector{VectorSelector: vs, Range: d}
}

func num(v float64) *parser.NumberLiteral { return &parser.NumberLiteral{Val: v} }

func paren(e parser.Expr) parser.Expr {
	switch e.(type) {
	case *parser.BinaryExpr:
		return &parser.ParenExpr{Expr: e}
	}
	return e
}

func sumBy(e parser.Expr, by ...string) *parser.AggregateExpr {
	return &parser.AggregateExpr{Op: parser.SUM, Expr: e, Grouping: by}
}

func aggWithout(op parser.ItemType, e parser.Expr, without ...string) *parser.AggregateExpr {
	return &parser.AggregateExpr{Op: op, Expr: e, Grouping: without, Without: true}
}

// arith joins two operands with an arithmetic or comparison operator,
// parenthesizing binary operands so the printed text keeps the tree's
// meaning.
func arith(op parser.ItemType, lhs, rhs parser.Expr) *parser.BinaryExpr {
	left := paren(lhs)
	if b, ok := lhs.(*parser.BinaryExpr); ok && b.Op == op && (op == parser.ADD || op == parser.MUL) {
		left = lhs // a + b + c reads as (a + b) + c: left-associative
	}
	b := &parser.BinaryExpr{Op: op, LHS: left, RHS: paren(rhs)}
	if lhs.Type() == parser.ValueTypeVector && rhs.Type() == parser.ValueTypeVector {
		b.VectorMatching = &parser.VectorMatching{Card: parser.CardOneToOne}
	}
	return b
}

// filter compares a vector with a number, keeping the matching elements.
func filter(op parser.ItemType, lhs parser.Expr, v float64) *parser.BinaryExpr {
	return &parser.BinaryExpr{Op: op, LHS: paren(lhs), RHS: num(v)}
}

// setOp joins two vectors with and/or, ignoring the given labels. Chains
// of the same operator are left unparenthesized: and/or associate left.
func setOp(op parser.ItemType, lhs, rhs parser.Expr, ignoring ...string) *parser.BinaryExpr {
	keep := func(e parser.Expr) parser.Expr {
		if b, ok := e.(*parser.BinaryExpr); ok && b.Op == op {
			return e
		}
		return paren(e)
	}
	return &parser.BinaryExpr{
		Op: op, LHS: keep(lhs), RHS: paren(rhs),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany, MatchingLabels: ignoring},
	}
}
