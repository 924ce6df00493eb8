package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

// Attributes of the connector's own metrics (declared, with the metrics,
// in metadata.yaml) and their values. They are low-cardinality: receiver
// names, pipeline IDs, actions, outcomes; never an alert's labels.
const (
	attrOutcome  = "outcome"
	attrReceiver = "receiver"
	attrPipeline = "pipeline"
	attrAction   = "action"

	outcomeIngested   = "ingested"
	outcomeNotAlert   = "not_alert"
	outcomeInvalid    = "invalid"
	outcomeNotOwned   = "not_owned"
	outcomeHandedOver = "handed_over"
	outcomeFailed     = "failed"
	outcomeCancelled  = "cancelled"
)

// telemetry records the connector's own metrics through the instruments
// mdatagen generates from metadata.yaml.
type telemetry struct {
	b *metadata.TelemetryBuilder
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	b, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &telemetry{b: b}, nil
}

func (t *telemetry) recordReceived(ctx context.Context, outcome string) {
	t.b.AlertrouterAlertsReceived.Add(ctx, 1, metric.WithAttributes(attribute.String(attrOutcome, outcome)))
}

func (t *telemetry) recordNotification(ctx context.Context, receiver, pipeline, action, outcome string) {
	t.b.AlertrouterNotifications.Add(ctx, 1, metric.WithAttributes(
		attribute.String(attrReceiver, receiver), attribute.String(attrPipeline, pipeline),
		attribute.String(attrAction, action), attribute.String(attrOutcome, outcome)))
}

func (t *telemetry) recordRefused(ctx context.Context, receiver, pipeline, action string) {
	t.b.AlertrouterNotificationsRefused.Add(ctx, 1, metric.WithAttributes(
		attribute.String(attrReceiver, receiver), attribute.String(attrPipeline, pipeline),
		attribute.String(attrAction, action)))
}
