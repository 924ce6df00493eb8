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
				if c.Endpoint != events.DefaultEndpoint || c.RoutingKey != "" || c.Client != "Vigil" || c.Timeout != events.DefaultTimeout {
					t.Errorf("defaults: endpoint %q, client %q, timeout %v", c.Endpoint, c.Client, c.Timeout)
				}
				if c.QueueConfig.HasValue() {
					t.Errorf("default queue %+v: want none (synchronous sends)", c.QueueConfig.Get())
				}
				if c.RetryConfig.MaxElapsedTime != 0 {
					t.Errorf("default retry gives up after %v, want never", c.RetryConfig.MaxElapsedTime)
				}
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			check: func(t *testing.T, c *Config) {
				if c.RoutingKey != testKey || c.Endpoint != "http://127.0.0.1:8080/v2/enqueue" {
					t.Errorf("routing_key/endpoint not loaded")
				}
				if c.SeverityMap["ticket"] != "info" || c.Client != "Vigil staging" || c.ConsoleURL != "https://vigil.example/" {
					t.Errorf("fields not loaded: %+v", c)
				}
				if c.Timeout != 3*time.Second {
					t.Errorf("timeout %v", c.Timeout)
				}
				q := c.QueueConfig.Get()
				if q == nil || q.QueueSize != 100 || q.NumConsumers != defaultConsumers || q.StorageID == nil || q.StorageID.String() != "file_storage" {
					t.Errorf("queue = %+v, want the defaults with queue_size 100 and storage file_storage", q)
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
		{"relative endpoint", func(c *Config) { c.Endpoint = "/v2/enqueue" }, "absolute http or https URL"},
		{"unknown pagerduty severity", func(c *Config) { c.SeverityMap = map[string]string{"page": "sev1"} }, `maps to "sev1"`},
		{"relative client_url", func(c *Config) { c.ClientURL = "grafana" }, "client URL"},
		{"console_url", func(c *Config) { c.ConsoleURL = "http://127.0.0.1:9094" }, ""},
		{"console_url without a scheme", func(c *Config) { c.ConsoleURL = "127.0.0.1:9094" }, `console_url "127.0.0.1:9094": want an absolute http or https URL`},
		{"broken template", func(c *Config) { c.DashboardURLTemplate = "{{ .Labels.service_name" }, "dashboard_url_template"},
		{"persistent sending queue", func(c *Config) { c.QueueConfig = queue(&storage, false, false) }, ""},
		{"in-memory queue waiting for each result", func(c *Config) { c.QueueConfig = queue(nil, true, false) }, ""},
		{"in-memory queue that would lose notifications on a crash", func(c *Config) { c.QueueConfig = queue(nil, false, false) },
			"an in-memory queue without wait_for_result loses"},
		{"batching", func(c *Config) { c.QueueConfig = queue(&storage, false, true) }, "sending_queue::batch"},
		{"keys of the earlier form say where they went", func(c *Config) {
			c.Moved = map[string]any{"url": "x", "routing": "r.yml", "storage": "file_storage", "colour": "blue"}
		}, "colour: unknown field\nrouting: routing moved to the alertrouter connector (connectors::alertrouter::routing)\n" +
			"storage: the notification log moved to the alertrouter connector (connectors::alertrouter::storage); for a persistent queue set sending_queue::storage\n" +
			"url: renamed endpoint"},
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

func queue(storage *component.ID, wait, batch bool) configoptional.Optional[exporterhelper.QueueBatchConfig] {
	q := defaultQueueConfig()
	q.StorageID, q.WaitForResult = storage, wait
	if batch {
		q.Batch = configoptional.Some(exporterhelper.BatchConfig{})
	}
	return configoptional.Some(q)
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
