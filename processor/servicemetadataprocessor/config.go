package servicemetadataprocessor

import (
	"errors"

	"go.opentelemetry.io/collector/component"
)

// Config is the configuration of the service_metadata processor.
type Config struct {
	// MetadataKey is the client metadata key that carries the service
	// name of each part; downstream components name it (the kafka
	// exporter's message_key_from_metadata_key, an exporter's
	// sending_queue::batch::partition::metadata_keys). Default
	// "service.name".
	MetadataKey string `mapstructure:"metadata_key"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.MetadataKey == "" {
		return errors.New("metadata_key: must not be empty")
	}
	return nil
}
