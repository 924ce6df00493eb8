package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/refusal"
)

const (
	// defaultClient names Vigil as the monitoring tool on PagerDuty alerts.
	defaultClient = "Vigil"
	// defaultQueueSize bounds the notifications waiting to be sent, when a
	// sending queue is set. Two minutes at PagerDuty's 120 events per
	// minute is far beyond a real incident; past it the handover fails and
	// the alert router sends the notification again later.
	defaultQueueSize = 240
	// defaultConsumers is generous because exporterhelper retries inside
	// the consumer: an event waiting out a 429's backoff, or queued behind
	// the rate limit, holds its consumer, and with few consumers a 429
	// storm stalls every page behind them (seen with 4: 150 alerts and 20
	// 429s took 110s instead of the rate limit's 61s). The rate limiter,
	// not the consumer count, keeps sends under PagerDuty's limit.
	defaultConsumers = 16
)

// NewFactory returns the factory of the pagerduty exporter.
func NewFactory() exporter.Factory {
	f := &factory{}
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(f.createLogs, metadata.LogsStability),
	)
}

// factory holds what the exporters it creates share: PagerDuty's rate
// limit is per routing key, whichever exporter sends, so one limiter serves
// every exporter of the process.
type factory struct {
	once    sync.Once
	limiter *events.Limiter
	err     error
}

func (f *factory) sharedLimiter() (*events.Limiter, error) {
	f.once.Do(func() { f.limiter, f.err = events.NewLimiter(events.LimiterSettings{}) })
	return f.limiter, f.err
}

// defaultQueueConfig is the queue a `sending_queue:` block starts from:
// no batching (every notification is its own event), and 16 consumers.
// Left out, the queue is off: sending is synchronous.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.QueueSize = defaultQueueSize
	q.NumConsumers = defaultConsumers
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	return q
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Endpoint = events.DefaultEndpoint
	client.Timeout = events.DefaultTimeout
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0
	return &Config{
		ClientConfig: client,
		Client:       defaultClient,
		QueueConfig:  configoptional.Default(defaultQueueConfig()),
		RetryConfig:  retry,
	}
}

func (f *factory) createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	limiter, err := f.sharedLimiter()
	if err != nil {
		return nil, err
	}
	return newExporter(ctx, set, cfg.(*Config), limiter, refusal.Default)
}
