package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
)

// Names of the exporter's own metrics (Prometheus adds _total). Attributes
// are fixed, low-cardinality reasons: never a label value or line content.
// Sent and failed record counts come from exporterhelper
// (otelcol_exporter_sent_log_records, otelcol_exporter_send_failed_log_records).
const (
	metricRecordsRejected = "vigil_loki_log_records_rejected"
	metricPushesRetried   = "vigil_loki_pushes_retried"
	metricLinesTruncated  = "vigil_loki_lines_truncated"
	metricMetadataDropped = "vigil_loki_structured_metadata_dropped"
	attrReason            = "reason"
)

// telemetry holds the exporter's counters.
type telemetry struct {
	rejected, retried, truncated, metadataDropped metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	t := &telemetry{
		rejected: counter(metricRecordsRejected, "{record}",
			"Log records in pushes Loki refused for good (4xx other than 408/429), by Loki's discard reason."),
		retried: counter(metricPushesRetried, "{request}",
			"Pushes that failed with a retryable error (429, 5xx, network, timeout), by reason."),
		truncated: counter(metricLinesTruncated, "{line}",
			"Lines longer than max_line_size that were delivered cut, with the truncation marker."),
		metadataDropped: counter(metricMetadataDropped, "{pair}",
			"Structured metadata pairs left out to keep an entry within Loki's count and size limits."),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *telemetry) recordDelivered(ctx context.Context, b pushBatch) {
	if b.truncated > 0 {
		t.truncated.Add(ctx, int64(b.truncated))
	}
	if b.droppedMetadata > 0 {
		t.metadataDropped.Add(ctx, int64(b.droppedMetadata))
	}
}

func (t *telemetry) recordRejected(ctx context.Context, reason string, records int) {
	t.rejected.Add(ctx, int64(records), metric.WithAttributes(attribute.String(attrReason, reason)))
}

func (t *telemetry) recordRetried(ctx context.Context, reason string) {
	t.retried.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, reason)))
}
