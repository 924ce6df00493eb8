package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

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

	"github.com/vigil-otel/vigil/exporter/sentryexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/queuelog"
)

const (
	// defaultTimeout bounds one request. Errors are few and envelopes
	// small; a Sentry that takes longer is failing and the batch is
	// retried.
	defaultTimeout = 10 * time.Second
	// defaultConsumers sends a few batches at once so that one slow project
	// does not hold up the others.
	defaultConsumers = 4
)

// NewFactory returns the factory of the sentry exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.NumConsumers = defaultConsumers
	return &Config{
		ClientConfig:  client,
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
		QueueConfig:   configoptional.Some(queue),
		Tags: []string{
			"service.name", "service.namespace", "http.route",
			"http.request.method", "http.response.status_code", "rpc.method",
		},
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, queuelog.Settings(set, c.QueueConfig), cfg, e.pushTraces, e.options(c)...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, queuelog.Settings(set, c.QueueConfig), cfg, e.pushLogs, e.options(c)...)
}

// options are the exporterhelper settings every signal shares: the
// exporter reads its input and never changes it. The timeout is the HTTP
// client's, per request, as in the collector's otlphttp exporter.
func (e *sentryExporter) options(c *Config) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithShutdown(e.shutdown),
	}
}
