package lokiexporter

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type().String() != "loki" {
		t.Errorf("type = %s, want loki", f.Type())
	}
	if f.LogsStability() != metadata.LogsStability {
		t.Errorf("logs stability = %v", f.LogsStability())
	}
	cfg := f.CreateDefaultConfig()
	if err := componenttest.CheckConfigStruct(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg); err == nil {
		t.Error("CreateTraces succeeded; the exporter takes logs only")
	}

	// The default config needs only an endpoint; the exporter then starts
	// (building its HTTP client) and shuts down cleanly with its queue.
	cfg.(*Config).ClientConfig.Endpoint = "http://127.0.0.1:3100"
	if err := cfg.(*Config).Validate(); err != nil {
		t.Fatal(err)
	}
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCreateLogsRejectsBadLabels(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:3100"
	cfg.Labels.Attributes = []string{"__name__"}
	if _, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg); err == nil {
		t.Error("CreateLogs accepted a reserved label name")
	}
}
