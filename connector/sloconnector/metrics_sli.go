package sloconnector

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/slo"
)

// role is what a metric selector contributes to its SLI.
type role int

const (
	roleTotal     role = iota // all events
	roleGood                  // good events
	roleBad                   // bad events
	roleHistogram             // a latency histogram: events and good ones at once
)

// metricRule is one metric SLI, compiled.
type metricRule struct {
	id      string
	def     *slo.SLO
	groupBy []string
	total   *selector
	part    *selector // good or bad, see partIsBad
	hist    *selector
	// partIsBad says part selects bad events (else good ones).
	partIsBad bool
	// latency is the histogram's bad threshold.
	latency time.Duration
}

// selector picks the data points of one metric.
type selector struct {
	metric string
	attrs  []matcher
}

// metricRef ties a selector to its rule and role, indexed by metric name.
type metricRef struct {
	rule *metricRule
	role role
	sel  *selector
}

func compileMetricRule(def *slo.SLO) (*metricRule, error) {
	sli := def.SLI.Metrics
	r := &metricRule{id: def.ID(), def: def, groupBy: def.GroupBy}
	sel := func(ms *slo.MetricSelector) (*selector, error) {
		if ms == nil {
			return nil, nil
		}
		attrs, err := compileMatchers(ms.Attributes)
		return &selector{metric: ms.Metric, attrs: attrs}, err
	}
	var err error
	switch {
	case sli.Histogram != nil:
		r.latency = sli.Histogram.LatencyAbove
		r.hist, err = sel(&sli.Histogram.MetricSelector)
	default:
		var errs [2]error
		r.total, errs[0] = sel(sli.Total)
		if sli.Bad != nil {
			r.partIsBad = true
			r.part, errs[1] = sel(sli.Bad)
		} else {
			r.part, errs[1] = sel(sli.Good)
		}
		err = errors.Join(errs[:]...)
	}
	return r, err
}

func (r *metricRule) refs() []metricRef {
	if r.hist != nil {
		return []metricRef{{r, roleHistogram, r.hist}}
	}
	var out []metricRef
	if r.total != nil {
		out = append(out, metricRef{r, roleTotal, r.total})
	}
	if r.part != nil {
		partRole := roleGood
		if r.partIsBad {
			partRole = roleBad
		}
		out = append(out, metricRef{r, partRole, r.part})
	}
	return out
}

// streamTTL is how long the state of a metric stream that stopped
// reporting is kept: long enough for scrape and export gaps, short
// enough that churned series do not pile up.
const streamTTL = time.Hour

// metricAccounting turns metric points into SLI events: it keeps the
// previous value of every cumulative stream, to count increases and
// detect resets, and the running sums of each SLO series, to record good
// and bad events as their counters move.
type metricAccounting struct {
	// started is when the connector started: a cumulative stream that
	// started later is new, and its whole value counts.
	started time.Time

	mu      sync.Mutex
	streams map[uint64]*stream
	series  map[seriesKey]*sliSums
}

// stream is the last point of a cumulative stream. It is checkpointed,
// so that after a restart a stream's next point counts its increase
// rather than becoming a new baseline.
type stream struct {
	Start      pcommon.Timestamp `json:"start"`
	Value      float64           `json:"value"` // counter value, or histogram count
	Good       float64           `json:"good"`  // histogram observations at or under the threshold
	LastSeenAt time.Time         `json:"last_seen_at"`
}

type seriesKey struct {
	id    string
	group string
}

// sliSums are the running sums of one SLO series' counters and what has
// been recorded of them. Good and bad events are recorded as the sums
// move: when the total and its part arrive in different batches the
// part's share waits until both have been seen.
type sliSums struct {
	sloID              string
	group              []string
	partIsBad          bool
	total, part        float64
	recGood, recBad    float64
	end                time.Time
	touchedInThisBatch bool
}

func newMetricAccounting(started time.Time) *metricAccounting {
	return &metricAccounting{
		started: started,
		streams: map[uint64]*stream{},
		series:  map[seriesKey]*sliSums{},
	}
}

// record reads the points of md that SLOs select and records their events.
func (a *metricAccounting) record(rs *ruleset, md pmetric.Metrics, rec recorder, ref refusals, now time.Time) {
	if len(rs.metrics) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var touched []*sliSums
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		service := ""
		if v, ok := res.Get(attrServiceName); ok {
			service = v.AsString()
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				refs := rs.metrics[m.Name()]
				if len(refs) == 0 {
					continue
				}
				touched = a.metric(m, refs, service, res, ref, now, touched)
			}
		}
	}
	for _, s := range touched {
		s.touchedInThisBatch = false
		good, bad := s.pending()
		if good == 0 && bad == 0 {
			continue
		}
		s.recGood += float64(good)
		s.recBad += float64(bad)
		_ = rec.Record(s.sloID, s.group, s.end, good, bad)
	}
}

// pending returns the good and bad events the sums hold beyond what was
// recorded. Sums are counts of events, so only whole events are recorded.
func (s *sliSums) pending() (good, bad uint64) {
	var g, b float64
	if s.partIsBad {
		b, g = s.part, s.total-s.part
	} else {
		g, b = s.part, s.total-s.part
	}
	return wholeAbove(g, s.recGood), wholeAbove(b, s.recBad)
}

func wholeAbove(sum, recorded float64) uint64 {
	d := math.Floor(sum) - recorded
	if d < 1 {
		return 0
	}
	return uint64(d)
}

// metric handles the points of one metric that refs select.
func (a *metricAccounting) metric(m pmetric.Metric, refs []metricRef, service string, res pcommon.Map, ref refusals, now time.Time, touched []*sliSums) []*sliSums {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		cumulative := sum.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := sum.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			value := dp.DoubleValue()
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				value = float64(dp.IntValue())
			}
			var delta float64
			computed := false
			for _, r := range refs {
				if r.role == roleHistogram || !r.rule.selects(service) || !matchAll(r.sel.attrs, dp.Attributes(), res) {
					continue
				}
				if !computed {
					delta, _ = a.increase(m.Name(), res, dp.Attributes(), cumulative, dp.StartTimestamp(), value, 0, now)
					computed = true
				}
				if delta == 0 {
					continue
				}
				s, first := a.sums(r.rule, dp.Attributes(), res)
				if first {
					touched = append(touched, s)
				}
				s.end = laterOf(s.end, dp.Timestamp().AsTime())
				if r.role == roleTotal {
					s.total += delta
				} else {
					s.part += delta
				}
			}
		}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			touched = a.histogramPoint(m, refs, service, res, ref, now, touched, cumulative,
				histogramCounts{dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Count()},
				func(threshold float64) (uint64, bool) { return goodObservations(dp, threshold) })
		}
	case pmetric.MetricTypeExponentialHistogram:
		eh := m.ExponentialHistogram()
		cumulative := eh.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := eh.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			touched = a.histogramPoint(m, refs, service, res, ref, now, touched, cumulative,
				histogramCounts{dp.Attributes(), dp.StartTimestamp(), dp.Timestamp(), dp.Count()},
				func(threshold float64) (uint64, bool) { return goodExponential(dp, threshold) })
		}
	}
	return touched
}

// histogramCounts is what latency accounting reads of a histogram data
// point, explicit or exponential alike.
type histogramCounts struct {
	attrs     pcommon.Map
	start, ts pcommon.Timestamp
	count     uint64
}

// histogramPoint accounts one histogram data point for the histogram SLIs
// of refs that select it: observations at or below the latency threshold
// are good. good counts them in the point's own bucket layout and reports
// false when the threshold is not one of its boundaries.
func (a *metricAccounting) histogramPoint(m pmetric.Metric, refs []metricRef, service string, res pcommon.Map, ref refusals, now time.Time,
	touched []*sliSums, cumulative bool, dp histogramCounts, good func(threshold float64) (uint64, bool)) []*sliSums {
	for _, r := range refs {
		if r.role != roleHistogram || !r.rule.selects(service) || !matchAll(r.sel.attrs, dp.attrs, res) {
			continue
		}
		g, ok := good(durationIn(r.rule.latency, m.Unit()))
		if !ok {
			ref.refuse(reasonNotABoundary, dp.count)
			continue
		}
		total, goodDelta := a.increase(m.Name(), res, dp.attrs, cumulative, dp.start, float64(dp.count), float64(g), now)
		if total == 0 {
			continue
		}
		s, first := a.sums(r.rule, dp.attrs, res)
		if first {
			touched = append(touched, s)
		}
		s.end = laterOf(s.end, dp.ts.AsTime())
		s.total += total
		s.part += goodDelta
	}
	return touched
}

// exponentialBoundaryTolerance is how close, relatively, a boundary of an
// exponential histogram must be to the threshold to stand for it. At the
// scales SDKs use (up to 20) boundaries lie a fraction of a percent
// apart, so a threshold is rarely a boundary exactly; one within 0.1% is
// the threshold for any latency SLO.
const exponentialBoundaryTolerance = 1e-3

// goodExponential returns the observations of an exponential histogram
// point at or under threshold: the zero bucket, the negative buckets, and
// the positive buckets up to the boundary at threshold. Positive bucket
// at index i covers (base^i, base^(i+1)], base = 2^(2^-scale).
func goodExponential(dp pmetric.ExponentialHistogramDataPoint, threshold float64) (uint64, bool) {
	if threshold <= 0 {
		return 0, false
	}
	// k is the index of the boundary base^k nearest the threshold.
	exact := math.Log2(threshold) * math.Exp2(float64(dp.Scale()))
	k := math.Round(exact)
	boundary := math.Exp2(k / math.Exp2(float64(dp.Scale())))
	if math.Abs(boundary-threshold) > exponentialBoundaryTolerance*threshold {
		return 0, false
	}
	good := dp.ZeroCount()
	neg := dp.Negative().BucketCounts()
	for i := 0; i < neg.Len(); i++ {
		good += neg.At(i)
	}
	pos := dp.Positive()
	counts := pos.BucketCounts()
	for j := 0; j < counts.Len(); j++ {
		if float64(int64(pos.Offset())+int64(j)+1) > k {
			break
		}
		good += counts.At(j)
	}
	return good, true
}

// selects reports whether the rule reads metrics of a resource with the
// given service.name: its SLO's service, or any when the resource names
// none (metrics scraped from Prometheus often carry no service.name).
func (r *metricRule) selects(service string) bool {
	return service == "" || r.def.Service == service || r.def.Service == anyService
}

// goodObservations returns the observations of a histogram point at or
// under threshold, which must be one of its bucket boundaries: between
// two boundaries the histogram cannot tell good from bad.
func goodObservations(dp pmetric.HistogramDataPoint, threshold float64) (uint64, bool) {
	bounds := dp.ExplicitBounds()
	counts := dp.BucketCounts()
	for i := 0; i < bounds.Len(); i++ {
		b := bounds.At(i)
		if math.Abs(b-threshold) > 1e-9*math.Max(1, math.Abs(threshold)) {
			continue
		}
		var good uint64
		for j := 0; j <= i && j < counts.Len(); j++ {
			good += counts.At(j)
		}
		return good, true
	}
	return 0, false
}

// increase returns how much a stream grew since its previous point: the
// value itself for delta temporality; for cumulative, the difference to
// the previous value, or the whole value after a reset (the value went
// down, or the start time moved). The first point of a cumulative stream
// that started before the connector is its baseline and counts nothing:
// what it holds was counted before we watched. good is a second counter
// of the same stream (a histogram's good observations).
func (a *metricAccounting) increase(name string, res, attrs pcommon.Map, cumulative bool, start pcommon.Timestamp, value, good float64, now time.Time) (float64, float64) {
	if !cumulative {
		return value, good
	}
	key := a.streamKey(name, res, attrs)
	st := a.streams[key]
	if st == nil {
		st = &stream{Start: start, Value: value, Good: good, LastSeenAt: now}
		a.streams[key] = st
		if start != 0 && !start.AsTime().Before(a.started) {
			return value, good
		}
		return 0, 0
	}
	st.LastSeenAt = now
	reset := value < st.Value || good < st.Good || (start != 0 && start != st.Start)
	dv, dg := value-st.Value, good-st.Good
	if reset {
		dv, dg = value, good
	}
	st.Start, st.Value, st.Good = start, value, good
	return dv, dg
}

// streamKey identifies a stream by metric name and attribute sets. The
// hash (FNV-1a) is the same in every process, as keys are checkpointed.
func (a *metricAccounting) streamKey(name string, res, attrs pcommon.Map) uint64 {
	h := fnv1a(fnvOffset)
	h.writeString(name)
	h.writeByte(0)
	hashMap(&h, res)
	h.writeByte(0)
	hashMap(&h, attrs)
	return uint64(h)
}

// fnv1a is a 64-bit FNV-1a hash in progress.
type fnv1a uint64

const (
	fnvOffset fnv1a = 14695981039346656037
	fnvPrime  fnv1a = 1099511628211
)

func (h *fnv1a) writeByte(b byte) {
	*h ^= fnv1a(b)
	*h *= fnvPrime
}

func (h *fnv1a) writeString(s string) {
	for i := 0; i < len(s); i++ {
		h.writeByte(s[i])
	}
}

func hashMap(h *fnv1a, m pcommon.Map) {
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		h.writeString(k)
		h.writeByte(0xFF)
		h.writeString(v.AsString())
		h.writeByte(0xFF)
	}
}

// sums returns the running sums of the rule's series the point belongs
// to; first is set the first time in this batch.
func (a *metricAccounting) sums(r *metricRule, attrs, res pcommon.Map) (*sliSums, bool) {
	group := make([]string, len(r.groupBy))
	for i, k := range r.groupBy {
		group[i] = lookup(k, attrs, res)
	}
	key := seriesKey{id: r.id, group: strings.Join(group, "\xff")}
	s := a.series[key]
	if s == nil {
		// A histogram's part counts good observations.
		s = &sliSums{group: group, sloID: r.id, partIsBad: r.hist == nil && r.partIsBad}
		a.series[key] = s
	}
	first := !s.touchedInThisBatch
	s.touchedInThisBatch = true
	return s, first
}

// expire drops streams not seen for streamTTL.
func (a *metricAccounting) expire(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, st := range a.streams {
		if now.Sub(st.LastSeenAt) > streamTTL {
			delete(a.streams, k)
		}
	}
}

// forget drops the running sums of SLOs not in keep, after a reload.
func (a *metricAccounting) forget(keep map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.series {
		if !keep[k.id] {
			delete(a.series, k)
		}
	}
}

// snapshotStreams returns the cumulative streams' last points, by key.
// The running sums of SLO series are not kept: they only hold the part of
// a total whose good or bad share has not arrived yet.
func (a *metricAccounting) snapshotStreams() map[string]*stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]*stream, len(a.streams))
	for k, st := range a.streams {
		c := *st
		out[strconv.FormatUint(k, 16)] = &c
	}
	return out
}

// restoreStreams puts back streams of a snapshot.
func (a *metricAccounting) restoreStreams(streams map[string]*stream) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, st := range streams {
		key, err := strconv.ParseUint(k, 16, 64)
		if err != nil {
			return fmt.Errorf("metric stream key %q: %w", k, err)
		}
		if st != nil {
			a.streams[key] = st
		}
	}
	return nil
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
