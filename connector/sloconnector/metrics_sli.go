package sloconnector

import (
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/cumdelta"
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
	// prom says the selectors use Prometheus names (a PromQL SLI run in
	// the stream, see promql_sli.go).
	prom bool
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
// previous point of every cumulative stream (package internal/cumdelta),
// to count increases and detect resets, and the running sums of each SLO
// series, to record good and bad events as their counters move.
//
// The streams are kept per service (the resource's service.name), so that
// in a fleet a service's baselines move with the service: its checkpoint
// holds them, the next owner adopts them (fleet.go).
type metricAccounting struct {
	mu      sync.Mutex
	started time.Time
	deltas  map[string]*cumdelta.Tracker // by service
	// retired are the dropped points of trackers forgotten since, so the
	// counts reported stay monotonic.
	retired cumdelta.Stats
	// provisional, when set (in a fleet), tells whether the streams of a
	// service are provisional when their tracker is made: the service is
	// owned by another evaluator, which may be counting them.
	provisional func(service string) bool
	series      map[seriesKey]*sliSums
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

// newMetricAccounting returns the accounting of a connector started at
// started: a cumulative stream that started later is new, and its whole
// value counts.
func newMetricAccounting(started time.Time) *metricAccounting {
	return &metricAccounting{
		started: started,
		deltas:  map[string]*cumdelta.Tracker{},
		series:  map[seriesKey]*sliSums{},
	}
}

// setProvisional sets how to tell, when a service's streams are first
// seen, whether another evaluator of a fleet owns it.
func (a *metricAccounting) setProvisional(f func(service string) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.provisional = f
}

// tracker returns the streams of service; a.mu held.
func (a *metricAccounting) tracker(service string) *cumdelta.Tracker {
	tr := a.deltas[service]
	if tr == nil {
		tr = cumdelta.New(cumdelta.Settings{Started: a.started, MaxIdle: streamTTL})
		if a.provisional != nil && a.provisional(service) {
			tr.SetProvisional(true)
		}
		a.deltas[service] = tr
	}
	return tr
}

// retire forgets the streams of service; a.mu held.
func (a *metricAccounting) retire(service string) {
	tr := a.deltas[service]
	if tr == nil {
		return
	}
	st := tr.Stats()
	a.retired.OutOfOrder += st.OutOfOrder
	a.retired.NoRecordedValue += st.NoRecordedValue
	a.retired.Invalid += st.Invalid
	delete(a.deltas, service)
}

// record reads the points of md that SLOs select and records their events.
func (a *metricAccounting) record(rs *ruleset, md pmetric.Metrics, rec recorder, ref refusals, now time.Time) {
	if len(rs.metrics) == 0 && len(rs.promMetrics) == 0 {
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
		var resID cumdelta.ResourceID
		var deltas *cumdelta.Tracker
		hashed := false
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if len(rs.promMetrics) > 0 {
					touched = a.recordProm(rs, m, res, service, ref, now, touched)
				}
				refs := rs.metrics[m.Name()]
				if len(refs) == 0 {
					continue
				}
				if !hashed {
					resID, hashed = cumdelta.ResourceOf(res), true
					deltas = a.tracker(service)
				}
				touched = a.metric(m, refs, service, res, resID, deltas, ref, now, touched)
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

// metric handles the points of one metric that refs select. Each point's
// increase is computed once, when the first rule selects it, and shared by
// every rule that does.
func (a *metricAccounting) metric(m pmetric.Metric, refs []metricRef, service string, res pcommon.Map, resID cumdelta.ResourceID, deltas *cumdelta.Tracker, ref refusals, now time.Time, touched []*sliSums) []*sliSums {
	key := func(attrs pcommon.Map) cumdelta.Key { return cumdelta.StreamKey(resID, m.Name(), attrs) }
	switch m.Type() {
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		dps := sum.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			var delta float64
			computed := false
			for _, r := range refs {
				if r.role == roleHistogram || !r.rule.selects(service) || !matchAll(r.sel.attrs, dp.Attributes(), res) {
					continue
				}
				if !computed {
					// Dropped points (out of order, no value) and
					// baselines give 0; the tracker counts the drops.
					delta, _ = deltas.Sum(key(dp.Attributes()), sum.AggregationTemporality(), dp, now)
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
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			var d cumdelta.HistogramDelta
			computed := false
			touched = a.histogramPoint(m, refs, service, res, dp.Attributes(), dp.Timestamp(), touched, func() uint64 {
				if !computed {
					d, _ = deltas.Histogram(key(dp.Attributes()), h.AggregationTemporality(), dp, now)
					computed = true
				}
				return d.Count
			}, func(threshold float64) (uint64, bool) { return goodObservations(d, threshold) }, ref)
		}
	case pmetric.MetricTypeExponentialHistogram:
		eh := m.ExponentialHistogram()
		dps := eh.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			var d cumdelta.ExponentialDelta
			computed := false
			touched = a.histogramPoint(m, refs, service, res, dp.Attributes(), dp.Timestamp(), touched, func() uint64 {
				if !computed {
					d, _ = deltas.ExponentialHistogram(key(dp.Attributes()), eh.AggregationTemporality(), dp, now)
					computed = true
				}
				return d.Count
			}, func(threshold float64) (uint64, bool) { return goodExponential(d, threshold) }, ref)
		}
	}
	return touched
}

// histogramPoint accounts one histogram data point for the histogram SLIs
// of refs that select it: observations at or below the latency threshold
// are good. count computes the point's increase (once) and returns its
// count of observations; good then counts the good ones in the point's
// bucket layout and reports false when the threshold is not one of its
// boundaries.
func (a *metricAccounting) histogramPoint(m pmetric.Metric, refs []metricRef, service string, res, attrs pcommon.Map, ts pcommon.Timestamp,
	touched []*sliSums, count func() uint64, good func(threshold float64) (uint64, bool), ref refusals) []*sliSums {
	for _, r := range refs {
		if r.role != roleHistogram || !r.rule.selects(service) || !matchAll(r.sel.attrs, attrs, res) {
			continue
		}
		total := count()
		if total == 0 {
			continue
		}
		g, ok := good(durationIn(r.rule.latency, m.Unit()))
		if !ok {
			ref.refuse(reasonNotABoundary, total)
			continue
		}
		s, first := a.sums(r.rule, attrs, res)
		if first {
			touched = append(touched, s)
		}
		s.end = laterOf(s.end, ts.AsTime())
		s.total += float64(total)
		s.part += float64(g)
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
// increase at or under threshold: the zero bucket, the negative buckets,
// and the positive buckets up to the boundary at threshold. Positive
// bucket at index i covers (base^i, base^(i+1)], base = 2^(2^-scale).
func goodExponential(d cumdelta.ExponentialDelta, threshold float64) (uint64, bool) {
	if threshold <= 0 {
		return 0, false
	}
	// k is the index of the boundary base^k nearest the threshold.
	exact := math.Log2(threshold) * math.Exp2(float64(d.Scale))
	k := math.Round(exact)
	boundary := math.Exp2(k / math.Exp2(float64(d.Scale)))
	if math.Abs(boundary-threshold) > exponentialBoundaryTolerance*threshold {
		return 0, false
	}
	good := d.ZeroCount
	for _, c := range d.Negative.Counts {
		good += c
	}
	for j, c := range d.Positive.Counts {
		if float64(int64(d.Positive.Offset)+int64(j)+1) > k {
			break
		}
		good += c
	}
	return good, true
}

// selects reports whether the rule reads metrics of a resource with the
// given service.name: its SLO's service, or any when the resource names
// none (metrics scraped from Prometheus often carry no service.name).
func (r *metricRule) selects(service string) bool {
	return service == "" || r.def.Service == service || r.def.Service == anyService
}

// goodObservations returns the observations of a histogram increase at
// or under threshold, which must be one of its bucket boundaries: between
// two boundaries the histogram cannot tell good from bad.
func goodObservations(d cumdelta.HistogramDelta, threshold float64) (uint64, bool) {
	for i := 0; i < d.Bounds.Len(); i++ {
		b := d.Bounds.At(i)
		if math.Abs(b-threshold) > 1e-9*math.Max(1, math.Abs(threshold)) {
			continue
		}
		var good uint64
		for j := 0; j <= i && j < len(d.Counts); j++ {
			good += d.Counts[j]
		}
		return good, true
	}
	return 0, false
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

// expire drops streams not seen for streamTTL, and the trackers of
// services left without streams.
func (a *metricAccounting) expire(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for service, tr := range a.deltas {
		tr.Expire(now)
		if tr.Len() == 0 {
			a.retire(service)
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

// snapshotStreams returns the cumulative streams' last points, by service
// and key. The running sums of SLO series are not kept: they only hold
// the part of a total whose good or bad share has not arrived yet.
func (a *metricAccounting) snapshotStreams() map[string]map[string]cumdelta.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]map[string]cumdelta.State, len(a.deltas))
	for service, tr := range a.deltas {
		out[service] = tr.Snapshot()
	}
	return out
}

// restoreStreams puts back streams of a snapshot.
func (a *metricAccounting) restoreStreams(streams map[string]map[string]cumdelta.State) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for service, states := range streams {
		errs = append(errs, a.tracker(service).Restore(states))
	}
	return errors.Join(errs...)
}

// snapshotService returns the streams of one service, for its checkpoint
// in a fleet.
func (a *metricAccounting) snapshotService(service string) map[string]cumdelta.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	if tr := a.deltas[service]; tr != nil {
		return tr.Snapshot()
	}
	return nil
}

// adoptService takes over the streams of a service from its previous
// owner's checkpoint (cumdelta.Tracker.Adopt).
func (a *metricAccounting) adoptService(service string, streams map[string]cumdelta.State) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deltas[service] == nil && len(streams) == 0 {
		return nil
	}
	return a.tracker(service).Adopt(streams)
}

// forgetService drops the streams of a service that moved away.
func (a *metricAccounting) forgetService(service string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retire(service)
}

// droppedPoints returns the counts of metric points dropped, by reason.
func (a *metricAccounting) droppedPoints() cumdelta.Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.retired
	for _, tr := range a.deltas {
		st := tr.Stats()
		out.OutOfOrder += st.OutOfOrder
		out.NoRecordedValue += st.NoRecordedValue
		out.Invalid += st.Invalid
	}
	return out
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
