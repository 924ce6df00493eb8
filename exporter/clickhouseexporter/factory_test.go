package clickhouseexporter

import (
	"context"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-otel/vigil/exporter/clickhouseexporter/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type().String() != "clickhouse" {
		t.Fatalf("type = %s", f.Type())
	}
	cfg := f.CreateDefaultConfig()
	if err := componenttest.CheckConfigStruct(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.(*Config).Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	te, err := f.CreateTraces(ctx, set, cfg)
	if err != nil || te == nil {
		t.Fatalf("CreateTraces: %v", err)
	}
	le, err := f.CreateLogs(ctx, set, cfg)
	if err != nil || le == nil {
		t.Fatalf("CreateLogs: %v", err)
	}
	me, err := f.CreateMetrics(ctx, set, cfg)
	if err != nil || me == nil {
		t.Fatalf("CreateMetrics: %v", err)
	}
	// Never started: shutting down must still be clean.
	for _, c := range []interface{ Shutdown(context.Context) error }{te, le, me} {
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown without Start: %v", err)
		}
	}
}

// TestStartFailsWithoutServer: with create_schema the exporter must reach the
// server at start, and says so without leaking the password. Port 1 on
// loopback refuses connections.
func TestStartFailsWithoutServer(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "127.0.0.1:1"
	cfg.Password = testPassword
	cfg.DialTimeout = 200_000_000
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	if err == nil {
		t.Fatal("Start succeeded without a server")
	}
	if !strings.Contains(err.Error(), "create schema") || strings.Contains(err.Error(), testPassword) {
		t.Errorf("Start error = %q", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after failed Start: %v", err)
	}
}

func TestClientOptions(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		check  func(t *testing.T, o *clickhouse.Options)
	}{
		{
			name:   "defaults",
			mutate: func(*Config) {},
			check: func(t *testing.T, o *clickhouse.Options) {
				if len(o.Addr) != 1 || o.Addr[0] != "127.0.0.1:9000" || o.Protocol != clickhouse.Native {
					t.Errorf("addr/protocol = %v/%v", o.Addr, o.Protocol)
				}
				// Connecting to the configured database would fail before
				// the migrations create it.
				if o.Auth.Database != "" || o.TLS != nil || len(o.Settings) != 0 {
					t.Errorf("auth/tls/settings = %+v/%v/%v", o.Auth, o.TLS, o.Settings)
				}
				if o.Compression == nil || o.Compression.Method != clickhouse.CompressionLZ4 {
					t.Errorf("compression = %+v, want LZ4", o.Compression)
				}
			},
		},
		{
			name: "credentials, several servers, async inserts, TLS",
			mutate: func(c *Config) {
				c.Endpoint = "tcp://a:9440,b:9440"
				c.Username, c.Password = "vigil", "pw"
				c.AsyncInsert = true
				c.TLS = configoptional.Some(configtls.NewDefaultClientConfig())
			},
			check: func(t *testing.T, o *clickhouse.Options) {
				if len(o.Addr) != 2 || o.Auth.Username != "vigil" || o.Auth.Password != "pw" {
					t.Errorf("addr/auth = %v/%+v", o.Addr, o.Auth)
				}
				if o.Settings["async_insert"] != 1 || o.Settings["wait_for_async_insert"] != 1 {
					t.Errorf("settings = %v: async inserts must wait for the flush so failures are retried", o.Settings)
				}
				if o.TLS == nil {
					t.Error("tls set but not used")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			o, err := clientOptions(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}
