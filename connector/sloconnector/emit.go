package sloconnector

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/staleness"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// buildMetrics turns the statuses of an evaluation into the vigil_slo_*
// metrics of DESIGN.md. Every series carries slo and service, the SLO's
// group_by attributes under their own keys (the Prometheus exporter makes
// http.route http_route, as the generated rules expect) and the SLO's
// labels. The objective has one series per SLO; the others one per SLO
// series (group).
func buildMetrics(statuses []tracker.Status, start, at time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	startTS, ts := pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(at)

	events := sm.Metrics().AppendEmpty()
	events.SetName(conventions.MetricSLOEvents)
	events.SetDescription("SLI events by outcome.")
	events.SetUnit("{event}")
	sum := events.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)

	objective := newGauge(sm, conventions.MetricSLOObjective, "The SLO's objective as a ratio.")
	burn := newGauge(sm, conventions.MetricSLOBurnRate, "Error-budget burn rate over the window: 1 spends the budget exactly over the SLO period.")
	budget := newGauge(sm, conventions.MetricSLOErrorBudgetRemaining, "Error budget remaining: 1 untouched, 0 spent, negative overspent.")
	budgetData := newGauge(sm, conventions.MetricSLOErrorBudgetData, "Seconds of data the error budget is computed from; less than the SLO period on a fresh instance, a new SLO, after a quiet spell or early in a calendar period.")
	firing := newGauge(sm, conventions.MetricSLOAlertFiring, "1 while the burn-rate alert of the severity fires.")

	seen := map[string]bool{}
	for i := range statuses {
		st := &statuses[i]
		def := st.SLO
		for _, o := range []struct {
			outcome string
			value   uint64
		}{{conventions.OutcomeGood, st.TotalGood}, {conventions.OutcomeBad, st.TotalBad}} {
			dp := sum.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(startTS)
			dp.SetTimestamp(ts)
			dp.SetIntValue(int64(o.value))
			seriesAttrs(dp.Attributes(), def, st.Group)
			dp.Attributes().PutStr(conventions.LabelOutcome, o.outcome)
		}
		if !seen[st.SLOID] {
			seen[st.SLOID] = true
			dp := objective.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(objectiveRatio(def))
			seriesAttrs(dp.Attributes(), def, nil)
		}
		for _, w := range st.Windows {
			dp := burn.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(w.BurnRate)
			seriesAttrs(dp.Attributes(), def, st.Group)
			dp.Attributes().PutStr(conventions.LabelWindow, slo.FormatDuration(w.Window))
		}
		dp := budget.DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(st.ErrorBudgetRemaining)
		seriesAttrs(dp.Attributes(), def, st.Group)
		dp = budgetData.DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(budgetDataSeconds(st.DataSince, at))
		seriesAttrs(dp.Attributes(), def, st.Group)
		for _, a := range st.Alerts {
			dp := firing.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			if a.Firing {
				dp.SetIntValue(1)
			} else {
				dp.SetIntValue(0)
			}
			seriesAttrs(dp.Attributes(), def, st.Group)
			dp.Attributes().PutStr(conventions.LabelSeverity, a.Severity)
		}
	}
	return md
}

// budgetDataSeconds is vigil_slo_error_budget_data_seconds: the seconds
// from since (tracker.Status.DataSince) to at, 0 for a series without an
// event in its window.
func budgetDataSeconds(since, at time.Time) float64 {
	if since.IsZero() || since.After(at) {
		return 0
	}
	return at.Sub(since).Seconds()
}

// endSeries appends to md the markers that end the series the last
// evaluation emitted and this one (md, from statuses) does not: a service
// handed to another evaluator of a fleet, an SLO a reload removed or
// whose labels, windows or alert severities it changed, a group_by series
// dropped as idle. Without them the exporter would serve their last
// values until its metric_expiration, beside the new owner's in a fleet
// (see package staleness). An SLO's objective series ends with its last
// series.
func (c *sloConnector) endSeries(md pmetric.Metrics, statuses []tracker.Status, at time.Time) {
	shown := c.shown
	c.shown, c.shownAt = statuses, at
	if sameSeries(shown, statuses) {
		return
	}
	current := make(map[string]*tracker.Status, len(statuses))
	for i := range statuses {
		current[statusKey(&statuses[i])] = &statuses[i]
	}
	// gone: the statuses whose series may have ended, all of those no
	// longer evaluated, and the old version of those a reload changed;
	// replacing: the new versions of the latter whose series keep their
	// attributes but for some windows or severities.
	var gone, replacing []tracker.Status
	for i := range shown {
		cur, ok := current[statusKey(&shown[i])]
		switch {
		case !ok:
			gone = append(gone, shown[i])
		case !sameEmission(cur, &shown[i]):
			gone = append(gone, shown[i])
			if sameAttributes(cur.SLO, shown[i].SLO) {
				replacing = append(replacing, *cur)
			}
		}
	}
	if len(gone) == 0 {
		return
	}
	// What still stands, compared as emitted (name and attributes): the
	// series of replacing, and every SLO's objective. Only the points of
	// metrics named there need comparing.
	kept := map[string]bool{}
	keptNames := map[string]bool{conventions.MetricSLOObjective: true}
	eachPoint(buildMetrics(replacing, c.started, at), func(name string, dp pmetric.NumberDataPoint) {
		kept[seriesIdentity(name, dp.Attributes())] = true
		keptNames[name] = true
	})
	objective := pcommon.NewMap()
	var last *slo.SLO
	for i := range statuses {
		if def := statuses[i].SLO; def != last {
			last = def
			objective.Clear()
			seriesAttrs(objective, def, nil)
			kept[seriesIdentity(conventions.MetricSLOObjective, objective)] = true
		}
	}
	ended := staleness.Markers(buildMetrics(gone, c.started, at), func(name string, attrs pcommon.Map) bool {
		return !keptNames[name] || !kept[seriesIdentity(name, attrs)]
	}, pcommon.NewTimestampFromTime(at))
	ended.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
}

// endService ends at once the series the last evaluation emitted for
// service, which this evaluator of a fleet has just given up (Released),
// rather than at its next evaluation: that falls on the tick at which the
// service's next owner, whose evaluations tick at the same instants, may
// write the same series (no label tells evaluators apart), and a marker
// and a value at one time are refused by Prometheus and Mimir (duplicate
// sample for timestamp, 400), which blocks the remote write exporter of
// whichever came second for good. Ended at the release, they end before
// the next owner can have written them (it claims the service once the
// lease is free). The caller holds fleetState.mu.
func (c *sloConnector) endService(ctx context.Context, service string) {
	var gone, kept []tracker.Status
	for i := range c.shown {
		if c.shown[i].SLO.Service == service {
			gone = append(gone, c.shown[i])
		} else {
			kept = append(kept, c.shown[i])
		}
	}
	if len(gone) == 0 {
		return
	}
	c.shown = kept
	if c.metricsOut == nil {
		return
	}
	// After the last evaluation's points, never at their time.
	at := staleness.After(c.shownAt, c.now())
	ended := staleness.Markers(buildMetrics(gone, c.started, at), nil, pcommon.NewTimestampFromTime(at))
	if err := c.metricsOut.ConsumeMetrics(ctx, ended); err != nil {
		c.logger.Warn("Ending the SLO series of a service given up failed; the exporter drops them at its metric_expiration",
			zap.String("service", service), zap.Error(err))
	}
}

// sameSeries reports whether two evaluations' statuses are of the same
// series, emitted alike, in the same order, as they are while nothing is
// added, removed, moved or changed by a reload: the common case, checked
// without allocating.
func sameSeries(a, b []tracker.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].SLOID != b[i].SLOID || !slices.Equal(a[i].Group, b[i].Group) || !sameEmission(&a[i], &b[i]) {
			return false
		}
	}
	return true
}

// sameEmission reports whether two statuses of one series are emitted
// under the same names and attributes (see buildMetrics): the same
// definition, or one a reload made with the same name, service, labels
// and group_by, and the same burn-rate windows and alert severities.
func sameEmission(a, b *tracker.Status) bool {
	if a.SLO == b.SLO {
		return true
	}
	if !sameAttributes(a.SLO, b.SLO) || len(a.Windows) != len(b.Windows) || len(a.Alerts) != len(b.Alerts) {
		return false
	}
	for i := range a.Windows {
		if a.Windows[i].Window != b.Windows[i].Window {
			return false
		}
	}
	for i := range a.Alerts {
		if a.Alerts[i].Severity != b.Alerts[i].Severity {
			return false
		}
	}
	return true
}

// eachPoint calls f with the metric name and every point of md
// (buildMetrics makes gauges and sums only).
func eachPoint(md pmetric.Metrics, f func(name string, dp pmetric.NumberDataPoint)) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					continue
				}
				for _, dp := range dps.All() {
					f(m.Name(), dp)
				}
			}
		}
	}
}

// sameAttributes reports whether two definitions give their series the
// same attributes (seriesAttrs).
func sameAttributes(a, b *slo.SLO) bool {
	return a.Name == b.Name && a.Service == b.Service && maps.Equal(a.Labels, b.Labels) && slices.Equal(a.GroupBy, b.GroupBy)
}

// statusKey identifies an SLO series across evaluations.
func statusKey(st *tracker.Status) string {
	return st.SLOID + "\x00" + strings.Join(st.Group, "\x00")
}

// seriesIdentity is a series' metric name and attributes, sorted by key.
func seriesIdentity(name string, attrs pcommon.Map) string {
	keys := make([]string, 0, attrs.Len())
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		v, _ := attrs.Get(k)
		b.WriteString("\x00")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(v.AsString())
	}
	return b.String()
}

// objectiveRatio is the objective as a ratio, rounded so that 99.9%
// reads 0.999 and not 0.9990000000000001 (99.9/100 in binary floating
// point): the value users compare with their spec.
func objectiveRatio(def *slo.SLO) float64 {
	return math.Round(def.ObjectiveRatio()*1e12) / 1e12
}

func newGauge(sm pmetric.ScopeMetrics, name, description string) pmetric.Gauge {
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	m.SetDescription(description)
	// No unit: the Prometheus exporter would append a "_ratio" suffix for
	// "1", and the contract's names already say what they are.
	return m.SetEmptyGauge()
}

// seriesAttrs puts the attributes that identify an SLO series. group is
// nil for the SLO as a whole.
func seriesAttrs(attrs pcommon.Map, def *slo.SLO, group []string) {
	for k, v := range def.Labels {
		attrs.PutStr(k, v)
	}
	for i, v := range group {
		if i < len(def.GroupBy) {
			attrs.PutStr(def.GroupBy[i], v)
		}
	}
	attrs.PutStr(conventions.LabelSLO, def.Name)
	attrs.PutStr(conventions.LabelServiceName, def.Service)
}
