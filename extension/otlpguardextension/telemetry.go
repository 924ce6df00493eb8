package otlpguardextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/metadata"
	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// Names of the extension's own metric (see metadata.yaml) and its
// attributes.
const (
	MetricRequestsRefused = "otelcol_otlp_guard_requests_refused"
	AttrTransport         = "transport" // "http" or "grpc"
	AttrSignal            = "signal"    // "traces", "metrics", "logs", "profiles" or "" (JSON on another path)
	AttrReason            = "reason"    // "too_deep" or "malformed"
)

type guardTelemetry struct {
	refused metric.Int64Counter
}

func newGuardTelemetry(set component.TelemetrySettings) (*guardTelemetry, error) {
	refused, err := set.MeterProvider.Meter(metadata.ScopeName).Int64Counter(
		MetricRequestsRefused,
		metric.WithDescription("Number of requests refused before decoding, by transport (http, grpc), signal and reason (too_deep, malformed)."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	return &guardTelemetry{refused: refused}, nil
}

func (t *guardTelemetry) recordRefusal(transport string, root scan.Message, r *scan.Refusal) {
	t.refused.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String(AttrTransport, transport),
		attribute.String(AttrSignal, root.Signal()),
		attribute.String(AttrReason, string(r.Reason)),
	)))
}
