package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
)

// Names of the exporter's own metrics (Prometheus adds _total). Their
// attributes are the action, the receiver name and, for failures, a
// low-cardinality reason: never a routing key or any event content.
const (
	metricEventsSent     = "vigil_pagerduty_events_sent"
	metricEventsRetried  = "vigil_pagerduty_events_retried"
	metricEventsFailed   = "vigil_pagerduty_events_failed"
	metricRecordsIgnored = "vigil_pagerduty_records_ignored"

	attrAction   = "action"
	attrReceiver = "receiver"
	attrReason   = "reason"
)

// telemetry holds the exporter's counters.
type telemetry struct {
	sent, retried, failed, ignored metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var errs []error
	c := func(name, desc string) metric.Int64Counter {
		counter, e := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{event}"))
		errs = append(errs, e)
		return counter
	}
	t.sent = c(metricEventsSent, "Notifications delivered: events PagerDuty accepted, or lines written for log receivers.")
	t.retried = c(metricEventsRetried, "Attempts to send an event that failed with a retryable error (429, 5xx, network).")
	t.failed = c(metricEventsFailed, "Notifications not delivered after their last attempt, by reason.")
	t.ignored = c(metricRecordsIgnored, "Log records not sent: no alert events (reason not_alert), malformed ones (invalid), triggers overtaken by their resolve (stale_trigger).")
	if e := errors.Join(errs...); e != nil {
		return nil, e
	}
	return &t, nil
}

func (t *telemetry) recordSent(ctx context.Context, action, receiver string) {
	t.sent.Add(ctx, 1, metric.WithAttributes(attribute.String(attrAction, action), attribute.String(attrReceiver, receiver)))
}

func (t *telemetry) recordRetried(ctx context.Context, action, reason string) {
	t.retried.Add(ctx, 1, metric.WithAttributes(attribute.String(attrAction, action), attribute.String(attrReason, reason)))
}

func (t *telemetry) recordFailed(ctx context.Context, action, receiver, reason string) {
	t.failed.Add(ctx, 1, metric.WithAttributes(
		attribute.String(attrAction, action), attribute.String(attrReceiver, receiver), attribute.String(attrReason, reason)))
}

func (t *telemetry) recordIgnored(ctx context.Context, reason string) {
	t.ignored.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, reason)))
}
