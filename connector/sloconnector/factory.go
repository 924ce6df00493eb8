package sloconnector

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/sharedcomponent"
)

// NewFactory returns the factory of the slo connector.
func NewFactory() connector.Factory { return newFactory(factoryOptions{}) }

// NewReplayFactory returns a factory of the slo connector for replaying
// traffic in simulated time, such as tests that compare the connector with
// Prometheus over days of synthetic spans. Its connectors differ from
// those of NewFactory in two ways only:
//   - they read the time from clock instead of the system clock: to tell
//     late and future spans and metric points (the tracker's clock), as
//     the start time of the emitted counters, and as the observed time of
//     alert events (a span without an end time still counts as ending at
//     the system clock's now, so a replay must set end times);
//   - they run no evaluation loop: they evaluate only when Evaluate
//     (Evaluator) is called, and so neither checkpoint on an interval nor
//     reload specs when their files change. State is still restored at
//     Start and checkpointed at Shutdown.
//
// Classification, accounting, evaluation and the emitted metrics and alert
// events are the production code. Not for use in a collector.
func NewReplayFactory(clock func() time.Time) connector.Factory {
	return newFactory(factoryOptions{clock: clock, manual: true})
}

// Evaluator is implemented by every component the slo connector's
// factories create.
type Evaluator interface {
	// Evaluate evaluates the connector's SLOs at at, as the evaluation
	// loop does at each tick: burn rates, budgets and alerts are computed
	// and the metrics and alert events sent to the next consumers. Only
	// connectors of NewReplayFactory accept it, after Start; the others
	// return an error, as their loop owns evaluation. at should fall on
	// a whole minute (see Config.EvaluationInterval) and not go back.
	Evaluate(ctx context.Context, at time.Time) error
}

var (
	_ Evaluator = (*tracesFacet)(nil)
	_ Evaluator = (*metricsFacet)(nil)
)

// factoryOptions are the code-only settings of a factory's connectors.
type factoryOptions struct {
	clock  func() time.Time // nil: time.Now
	manual bool             // no evaluation loop: Evaluate drives it
}

// acquire returns a new instance of the connector of cfg, creating the
// connector on first use.
func acquire(set connector.Settings, cfg *Config, opts factoryOptions) (*sharedcomponent.Instance[*Config, *sloConnector], *sloConnector) {
	inst, _ := instances.LoadOrStore(cfg, func() (*sloConnector, error) { return newConnector(set, cfg, opts), nil })
	return inst, inst.Value()
}

func newFactory(opts factoryOptions) connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
			inst, c := acquire(set, cfg.(*Config), opts)
			c.setMetricsOut(next)
			return c.newTracesFacet(inst), nil
		}, metadata.TracesToMetricsStability),
		connector.WithTracesToLogs(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
			inst, c := acquire(set, cfg.(*Config), opts)
			c.setLogsOut(next)
			return c.newTracesFacet(inst), nil
		}, metadata.TracesToLogsStability),
		connector.WithMetricsToMetrics(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
			inst, c := acquire(set, cfg.(*Config), opts)
			c.setMetricsOut(next)
			return c.newMetricsFacet(inst), nil
		}, metadata.MetricsToMetricsStability),
		connector.WithMetricsToLogs(func(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
			inst, c := acquire(set, cfg.(*Config), opts)
			c.setLogsOut(next)
			return c.newMetricsFacet(inst), nil
		}, metadata.MetricsToLogsStability),
	)
}
