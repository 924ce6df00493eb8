package clickhouseexporter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
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

// TestStartsWithoutServer: with create_schema and no server, Start
// succeeds, so the collector (and the paging that does not depend on
// ClickHouse) starts; exports fail retryably, saying why without the
// password, and the exporter reports itself degraded. Port 1 on loopback
// refuses connections.
func TestStartsWithoutServer(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "127.0.0.1:1"
	cfg.Password = testPassword
	cfg.DialTimeout = 200_000_000
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // errors come back synchronously
	cfg.BackOffConfig.Enabled = false
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatalf("Start without a server: %v", err)
	}
	err = exp.ConsumeTraces(context.Background(), genTraces(1))
	if err == nil || consumererror.IsPermanent(err) || !strings.Contains(err.Error(), "create schema") || strings.Contains(err.Error(), testPassword) {
		t.Errorf("export without a server = %v, want a retryable create schema error without the password", err)
	}
	if got := host.last(); got != componentstatus.StatusRecoverableError {
		t.Errorf("status %v, want %v", got, componentstatus.StatusRecoverableError)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// statusHost records the component status reported to it.
type statusHost struct {
	mu     sync.Mutex
	events []componentstatus.Status
}

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
}

func (h *statusHost) last() componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return componentstatus.StatusNone
	}
	return h.events[len(h.events)-1]
}

// TestSchemaWhenTheServerAppears: the migrations run before the first
// insert, again after each failure (the data waits in the queue), and
// never again once they succeeded; the exporter reports itself degraded
// while they fail and healthy again after.
func TestSchemaWhenTheServerAppears(t *testing.T) {
	f := newFakeInserter()
	f.migrateFailures = 3
	cfg := testConfig()
	set := testSettings(nil)
	e := newExporter(cfg, set.Logger, openFake(f), newSchemaOnce())
	exp, err := exporterhelper.NewTraces(context.Background(), set, cfg, e.pushTraces, e.options(cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if f.migrations != 0 {
		t.Fatalf("%d migrations at start, want none: start must not need the server", f.migrations)
	}
	for range 3 {
		if err := exp.ConsumeTraces(context.Background(), genTraces(2)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { rows, _, _ := f.snapshot(); return rows[cfg.TracesTableName] == 6 })
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.migrations != f.migrateFailures+1 {
		t.Errorf("%d migrations, want %d failed and 1 that succeeded", f.migrations, f.migrateFailures)
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	want := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	if fmt.Sprint(host.events) != fmt.Sprint(want) {
		t.Errorf("status events %v, want %v", host.events, want)
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
