// Package cumdelta turns the points of cumulative metric streams into
// increases: how much a counter or each bucket of a histogram grew since
// the previous point of its stream. The slo connector counts SLI events
// with it and the anomaly connector rates, so both read a stream alike.
//
// Written here rather than taken from contrib: contrib's tracker lives in
// processor/cumulativetodeltaprocessor/internal/tracking, which cannot be
// imported, and it differs where Vigil needs Prometheus's semantics (a
// reset there drops the point, where rate() counts the new value) and
// has no out-of-order check. The stream identity hash is contrib's
// exported pkg/pdatautil.
//
// The rules, point by point:
//
//   - A point flagged NoRecordedValue (the Prometheus receiver's staleness
//     marker, sent when a target disappears) or holding NaN or an infinite
//     value carries no measurement: it is dropped and the stream's state is
//     left as it was. It is not a reset: when the target comes back with a
//     higher value the increase counts, with a lower one it is a reset.
//   - A point whose timestamp is not after the previous point's is out of
//     order (or a duplicate): it is dropped and counted. Taking it would
//     see an older, lower value as a reset and count its whole value again.
//   - A reset is a start time different from the previous point's, or a
//     value lower than the previous one (for histograms: the count or any
//     bucket). As in Prometheus's rate() and increase(), the increase over
//     a reset is the new point's whole value: the counter restarted from
//     zero.
//   - The first point of a stream counts its whole value only if the
//     stream started while the tracker watched: a start time set, at or
//     after Settings.Started, and before the point's timestamp. Otherwise
//     it is the stream's baseline and counts nothing, since what it holds
//     accumulated unseen (a restart of Vigil must not count a counter's
//     whole history into the current window). This is contrib
//     cumulativetodelta's initial_value: auto, and what Prometheus does
//     with created timestamps: a counter whose creation is known starts
//     from zero there.
//   - A histogram whose bucket layout changes without a reset gets a new
//     baseline: its buckets cannot be subtracted.
//   - Delta points pass through as they are (their whole value is the
//     increase), with the same checks for missing values.
//
// Streams not seen for Settings.MaxIdle are forgotten by Expire, so that
// churning series do not pile up.
//
// Streams that move between processes (a fleet's evaluators, which own a
// service at a time): a process that receives a stream before it owns the
// stream's service keeps a provisional Tracker (SetProvisional), whose
// first points are baselines even for streams that started while watched,
// since the previous owner may have counted them. When the service is
// taken over, Adopt merges the previous owner's Snapshot: a stream this
// process has only a baseline of continues from the previous owner's last
// point (so nothing between the two is lost or counted twice), and a
// stream the previous owner never saw counts its whole value at its next
// point, as it would have had this process owned it from the start.
package cumdelta // import "github.com/vigil-otel/vigil/internal/cumdelta"

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Outcome is what a point contributed.
type Outcome uint8

const (
	// Increase: the increase since the previous point of the stream (or a
	// delta point's value).
	Increase Outcome = iota
	// Reset: the stream restarted; the increase is the point's whole value.
	Reset
	// First: the first point of a stream that started while watched; the
	// increase is its whole value.
	First
	// Baseline: the first point of a stream that started before it was
	// watched, or the first after its histogram layout changed. It is
	// remembered and counts nothing.
	Baseline
	// OutOfOrder: the point is not after the previous one. Dropped.
	OutOfOrder
	// NoRecordedValue: the point is flagged as carrying no value (a
	// staleness marker). Dropped; the stream is unchanged.
	NoRecordedValue
	// Invalid: NaN or an infinite value, or a histogram whose buckets do
	// not fit its bounds. Dropped; the stream is unchanged.
	Invalid
)

// Counts reports whether the point's increase is to be counted.
func (o Outcome) Counts() bool { return o == Increase || o == Reset || o == First }

// Dropped reports whether the point was dropped: it is no part of its
// stream.
func (o Outcome) Dropped() bool { return o >= OutOfOrder }

// String returns the outcome as a telemetry attribute value.
func (o Outcome) String() string {
	switch o {
	case Increase:
		return "increase"
	case Reset:
		return "reset"
	case First:
		return "first"
	case Baseline:
		return "baseline"
	case OutOfOrder:
		return "out_of_order"
	case NoRecordedValue:
		return "no_recorded_value"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

// Result describes a point's contribution.
type Result struct {
	Outcome Outcome
	// From is when the increase began: the previous point's timestamp, or
	// the start time of a new or restarted stream; 0 when unknown.
	From pcommon.Timestamp
	// deferred: a First taken as a Baseline by a provisional Tracker.
	deferred bool
}

// Settings configure a Tracker.
type Settings struct {
	// Started is when watching began: the first point of a stream that
	// started at or after it counts its whole value.
	Started time.Time
	// MaxIdle is how long Expire keeps a stream no point arrived for.
	MaxIdle time.Duration
}

// Tracker holds the last point of every cumulative stream. It is not safe
// for concurrent use, except Stats.
type Tracker struct {
	started pcommon.Timestamp
	maxIdle time.Duration
	streams map[Key]*stream
	// provisional: the streams' owner may be another process; see
	// SetProvisional.
	provisional bool
	// Buffers the deltas returned alias until the next call.
	buckets, negative []uint64

	outOfOrder, noValue, invalid atomic.Uint64
}

// New returns an empty Tracker.
func New(s Settings) *Tracker {
	return &Tracker{
		started: pcommon.NewTimestampFromTime(s.Started),
		maxIdle: s.MaxIdle,
		streams: map[Key]*stream{},
	}
}

// Stats counts the points dropped since the Tracker was made.
type Stats struct {
	OutOfOrder, NoRecordedValue, Invalid uint64
}

// Stats returns the counts of dropped points; safe to call at any time.
func (t *Tracker) Stats() Stats {
	return Stats{OutOfOrder: t.outOfOrder.Load(), NoRecordedValue: t.noValue.Load(), Invalid: t.invalid.Load()}
}

func (t *Tracker) drop(o Outcome) Result {
	switch o {
	case OutOfOrder:
		t.outOfOrder.Add(1)
	case NoRecordedValue:
		t.noValue.Add(1)
	case Invalid:
		t.invalid.Add(1)
	}
	return Result{Outcome: o}
}

// Len returns the number of streams held.
func (t *Tracker) Len() int { return len(t.streams) }

// Expire forgets the streams no point arrived for since MaxIdle before
// now, and returns how many.
func (t *Tracker) Expire(now time.Time) int {
	if t.maxIdle <= 0 {
		return 0
	}
	idle := now.Add(-t.maxIdle)
	n := 0
	for k, s := range t.streams {
		if s.seen.Before(idle) {
			delete(t.streams, k)
			n++
		}
	}
	return n
}

// Key identifies a stream: metric name, resource and point attributes.
type Key [16]byte

// ResourceID identifies a resource by its attributes; compute it once per
// resource and pass it to StreamKey for each point.
type ResourceID [16]byte

// ResourceOf returns the ID of a resource's attributes.
func ResourceOf(attrs pcommon.Map) ResourceID { return ResourceID(pdatautil.MapHash(attrs)) }

// StreamKey returns the key of the stream of a point of metric with attrs
// under resource res. It is the same in every process (xxhash), so keys
// can be checkpointed.
func StreamKey(res ResourceID, metric string, attrs pcommon.Map) Key {
	return Key(pdatautil.Hash(
		pdatautil.WithString(string(res[:])),
		pdatautil.WithString(metric),
		pdatautil.WithMap(attrs),
	))
}

// kind is the point type a stream holds; a point of another kind under
// the same key starts the stream anew.
type kind uint8

const (
	kindSum kind = iota + 1
	kindHistogram
	kindExponential
)

// stream is the last point of one cumulative stream.
type stream struct {
	kind        kind
	start, last pcommon.Timestamp
	seen        time.Time // arrival of the last point, for Expire

	value float64 // sums

	count  uint64    // histograms
	bounds []float64 // explicit bounds
	counts []uint64  // explicit buckets, or exponential positive buckets

	// Exponential histograms.
	scale          int32
	zeroThreshold  float64
	zero           uint64
	offset, negOff int32
	negative       []uint64

	// counted: an increase of the stream was counted here since its first
	// point here (Adopt keeps such a stream over the previous owner's).
	counted bool
	// deferredFirst: a First point taken as a baseline while provisional;
	// Adopt makes the next point count the stream's whole value.
	deferredFirst bool
}

// begin applies the rules common to every kind: out-of-order points are
// dropped, a new stream (or one of another kind) is First or Baseline, a
// moved start time is a reset. It returns the stream's state (nil for a
// new one, to be stored by the caller) and, when it decided, the result.
func (t *Tracker) begin(key Key, k kind, start, ts pcommon.Timestamp) (s *stream, r Result, decided bool) {
	s = t.streams[key]
	if s == nil || s.kind != k {
		if start != 0 && start < ts && start >= t.started {
			if t.provisional {
				return nil, Result{Outcome: Baseline, deferred: true}, true
			}
			return nil, Result{Outcome: First, From: start}, true
		}
		return nil, Result{Outcome: Baseline}, true
	}
	if ts != 0 && s.last != 0 && ts <= s.last {
		return s, t.drop(OutOfOrder), true
	}
	if start != 0 && start != s.start {
		return s, resetResult(s, start, ts), true
	}
	return s, Result{Outcome: Increase, From: s.last}, false
}

// resetResult is the result of a restarted stream: the increase is from
// the new start time when it lies between the two points, else from the
// previous point.
func resetResult(s *stream, start, ts pcommon.Timestamp) Result {
	from := s.last
	if start != 0 && start > s.last && start < ts {
		from = start
	}
	return Result{Outcome: Reset, From: from}
}

// deltaFrom is the From of a delta point: its start time when it has one.
func deltaFrom(start, ts pcommon.Timestamp) pcommon.Timestamp {
	if start != 0 && start < ts {
		return start
	}
	return 0
}

func cumulative(t pmetric.AggregationTemporality) bool {
	return t == pmetric.AggregationTemporalityCumulative
}

// Sum returns the increase of a point of a monotonic sum of the given
// temporality.
func (t *Tracker) Sum(key Key, temporality pmetric.AggregationTemporality, dp pmetric.NumberDataPoint, now time.Time) (float64, Result) {
	if dp.Flags().NoRecordedValue() {
		return 0, t.drop(NoRecordedValue)
	}
	v := dp.DoubleValue()
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		v = float64(dp.IntValue())
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, t.drop(Invalid)
	}
	start, ts := dp.StartTimestamp(), dp.Timestamp()
	if !cumulative(temporality) {
		return v, Result{Outcome: Increase, From: deltaFrom(start, ts)}
	}
	s, r, decided := t.begin(key, kindSum, start, ts)
	if !decided && v < s.value {
		r, decided = resetResult(s, start, ts), true
	}
	if r.Outcome.Dropped() {
		return 0, r
	}
	if s == nil {
		s = &stream{kind: kindSum}
		t.streams[key] = s
	}
	delta := v - s.value
	switch r.Outcome {
	case Reset, First:
		delta = v
	case Baseline:
		delta = 0
	}
	s.start, s.last, s.seen, s.value = start, ts, now, v
	s.note(r)
	return delta, r
}

// note records what a point did to the stream, for Adopt.
func (s *stream) note(r Result) {
	switch {
	case r.Outcome.Counts():
		s.counted, s.deferredFirst = true, false
	case r.Outcome == Baseline:
		s.counted, s.deferredFirst = false, r.deferred
	}
}

// HistogramDelta is the increase of an explicit-bucket histogram point.
type HistogramDelta struct {
	// Count is the increase of the count of observations.
	Count uint64
	// Bounds are the point's bucket bounds.
	Bounds pcommon.Float64Slice
	// Counts are the increases of the point's buckets, len(Bounds)+1 of
	// them, or none when the point has no buckets. The slice is the
	// Tracker's and valid until its next call.
	Counts []uint64
}

// Histogram returns the increase of a point of an explicit-bucket
// histogram of the given temporality.
func (t *Tracker) Histogram(key Key, temporality pmetric.AggregationTemporality, dp pmetric.HistogramDataPoint, now time.Time) (HistogramDelta, Result) {
	if dp.Flags().NoRecordedValue() {
		return HistogramDelta{}, t.drop(NoRecordedValue)
	}
	bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
	if counts.Len() != 0 && counts.Len() != bounds.Len()+1 {
		return HistogramDelta{}, t.drop(Invalid)
	}
	out := HistogramDelta{Count: dp.Count(), Bounds: bounds, Counts: t.buckets[:0]}
	start, ts := dp.StartTimestamp(), dp.Timestamp()
	if !cumulative(temporality) {
		out.Counts = append(out.Counts, counts.AsRaw()...)
		t.buckets = out.Counts
		return out, Result{Outcome: Increase, From: deltaFrom(start, ts)}
	}
	s, r, decided := t.begin(key, kindHistogram, start, ts)
	if r.Outcome.Dropped() {
		return HistogramDelta{}, r
	}
	if !decided {
		if !sameBounds(s.bounds, bounds) || len(s.counts) != counts.Len() {
			r = Result{Outcome: Baseline}
		}
		if dp.Count() < s.count || anyLower(counts, s.counts) {
			r = resetResult(s, start, ts)
		}
	}
	switch r.Outcome {
	case Increase:
		out.Count -= s.count
		for i := 0; i < counts.Len(); i++ {
			out.Counts = append(out.Counts, counts.At(i)-s.counts[i])
		}
	case Reset, First:
		out.Counts = append(out.Counts, counts.AsRaw()...)
	case Baseline:
		out.Count = 0
		for range counts.Len() {
			out.Counts = append(out.Counts, 0)
		}
	}
	t.buckets = out.Counts
	if s == nil {
		s = &stream{kind: kindHistogram}
		t.streams[key] = s
	}
	s.start, s.last, s.seen, s.count = start, ts, now, dp.Count()
	if !sameBounds(s.bounds, bounds) {
		s.bounds = append(s.bounds[:0], bounds.AsRaw()...)
	}
	s.counts = s.counts[:0]
	for i := 0; i < counts.Len(); i++ {
		s.counts = append(s.counts, counts.At(i))
	}
	s.note(r)
	return out, r
}

func sameBounds(a []float64, b pcommon.Float64Slice) bool {
	if len(a) != b.Len() {
		return false
	}
	for i, v := range a {
		if b.At(i) != v {
			return false
		}
	}
	return true
}

// anyLower reports whether a bucket of cur is below the same bucket of
// prev; layouts of different lengths compare nothing.
func anyLower(cur pcommon.UInt64Slice, prev []uint64) bool {
	if cur.Len() != len(prev) {
		return false
	}
	for i, p := range prev {
		if cur.At(i) < p {
			return true
		}
	}
	return false
}

// Buckets are the buckets of one side of an exponential histogram.
type Buckets struct {
	// Offset is the index of Counts[0].
	Offset int32
	// Counts are the Tracker's and valid until its next call.
	Counts []uint64
}

// ExponentialDelta is the increase of an exponential histogram point, at
// Scale: the lower of the point's and the previous point's, the previous
// point being brought down to it when an SDK merged buckets in between.
type ExponentialDelta struct {
	Count         uint64
	Scale         int32
	ZeroCount     uint64
	ZeroThreshold float64
	Positive      Buckets
	Negative      Buckets
}

// ExponentialHistogram returns the increase of a point of an exponential
// histogram of the given temporality.
func (t *Tracker) ExponentialHistogram(key Key, temporality pmetric.AggregationTemporality, dp pmetric.ExponentialHistogramDataPoint, now time.Time) (ExponentialDelta, Result) {
	if dp.Flags().NoRecordedValue() {
		return ExponentialDelta{}, t.drop(NoRecordedValue)
	}
	if math.IsNaN(dp.ZeroThreshold()) || math.IsInf(dp.ZeroThreshold(), 0) {
		return ExponentialDelta{}, t.drop(Invalid)
	}
	pos, neg := dp.Positive(), dp.Negative()
	out := ExponentialDelta{
		Count: dp.Count(), Scale: dp.Scale(), ZeroCount: dp.ZeroCount(), ZeroThreshold: dp.ZeroThreshold(),
		Positive: Buckets{Offset: pos.Offset(), Counts: append(t.buckets[:0], pos.BucketCounts().AsRaw()...)},
		Negative: Buckets{Offset: neg.Offset(), Counts: append(t.negative[:0], neg.BucketCounts().AsRaw()...)},
	}
	t.buckets, t.negative = out.Positive.Counts, out.Negative.Counts
	start, ts := dp.StartTimestamp(), dp.Timestamp()
	if !cumulative(temporality) {
		return out, Result{Outcome: Increase, From: deltaFrom(start, ts)}
	}
	s, r, decided := t.begin(key, kindExponential, start, ts)
	if r.Outcome.Dropped() {
		return ExponentialDelta{}, r
	}
	if !decided {
		switch {
		case dp.Count() < s.count || dp.ZeroCount() < s.zero && dp.ZeroThreshold() == s.zeroThreshold:
			r = resetResult(s, start, ts)
		case dp.ZeroThreshold() != s.zeroThreshold:
			r = Result{Outcome: Baseline}
		default:
			scale := min(out.Scale, s.scale)
			p, pok := subtract(out.Positive, out.Scale, Buckets{s.offset, s.counts}, s.scale, scale)
			n, nok := subtract(out.Negative, out.Scale, Buckets{s.negOff, s.negative}, s.scale, scale)
			if !pok || !nok {
				r = resetResult(s, start, ts)
				break
			}
			out.Count -= s.count
			out.ZeroCount -= s.zero
			out.Scale = scale
			out.Positive, out.Negative = p, n
		}
	}
	if r.Outcome == Baseline {
		out = ExponentialDelta{Scale: out.Scale, ZeroThreshold: out.ZeroThreshold}
	}
	if s == nil {
		s = &stream{kind: kindExponential}
		t.streams[key] = s
	}
	s.start, s.last, s.seen, s.count = start, ts, now, dp.Count()
	s.scale, s.zeroThreshold, s.zero = dp.Scale(), dp.ZeroThreshold(), dp.ZeroCount()
	s.offset, s.counts = pos.Offset(), append(s.counts[:0], pos.BucketCounts().AsRaw()...)
	s.negOff, s.negative = neg.Offset(), append(s.negative[:0], neg.BucketCounts().AsRaw()...)
	s.note(r)
	return out, r
}

// subtract returns cur (at curScale) minus prev (at prevScale), both
// brought down to scale, and false when a bucket went down: a reset. The
// result is a new slice.
func subtract(cur Buckets, curScale int32, prev Buckets, prevScale, scale int32) (Buckets, bool) {
	c := downscale(cur, curScale-scale)
	p := downscale(prev, prevScale-scale)
	if len(c.Counts) == 0 {
		for _, v := range p.Counts {
			if v > 0 {
				return Buckets{}, false
			}
		}
		return c, true
	}
	out := Buckets{Offset: c.Offset, Counts: slices.Clone(c.Counts)}
	for j, v := range p.Counts {
		if v == 0 {
			continue
		}
		k := int(int64(p.Offset) + int64(j) - int64(c.Offset))
		if k < 0 || k >= len(out.Counts) || out.Counts[k] < v {
			return Buckets{}, false
		}
		out.Counts[k] -= v
	}
	return out, true
}

// downscale merges buckets by 2^by (by ≥ 0); bucket index i becomes
// i >> by. With by 0 it returns b as it is.
func downscale(b Buckets, by int32) Buckets {
	if by <= 0 || len(b.Counts) == 0 {
		return b
	}
	lo := int64(b.Offset) >> by
	hi := (int64(b.Offset) + int64(len(b.Counts)) - 1) >> by
	out := make([]uint64, hi-lo+1)
	for j, v := range b.Counts {
		out[((int64(b.Offset)+int64(j))>>by)-lo] += v
	}
	return Buckets{Offset: int32(lo), Counts: out}
}
