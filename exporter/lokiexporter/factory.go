package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

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

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/queuelog"
)

// Defaults. The batch follows Promtail's client (batchsize 1 MiB, batchwait
// 1s): big enough to compress well, small enough that Loki's distributor
// answers quickly. See
// https://grafana.com/docs/loki/latest/send-data/promtail/configuration/#clients
const (
	defaultTimeout       = 30 * time.Second
	defaultFlushInterval = time.Second
	defaultBatchMinBytes = 1 << 20
	defaultBatchMaxBytes = 4 << 20
	// defaultQueueRecords holds a burst of logs in memory before the queue
	// blocks the pipeline (back-pressure rather than loss).
	defaultQueueRecords = 200_000
	// defaultConsumers: a few pushes in flight keep up with a busy
	// collector without opening many connections to Loki.
	defaultConsumers = 4
	// defaultTruncationMarker ends a cut line; plain ASCII so it survives
	// any viewer.
	defaultTruncationMarker = "...[truncated]"
)

// NewFactory returns the factory of the loki exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = defaultQueueRecords
	q.BlockOnOverflow = true
	q.NumConsumers = defaultConsumers
	q.Batch = configoptional.Some(exporterhelper.BatchConfig{
		FlushTimeout: defaultFlushInterval,
		Sizer:        exporterhelper.RequestSizerTypeBytes,
		MinSize:      defaultBatchMinBytes,
		MaxSize:      defaultBatchMaxBytes,
	})
	return q
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	return &Config{
		ClientConfig:     client,
		QueueConfig:      configoptional.Some(defaultQueueConfig()),
		BackOffConfig:    configretry.NewDefaultBackOffConfig(),
		LineFormat:       LineFormatBody,
		MaxLineSize:      lokiMaxLineSize,
		TruncationMarker: defaultTruncationMarker,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	logs, err := exporterhelper.NewLogs(ctx, queuelog.Settings(set, c.QueueConfig), cfg, e.pushLogs,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each push; a second timeout here
		// would only race it.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithStart(e.start),
	)
	if err != nil {
		return nil, err
	}
	if f := newFitter(c); f != nil {
		return &fittingLogs{Logs: logs, fit: f, telemetry: e.telemetry}, nil
	}
	return logs, nil
}
