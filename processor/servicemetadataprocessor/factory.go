package servicemetadataprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/vigil-otel/vigil/processor/servicemetadataprocessor/internal/metadata"
)

// NewFactory returns the factory of the service_metadata processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{MetadataKey: "service.name"}
}

func createTraces(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return &tracesProcessor{key: cfg.(*Config).MetadataKey, next: next}, nil
}

func createMetrics(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return &metricsProcessor{key: cfg.(*Config).MetadataKey, next: next}, nil
}

func createLogs(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return &logsProcessor{key: cfg.(*Config).MetadataKey, next: next}, nil
}
