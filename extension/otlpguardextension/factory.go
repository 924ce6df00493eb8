package otlpguardextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/metadata"
)

// NewFactory returns the factory of the otlp_guard extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newGuard(cfg.(*Config), set.TelemetrySettings)
}
