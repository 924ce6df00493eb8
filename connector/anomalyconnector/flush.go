package anomalyconnector

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/connector/anomalyconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/staleness"
)

// output collects what one interval boundary emits.
type output struct {
	metrics                          pmetric.Metrics
	score, expected, lower, upper    pmetric.NumberDataPointSlice
	logs                             plog.Logs
	records                          plog.LogRecordSlice
	ts, observed                     pcommon.Timestamp
	points, firingEvents, resolvedEv int
	// ended are the series forgotten at this boundary, whose gauges the
	// output ends (see endSeries).
	ended []*series
	// changed are the series whose alert state changed (an onset, a
	// resolve, a state announced after a restore), resolved those
	// forgotten with a resolve, each pending until the events went out;
	// transitions is what they make written to storage around the events
	// (see writeTransitions), nil for nothing.
	changed, resolved []*series
	transitions       *transitionWrite
}

func newOutput(t, now time.Time) *output {
	o := &output{metrics: pmetric.NewMetrics(), logs: plog.NewLogs()}
	o.ts, o.observed = pcommon.NewTimestampFromTime(t), pcommon.NewTimestampFromTime(now)
	sm := o.metrics.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	gauge := func(name, desc string) pmetric.NumberDataPointSlice {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(desc)
		return m.SetEmptyGauge().DataPoints()
	}
	o.score = gauge(conventions.MetricAnomalyScore, "Anomaly score in [0,1] of a watched series; 0.5 is where a point becomes unusual.")
	o.expected = gauge(conventions.MetricAnomalyExpected, "Value the detector expected for the series.")
	o.lower = gauge(conventions.MetricAnomalyLower, "Lower bound of the expected band.")
	o.upper = gauge(conventions.MetricAnomalyUpper, "Upper bound of the expected band.")
	sl := o.logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	o.records = sl.LogRecords()
	return o
}

// change records that s's alert state changed (or is announced) this
// interval: its event is pending until it went out (core.delivered).
func (o *output) change(s *series) {
	s.pending = true
	o.changed = append(o.changed, s)
}

// addPoint appends one series' verdict to the four gauges.
func (o *output) addPoint(s *series, r anomaly.Result) {
	o.points++
	for _, p := range []struct {
		dps pmetric.NumberDataPointSlice
		v   float64
	}{{o.score, r.Score}, {o.expected, r.Expected}, {o.lower, r.Lower}, {o.upper, r.Upper}} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			continue
		}
		dp := p.dps.AppendEmpty()
		dp.SetTimestamp(o.ts)
		dp.SetDoubleValue(p.v)
		putIdentity(dp.Attributes(), s.id)
	}
}

// putIdentity writes a series' labels: metric, service_name, span_name and
// a selected metric's own attributes.
func putIdentity(m pcommon.Map, id identity) {
	m.EnsureCapacity(3 + len(id.attrs))
	m.PutStr(conventions.LabelMetric, id.metric)
	if id.service != "" {
		m.PutStr(conventions.LabelServiceName, id.service)
	}
	if id.operation != "" {
		m.PutStr(LabelSpanName, id.operation)
	}
	for _, a := range id.attrs {
		if _, taken := m.Get(a.key); !taken {
			m.PutStr(a.key, a.value)
		}
	}
}

// flushAndSend closes the interval ending at t and sends its output.
func (c *core) flushAndSend(ctx context.Context, t time.Time) {
	c.sendMu.Lock()
	out := c.flush(t)
	if c.metricsOut != nil && (out.points > 0 || len(out.ended) > 0) {
		if len(out.ended) > 0 {
			endSeries(out.ended, out.ts).ResourceMetrics().MoveAndAppendTo(out.metrics.ResourceMetrics())
		}
		if err := c.metricsOut.ConsumeMetrics(ctx, out.metrics); err != nil {
			c.logger.Warn("Sending anomaly metrics failed", zap.Error(err))
		}
		if t.After(c.sentAt) {
			c.sentAt = t
		}
	}
	c.sendMu.Unlock()
	// An alert transition is written to storage twice: before its event
	// goes out, flagged to be announced (write-ahead: a restart after a
	// crash in between announces it), and once it went out, so that a
	// restart does not announce it again. Without these writes a crash
	// before the next checkpoint would restore the alert as it was up to
	// checkpoint_interval earlier: resolved since and firing again (a
	// second page, a second resolve), or fired since and forgotten (a
	// second onset with another start, or no resolve at all).
	if out.transitions != nil {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		c.writeTransitions(ctx, out.transitions, true)
	}
	if c.logsOut != nil && out.records.Len() > 0 {
		if err := c.logsOut.ConsumeLogs(ctx, out.logs); err != nil {
			c.logger.Warn("Sending anomaly alert events failed", zap.Error(err))
		}
	}
	c.delivered(out)
	if out.transitions != nil {
		c.writeTransitions(ctx, out.transitions, false)
	}
}

// delivered records that the alert events of out's transitions went out:
// state written from now on does not announce them again. In a fleet,
// only those of services still owned: the coordinator reports a service
// given up before it releases it, and the alert router drops the events
// of a service it does not own, so the events of a service handed over
// meanwhile may never have reached a router. Their series stay pending,
// and Released hands them over to be announced by the next owner.
func (c *core) delivered(out *output) {
	if len(out.changed)+len(out.resolved) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, list := range [][]*series{out.changed, out.resolved} {
		for _, s := range list {
			if c.fleet == nil {
				s.pending = false
			} else if c.fleet.owner.Owns(s.id.service) {
				s.pending = false
				c.fleet.takeUndelivered(s.id.service, s)
			}
		}
	}
}

// flush feeds every series with data in the interval ending at t to its
// detector, forgets idle series, and returns what to emit.
func (c *core) flush(t time.Time) *output {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	out := newOutput(t, c.now())
	points := c.intervalPoints()
	for _, dps := range []pmetric.NumberDataPointSlice{out.score, out.expected, out.lower, out.upper} {
		dps.EnsureCapacity(len(points))
	}
	for _, p := range points {
		c.observe(out, p.id, t, p.value, p.total)
	}
	c.expire(out, t)
	if c.fleet != nil {
		// Forgotten, but not before their resolves went out (delivered).
		for _, s := range out.resolved {
			c.fleet.undelivered(s)
		}
	}
	out.transitions = c.newTransitionWrite(out)
	c.publish()
	if c.rejectedNow > 0 {
		c.tel.rejected.Add(context.Background(), int64(c.rejectedNow))
		c.rejectedSinceLog += c.rejectedNow
		// At the cap the same new series knock every interval: say so once
		// per capLogEvery with the count, not once a minute for hours.
		if c.lastCapLog.IsZero() || t.Sub(c.lastCapLog) >= capLogEvery {
			c.logger.Warn("Anomaly connector at max_series: new series are not watched",
				zap.Int("max_series", c.cfg.MaxSeries), zap.Int("rejected", c.rejectedSinceLog))
			c.lastCapLog, c.rejectedSinceLog = t, 0
		}
	}
	if out.points > 0 {
		c.tel.observed.Add(context.Background(), int64(out.points))
	}
	c.tel.active.Store(int64(len(c.series)))
	warming := 0
	for _, s := range c.series {
		if s.last.WarmingUp {
			warming++
		}
	}
	c.tel.warming.Store(int64(warming))
	clear(c.red)
	clear(c.custom)
	c.pendingNew, c.rejectedNow = 0, 0
	return out
}

// capLogEvery is the most often the max_series warning is logged; the
// otelcol_anomaly_series_rejected counter has every rejection.
const capLogEvery = 10 * time.Minute

// point is one value a series yields for an interval.
type point struct {
	id    identity
	value float64
	total float64 // events behind a ratio; -1 for a plain value
}

// intervalPoints derives this interval's points from the accumulators:
// request rate per second over the time the counted calls span, error ratio
// over the interval's calls, latency quantiles from the interval's bucket
// counts, and selected metrics. Called with c.mu held.
func (c *core) intervalPoints() []point {
	interval := c.cfg.Interval.Seconds()
	perSecond := func(v float64, covered span) float64 {
		if d := covered.duration(); d > 0 {
			return v / d.Seconds()
		}
		return v / interval
	}
	points := make([]point, 0, len(c.red)*(2+len(c.cfg.RED.Quantiles))+len(c.custom))
	for _, g := range c.red {
		if g == nil {
			continue // refused for lack of room
		}
		if g.hasCalls {
			points = append(points, point{
				id:    identity{metric: MetricRequestRate, service: g.service, operation: g.operation},
				value: perSecond(g.calls, g.callsSpan), total: -1,
			})
			ratio := 0.0
			if g.calls > 0 {
				ratio = g.errors / g.calls
			}
			points = append(points, point{
				id:    identity{metric: MetricErrorRatio, service: g.service, operation: g.operation},
				value: ratio, total: g.calls,
			})
		}
		if bounds, buckets := g.latencyLayout(); buckets != nil && sum(buckets) >= float64(c.cfg.RED.MinLatencySamples) {
			for _, q := range c.cfg.RED.Quantiles {
				if v := histogramQuantile(q, bounds, buckets); !math.IsNaN(v) {
					points = append(points, point{
						id:    identity{metric: quantileMetric(q), service: g.service, operation: g.operation},
						value: v, total: -1,
					})
				}
			}
		}
	}
	for _, a := range c.custom {
		if a == nil || math.IsNaN(a.value) {
			continue
		}
		v := a.value
		if a.rate {
			v = perSecond(v, a.covered)
		}
		points = append(points, point{id: a.id, value: v, total: -1})
	}
	return points
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// quantileMetric names the latency series of quantile q ("latency_p95",
// "latency_p99.9").
func quantileMetric(q float64) string {
	return latencyPrefix + strconv.FormatFloat(q*100, 'f', -1, 64)
}

// observe feeds one point (total >= 0: a ratio over total events) to the
// series' detector, creating the series if there is room, and turns the
// verdict into output and alert events.
func (c *core) observe(out *output, id identity, t time.Time, v, total float64) {
	key := id.key()
	s, ok := c.series[key]
	if !ok {
		if len(c.series) >= c.cfg.MaxSeries {
			c.rejectedNow++
			return
		}
		s = c.newSeries(id)
		c.series[key] = s
	}
	s.lastSeen = t
	// The point describes the interval [t-Interval, t): it is learned at
	// the interval's start, so that the last minutes of a Friday teach and
	// are judged by Friday's seasonal slot, not Saturday's.
	start := t.Add(-c.cfg.Interval)
	var r anomaly.Result
	if total >= 0 {
		r = s.det.ObserveRatio(start, v, total)
	} else {
		r = s.det.Observe(start, v)
	}
	if r.Reason == anomaly.ReasonInvalid {
		return
	}
	out.addPoint(s, r)
	s.last, s.lastValue = r, v
	switch {
	case r.Anomalous && (!s.firing || s.announce || t.Sub(s.lastSent) >= c.cfg.ResendInterval):
		if !s.firing || s.announce {
			out.change(s)
		}
		if !s.firing {
			s.since = t
		}
		s.firing, s.lastSent, s.announce = true, t, false
		c.event(out, s, conventions.StateFiring, v, r, false)
	case !r.Anomalous && (s.firing || s.announce):
		// A resolve, or one written ahead and announced again.
		out.change(s)
		s.firing, s.announce = false, false
		c.event(out, s, conventions.StateResolved, v, r, false)
	}
}

func (c *core) newSeries(id identity) *series {
	return &series{id: id, det: anomaly.New(c.cfg.Detector), fingerprint: c.fingerprint(id)}
}

// expire forgets series and input streams idle for IdleTimeout; a firing
// series is resolved as it goes, since nothing will clear it any more.
// Firing series without data this interval are re-sent too, so the alert
// engine does not resolve them while they wait for data.
//
// A series restored to be announced (series.announce) that had no point
// this interval is announced here, firing or resolved.
//
// In a fleet, the series of a service not owned are left as they are:
// held while the service is being acquired (the coordinator reports it
// owned once every handler has loaded it, this connector perhaps first)
// or released. An event of theirs would be dropped by the alert router,
// which ingests only services owned, while the series would count it
// sent: a resolve handed over to be announced lost (the router closing
// the incident only at its resolve_timeout), a firing alert to re-send at
// the first interval re-sent only at resend_interval. They keep announce
// and lastSent for the first interval that owns them, or for Released to
// hand over.
func (c *core) expire(out *output, t time.Time) {
	noData := anomaly.Result{Score: math.NaN(), Expected: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
	for key, s := range c.series {
		if c.fleet != nil && !c.fleet.owner.Owns(s.id.service) {
			continue
		}
		switch {
		case t.Sub(s.lastSeen) >= c.cfg.IdleTimeout:
			s.gone = true
			if s.firing || s.announce {
				s.firing, s.announce, s.pending = false, false, true
				c.event(out, s, conventions.StateResolved, math.NaN(), noData, true)
				out.resolved = append(out.resolved, s)
			}
			delete(c.series, key)
			out.ended = append(out.ended, s)
		case s.announce:
			s.announce = false
			out.change(s)
			if s.firing {
				s.lastSent = t
				c.event(out, s, conventions.StateFiring, math.NaN(), noData, false)
			} else {
				c.event(out, s, conventions.StateResolved, math.NaN(), noData, false)
			}
		case s.firing && s.lastSeen.Before(t) && t.Sub(s.lastSent) >= c.cfg.ResendInterval:
			s.lastSent = t
			c.event(out, s, conventions.StateFiring, math.NaN(), noData, false)
		}
	}
	c.deltas.Expire(t)
}

// endSeries returns the markers that end the four gauges of each series,
// stamped ts: an exporter drops them at once instead of serving their last
// values until its metric_expiration (see package staleness).
func endSeries(list []*series, ts pcommon.Timestamp) pmetric.Metrics {
	o := newOutput(time.Time{}, time.Time{})
	for _, s := range list {
		// Values of zero, not NaN, so that addPoint writes all four.
		o.addPoint(s, anomaly.Result{})
	}
	return staleness.Markers(o.metrics, nil, ts)
}

// describe is the human name of a series in an event body.
func describe(id identity) string {
	parts := make([]string, 0, 3+len(id.attrs))
	if id.service != "" {
		parts = append(parts, id.service)
	}
	if id.operation != "" {
		parts = append(parts, id.operation)
	}
	parts = append(parts, id.metric)
	for _, a := range id.attrs {
		parts = append(parts, a.key+"="+a.value)
	}
	return strings.Join(parts, " ")
}
