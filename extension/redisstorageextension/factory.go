package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/vigil-otel/vigil/extension/redisstorageextension/internal/metadata"
)

const (
	defaultPrefix        = "vigil"
	defaultTimeout       = time.Second
	defaultLeaseTTL      = 10 * time.Second
	defaultHandoverQuiet = 2 * time.Second
)

// NewFactory returns the factory of the redis_storage extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{
		Prefix:  defaultPrefix,
		Timeout: defaultTimeout,
		Ownership: OwnershipConfig{
			LeaseTTL:      defaultLeaseTTL,
			HandoverQuiet: defaultHandoverQuiet,
		},
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newStorage(set, cfg.(*Config)), nil
}
