package slo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Evaluation says where an SLO is evaluated: in the stream by the
// collector as well as by the Prometheus rules, or by the rules only, and
// why.
type Evaluation struct {
	InStream bool
	Reason   string
	// Metrics is the metric SLI a PromQL SLI amounts to when it runs in
	// the stream: its selectors name metrics and labels as Prometheus
	// sees them after the OpenTelemetry translation (PrometheusNames).
	Metrics *MetricSLI
	// GroupBy are the labels the queries sum by: one series per value
	// combination, as the rules have.
	GroupBy []string
}

// Evaluation tells whether the collector evaluates the SLO in the stream.
// Span and metric SLIs always are. A PromQL SLI is when it is exactly a
// count of events the collector sees: its error (or good) and total
// queries are each a sum of rate() or increase() of one counter with
// label matchers, or, for latency, of a histogram's _count and its
// _bucket at one le; the two select the same metric family and are summed
// by the same labels (which become the SLO's groups); the SLO counts
// occurrences. Anything else (gauges, subqueries, functions of samples,
// raw ratios, time slices, offsets, a fixed range such as [5m] beside
// {{.window}}) stays with the rules, which evaluate the query as written.
func (s *SLO) Evaluation() Evaluation {
	switch {
	case s.SLI.Spans != nil:
		return Evaluation{InStream: true, Reason: "span SLI"}
	case s.SLI.Metrics != nil:
		return Evaluation{InStream: true, Reason: "metric SLI"}
	case s.SLI.PromQL == nil:
		return Evaluation{Reason: "no SLI"}
	}
	q := s.SLI.PromQL
	switch {
	case s.Budgeting.Sliced():
		return Evaluation{Reason: fmt.Sprintf("budgeting method %s counts time slices, which only the rules evaluate", s.Budgeting.Method)}
	case q.PeriodDenominator:
		return Evaluation{Reason: "errors are divided by the period's traffic (denominator_corrected_rules), which only the rules evaluate"}
	case q.TotalQuery == "1":
		return Evaluation{Reason: "the SLI is an error ratio already, not a count of events"}
	}
	part, partIsBad := q.ErrorQuery, true
	if q.GoodQuery != "" {
		part, partIsBad = q.GoodQuery, false
	}
	total, err := streamTerms(q.TotalQuery)
	if err != nil {
		return Evaluation{Reason: "total query: " + err.Error()}
	}
	other, err := streamTerms(part)
	if err != nil {
		return Evaluation{Reason: map[bool]string{true: "error", false: "good"}[partIsBad] + " query: " + err.Error()}
	}
	if !sameStrings(total.grouping, other.grouping) {
		return Evaluation{Reason: fmt.Sprintf("the queries sum by different labels (%s and %s)", strings.Join(other.grouping, ", "), strings.Join(total.grouping, ", "))}
	}
	sli, why := metricSLIOf(total, other, partIsBad)
	if sli == nil {
		return Evaluation{Reason: why}
	}
	return Evaluation{InStream: true, Metrics: sli, Reason: why, GroupBy: total.grouping}
}

// streamQuery is a query that counts events: sums of rates of counters,
// added or subtracted.
type streamQuery struct {
	terms    []streamTerm
	grouping []string
}

type streamTerm struct {
	sign int // +1 or -1
	sel  *parser.VectorSelector
}

// streamTerms parses a query and reads it as signed terms.
func streamTerms(query string) (*streamQuery, error) {
	expr, err := PromQLForWindow(query, windowSentinel)
	if err != nil {
		return nil, err
	}
	q, err := termsOf(expr)
	if err != nil {
		// Messages quote the query with the window as written.
		return nil, errors.New(strings.ReplaceAll(err.Error(), FormatDuration(windowSentinel), WindowPlaceholder))
	}
	return q, nil
}

func termsOf(expr parser.Expr) (*streamQuery, error) {
	out := &streamQuery{}
	first := true
	var walk func(e parser.Expr, sign int) error
	walk = func(e parser.Expr, sign int) error {
		switch n := e.(type) {
		case *parser.ParenExpr:
			return walk(n.Expr, sign)
		case *parser.BinaryExpr:
			if n.Op != parser.ADD && n.Op != parser.SUB {
				return fmt.Errorf("%s is not a sum or difference of counter rates", n.Op)
			}
			if n.VectorMatching != nil && (len(n.VectorMatching.MatchingLabels) > 0 || n.VectorMatching.Card != parser.CardOneToOne) {
				return fmt.Errorf("vector matching (on, ignoring, group_left) is not a plain sum")
			}
			if err := walk(n.LHS, sign); err != nil {
				return err
			}
			if n.Op == parser.SUB {
				return walk(n.RHS, -sign)
			}
			return walk(n.RHS, sign)
		case *parser.AggregateExpr:
			if n.Op != parser.SUM || n.Without {
				return fmt.Errorf("%s is not sum or sum by", n.Op)
			}
			if first {
				out.grouping, first = n.Grouping, false
			} else if !sameStrings(out.grouping, n.Grouping) {
				return fmt.Errorf("its sums group by different labels")
			}
			sel, err := rateOf(n.Expr)
			if err != nil {
				return err
			}
			out.terms = append(out.terms, streamTerm{sign: sign, sel: sel})
			return nil
		default:
			return fmt.Errorf("%s is not a sum of counter rates, like sum(rate(x_total[{{.window}}]))", e.String())
		}
	}
	if err := walk(expr, 1); err != nil {
		return nil, err
	}
	return out, nil
}

// rateOf reads rate(sel[w]) or increase(sel[w]).
func rateOf(e parser.Expr) (*parser.VectorSelector, error) {
	if p, ok := e.(*parser.ParenExpr); ok {
		e = p.Expr
	}
	c, ok := e.(*parser.Call)
	if !ok || (c.Func.Name != "rate" && c.Func.Name != "increase") || len(c.Args) != 1 {
		return nil, fmt.Errorf("%s is not rate() or increase() of a counter", e.String())
	}
	ms, ok := c.Args[0].(*parser.MatrixSelector)
	if !ok {
		return nil, fmt.Errorf("%s is not rate() or increase() of a selector", e.String())
	}
	if ms.Range != windowSentinel {
		// A fixed range beside {{.window}}: the rules count it over that
		// range in every window, the stream could only count the window.
		return nil, fmt.Errorf("%s has the fixed range %s where the rest of the query follows the window", e.String(), FormatDuration(ms.Range))
	}
	vs := ms.VectorSelector.(*parser.VectorSelector)
	if vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return nil, fmt.Errorf("%s is shifted in time (offset or @)", vs.String())
	}
	if vs.Name == "" {
		return nil, fmt.Errorf("%s names no metric", vs.String())
	}
	return vs, nil
}

// metricSLIOf maps total and part queries to a metric SLI: one counter
// each (a ratio), or a histogram's count and bucket (latency).
func metricSLIOf(total, part *streamQuery, partIsBad bool) (*MetricSLI, string) {
	if len(total.terms) != 1 || total.terms[0].sign != 1 {
		return nil, "total query is not one counter's rate"
	}
	tot := total.terms[0].sel
	switch {
	case len(part.terms) == 1 && part.terms[0].sign == 1 && !strings.HasSuffix(part.terms[0].sel.Name, "_bucket"):
		// A ratio of counters.
		if strings.HasSuffix(tot.Name, "_bucket") {
			return nil, "total query reads a histogram bucket"
		}
		t, p := promSelector(tot, ""), promSelector(part.terms[0].sel, "")
		sli := &MetricSLI{Total: t, PrometheusNames: true}
		if partIsBad {
			sli.Bad = p
		} else {
			sli.Good = p
		}
		return sli, "ratio of counters " + part.terms[0].sel.Name + " and " + tot.Name
	}
	// Latency: total = base_count; good = base_bucket{le}; or
	// bad = base_count - base_bucket{le}.
	base, ok := strings.CutSuffix(tot.Name, "_count")
	if !ok {
		return nil, "the queries are neither a ratio of two counters nor a histogram's _count and _bucket"
	}
	var bucket *parser.VectorSelector
	switch {
	case !partIsBad && len(part.terms) == 1 && part.terms[0].sign == 1:
		bucket = part.terms[0].sel
	case partIsBad && len(part.terms) == 2 && part.terms[0].sign == 1 && part.terms[1].sign == -1 &&
		part.terms[0].sel.Name == tot.Name && sameMatchers(part.terms[0].sel, tot, ""):
		bucket = part.terms[1].sel
	default:
		return nil, "the queries are neither a ratio of two counters nor a histogram's _count and _bucket"
	}
	if bucket.Name != base+"_bucket" {
		return nil, fmt.Sprintf("%s is not the bucket of %s", bucket.Name, tot.Name)
	}
	le := ""
	for _, m := range bucket.LabelMatchers {
		if m.Name == labels.BucketLabel && m.Type == labels.MatchEqual {
			le = m.Value
		}
	}
	seconds, err := strconv.ParseFloat(le, 64)
	if le == "" || err != nil || seconds <= 0 {
		return nil, "the bucket has no le=\"<seconds>\" matcher"
	}
	if !sameMatchers(bucket, tot, labels.BucketLabel) {
		return nil, "the bucket and the count select different series"
	}
	if !strings.HasSuffix(base, "_seconds") {
		return nil, fmt.Sprintf("%s is not in seconds, so le cannot be read as a latency", base)
	}
	h := &HistogramSLI{MetricSelector: *promSelector(tot, ""), LatencyAbove: time.Duration(seconds * float64(time.Second))}
	h.Metric = base
	return &MetricSLI{Histogram: h, PrometheusNames: true}, fmt.Sprintf("latency histogram %s at le=%s", base, le)
}

// promSelector turns a selector into a metric selector in Prometheus
// names, dropping the matcher named drop.
func promSelector(vs *parser.VectorSelector, drop string) *MetricSelector {
	out := &MetricSelector{Metric: vs.Name}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName || m.Name == drop || m.Name == labels.BucketLabel {
			continue
		}
		out.Attributes = append(out.Attributes, AttributeMatcher{Key: m.Name, Op: MatchOp(m.Type.String()), Value: m.Value})
	}
	return out
}

// sameMatchers reports whether a and b have the same matchers, but for
// the metric name and except.
func sameMatchers(a, b *parser.VectorSelector, except string) bool {
	key := func(vs *parser.VectorSelector) map[string]bool {
		out := map[string]bool{}
		for _, m := range vs.LabelMatchers {
			if m.Name != labels.MetricName && m.Name != except {
				out[m.String()] = true
			}
		}
		return out
	}
	ka, kb := key(a), key(b)
	if len(ka) != len(kb) {
		return false
	}
	for k := range ka {
		if !kb[k] {
			return false
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}
