package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

// Names of the connector's own metrics, as metadata.yaml declares them.
// Their attributes are low-cardinality: receiver names, actions, outcomes;
// never an alert's labels.
const (
	metricAlertsReceived = "otelcol_alertrouter_alerts_received"
	metricNotifications  = "otelcol_alertrouter_notifications"

	attrOutcome  = "outcome"
	attrReceiver = "receiver"
	attrAction   = "action"

	outcomeIngested   = "ingested"
	outcomeNotAlert   = "not_alert"
	outcomeInvalid    = "invalid"
	outcomeHandedOver = "handed_over"
	outcomeFailed     = "failed"
)

type telemetry struct {
	received, notifications metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var t telemetry
	var errs []error
	var err error
	t.received, err = m.Int64Counter(metricAlertsReceived, metric.WithUnit("{record}"),
		metric.WithDescription("Alert events taken in, by outcome (ingested; not_alert for other log records; invalid for malformed alert events)."))
	errs = append(errs, err)
	t.notifications, err = m.Int64Counter(metricNotifications, metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications handed to a receiver's pipelines (outcome handed_over), or not (outcome failed; the router sends them again), by receiver and action."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *telemetry) recordReceived(ctx context.Context, outcome string) {
	t.received.Add(ctx, 1, metric.WithAttributes(attribute.String(attrOutcome, outcome)))
}

func (t *telemetry) recordNotification(ctx context.Context, receiver, action, outcome string) {
	t.notifications.Add(ctx, 1, metric.WithAttributes(
		attribute.String(attrReceiver, receiver), attribute.String(attrAction, action), attribute.String(attrOutcome, outcome)))
}
