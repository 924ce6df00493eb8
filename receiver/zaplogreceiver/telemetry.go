package zaplogreceiver

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

// attrInput names the input a line came through, on every metric of the
// receiver (declared, with the metrics, in metadata.yaml): "file", "tcp"
// or "http".
const attrInput = "input"

// Values of attrInput, also used as the obsreport transport.
const (
	inputFile = "file"
	inputTCP  = "tcp"
	inputHTTP = "http"
)

// receiverTelemetry holds the counters mdatagen generates from
// metadata.yaml; they are updated once per batch, not per line, to keep
// the hot path free of metric calls.
type receiverTelemetry struct {
	lines, parseErrors, truncated metric.Int64Counter
}

func newReceiverTelemetry(set component.TelemetrySettings) (*receiverTelemetry, error) {
	b, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &receiverTelemetry{
		lines:       b.ZaplogLinesReceived,
		parseErrors: b.ZaplogParseErrors,
		truncated:   b.ZaplogLinesTruncated,
	}, nil
}

func inputAttribute(input string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String(attrInput, input)))
}
