package webhookexporter // import "github.com/vigil-otel/vigil/exporter/webhookexporter"

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

	"github.com/vigil-otel/vigil/exporter/webhookexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/queuestorage"
	"github.com/vigil-otel/vigil/internal/refusal"
)

const (
	// defaultExternalURL is the alert console of the embedded default.
	defaultExternalURL = "http://127.0.0.1:9094"
	// defaultTimeout bounds one POST, as Alertmanager's default
	// http_config does not; webhook receivers answer in milliseconds.
	defaultTimeout = 10 * time.Second
)

// NewFactory returns the factory of the webhook exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

// defaultQueueConfig is the queue a `sending_queue:` block starts from: no
// batching, since the router hands over each notification when it is due.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	return q
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	retry := configretry.NewDefaultBackOffConfig()
	// Keep retrying a receiver that is down: the queue holds the
	// notification, and a page delayed beats a page dropped.
	retry.MaxElapsedTime = 0
	return &Config{
		ClientConfig: client,
		ExternalURL:  defaultExternalURL,
		QueueConfig:  configoptional.Default(defaultQueueConfig()),
		RetryConfig:  retry,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e := newExporter(c, set, refusal.Default)
	exp, err := exporterhelper.NewLogs(ctx, set, cfg, e.push,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	// A notification queued on disk is sent even if the disk fills before
	// the queue reads it (exporterhelper would drop it).
	return queuestorage.Logs(exp, set.Logger), nil
}
