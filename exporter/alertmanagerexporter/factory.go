package alertmanagerexporter // import "github.com/vigil-otel/vigil/exporter/alertmanagerexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/alertmanagerexporter/internal/metadata"
)

const (
	// defaultEndpoint is Alertmanager's default listen address.
	defaultEndpoint = "http://127.0.0.1:9093"
	// defaultTimeout bounds one POST; Alertmanager answers in milliseconds.
	defaultTimeout = 10 * time.Second
)

// NewFactory returns the factory of the alertmanager exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = defaultEndpoint
	client.Timeout = defaultTimeout
	q := exporterhelper.NewDefaultQueueConfig()
	// One POST per batch of alert events as they come: alert events are
	// few, and batching would only delay them.
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	return &Config{
		ClientConfig: client,
		QueueConfig:  configoptional.Some(q),
		RetryConfig:  configretry.NewDefaultBackOffConfig(),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e := newExporter(c, set)
	return exporterhelper.NewLogs(ctx, set, cfg, e.push,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
