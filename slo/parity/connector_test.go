package parity

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/connector/sloconnector"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// Span durations of the replay: the latency SLO's threshold is 300ms.
const (
	fastSpan = 50 * time.Millisecond
	slowSpan = 500 * time.Millisecond
)

// connStatus is what the connector emitted for one SLO at one
// evaluation: its metrics, and the alert events of that evaluation.
type connStatus struct {
	burn           map[string]float64 // by window label
	budget         float64
	budgetSeen     bool
	firing         map[string]float64 // vigil_slo_alert_firing by severity
	good, bad      float64            // vigil_slo_events
	eventsSeen     bool
	events         []alertEvent
	burnPoints     int
	objectivePoint bool
}

// alertEvent is one alert event (log record) the connector emitted.
type alertEvent struct {
	severity, state string
}

// connectorReplay is the connector's side of the comparison: evaluations
// by Unix second, then by SLO ID.
type connectorReplay struct {
	steps map[int64]map[string]*connStatus
	spans uint64 // spans consumed
	took  time.Duration
}

// runConnector feeds the traffic into the slo connector, built by its
// factory as a collector builds it (traces→metrics and traces→logs
// instances sharing one connector), as pdata spans: per 30s tick one
// ptrace.Traces with a resource per service, holding a server span per
// request of the tick, ending at the tick's end. Requests of traffic()
// that failed have status error; slow ones last longer than the latency
// SLO's 300ms threshold; the edge service gets the same requests with its
// own failures (edgeBurst). The connector's clock is the simulated one,
// set to each tick's end before its spans are consumed, as the tracker
// replay does, and the connector is evaluated at every whole minute after
// that minute's last tick. What it emits is collected per evaluation.
func runConnector(specFiles []string, end time.Time) (*connectorReplay, error) {
	began := time.Now()
	ctx := context.Background()
	clock := tracker.NewSimClock(simStart)
	f := sloconnector.NewReplayFactory(clock.Now)
	cfg := f.CreateDefaultConfig().(*sloconnector.Config)
	cfg.Specs = specFiles
	cfg.EvaluationInterval = step
	cfg.ReloadCheckInterval = -1

	out := &connectorReplay{steps: map[int64]map[string]*connStatus{}}
	var mu sync.Mutex // guards current; the consumers run on Evaluate's goroutine
	var current map[string]*connStatus
	statusOf := func(attrs pcommon.Map) *connStatus {
		svc, _ := attrs.Get(conventions.LabelServiceName)
		name, _ := attrs.Get(conventions.LabelSLO)
		return statusFor(current, svc.AsString()+"/"+name.AsString())
	}
	metricsOut, err := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		mu.Lock()
		defer mu.Unlock()
		return collectMetrics(md, statusOf)
	})
	if err != nil {
		return nil, err
	}
	logsOut, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		return collectEvents(ld, current)
	})
	if err != nil {
		return nil, err
	}

	set := connectortest.NewNopSettings(f.Type())
	set.ID = component.NewIDWithName(f.Type(), "parity")
	tm, err := f.CreateTracesToMetrics(ctx, set, cfg, metricsOut)
	if err != nil {
		return nil, err
	}
	tl, err := f.CreateTracesToLogs(ctx, set, cfg, logsOut)
	if err != nil {
		return nil, err
	}
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{tm, tl} {
		if err := c.Start(ctx, host); err != nil {
			return nil, err
		}
	}
	defer func() {
		_ = tm.Shutdown(ctx)
		_ = tl.Shutdown(ctx)
	}()
	eval, ok := tm.(sloconnector.Evaluator)
	if !ok {
		return nil, fmt.Errorf("the connector's %T is not a sloconnector.Evaluator", tm)
	}

	b := newSpanBuilder()
	for t := simStart.Add(tick); !t.After(end); t = t.Add(tick) {
		clock.Set(t)
		td, n := b.build(t)
		if n > 0 {
			out.spans += uint64(n)
			// The collector hands every instance the same spans; only
			// the first counts them.
			if err := tm.ConsumeTraces(ctx, td); err != nil {
				return nil, err
			}
			if err := tl.ConsumeTraces(ctx, td); err != nil {
				return nil, err
			}
		}
		if t.Sub(simStart)%step != 0 {
			continue
		}
		mu.Lock()
		current = map[string]*connStatus{}
		out.steps[t.Unix()] = current
		mu.Unlock()
		if err := eval.Evaluate(ctx, t); err != nil {
			return nil, err
		}
	}
	out.took = time.Since(began)
	return out, nil
}

func statusFor(m map[string]*connStatus, id string) *connStatus {
	s := m[id]
	if s == nil {
		s = &connStatus{burn: map[string]float64{}, firing: map[string]float64{}}
		m[id] = s
	}
	return s
}

// collectMetrics reads the SLO metrics of one evaluation.
func collectMetrics(md pmetric.Metrics, statusOf func(pcommon.Map) *connStatus) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					return fmt.Errorf("connector emitted %s of type %v", m.Name(), m.Type())
				}
				for d := 0; d < dps.Len(); d++ {
					dp := dps.At(d)
					v := dp.DoubleValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						v = float64(dp.IntValue())
					}
					attrs := dp.Attributes()
					st := statusOf(attrs)
					switch m.Name() {
					case conventions.MetricSLOEvents:
						st.eventsSeen = true
						o, _ := attrs.Get(conventions.LabelOutcome)
						if o.Str() == conventions.OutcomeBad {
							st.bad = v
						} else {
							st.good = v
						}
					case conventions.MetricSLOBurnRate:
						w, _ := attrs.Get(conventions.LabelWindow)
						st.burn[w.Str()] = v
						st.burnPoints++
					case conventions.MetricSLOErrorBudgetRemaining:
						st.budget, st.budgetSeen = v, true
					case conventions.MetricSLOAlertFiring:
						s, _ := attrs.Get(conventions.LabelSeverity)
						st.firing[s.Str()] = v
					case conventions.MetricSLOObjective:
						st.objectivePoint = true
					}
				}
			}
		}
	}
	return nil
}

// collectEvents reads the alert events of one evaluation.
func collectEvents(ld plog.Logs, current map[string]*connStatus) error {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				attrs := lrs.At(k).Attributes()
				get := func(key string) string {
					v, _ := attrs.Get(key)
					return v.AsString()
				}
				id := get(conventions.AttrServiceName) + "/" + get(conventions.AttrSLOName)
				st := statusFor(current, id)
				st.events = append(st.events, alertEvent{severity: get(conventions.AttrAlertSeverity), state: get(conventions.AttrAlertState)})
			}
		}
	}
	return nil
}

// spanBuilder makes the spans of a tick, reusing one ptrace.Traces: the
// connector does not keep or change what it consumes.
type spanBuilder struct {
	td                     ptrace.Traces
	checkout, checkoutEdge ptrace.SpanSlice
}

func newSpanBuilder() *spanBuilder {
	b := &spanBuilder{td: ptrace.NewTraces()}
	for _, svc := range []string{"checkout", "checkout-edge"} {
		rs := b.td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("parity")
		if svc == "checkout" {
			b.checkout = ss.Spans()
		} else {
			b.checkoutEdge = ss.Spans()
		}
	}
	return b
}

// build returns the spans of the tick that ends at t, and their number.
// The checkout service's first failed requests fail, the next slow ones
// are slow (a request is never both, so that each SLO's bad count is
// exactly traffic()'s); the edge service's requests are the same but for
// their failures.
func (b *spanBuilder) build(t time.Time) (ptrace.Traces, int) {
	total, failed, slow := traffic(t)
	edgeFailed := failed
	if off := t.Sub(simStart); off > edgeBurst.from && off <= edgeBurst.to {
		edgeFailed = total * edgeBurst.errorsPerK / 1000
	}
	fill(b.checkout, t, int(total), int(failed), int(slow))
	fill(b.checkoutEdge, t, int(total), int(edgeFailed), 0)
	return b.td, 2 * int(total)
}

var (
	traceID = pcommon.TraceID{0x70, 0x61, 0x72, 0x69, 0x74, 0x79}
	spanID  = pcommon.SpanID{0x70, 0x61, 0x72, 0x69, 0x74, 0x79}
)

func fill(spans ptrace.SpanSlice, t time.Time, total, failed, slow int) {
	if failed+slow > total {
		panic(fmt.Sprintf("tick %v: %d failed and %d slow of %d requests", t, failed, slow, total))
	}
	for spans.Len() < total {
		s := spans.AppendEmpty()
		s.SetName("POST /checkout")
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(traceID)
		s.SetSpanID(spanID)
	}
	if spans.Len() > total {
		n := 0
		spans.RemoveIf(func(ptrace.Span) bool { n++; return n > total })
	}
	endTS := pcommon.NewTimestampFromTime(t)
	fastTS := pcommon.NewTimestampFromTime(t.Add(-fastSpan))
	slowTS := pcommon.NewTimestampFromTime(t.Add(-slowSpan))
	for i := 0; i < total; i++ {
		s := spans.At(i)
		s.SetEndTimestamp(endTS)
		code, start := ptrace.StatusCodeOk, fastTS
		switch {
		case i < failed:
			code = ptrace.StatusCodeError
		case i < failed+slow:
			start = slowTS
		}
		s.SetStartTimestamp(start)
		s.Status().SetCode(code)
	}
}

// compareConnector holds what the connector emitted for def against
// Prometheus at every step: each vigil_slo_burn_rate window and
// vigil_slo_error_budget_remaining_ratio against the recording rules
// (the same tolerances as the tracker), vigil_slo_events against the
// counter Prometheus was fed (exactly), vigil_slo_alert_firing of each
// severity against the alerting rule's expression (exactly), and the
// alert events: the firing state they announce after each evaluation,
// and so their firing and resolved transitions, must be Prometheus's at
// every step. The connector must also agree with the tracker library it
// is built on, to rounding, since both evaluate the same counts.
func compareConnector(t *testing.T, prom *promServer, def *slo.SLO, conn *connectorReplay, steps []time.Time,
	statusAt func(time.Time) tracker.Status, burn map[time.Duration]map[int64]float64, budget map[int64]float64,
	promFiring map[string]map[int64]bool) {
	t.Helper()
	first, last := steps[0], steps[len(steps)-1]
	windows := slo.BurnRateWindows(def.Window.Period())
	outcomes := []string{conventions.OutcomeGood, conventions.OutcomeBad}
	counter := map[string]map[int64]float64{}
	for _, o := range outcomes {
		counter[o] = single(t, "counter "+o, prom.queryRange(selector(conventions.MetricSLOEventsTotal, def, conventions.LabelOutcome, o), first, last, step))
	}

	var stats []*diffStat
	stat := func(name string) *diffStat {
		d := &diffStat{name: "connector " + name, side: "connector"}
		stats = append(stats, d)
		return d
	}
	burnStats := map[time.Duration]*diffStat{}
	for _, w := range windows {
		burnStats[w] = stat("burn rate " + slo.FormatDuration(w))
	}
	budgetStat := stat("error budget remaining")
	countStats := map[string]*diffStat{}
	for _, o := range outcomes {
		countStats[o] = stat(conventions.MetricSLOEvents + " " + o)
	}

	severities := slices.Sorted(maps.Keys(promFiring))
	evFiring := map[string]bool{}
	var connEdges, promEdges []string
	prevProm := map[string]bool{}
	var alertMismatches, eventMismatches, resends int
	var trackerMaxDiff float64
	trackerDiffs := 0
	for _, at := range steps {
		ts := at.Unix()
		st := conn.steps[ts][def.ID()]
		if st == nil {
			t.Fatalf("connector: nothing emitted for %s at %s", def.ID(), at.Format(time.RFC3339))
		}
		if !st.budgetSeen || !st.eventsSeen || !st.objectivePoint || st.burnPoints != len(windows) {
			t.Fatalf("connector at %s: budget %v, events %v, objective %v, %d burn rate points (want %d)",
				at.Format(time.RFC3339), st.budgetSeen, st.eventsSeen, st.objectivePoint, st.burnPoints, len(windows))
		}
		tr := statusAt(at)
		sameAsTracker := func(c, l float64) {
			d := math.Abs(c - l)
			trackerMaxDiff = max(trackerMaxDiff, d)
			if d > 1e-12*math.Max(1, math.Abs(l)) {
				trackerDiffs++
			}
		}
		for _, w := range windows {
			v, ok := st.burn[slo.FormatDuration(w)]
			if !ok {
				t.Fatalf("connector at %s: no burn rate for window %s", at.Format(time.RFC3339), slo.FormatDuration(w))
			}
			burnStats[w].observe(t, at, v, burn[w][ts], burnFloor)
			lib, _ := tr.BurnRate(w)
			sameAsTracker(v, lib)
		}
		budgetStat.observe(t, at, st.budget, budget[ts], budgetFloor)
		sameAsTracker(st.budget, tr.ErrorBudgetRemaining)
		countStats[conventions.OutcomeGood].observe(t, at, st.good, counter[conventions.OutcomeGood][ts], countFloor)
		countStats[conventions.OutcomeBad].observe(t, at, st.bad, counter[conventions.OutcomeBad][ts], countFloor)

		if len(st.firing) != len(severities) {
			t.Fatalf("connector at %s: vigil_slo_alert_firing for %v, the rules alert on %v", at.Format(time.RFC3339), slices.Sorted(maps.Keys(st.firing)), severities)
		}
		for _, ev := range st.events {
			if _, ok := promFiring[ev.severity]; !ok {
				t.Fatalf("connector at %s: alert event of severity %q", at.Format(time.RFC3339), ev.severity)
			}
			switch ev.state {
			case conventions.StateFiring:
				if evFiring[ev.severity] {
					resends++
				} else {
					connEdges = append(connEdges, ev.severity+" "+edge(at, true))
				}
				evFiring[ev.severity] = true
			case conventions.StateResolved:
				if !evFiring[ev.severity] {
					t.Errorf("connector at %s: %s resolved, never announced firing", at.Format(time.RFC3339), ev.severity)
				}
				connEdges = append(connEdges, ev.severity+" "+edge(at, false))
				evFiring[ev.severity] = false
			default:
				t.Fatalf("connector at %s: alert event with state %q", at.Format(time.RFC3339), ev.state)
			}
		}
		for _, sev := range severities {
			p := promFiring[sev][ts]
			if p != prevProm[sev] {
				promEdges = append(promEdges, sev+" "+edge(at, p))
			}
			prevProm[sev] = p
			v, ok := st.firing[sev]
			if !ok {
				t.Fatalf("connector at %s: no vigil_slo_alert_firing for %s", at.Format(time.RFC3339), sev)
			}
			if (v == 1) != p || (v != 0 && v != 1) {
				alertMismatches++
				if alertMismatches <= 5 {
					t.Errorf("%s alert at %s (+%v): connector vigil_slo_alert_firing %v, prometheus firing=%v",
						sev, at.Format(time.RFC3339), at.Sub(simStart), v, p)
				}
			}
			if evFiring[sev] != p {
				eventMismatches++
				if eventMismatches <= 5 {
					t.Errorf("%s alert at %s (+%v): connector's alert events say firing=%v, prometheus firing=%v",
						sev, at.Format(time.RFC3339), at.Sub(simStart), evFiring[sev], p)
				}
			}
		}
	}
	for _, d := range stats {
		d.report(t)
	}
	t.Logf("connector vs tracker: max |diff| %.3g over burn rates and budget; %d values apart by more than 1e-12", trackerMaxDiff, trackerDiffs)
	if trackerDiffs > 0 {
		t.Errorf("the connector's burn rates or budget differ from the tracker's on %d values", trackerDiffs)
	}
	if alertMismatches > 5 {
		t.Errorf("vigil_slo_alert_firing: %d step disagreements in all", alertMismatches)
	}
	if eventMismatches > 5 {
		t.Errorf("alert events: %d step disagreements in all", eventMismatches)
	}
	if len(severities) == 0 {
		return
	}
	t.Logf("alert event transitions, connector:  %s", strings.Join(connEdges, ", "))
	t.Logf("alert transitions, prometheus:       %s", strings.Join(promEdges, ", "))
	t.Logf("connector re-sent firing alert events %d times (alert_resend_interval)", resends)
	if !slices.Equal(connEdges, promEdges) {
		t.Errorf("the connector's alert event transitions differ from prometheus's")
	}
	if len(connEdges) == 0 {
		t.Errorf("no alert event: the comparison of transitions is vacuous")
	}
}
