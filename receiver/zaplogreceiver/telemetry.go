package zaplogreceiver

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

// Names of the receiver's own metrics (see metadata.yaml). Each carries the
// attribute AttrInput naming the input the line came through.
const (
	MetricLinesReceived  = "otelcol_zaplog_lines_received"
	MetricParseErrors    = "otelcol_zaplog_parse_errors"
	MetricLinesTruncated = "otelcol_zaplog_lines_truncated"
	// AttrInput is "file", "tcp" or "http".
	AttrInput = "input"
)

// Values of AttrInput, also used as the obsreport transport.
const (
	inputFile = "file"
	inputTCP  = "tcp"
	inputHTTP = "http"
)

// receiverTelemetry holds the counters; they are updated once per batch,
// not per line, to keep the hot path free of metric calls.
type receiverTelemetry struct {
	lines, parseErrors, truncated metric.Int64Counter
}

func newReceiverTelemetry(set component.TelemetrySettings) (*receiverTelemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var t receiverTelemetry
	var err error
	if t.lines, err = meter.Int64Counter(MetricLinesReceived,
		metric.WithDescription("Number of zap log lines (records) received, by input."),
		metric.WithUnit("{line}")); err != nil {
		return nil, err
	}
	if t.parseErrors, err = meter.Int64Counter(MetricParseErrors,
		metric.WithDescription("Number of lines that could not be parsed as a zap record and were kept as raw bodies."),
		metric.WithUnit("{line}")); err != nil {
		return nil, err
	}
	if t.truncated, err = meter.Int64Counter(MetricLinesTruncated,
		metric.WithDescription("Number of lines longer than max_log_size that were truncated."),
		metric.WithUnit("{line}")); err != nil {
		return nil, err
	}
	return &t, nil
}

func inputAttribute(input string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrInput, input)))
}
