package sentryexporter

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-otel/vigil/exporter/sentryexporter/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type().String() != "sentry" {
		t.Fatalf("type = %s", f.Type())
	}
	if err := componenttest.CheckConfigStruct(f.CreateDefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if f.TracesStability() != metadata.TracesStability || f.LogsStability() != metadata.LogsStability {
		t.Error("stability levels differ from metadata")
	}
	tests := []struct {
		name    string
		dsn     string
		wantErr string
	}{
		{"valid DSN", "https://" + secretKey + "@o1.ingest.sentry.io/5", ""},
		{"invalid DSN, key not in the error", "gopher://" + secretKey + "@h/5", "scheme must be http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.DSN = configopaque.String(tt.dsn)
			set := exportertest.NewNopSettings(metadata.Type)
			te, terr := f.CreateTraces(context.Background(), set, cfg)
			le, lerr := f.CreateLogs(context.Background(), set, cfg)
			for _, err := range []error{terr, lerr} {
				if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), secretKey) {
					t.Errorf("error leaks the key: %v", err)
				}
			}
			if tt.wantErr != "" {
				return
			}
			host := componenttest.NewNopHost()
			for _, c := range []interface {
				Start(context.Context, component.Host) error
				Shutdown(context.Context) error
			}{te, le} {
				if err := c.Start(context.Background(), host); err != nil {
					t.Fatal(err)
				}
				if err := c.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
