package pagerdutyexporter

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/configtest"
)

func TestConfigStruct(t *testing.T) {
	if err := componenttest.CheckConfigStruct(createDefaultConfig()); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		id    component.ID
		check func(t *testing.T, c *Config)
	}{
		{
			id: component.NewID(metadata.Type),
			check: func(t *testing.T, c *Config) {
				if c.URL != events.DefaultEndpoint || c.RoutingKey != "" || c.Client != "Vigil" || c.FlushInterval != time.Second {
					t.Errorf("defaults: url %q, client %q, flush %v", c.URL, c.Client, c.FlushInterval)
				}
				q := c.QueueConfig.Get()
				if q == nil || !q.WaitForResult || q.Batch.HasValue() {
					t.Errorf("default queue %+v: want enabled, wait_for_result, no batch", q)
				}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			check: func(t *testing.T, c *Config) {
				if c.RoutingKey != testKey || c.URL != "http://127.0.0.1:8080/v2/enqueue" {
					t.Errorf("routing_key/url not loaded")
				}
				if c.SeverityMap["ticket"] != "info" || c.Client != "Vigil staging" || c.Routing != "/etc/vigil/routing.yml" || c.Silences != "/etc/vigil/silences.yml" {
					t.Errorf("fields not loaded: %+v", c)
				}
				if c.Storage == nil || c.Storage.String() != "file_storage" {
					t.Errorf("storage = %v", c.Storage)
				}
				if c.TimeoutConfig.Timeout != 3*time.Second || c.FlushInterval != 2*time.Second {
					t.Errorf("timeout %v, flush %v", c.TimeoutConfig.Timeout, c.FlushInterval)
				}
				if q := c.QueueConfig.Get(); q == nil || q.QueueSize != 100 || q.NumConsumers != 2 {
					t.Errorf("queue = %+v", q)
				}
				if c.RetryConfig.MaxElapsedTime != 10*time.Minute {
					t.Errorf("retry = %+v", c.RetryConfig)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			if err := configtest.Load(t, tt.id, cfg); err != nil {
				t.Fatalf("validate: %v", err)
			}
			tt.check(t, cfg.(*Config))
		})
	}
}

func TestValidate(t *testing.T) {
	storage := component.MustNewID("file_storage")
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"empty routing key sends to the log", func(c *Config) { c.RoutingKey = "" }, ""},
		{"routing key of the wrong length", func(c *Config) { c.RoutingKey = "short0secret" }, "routing key must be 32 characters"},
		{"routing key with punctuation", func(c *Config) { c.RoutingKey = configopaque.String(testKey[:31] + "!") }, "ASCII letters and digits"},
		{"relative url", func(c *Config) { c.URL = "/v2/enqueue" }, "absolute http or https URL"},
		{"unknown pagerduty severity", func(c *Config) { c.SeverityMap = map[string]string{"page": "sev1"} }, `maps to "sev1"`},
		{"relative client_url", func(c *Config) { c.ClientURL = "grafana" }, "client URL"},
		{"broken template", func(c *Config) { c.DashboardURLTemplate = "{{ .Labels.service" }, "dashboard_url_template"},
		{"negative flush interval", func(c *Config) { c.FlushInterval = -time.Second }, "flush_interval"},
		{"persistent sending queue", func(c *Config) { c.QueueConfig.Get().StorageID = &storage }, "sending_queue::storage"},
		{"batching", func(c *Config) {
			c.QueueConfig.Get().Batch = configoptional.Some(exporterhelper.BatchConfig{})
		}, "sending_queue::batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := createDefaultConfig().(*Config)
			c.RoutingKey = configopaque.String(testKey)
			tt.mutate(c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "short0secret")) {
				t.Errorf("error leaks the routing key: %v", err)
			}
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != metadata.Type {
		t.Fatalf("type = %v", f.Type())
	}
	if f.LogsStability() != metadata.LogsStability {
		t.Errorf("logs stability = %v", f.LogsStability())
	}
}
