package sloconnector

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribute keys the span SLIs read (OpenTelemetry semantic conventions).
const (
	attrServiceName   = "service.name"
	attrHTTPStatus    = "http.response.status_code"
	attrHTTPStatusOld = "http.status_code" // before semconv 1.21
	attrGRPCStatus    = "rpc.grpc.status_code"
)

// recorder counts classified events; the tracker in production, a fake in
// benchmarks of classification alone.
type recorder interface {
	Record(sloID string, group []string, end time.Time, good, bad uint64) error
}

// refusals counts events the connector itself could not classify, by
// reason; the tracker counts its own refusals.
type refusals interface {
	refuse(reason string, n uint64)
}

// recordSpans classifies every span of td against the ruleset and records
// the events (see observeSpans).
func (rs *ruleset) recordSpans(ctx context.Context, td ptrace.Traces, rec recorder, ref refusals) {
	_ = rs.observeSpans(ctx, td, rec, ref, nil)
}

// observeSpans is the connector's one pass over the spans: it classifies
// every span against the ruleset and records the events and, with red,
// counts the span in the RED metrics. It allocates nothing per span for
// SLOs without OTTL conditions whose group_by values are strings, nor for
// RED series seen before.
//
// Events are summed per batch, SLO series and whole second of end time
// and recorded once per sum: a Record costs an order of magnitude more
// than a classification, and spans of one batch mostly end within a
// second or two and fall into a few groups. The end time is rounded up to
// the whole second, which keeps every event in the tracker bucket of its
// exact end time: buckets are whole seconds, and bucket k covers
// (k·res, (k+1)·res].
//
// It reports whether the batch held a bad event of some SLO.
func (rs *ruleset) observeSpans(ctx context.Context, td ptrace.Traces, rec recorder, ref refusals, red *redAccounting) (bad bool) {
	if rs.spanRules == 0 && red == nil {
		return false
	}
	var now pcommon.Timestamp
	if red != nil {
		// One lock per batch, not per span.
		red.mu.Lock()
		defer red.mu.Unlock()
		now = pcommon.NewTimestampFromTime(time.Now())
	}
	b := batchPool.Get().(*spanBatch)
	b.reset(rs)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rsp := rss.At(i)
		resAttrs := rsp.Resource().Attributes()
		var service string
		if v, ok := resAttrs.Get(attrServiceName); ok {
			service = v.AsString()
		}
		own := rs.byService[service]
		slos := len(own) > 0 || len(rs.anyService) > 0
		var redRes *redResource
		if red != nil {
			redRes = red.resource(resAttrs)
		}
		if !slos && redRes == nil {
			continue
		}
		sss := rsp.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if redRes != nil {
					red.observe(redRes, span, resAttrs, now)
				}
				if !slos {
					continue
				}
				b.facts = spanFacts{}
				clear(b.matched)
				for _, rules := range [2][]*spanRule{own, rs.anyService} {
					for _, r := range rules {
						r.record(ctx, rsp, ss, span, resAttrs, b, rec, ref)
					}
				}
			}
		}
	}
	b.flush(rec, rs)
	bad = b.bad
	b.rs = nil
	batchPool.Put(b)
	return bad
}

// Sums (distinct seconds of end time and group_by values) a batch keeps
// per SLO before it records one to make room: spans of a batch end within
// a few seconds, and a grouped SLO sees a few dozen groups at once.
const (
	sumsPerRule        = 4
	sumsPerGroupedRule = 32
)

// secondSum is the events of one SLO series that ended within one second.
type secondSum struct {
	sec       int64    // end time rounded up to the second, Unix seconds; 0: unused
	group     []string // group_by values, in the batch's arena
	good, bad uint64
}

// spanBatch is the scratch state of one recordSpans call, pooled so that
// a batch allocates nothing in the steady state.
type spanBatch struct {
	sums  []secondSum // spanRule.slots slots per span rule, from spanRule.slotBase
	arena []string    // group_by values of the slots, maxGroupBy per slot
	group []string    // group_by values of the span at hand
	width int         // maxGroupBy of the ruleset
	evict int         // turn of the next slot to record when all are taken
	bad   bool        // a bad event was summed
	rs    *ruleset    // the ruleset of the batch
	facts spanFacts   // of the span at hand
	// matched caches the results of ruleset.matchers for the span at
	// hand: 0 not evaluated yet, matchYes or matchNo.
	matched []uint8
}

const (
	matchYes uint8 = 1
	matchNo  uint8 = 2
)

// spanFacts caches the attributes that bad conditions read, so that many
// SLOs over the same span look each up once.
type spanFacts struct {
	httpDone, httpOK bool
	http             int64
	grpcDone, grpcOK bool
	grpc             int64
}

func (f *spanFacts) httpStatus(attrs pcommon.Map) (int64, bool) {
	if !f.httpDone {
		f.httpDone = true
		f.http, f.httpOK = intAttr(attrs, attrHTTPStatus)
		if !f.httpOK {
			f.http, f.httpOK = intAttr(attrs, attrHTTPStatusOld)
		}
	}
	return f.http, f.httpOK
}

func (f *spanFacts) grpcStatus(attrs pcommon.Map) (int64, bool) {
	if !f.grpcDone {
		f.grpcDone = true
		f.grpc, f.grpcOK = intAttr(attrs, attrGRPCStatus)
	}
	return f.grpc, f.grpcOK
}

var batchPool = sync.Pool{New: func() any { return &spanBatch{} }}

func (b *spanBatch) reset(rs *ruleset) {
	n := rs.slots
	if cap(b.sums) < n {
		b.sums = make([]secondSum, n)
	}
	b.sums = b.sums[:n]
	clear(b.sums)
	b.width = rs.maxGroupBy
	if cap(b.arena) < n*b.width {
		b.arena = make([]string, n*b.width)
	}
	b.arena = b.arena[:n*b.width]
	clear(b.arena) // drop references to the previous batch's strings
	if cap(b.group) < b.width {
		b.group = make([]string, b.width)
	}
	if cap(b.matched) < len(rs.matchers) {
		b.matched = make([]uint8, len(rs.matchers))
	}
	b.matched = b.matched[:len(rs.matchers)]
	b.rs = rs
	b.bad = false
}

// add sums an event of rule r's series group that ended in second sec.
func (b *spanBatch) add(r *spanRule, sec int64, group []string, bad bool, rec recorder) {
	base := r.slotBase
	slots := b.sums[base : base+r.slots]
	i := 0
	for ; i < len(slots); i++ {
		if slots[i].sec == 0 || (slots[i].sec == sec && equalStrings(slots[i].group, group)) {
			break
		}
	}
	if i == len(slots) {
		// Every slot holds another series or second: record one and
		// reuse it, taking turns so that no slot thrashes.
		i = b.evict % len(slots)
		b.evict++
		recordSum(r, slots[i], rec)
		slots[i].sec = 0
	}
	if slots[i].sec == 0 {
		own := b.arena[(base+i)*b.width : (base+i)*b.width+len(group)]
		copy(own, group)
		slots[i] = secondSum{sec: sec, group: own}
	}
	if bad {
		slots[i].bad++
		b.bad = true
	} else {
		slots[i].good++
	}
}

// flush records what the batch summed.
func (b *spanBatch) flush(rec recorder, rs *ruleset) {
	for _, r := range rs.all {
		for _, s := range b.sums[r.slotBase : r.slotBase+r.slots] {
			if s.sec != 0 {
				recordSum(r, s, rec)
			}
		}
	}
}

func recordSum(r *spanRule, s secondSum, rec recorder) {
	var group []string
	if len(r.groupBy) > 0 {
		group = s.group
	}
	_ = rec.Record(r.id, group, time.Unix(s.sec, 0), s.good, s.bad) // refusals are counted by the tracker
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// record classifies one span for one SLO and sums it if it matches.
func (r *spanRule) record(ctx context.Context, rsp ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, resAttrs pcommon.Map, b *spanBatch, rec recorder, ref refusals) {
	matched, bad := r.classify(ctx, rsp, ss, span, resAttrs, b, ref)
	if !matched {
		return
	}
	endNanos := int64(span.EndTimestamp())
	if endNanos == 0 {
		endNanos = time.Now().UnixNano()
	}
	sec := (endNanos + int64(time.Second) - 1) / int64(time.Second)
	group := b.group[:len(r.groupBy)]
	if len(group) > 0 {
		attrs := span.Attributes()
		for i, key := range r.groupBy {
			group[i] = lookup(key, attrs, resAttrs)
		}
	}
	b.add(r, sec, group, bad, rec)
	if bad {
		r.badTraces.add(group, span.TraceID())
	}
}

// classify reports whether the span is an event of the SLO and whether
// it is bad. Cheap checks come first; the OTTL condition, the costliest,
// last.
func (r *spanRule) classify(ctx context.Context, rsp ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, resAttrs pcommon.Map, b *spanBatch, ref refusals) (matched, bad bool) {
	if r.kind != ptrace.SpanKindUnspecified && span.Kind() != r.kind {
		return false, false
	}
	if len(r.names) > 0 && !containsString(r.names, span.Name()) {
		return false, false
	}
	attrs := span.Attributes()
	for _, i := range r.attrs {
		if b.matched[i] == 0 {
			m := &b.rs.matchers[i]
			b.matched[i] = matchNo
			if m.match(lookup(m.key, attrs, resAttrs)) {
				b.matched[i] = matchYes
			}
		}
		if b.matched[i] != matchYes {
			return false, false
		}
	}
	if r.cond != nil {
		tctx := ottlspan.NewTransformContextPtr(rsp, ss, span)
		ok, err := r.cond.Eval(ctx, tctx)
		tctx.Close()
		if err != nil {
			ref.refuse(reasonConditionError, 1)
			return false, false
		}
		if !ok {
			return false, false
		}
	}
	return true, r.isBad(span, attrs, &b.facts)
}

// isBad reports whether any of the SLO's bad conditions holds.
func (r *spanRule) isBad(span ptrace.Span, attrs pcommon.Map, facts *spanFacts) bool {
	if r.statusError && span.Status().Code() == ptrace.StatusCodeError {
		return true
	}
	if r.httpMin > 0 {
		if code, ok := facts.httpStatus(attrs); ok && code >= r.httpMin {
			return true
		}
	}
	if r.grpcCodes != 0 {
		if code, ok := facts.grpcStatus(attrs); ok && code >= 0 && code < 32 && r.grpcCodes&(1<<uint(code)) != 0 {
			return true
		}
	}
	if r.latency > 0 && int64(span.EndTimestamp())-int64(span.StartTimestamp()) > r.latency {
		return true
	}
	return false
}

// intAttr reads an integer attribute, also when an instrumentation wrote
// it as a string ("503").
func intAttr(attrs pcommon.Map, key string) (int64, bool) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return int64(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
