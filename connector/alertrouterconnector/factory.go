package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

// defaultFlushInterval is the router's tick. The default group_wait (5s)
// dominates the time to page; a second keeps the tick's share of it small
// without busy work.
const defaultFlushInterval = time.Second

// NewFactory returns the factory of the `alertrouter` connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithLogsToLogs(createLogsToLogs, metadata.LogsToLogsStability),
	)
}

// defaultConsoleEndpoint is loopback: the console changes silences, so
// it is exposed beyond the host only on purpose, with auth.
const defaultConsoleEndpoint = "127.0.0.1:9094"

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultConsoleEndpoint
	return &Config{
		FlushInterval: defaultFlushInterval,
		Console:       configoptional.Default(ConsoleConfig{ServerConfig: server}),
	}
}

// errNotRouter means the collector handed the connector a consumer that
// cannot tell pipelines apart; every collector since connectors exist
// hands a router.
var errNotRouter = errors.New("alertrouter: the next consumer is not a logs router")

func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	router, ok := next.(connector.LogsRouterAndConsumer)
	if !ok {
		return nil, errNotRouter
	}
	c := cfg.(*Config)
	// One consumer per pipeline of each receiver, not one fanning out to
	// all of a receiver's pipelines: each is delivered on its own.
	consumers := map[destination]consumer.Logs{}
	for name, pipelines := range c.Receivers {
		for _, id := range pipelines {
			cons, err := router.Consumer(id)
			if err != nil {
				return nil, fmt.Errorf("receivers::%s: %w", name, err)
			}
			consumers[destination{receiver: name, pipeline: id.String()}] = cons
		}
	}
	return newRouter(set, c, consumers)
}
