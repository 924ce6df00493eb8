package dedup

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Fingerprint identifies a request by what identifies its records: two
// requests with the same fingerprint carry the same records, in the same
// order within each resource (logs and metrics: in any order of their
// resources, see resourceSet). 128 bits, so that a window of 65,536 requests mistakes a new
// request for one it holds with a probability of about 2^-112 per
// request.
type Fingerprint struct{ hi, lo uint64 }

// Domains keep the fingerprints of different signals apart.
const (
	domainTraces uint64 = iota + 1
	domainLogs
	domainMetrics
)

// Traces returns the fingerprint of a traces request: what identifies
// each of its spans, in order, 56 bytes a span. IDs make a span unique (a
// retry carries the same IDs; an SDK gives a new span new ones), so
// neither names nor attributes are read, which would cost as much again
// per span. The parent, times, kind and status are read, being as cheap
// as the IDs: a tool that numbers spans from 1 in every request (a load
// generator, a test sender) still sends different requests when their
// spans differ in status, the first thing an SLO reads. ok is false for
// a request with no span or with a span without IDs, which could not be
// told from another request's span: it gets no fingerprint and counts
// every time.
func Traces(td ptrace.Traces) (fp Fingerprint, ok bool) {
	var h hasher
	h.reset(domainTraces)
	n := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				tid, sid := s.TraceID(), s.SpanID()
				if tid.IsEmpty() || sid.IsEmpty() {
					return Fingerprint{}, false
				}
				h.span(tid, sid, s.ParentSpanID(), uint64(s.StartTimestamp()), uint64(s.EndTimestamp()),
					uint64(s.Kind())<<32|uint64(s.Status().Code()))
				n++
			}
		}
	}
	if n == 0 {
		return Fingerprint{}, false
	}
	return h.sum(), true
}

// Logs returns the fingerprint of a logs request: every resource, scope
// and log record in full (times, severity, body, attributes, trace
// context, event name), since no field of a record is unique by itself.
// ok is false for a request with no record or with a record that has
// neither a time nor an observed time: two such records with the same
// body are the same as far as anything can tell, and may still be two
// (a heartbeat line), so they count every time.
func Logs(ld plog.Logs) (fp Fingerprint, ok bool) {
	var h hasher
	var set resourceSet
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		h.reset(domainLogs)
		h.resource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			h.scope(sl.Scope())
			recs := sl.LogRecords()
			h.u64(uint64(recs.Len()))
			for k := 0; k < recs.Len(); k++ {
				r := recs.At(k)
				if r.Timestamp() == 0 && r.ObservedTimestamp() == 0 {
					return Fingerprint{}, false
				}
				h.u64(uint64(r.Timestamp()))
				h.u64(uint64(r.ObservedTimestamp()))
				h.u64(uint64(r.SeverityNumber()))
				h.str(r.SeverityText())
				h.value(r.Body())
				h.attrs(r.Attributes())
				tid, sid := r.TraceID(), r.SpanID()
				h.raw(tid[:])
				h.raw(sid[:])
				h.u64(uint64(r.Flags()))
				h.str(r.EventName())
				n++
			}
		}
		set.add(h.sum())
	}
	if n == 0 {
		return Fingerprint{}, false
	}
	return set.sum(&h, domainLogs), true
}

// Metrics returns the fingerprint of a metrics request: every resource,
// scope, metric and data point in full (attributes, times, values), since
// two points differ by any of them. ok is false for a request with no
// data point or with a point without a time, which could not be told
// from the same point sent again later.
func Metrics(md pmetric.Metrics) (fp Fingerprint, ok bool) {
	var h hasher
	var set resourceSet
	n := 0
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		h.reset(domainMetrics)
		h.resource(rm.Resource())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			h.scope(sm.Scope())
			ms := sm.Metrics()
			h.u64(uint64(ms.Len()))
			for k := 0; k < ms.Len(); k++ {
				points, timed := h.metric(ms.At(k))
				if !timed {
					return Fingerprint{}, false
				}
				n += points
			}
		}
		set.add(h.sum())
	}
	if n == 0 {
		return Fingerprint{}, false
	}
	return set.sum(&h, domainMetrics), true
}

// resourceSet combines the fingerprints of a request's resources so that
// their order does not matter: the gateway (contrib's load_balancing
// exporter, v0.159) builds each evaluator's part of a logs or metrics
// request by merging the services routed there in map order, so a retry
// of the same part may list them in another order. The fingerprints are
// summed mod 2^128 (a multiset hash, commutative), then hashed with their
// count; within a resource, order still counts (a sender's retry keeps
// it).
type resourceSet struct {
	hi, lo uint64
	n      uint64
}

func (r *resourceSet) add(fp Fingerprint) {
	var carry uint64
	r.lo, carry = bits.Add64(r.lo, fp.lo, 0)
	r.hi, _ = bits.Add64(r.hi, fp.hi, carry)
	r.n++
}

func (r *resourceSet) sum(h *hasher, domain uint64) Fingerprint {
	h.reset(domain)
	h.u64(r.n)
	h.u64(r.hi)
	h.u64(r.lo)
	return h.sum()
}

// metric hashes one metric and its points; it returns how many points it
// has and whether every one has a time.
func (h *hasher) metric(m pmetric.Metric) (points int, timed bool) {
	h.str(m.Name())
	h.str(m.Unit())
	h.u64(uint64(m.Type()))
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return h.numbers(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		s := m.Sum()
		h.u64(uint64(s.AggregationTemporality()))
		h.bool(s.IsMonotonic())
		return h.numbers(s.DataPoints())
	case pmetric.MetricTypeHistogram:
		hist := m.Histogram()
		h.u64(uint64(hist.AggregationTemporality()))
		dps := hist.DataPoints()
		h.u64(uint64(dps.Len()))
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if !h.point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags())) {
				return 0, false
			}
			h.u64(dp.Count())
			h.f64(dp.Sum())
			h.floats(dp.ExplicitBounds())
			h.uints(dp.BucketCounts())
		}
		return dps.Len(), true
	case pmetric.MetricTypeExponentialHistogram:
		hist := m.ExponentialHistogram()
		h.u64(uint64(hist.AggregationTemporality()))
		dps := hist.DataPoints()
		h.u64(uint64(dps.Len()))
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if !h.point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags())) {
				return 0, false
			}
			h.u64(dp.Count())
			h.f64(dp.Sum())
			h.u64(uint64(dp.Scale()))
			h.u64(dp.ZeroCount())
			h.u64(uint64(dp.Positive().Offset()))
			h.uints(dp.Positive().BucketCounts())
			h.u64(uint64(dp.Negative().Offset()))
			h.uints(dp.Negative().BucketCounts())
		}
		return dps.Len(), true
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		h.u64(uint64(dps.Len()))
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if !h.point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags())) {
				return 0, false
			}
			h.u64(dp.Count())
			h.f64(dp.Sum())
			qs := dp.QuantileValues()
			h.u64(uint64(qs.Len()))
			for q := 0; q < qs.Len(); q++ {
				h.f64(qs.At(q).Quantile())
				h.f64(qs.At(q).Value())
			}
		}
		return dps.Len(), true
	}
	return 0, true // a metric without points adds none
}

// numbers hashes number data points (gauges and sums).
func (h *hasher) numbers(dps pmetric.NumberDataPointSlice) (points int, timed bool) {
	h.u64(uint64(dps.Len()))
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if !h.point(dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), uint32(dp.Flags())) {
			return 0, false
		}
		h.u64(uint64(dp.ValueType()))
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			h.u64(uint64(dp.IntValue()))
		case pmetric.NumberDataPointValueTypeDouble:
			h.f64(dp.DoubleValue())
		}
	}
	return dps.Len(), true
}

// point hashes what every data point has, and reports whether it has a
// time.
func (h *hasher) point(attrs pcommon.Map, start, ts pcommon.Timestamp, flags uint32) bool {
	if ts == 0 {
		return false
	}
	h.attrs(attrs)
	h.u64(uint64(start))
	h.u64(uint64(ts))
	h.u64(uint64(flags))
	return true
}

// hasher feeds xxh3 through a small buffer, so that the many short
// fields of a request cost one copy each and xxh3 sees large writes.
// Maps are hashed in their order: a retry carries the same request, in
// the same order, so sorting (as contrib's pdatautil.MapHash does, which
// also builds the whole input in a buffer) would only cost time.
type hasher struct {
	x   xxh3.Hasher
	buf [512]byte
	n   int
}

func (h *hasher) reset(domain uint64) {
	h.x.Reset()
	h.n = 0
	h.u64(domain)
}

func (h *hasher) flush() {
	_, _ = h.x.Write(h.buf[:h.n])
	h.n = 0
}

func (h *hasher) sum() Fingerprint {
	h.flush()
	s := h.x.Sum128()
	return Fingerprint{hi: s.Hi, lo: s.Lo}
}

func (h *hasher) u64(v uint64) {
	if h.n+8 > len(h.buf) {
		h.flush()
	}
	binary.LittleEndian.PutUint64(h.buf[h.n:], v)
	h.n += 8
}

func (h *hasher) f64(v float64) { h.u64(math.Float64bits(v)) }

func (h *hasher) bool(v bool) {
	if v {
		h.u64(1)
	} else {
		h.u64(0)
	}
}

// span hashes the fixed-size part of a span's identity, 56 bytes.
func (h *hasher) span(tid pcommon.TraceID, sid, parent pcommon.SpanID, start, end, kindStatus uint64) {
	const size = 56
	if h.n+size > len(h.buf) {
		h.flush()
	}
	b := h.buf[h.n : h.n+size]
	copy(b[:16], tid[:])
	copy(b[16:24], sid[:])
	copy(b[24:32], parent[:])
	binary.LittleEndian.PutUint64(b[32:], start)
	binary.LittleEndian.PutUint64(b[40:], end)
	binary.LittleEndian.PutUint64(b[48:], kindStatus)
	h.n += size
}

// raw hashes b, whose length the caller fixes (IDs).
func (h *hasher) raw(b []byte) {
	if h.n+len(b) > len(h.buf) {
		h.flush()
		if len(b) > len(h.buf) {
			_, _ = h.x.Write(b)
			return
		}
	}
	h.n += copy(h.buf[h.n:], b)
}

// str hashes a string with its length, so that ("ab", "c") and
// ("a", "bc") differ.
func (h *hasher) str(s string) {
	h.u64(uint64(len(s)))
	if h.n+len(s) > len(h.buf) {
		h.flush()
		if len(s) > len(h.buf) {
			_, _ = h.x.WriteString(s)
			return
		}
	}
	h.n += copy(h.buf[h.n:], s)
}

func (h *hasher) floats(s pcommon.Float64Slice) {
	h.u64(uint64(s.Len()))
	for _, v := range s.All() {
		h.f64(v)
	}
}

func (h *hasher) uints(s pcommon.UInt64Slice) {
	h.u64(uint64(s.Len()))
	for _, v := range s.All() {
		h.u64(v)
	}
}

func (h *hasher) resource(r pcommon.Resource) {
	h.attrs(r.Attributes())
}

func (h *hasher) scope(s pcommon.InstrumentationScope) {
	h.str(s.Name())
	h.str(s.Version())
	h.attrs(s.Attributes())
}

func (h *hasher) attrs(m pcommon.Map) {
	h.u64(uint64(m.Len()))
	for k, v := range m.All() {
		h.str(k)
		h.value(v)
	}
}

func (h *hasher) value(v pcommon.Value) {
	h.u64(uint64(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		h.str(v.Str())
	case pcommon.ValueTypeInt:
		h.u64(uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		h.f64(v.Double())
	case pcommon.ValueTypeBool:
		h.bool(v.Bool())
	case pcommon.ValueTypeBytes:
		b := v.Bytes()
		h.u64(uint64(b.Len()))
		for _, c := range b.All() {
			if h.n == len(h.buf) {
				h.flush()
			}
			h.buf[h.n] = c
			h.n++
		}
	case pcommon.ValueTypeMap:
		h.attrs(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		h.u64(uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			h.value(s.At(i))
		}
	}
}
