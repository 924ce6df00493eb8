package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
)

// attrReason is the one attribute of the exporter's own metrics (declared,
// with the metrics, in metadata.yaml): a fixed, low-cardinality reason,
// never a label value or line content. Sent and failed record counts come
// from exporterhelper (otelcol_exporter_sent_log_records,
// otelcol_exporter_send_failed_log_records).
const attrReason = "reason"

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

func (t *telemetry) recordDelivered(ctx context.Context, b pushBatch) {
	if b.truncated > 0 {
		t.b.LokiLinesTruncated.Add(ctx, int64(b.truncated))
	}
	if b.droppedMetadata > 0 {
		t.b.LokiStructuredMetadataDropped.Add(ctx, int64(b.droppedMetadata))
	}
}

func (t *telemetry) recordCut(ctx context.Context, records int) {
	t.b.LokiLogRecordsCut.Add(ctx, int64(records))
}

func (t *telemetry) recordRejected(ctx context.Context, reason string, records int) {
	t.b.LokiLogRecordsRejected.Add(ctx, int64(records), metric.WithAttributes(attribute.String(attrReason, reason)))
}

func (t *telemetry) recordRetried(ctx context.Context, reason string) {
	t.b.LokiPushesRetried.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, reason)))
}
