package otlpguardextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/metadata"
	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// Name of the extension's own metric (declared in metadata.yaml, as the
// collector's Prometheus endpoint exports it) and of its attributes.
const (
	MetricRequestsRefused = "otelcol_otlp_guard_requests_refused"
	AttrTransport         = "transport" // "http" or "grpc"
	AttrSignal            = "signal"    // "traces", "metrics", "logs", "profiles" or "unknown"
	AttrReason            = "reason"    // "too_deep" or "malformed"
)

type guardTelemetry struct {
	refused metric.Int64Counter
}

func newGuardTelemetry(set component.TelemetrySettings) (*guardTelemetry, error) {
	b, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &guardTelemetry{refused: b.OtlpGuardRequestsRefused}, nil
}

func (t *guardTelemetry) recordRefusal(transport string, root scan.Message, r *scan.Refusal) {
	signal := root.Signal()
	if signal == "" {
		signal = "unknown"
	}
	t.refused.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String(AttrTransport, transport),
		attribute.String(AttrSignal, signal),
		attribute.String(AttrReason, string(r.Reason)),
	)))
}
