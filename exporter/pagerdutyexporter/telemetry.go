package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
)

// Attributes of the exporter's own metrics (declared, with the metrics, in
// metadata.yaml): the action, the receiver name and, for failures, a
// low-cardinality reason; never a routing key or any event content.
const (
	attrAction   = "action"
	attrReceiver = "receiver"
	attrReason   = "reason"
)

// telemetry records the exporter's own metrics through the instruments
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

func (t *telemetry) recordSent(ctx context.Context, action, receiver string) {
	t.b.PagerdutyEventsSent.Add(ctx, 1, metric.WithAttributes(attribute.String(attrAction, action), attribute.String(attrReceiver, receiver)))
}

func (t *telemetry) recordRetried(ctx context.Context, action, reason string) {
	t.b.PagerdutyEventsRetried.Add(ctx, 1, metric.WithAttributes(attribute.String(attrAction, action), attribute.String(attrReason, reason)))
}

func (t *telemetry) recordFailed(ctx context.Context, action, receiver, reason string) {
	t.b.PagerdutyEventsFailed.Add(ctx, 1, metric.WithAttributes(
		attribute.String(attrAction, action), attribute.String(attrReceiver, receiver), attribute.String(attrReason, reason)))
}

func (t *telemetry) recordIgnored(ctx context.Context, reason string) {
	t.b.PagerdutyRecordsIgnored.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, reason)))
}
