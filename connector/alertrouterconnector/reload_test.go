package alertrouterconnector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

// TestReloadsAreLogged: the routing and silences files the router reads
// at start and at each change are logged once per change at info level
// (a successful reload was silent: only the console's status showed the
// new routing), a broken one at error level, and an unchanged file not
// at all.
func TestReloadsAreLogged(t *testing.T) {
	noRouterRan(t)
	dir := t.TempDir()
	routingPath, silencesPath := filepath.Join(dir, "routing.yml"), filepath.Join(dir, "silences.yml")
	write := func(path, content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	}
	write(routingPath, routing)
	cfg := createDefaultConfig().(*Config)
	cfg.FlushInterval = time.Hour // ticks come from the test
	cfg.Routing, cfg.Silences = routingPath, silencesPath
	consumers := map[pipeline.ID]consumer.Logs{}
	cfg.Receivers = map[string][]pipeline.ID{}
	for name, id := range map[string]pipeline.ID{"oncall": pipeOncall, "tickets": pipeTickets, "archive": pipeArchive} {
		consumers[id] = &consumertest.LogsSink{}
		cfg.Receivers[name] = []pipeline.ID{id}
	}
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.InfoLevel)
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	set.Logger = zap.New(core)
	c, err := NewFactory().CreateLogsToLogs(context.Background(), set, cfg, connector.NewLogsRouter(consumers))
	require.NoError(t, err)
	r := c.(*router)
	require.NoError(t, r.Start(context.Background(), storagetest.NewStorageHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })

	// lines returns the reload lines logged since the last call.
	seen := 0
	lines := func() []string {
		var out []string
		for _, e := range logs.All()[seen:] {
			if e.Level != zapcore.WarnLevel && (strings.Contains(e.Message, "routing") || strings.Contains(e.Message, "silences")) {
				out = append(out, e.Level.String()+": "+e.Message)
			}
		}
		seen = logs.Len()
		return out
	}
	tick := func() { r.tick(time.Now()) }

	assert.Equal(t, []string{"info: alert routing file applied"}, lines(), "at start")
	tick()
	tick()
	assert.Empty(t, lines(), "unchanged files")

	write(routingPath, strings.Replace(routing, "group_interval: 10s", "group_interval: 20s", 1))
	tick()
	tick()
	assert.Equal(t, []string{"info: alert routing file applied"}, lines(), "the routing file changed")

	write(routingPath, "route: {receiver: nobody}\n")
	tick()
	tick()
	assert.Equal(t, []string{"error: alert routing or silences file rejected; keeping the previous one"}, lines(), "a broken routing file")

	write(silencesPath, "silences: [{id: s, matchers: ['service_name=\"checkout\"'], until_resolved: true}]\n")
	tick()
	tick()
	assert.Equal(t, []string{"info: silences file applied"}, lines(), "a silences file created")

	require.NoError(t, os.Remove(silencesPath))
	tick()
	tick()
	assert.Equal(t, []string{"info: silences file removed; the silences it held are lifted"}, lines(), "the silences file removed")
}
