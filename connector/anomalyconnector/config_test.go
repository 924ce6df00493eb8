package anomalyconnector

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/connector/anomalyconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/dedup"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	storageID := component.MustNewID("file_storage")
	// The connector's detector defaults: the library's, with alerts
	// resolving after half an hour of calm.
	defaultDetector := anomaly.DefaultConfig()
	defaultDetector.ClearAfter = 30 * time.Minute
	customDetector := defaultDetector
	customDetector.Threshold = 7
	customDetector.WarmupPoints = 50
	customDetector.MinTraffic = 10
	tests := []struct {
		id      component.ID
		check   func(t *testing.T, c *Config)
		wantErr []string
	}{
		{
			id: component.NewID(metadata.Type),
			check: func(t *testing.T, c *Config) {
				if c.Interval != time.Minute || c.MaxSeries != 10000 || c.Severity != "ticket" || !c.RED.Enabled ||
					c.RED.CallsMetric != "traces.span.metrics.calls" || c.RED.DurationMetric != "traces.span.metrics.duration" ||
					len(c.RED.Quantiles) != 2 || c.RED.MinLatencySamples != 10 || c.Storage != nil || c.Detector != defaultDetector ||
					c.Dedup != dedup.NewDefaultConfig() {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			check: func(t *testing.T, c *Config) {
				if c.Interval != 30*time.Second || c.MaxSeries != 500 || c.IdleTimeout != 2*time.Hour ||
					c.Severity != "page" || c.ResendInterval != 2*time.Minute || c.CheckpointInterval != time.Minute {
					t.Errorf("scalars: %+v", c)
				}
				if c.Storage == nil || *c.Storage != storageID {
					t.Errorf("storage = %v, want %v", c.Storage, storageID)
				}
				if len(c.RED.Quantiles) != 2 || c.RED.Quantiles[0] != 0.5 || c.RED.MinLatencySamples != 50 {
					t.Errorf("quantiles = %v", c.RED.Quantiles)
				}
				if len(c.Metrics) != 2 || c.Metrics[0].Name != "queue.depth" || c.Metrics[0].MatchAttributes["queue"] != "orders" ||
					c.Metrics[1].Name != "http.server.request.count" {
					t.Errorf("metrics = %+v", c.Metrics)
				}
				if c.Detector != customDetector {
					t.Errorf("detector = %+v, want defaults with threshold, warmup_points and min_traffic overridden", c.Detector)
				}
				if c.Dedup.Window != 0 || c.Dedup.MaxRequests != dedup.DefaultMaxRequests {
					t.Errorf("dedup = %+v, want it off", c.Dedup)
				}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid"),
			wantErr: []string{
				"interval must be at least 1s",
				"max_series must be positive",
				"idle_timeout (50ms) must be at least interval (100ms)",
				`severity must be "ticket" or "page", got "critical"`,
				"red::quantiles[0] must be in (0, 1), got 1.5",
				"red::min_latency_samples must be >= 0, got -1",
				"metrics[0]: name must be set",
				`metrics[1]: "traces.span.metrics.calls" is already watched by red`,
				"detector: threshold must be a positive number",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				tt.check(t, cfg)
				return
			}
			if err == nil {
				t.Fatal("Validate accepted an invalid config")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestConfigStructAndFactory(t *testing.T) {
	f := NewFactory()
	if err := componenttest.CheckConfigStruct(f.CreateDefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if f.Type() != metadata.Type || f.MetricsToMetricsStability() != metadata.MetricsToMetricsStability ||
		f.MetricsToLogsStability() != metadata.MetricsToLogsStability {
		t.Errorf("factory type or stability wrong")
	}
	if err := f.CreateDefaultConfig().(*Config).Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

func TestValidateWithoutAnythingToWatch(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.RED.Enabled = false
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "nothing to watch") {
		t.Errorf("Validate = %v, want a nothing-to-watch error", err)
	}
	id := component.MustNewID("file_storage")
	cfg = NewFactory().CreateDefaultConfig().(*Config)
	cfg.Storage = &id
	cfg.CheckpointInterval = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "checkpoint_interval") {
		t.Errorf("Validate = %v, want a checkpoint_interval error", err)
	}
}
