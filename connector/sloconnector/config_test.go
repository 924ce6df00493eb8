package sloconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	fileStorage := component.MustNewID("file_storage")
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "full"), want: &Config{
			Specs:               []string{"specs/checkout.yaml", "specs/more"},
			EvaluationInterval:  time.Second,
			Storage:             &fileStorage,
			CheckpointInterval:  30 * time.Second,
			LateTolerance:       10 * time.Minute,
			FutureTolerance:     2 * time.Minute,
			ResolveHoldDown:     5 * time.Minute,
			DashboardURL:        "https://grafana.example.com/d/slo?var-service={{.Service}}&var-slo={{.SLO}}",
			RunbookURL:          "https://runbooks.example.com/{{.Service}}/{{.SLO}}",
			ReloadCheckInterval: 5 * time.Second,
			AlertResendInterval: 2 * time.Minute,
			RED: REDConfig{
				Enabled:       true,
				Dimensions:    []string{"http.response.status_code"},
				FlushInterval: 30 * time.Second,
				MaxSeries:     500,
				Expiration:    10 * time.Minute,
			},
		}},
		{id: component.NewIDWithName(metadata.Type, "bad_interval"), wantErr: "evaluation_interval must be positive"},
		{id: component.NewIDWithName(metadata.Type, "bad_template"), wantErr: "runbook_url"},
		{id: component.NewIDWithName(metadata.Type, "bad_red"), wantErr: "red::expiration must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.Validate()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}
