package sloconnector

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// Reasons events are refused, as the reason attribute of
// otelcol_slo_refused_events. The tracker's own refusals are read from
// its Stats.
const (
	reasonTooLate         = "too_late"
	reasonInFuture        = "in_future"
	reasonGroupLimit      = "group_limit"
	reasonGroupArity      = "group_arity"
	reasonUnknownSLO      = "unknown_slo"
	reasonNotABoundary    = "not_a_bucket_boundary"
	reasonConditionError  = "condition_error"
	attrReason            = "reason"
	attrSLO               = "slo_id"
	metricRefusedEvents   = "otelcol_slo_refused_events"
	metricSeries          = "otelcol_slo_series"
	metricGroupLimitReach = "otelcol_slo_group_limit_reached"
	metricPointsDropped   = "otelcol_slo_metric_points_dropped"
)

// telemetry is the connector's own telemetry, through the component's
// MeterProvider: refused events by reason, series per SLO, whether an SLO
// hit its group cap, and metric points dropped by reason (out of order,
// without a value). It reads the trackers' counters when collected.
type telemetry struct {
	tracker            *tracker.Tracker
	metrics            *metricAccounting
	dropped            metric.Int64ObservableCounter
	notABoundary       atomic.Uint64
	conditionErrors    atomic.Uint64
	registration       metric.Registration
	refused            metric.Int64ObservableCounter
	series, capReached metric.Int64ObservableGauge
}

func newTelemetry(set component.TelemetrySettings, tr *tracker.Tracker, metrics *metricAccounting) (*telemetry, error) {
	t := &telemetry{tracker: tr, metrics: metrics}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err error
	if t.refused, err = meter.Int64ObservableCounter(metricRefusedEvents,
		metric.WithDescription("Number of SLI events the connector could not count, by reason."),
		metric.WithUnit("{event}")); err != nil {
		return nil, err
	}
	if t.series, err = meter.Int64ObservableGauge(metricSeries,
		metric.WithDescription("Number of SLO series tracked, by SLO."),
		metric.WithUnit("{series}")); err != nil {
		return nil, err
	}
	if t.capReached, err = meter.Int64ObservableGauge(metricGroupLimitReach,
		metric.WithDescription("1 while an SLO has as many group_by series as max_groups allows."),
		metric.WithUnit("1")); err != nil {
		return nil, err
	}
	if t.dropped, err = meter.Int64ObservableCounter(metricPointsDropped,
		metric.WithDescription("Number of metric points SLIs select that were dropped, by reason: out_of_order (not after the previous point of their stream), no_recorded_value (a staleness marker), invalid (NaN, or buckets that do not fit the bounds)."),
		metric.WithUnit("{point}")); err != nil {
		return nil, err
	}
	t.registration, err = meter.RegisterCallback(t.collect, t.refused, t.series, t.capReached, t.dropped)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *telemetry) collect(_ context.Context, o metric.Observer) error {
	stats := t.tracker.Stats()
	var r tracker.Refusals
	for _, s := range stats.SLOs {
		r.TooLate += s.Refused.TooLate
		r.InFuture += s.Refused.InFuture
		r.GroupLimit += s.Refused.GroupLimit
		r.GroupArity += s.Refused.GroupArity
		id := metric.WithAttributes(attribute.String(attrSLO, s.SLOID))
		o.ObserveInt64(t.series, int64(s.Series), id)
		reached := int64(0)
		if s.Series >= s.MaxGroups {
			reached = 1
		}
		o.ObserveInt64(t.capReached, reached, id)
	}
	for _, c := range []struct {
		reason string
		n      uint64
	}{
		{reasonTooLate, r.TooLate},
		{reasonInFuture, r.InFuture},
		{reasonGroupLimit, r.GroupLimit},
		{reasonGroupArity, r.GroupArity},
		{reasonUnknownSLO, stats.UnknownSLO},
		{reasonNotABoundary, t.notABoundary.Load()},
		{reasonConditionError, t.conditionErrors.Load()},
	} {
		o.ObserveInt64(t.refused, int64(c.n), metric.WithAttributes(attribute.String(attrReason, c.reason)))
	}
	d := t.metrics.droppedPoints()
	for _, c := range []struct {
		reason cumdelta.Outcome
		n      uint64
	}{
		{cumdelta.OutOfOrder, d.OutOfOrder},
		{cumdelta.NoRecordedValue, d.NoRecordedValue},
		{cumdelta.Invalid, d.Invalid},
	} {
		o.ObserveInt64(t.dropped, int64(c.n), metric.WithAttributes(attribute.String(attrReason, c.reason.String())))
	}
	return nil
}

// refuse counts events the connector itself could not classify.
func (t *telemetry) refuse(reason string, n uint64) {
	switch reason {
	case reasonNotABoundary:
		t.notABoundary.Add(n)
	case reasonConditionError:
		t.conditionErrors.Add(n)
	}
}

func (t *telemetry) close() {
	if t.registration != nil {
		_ = t.registration.Unregister()
	}
}
