package sloconnector

import (
	"fmt"
	"regexp"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/slo"
)

// anyService is SpanMatch.Service's wildcard.
const anyService = "*"

// ruleset is the compiled form of a set of SLOs: what the hot path reads.
// It is immutable once built; a reload swaps in a new one.
type ruleset struct {
	slos []slo.SLO
	// byService holds the span rules of each service; anyService those
	// that select spans of every service.
	byService  map[string][]*spanRule
	anyService []*spanRule
	// metrics maps a metric name to the SLO roles that read it;
	// promMetrics maps Prometheus names (PromQL SLIs, see promql_sli.go).
	metrics     map[string][]metricRef
	promMetrics map[string][]metricRef
	// metricRules are all metric rules, for accumulator bookkeeping.
	metricRules []*metricRule
	// all lists the span rules by idx; spanRules is their number, slots
	// the number of batch sums they have together.
	all       []*spanRule
	spanRules int
	slots     int
	// maxGroupBy is the most group_by keys of any span rule.
	maxGroupBy int
	// spanRuleByID finds the span rule of an SLO ID.
	spanRuleByID map[string]*spanRule
	// matchers are the distinct attribute matchers of the span rules.
	matchers     []matcher
	matcherIndex map[matcherKey]int
}

type matcherKey struct {
	key   string
	op    slo.MatchOp
	value string
}

// matcherID returns the index of m in rs.matchers, adding it if new.
func (rs *ruleset) matcherID(m matcher) int {
	k := matcherKey{m.key, m.op, m.value}
	if i, ok := rs.matcherIndex[k]; ok {
		return i
	}
	rs.matchers = append(rs.matchers, m)
	rs.matcherIndex[k] = len(rs.matchers) - 1
	return len(rs.matchers) - 1
}

// traceIDs returns alert.trace_ids for a series: trace IDs of its latest
// bad spans, "" for metric SLIs and series without bad spans seen since
// the specs were (re)loaded.
func (rs *ruleset) traceIDs(sloID string, group []string) string {
	if r := rs.spanRuleByID[sloID]; r != nil {
		return r.badTraces.ids(group)
	}
	return ""
}

// spanRule is one span SLI, compiled.
type spanRule struct {
	idx int // position in ruleset.all
	// slotBase and slots place the rule's batch sums in spanBatch.sums.
	slotBase, slots int
	id              string
	def             *slo.SLO
	kind            ptrace.SpanKind // Unspecified: any kind
	names           []string
	// attrs index ruleset.matchers: SLOs that share a matcher share its
	// result for a span, so a regexp common to many SLOs runs once.
	attrs   []int
	cond    *ottl.Condition[*ottlspan.TransformContext]
	groupBy []string

	// badTraces holds trace IDs of recent bad spans, for alert events.
	badTraces *badTraces

	statusError bool
	httpMin     int64
	grpcCodes   uint32 // bit i set: code i is bad
	latency     int64  // nanoseconds; 0: no latency condition
}

// matcher is an attribute matcher with its regular expression compiled,
// anchored as Prometheus anchors label matchers.
type matcher struct {
	key   string
	op    slo.MatchOp
	value string
	re    *regexp.Regexp
}

var spanKinds = map[string]ptrace.SpanKind{
	"server":   ptrace.SpanKindServer,
	"client":   ptrace.SpanKindClient,
	"producer": ptrace.SpanKindProducer,
	"consumer": ptrace.SpanKindConsumer,
	"internal": ptrace.SpanKindInternal,
}

// compile builds the ruleset of the SLOs. OTTL conditions are parsed
// here, so that a bad one stops start-up (or a reload) with its position;
// every problem is reported at once.
func compile(slos []slo.SLO, telemetry component.TelemetrySettings) (*ruleset, error) {
	rs := &ruleset{
		slos:         streamed(slos),
		byService:    map[string][]*spanRule{},
		metrics:      map[string][]metricRef{},
		spanRuleByID: map[string]*spanRule{},
		matcherIndex: map[matcherKey]int{},
	}
	var parser *ottl.Parser[*ottlspan.TransformContext]
	var errs slo.ValidationErrors
	for i := range rs.slos {
		def := &rs.slos[i]
		switch {
		case def.SLI.Spans != nil:
			r, err := compileSpanRule(rs, def, &parser, telemetry)
			if err != nil {
				errs = append(errs, slo.ValidationError{Pos: def.Pos, Msg: err.Error()})
				continue
			}
			r.idx = len(rs.all)
			rs.spanRuleByID[r.id] = r
			r.slots = sumsPerRule
			if len(r.groupBy) > 0 {
				r.slots = sumsPerGroupedRule
			}
			r.slotBase = rs.slots
			rs.slots += r.slots
			rs.all = append(rs.all, r)
			rs.spanRules = len(rs.all)
			rs.maxGroupBy = max(rs.maxGroupBy, len(r.groupBy))
			if svc := def.SLI.Spans.Match.Service; svc == anyService {
				rs.anyService = append(rs.anyService, r)
			} else {
				rs.byService[svc] = append(rs.byService[svc], r)
			}
		case def.SLI.Metrics != nil:
			r, err := compileMetricRule(def)
			if err != nil {
				errs = append(errs, slo.ValidationError{Pos: def.Pos, Msg: err.Error()})
				continue
			}
			rs.addMetricRule(r)
		case def.SLI.PromQL != nil:
			r, err := compilePromQLRule(def)
			if err != nil {
				errs = append(errs, slo.ValidationError{Pos: def.Pos, Msg: err.Error()})
				continue
			}
			rs.addMetricRule(r)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return rs, nil
}

func compileSpanRule(rs *ruleset, def *slo.SLO, parser **ottl.Parser[*ottlspan.TransformContext], telemetry component.TelemetrySettings) (*spanRule, error) {
	sli := def.SLI.Spans
	r := &spanRule{
		id:          def.ID(),
		def:         def,
		kind:        spanKinds[sli.Match.SpanKind],
		names:       sli.Match.SpanNames,
		groupBy:     def.GroupBy,
		statusError: sli.Bad.StatusError,
		httpMin:     int64(sli.Bad.HTTPStatusAtLeast),
		latency:     int64(sli.Bad.LatencyAbove),
		badTraces:   &badTraces{},
	}
	for _, code := range sli.Bad.GRPCCodes {
		if code >= 0 && code < 32 {
			r.grpcCodes |= 1 << uint(code)
		}
	}
	ms, err := compileMatchers(sli.Match.Attributes)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		r.attrs = append(r.attrs, rs.matcherID(m))
	}
	if sli.Match.Condition != "" {
		if *parser == nil {
			p, err := ottlspan.NewParser(ottlfuncs.StandardConverters[*ottlspan.TransformContext](), telemetry)
			if err != nil {
				return nil, fmt.Errorf("OTTL parser: %w", err)
			}
			*parser = &p
		}
		if r.cond, err = (*parser).ParseCondition(sli.Match.Condition); err != nil {
			return nil, fmt.Errorf("SLO %s: condition %q: %w", def.ID(), sli.Match.Condition, err)
		}
	}
	return r, nil
}

func compileMatchers(ms []slo.AttributeMatcher) ([]matcher, error) {
	out := make([]matcher, 0, len(ms))
	for _, m := range ms {
		cm := matcher{key: m.Key, op: m.Op, value: m.Value}
		if m.Op == slo.MatchRegexp || m.Op == slo.MatchNotRegexp {
			re, err := regexp.Compile("^(?:" + m.Value + ")$")
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", m.Key, err)
			}
			cm.re = re
		}
		out = append(out, cm)
	}
	return out, nil
}

// match reports whether the value matches. A missing attribute has the
// empty value, as a missing label in Prometheus, so `!=` and `!~` match it.
func (m *matcher) match(v string) bool {
	switch m.op {
	case slo.MatchNotEqual:
		return v != m.value
	case slo.MatchRegexp:
		return m.re.MatchString(v)
	case slo.MatchNotRegexp:
		return !m.re.MatchString(v)
	default:
		return v == m.value
	}
}

// matchAll applies matchers to attributes, looking each key up in primary
// (span or data point attributes) and then in the resource's.
func matchAll(ms []matcher, primary, resource pcommon.Map) bool {
	for i := range ms {
		if !ms[i].match(lookup(ms[i].key, primary, resource)) {
			return false
		}
	}
	return true
}

// lookup returns an attribute's value as a string, from primary or else
// from resource; "" when neither has it. String values, the common case,
// are returned without allocation.
func lookup(key string, primary, resource pcommon.Map) string {
	v, ok := primary.Get(key)
	if !ok {
		if v, ok = resource.Get(key); !ok {
			return ""
		}
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// durationIn converts d to a number in unit, the unit of a histogram's
// bucket boundaries (UCUM, as OpenTelemetry metrics name units). An empty
// or unknown unit is taken as seconds, the unit semantic conventions use
// for durations.
func durationIn(d time.Duration, unit string) float64 {
	switch unit {
	case "ms":
		return float64(d) / float64(time.Millisecond)
	case "us", "µs":
		return float64(d) / float64(time.Microsecond)
	case "ns":
		return float64(d)
	case "min":
		return d.Minutes()
	case "h":
		return d.Hours()
	default:
		return d.Seconds()
	}
}
