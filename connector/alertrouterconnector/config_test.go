package alertrouterconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/configtest"
)

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestLoadConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, configtest.Load(t, component.NewIDWithName(metadata.Type, "full"), cfg))
	storage := component.MustNewID("file_storage")
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = "0.0.0.0:9094"
	server.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")}})
	assert.Equal(t, &Config{
		Routing: "testdata/routing.yml", Silences: "testdata/silences.yml", Storage: &storage, FlushInterval: 2 * time.Second,
		Receivers: map[string][]pipeline.ID{
			"oncall":  {pipeline.NewIDWithName(pipeline.SignalLogs, "pagerduty"), pipeline.NewIDWithName(pipeline.SignalLogs, "archive")},
			"tickets": {pipeline.NewIDWithName(pipeline.SignalLogs, "tickets")},
		},
		Console: configoptional.Some(ConsoleConfig{ServerConfig: server, TraceURL: "https://grafana.example/explore?traceId={trace_id}"}),
	}, cfg)
	least := createDefaultConfig().(*Config)
	require.NoError(t, configtest.Load(t, component.NewID(metadata.Type), least))
	assert.Equal(t, time.Second, least.FlushInterval)
	assert.False(t, least.Console.HasValue(), "no console unless configured")
	assert.Equal(t, "127.0.0.1:9094", least.Console.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint, "loopback by default")
}

func TestValidate(t *testing.T) {
	logs := pipeline.NewID(pipeline.SignalLogs)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"built-in routing to one pipeline", Config{FlushInterval: time.Second, Receivers: map[string][]pipeline.ID{"default": {logs}}}, ""},
		{"no receivers", Config{FlushInterval: time.Second}, `receivers: map at least one receiver to pipelines (without routing: the receiver "default")`},
		{"a receiver without pipelines", Config{FlushInterval: time.Second, Routing: "r.yml", Receivers: map[string][]pipeline.ID{"oncall": nil}}, "receivers::oncall: lists no pipeline"},
		{"a receiver the built-in routing lacks", Config{FlushInterval: time.Second, Receivers: map[string][]pipeline.ID{"default": {logs}, "oncall": {logs}}},
			`receivers::oncall: without a routing file the only receiver is "default"`},
		{"a pipeline listed twice for a receiver", Config{FlushInterval: time.Second, Receivers: map[string][]pipeline.ID{"default": {logs, logs}}},
			"receivers::default: lists pipeline logs twice"},
		{"no flush interval", Config{Receivers: map[string][]pipeline.ID{"default": {logs}}}, "flush_interval 0s: must be positive"},
		{"a console without endpoint", Config{FlushInterval: time.Second, Receivers: map[string][]pipeline.ID{"default": {logs}}, Console: configoptional.Some(ConsoleConfig{})},
			"console::endpoint: must be set"},
		{"a trace URL without the ID", Config{
			FlushInterval: time.Second, Receivers: map[string][]pipeline.ID{"default": {logs}},
			Console: configoptional.Some(ConsoleConfig{ServerConfig: confighttp.ServerConfig{NetAddr: confignet.AddrConfig{Endpoint: "127.0.0.1:0"}}, TraceURL: "https://t"}),
		}, `console::trace_url "https://t": must contain {trace_id}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
