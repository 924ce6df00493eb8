package sloconnector

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// Reasons events are refused, as the reason attribute of
// otelcol_slo_refused_events (metadata.yaml declares the metrics and their
// attributes). The tracker's own refusals are read from its Stats.
const (
	reasonTooLate        = "too_late"
	reasonInFuture       = "in_future"
	reasonGroupLimit     = "group_limit"
	reasonGroupArity     = "group_arity"
	reasonUnknownSLO     = "unknown_slo"
	reasonNotABoundary   = "not_a_bucket_boundary"
	reasonConditionError = "condition_error"
	attrReason           = "reason"
	attrSLO              = "slo_id"
	attrSignal           = "signal"
)

// telemetry is the connector's own telemetry, through the instruments
// mdatagen generates from metadata.yaml: refused events by reason, series
// per SLO, whether an SLO hit its group cap, and metric points dropped by
// reason (out of order, without a value), and requests counted already
// that came again. All are observed when the collector collects its
// metrics, from the trackers' and the dedup windows' own counters, so the
// hot path records nothing but the two refusals the tracker cannot see.
type telemetry struct {
	tracker         *tracker.Tracker
	metrics         *metricAccounting
	seenSpans       *dedup.Window
	seenPoints      *dedup.Window
	notABoundary    atomic.Uint64
	conditionErrors atomic.Uint64
	// writeFailures counts failed writes of the connector's state;
	// writeFailing is whether the last one failed.
	writeFailures atomic.Uint64
	writeFailing  atomic.Bool
	builder       *metadata.TelemetryBuilder
}

func newTelemetry(set component.TelemetrySettings, tr *tracker.Tracker, metrics *metricAccounting, seenSpans, seenPoints *dedup.Window) (*telemetry, error) {
	b, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &telemetry{tracker: tr, metrics: metrics, seenSpans: seenSpans, seenPoints: seenPoints, builder: b}
	if err := errors.Join(
		b.RegisterSloRefusedEventsCallback(t.observeRefused),
		b.RegisterSloSeriesCallback(t.observeSeries),
		b.RegisterSloGroupLimitReachedCallback(t.observeGroupLimit),
		b.RegisterSloMetricPointsDroppedCallback(t.observeDropped),
		b.RegisterSloRepeatedRequestsCallback(t.observeRepeated),
		b.RegisterSloStateWriteFailuresCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(t.writeFailures.Load()))
			return nil
		}),
		b.RegisterSloStateWriteFailingCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(boolGauge(t.writeFailing.Load()))
			return nil
		}),
	); err != nil {
		b.Shutdown()
		return nil, err
	}
	return t, nil
}

func (t *telemetry) observeRefused(_ context.Context, o metric.Int64Observer) error {
	stats := t.tracker.Stats()
	var r tracker.Refusals
	for _, s := range stats.SLOs {
		r.TooLate += s.Refused.TooLate
		r.InFuture += s.Refused.InFuture
		r.GroupLimit += s.Refused.GroupLimit
		r.GroupArity += s.Refused.GroupArity
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
		o.Observe(int64(c.n), metric.WithAttributes(attribute.String(attrReason, c.reason)))
	}
	return nil
}

func (t *telemetry) observeSeries(_ context.Context, o metric.Int64Observer) error {
	for _, s := range t.tracker.Stats().SLOs {
		o.Observe(int64(s.Series), metric.WithAttributes(attribute.String(attrSLO, s.SLOID)))
	}
	return nil
}

func (t *telemetry) observeGroupLimit(_ context.Context, o metric.Int64Observer) error {
	for _, s := range t.tracker.Stats().SLOs {
		reached := int64(0)
		if s.Series >= s.MaxGroups {
			reached = 1
		}
		o.Observe(reached, metric.WithAttributes(attribute.String(attrSLO, s.SLOID)))
	}
	return nil
}

func (t *telemetry) observeDropped(_ context.Context, o metric.Int64Observer) error {
	d := t.metrics.droppedPoints()
	for _, c := range []struct {
		reason cumdelta.Outcome
		n      uint64
	}{
		{cumdelta.OutOfOrder, d.OutOfOrder},
		{cumdelta.NoRecordedValue, d.NoRecordedValue},
		{cumdelta.Invalid, d.Invalid},
	} {
		o.Observe(int64(c.n), metric.WithAttributes(attribute.String(attrReason, c.reason.String())))
	}
	return nil
}

func (t *telemetry) observeRepeated(_ context.Context, o metric.Int64Observer) error {
	o.Observe(t.seenSpans.Repeats(), metric.WithAttributes(attribute.String(attrSignal, "traces")))
	o.Observe(t.seenPoints.Repeats(), metric.WithAttributes(attribute.String(attrSignal, "metrics")))
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

// wrote records the outcome of a write of the connector's state: a
// failure is counted, and the state is failing until a write succeeds. t
// is nil until Start made it; a write before then (none is expected) goes
// unrecorded rather than crashing.
func (t *telemetry) wrote(err error) {
	if t == nil {
		return
	}
	if err != nil {
		t.writeFailures.Add(1)
	}
	t.writeFailing.Store(err != nil)
}

// close unregisters the callbacks, so a stopped connector's trackers are
// no longer read (nor kept alive) by the meter.
func (t *telemetry) close() {
	t.builder.Shutdown()
}

// boolGauge is 1 for true, 0 for false.
func boolGauge(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
