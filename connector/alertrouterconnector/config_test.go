package alertrouterconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
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
	assert.Equal(t, &Config{
		Routing: "/etc/vigil/routing.yml", Silences: "/etc/vigil/silences.yml", Storage: &storage, FlushInterval: 2 * time.Second,
		Receivers: map[string][]pipeline.ID{
			"oncall":  {pipeline.NewIDWithName(pipeline.SignalLogs, "pagerduty"), pipeline.NewIDWithName(pipeline.SignalLogs, "archive")},
			"tickets": {pipeline.NewIDWithName(pipeline.SignalLogs, "tickets")},
		},
	}, cfg)
	least := createDefaultConfig().(*Config)
	require.NoError(t, configtest.Load(t, component.NewID(metadata.Type), least))
	assert.Equal(t, time.Second, least.FlushInterval)
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
		{"no flush interval", Config{Receivers: map[string][]pipeline.ID{"default": {logs}}}, "flush_interval 0s: must be positive"},
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
