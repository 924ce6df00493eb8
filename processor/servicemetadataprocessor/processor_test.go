package servicemetadataprocessor

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// part is what the next consumer saw in one call: the metadata value and
// the service names of the resources it got.
type part struct {
	key      []string // client metadata under the configured key
	tenant   []string // metadata set before the processor
	services []string
}

type recorder struct {
	parts []part
	fail  string // a service whose part is refused
}

func (r *recorder) record(ctx context.Context, n int, service func(int) string) error {
	md := client.FromContext(ctx).Metadata
	p := part{key: md.Get("service.name"), tenant: md.Get("tenant")}
	for i := 0; i < n; i++ {
		p.services = append(p.services, service(i))
	}
	r.parts = append(r.parts, p)
	if r.fail != "" && slices.Contains(p.services, r.fail) {
		return errors.New("refused " + r.fail)
	}
	return nil
}

func traces(services ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		if s != "" {
			rs.Resource().Attributes().PutStr("service.name", s)
		}
		rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("op-" + s)
	}
	return td
}

func TestSplitsByService(t *testing.T) {
	tests := []struct {
		name      string
		services  []string
		fail      string
		wantParts []part
		wantErr   string
	}{
		{
			name:      "one service goes on whole",
			services:  []string{"checkout", "checkout"},
			wantParts: []part{{key: []string{"checkout"}, tenant: []string{"t1"}, services: []string{"checkout", "checkout"}}},
		},
		{
			name:     "several services, one part each, in order of appearance",
			services: []string{"checkout", "payments", "checkout", "cart"},
			wantParts: []part{
				{key: []string{"checkout"}, tenant: []string{"t1"}, services: []string{"checkout", "checkout"}},
				{key: []string{"payments"}, tenant: []string{"t1"}, services: []string{"payments"}},
				{key: []string{"cart"}, tenant: []string{"t1"}, services: []string{"cart"}},
			},
		},
		{
			name:     "resources without a service go on without the key",
			services: []string{"", "checkout", ""},
			wantParts: []part{
				{tenant: []string{"t1"}, services: []string{"", ""}},
				{key: []string{"checkout"}, tenant: []string{"t1"}, services: []string{"checkout"}},
			},
		},
		{
			name:     "a refused part is reported, the others are delivered",
			services: []string{"checkout", "payments", "cart"},
			fail:     "payments",
			wantParts: []part{
				{key: []string{"checkout"}, tenant: []string{"t1"}, services: []string{"checkout"}},
				{key: []string{"payments"}, tenant: []string{"t1"}, services: []string{"payments"}},
				{key: []string{"cart"}, tenant: []string{"t1"}, services: []string{"cart"}},
			},
			wantErr: "refused payments",
		},
		{
			name:      "an empty request goes on",
			services:  nil,
			wantParts: []part{{tenant: []string{"t1"}}},
		},
	}
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"tenant": {"t1"}})})
	for _, tt := range tests {
		for _, signal := range []string{"traces", "metrics", "logs"} {
			t.Run(tt.name+"/"+signal, func(t *testing.T) {
				rec := &recorder{fail: tt.fail}
				err := consumeSignal(t, signal, ctx, rec, tt.services)
				if tt.wantErr == "" && err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if !slices.EqualFunc(rec.parts, tt.wantParts, func(a, b part) bool {
					return slices.Equal(a.key, b.key) && slices.Equal(a.tenant, b.tenant) && slices.Equal(a.services, b.services)
				}) {
					t.Errorf("parts = %+v\nwant    %+v", rec.parts, tt.wantParts)
				}
			})
		}
	}
}

// consumeSignal builds the processor for one signal through the factory,
// with a next consumer that records every call, and sends it a request
// whose resources belong to services.
func consumeSignal(t *testing.T, signal string, ctx context.Context, rec *recorder, services []string) error {
	t.Helper()
	f := NewFactory()
	set := processortest.NewNopSettings(f.Type())
	cfg := f.CreateDefaultConfig()
	host := componenttest.NewNopHost()
	switch signal {
	case "traces":
		next, _ := consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
			rss := td.ResourceSpans()
			return rec.record(ctx, rss.Len(), func(i int) string { v, _ := rss.At(i).Resource().Attributes().Get("service.name"); return v.Str() })
		})
		p, err := f.CreateTraces(ctx, set, cfg, next)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx, host); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.Shutdown(ctx) }()
		return p.ConsumeTraces(ctx, traces(services...))
	case "metrics":
		next, _ := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
			rms := md.ResourceMetrics()
			return rec.record(ctx, rms.Len(), func(i int) string { v, _ := rms.At(i).Resource().Attributes().Get("service.name"); return v.Str() })
		})
		p, err := f.CreateMetrics(ctx, set, cfg, next)
		if err != nil {
			t.Fatal(err)
		}
		md := pmetric.NewMetrics()
		for _, s := range services {
			rm := md.ResourceMetrics().AppendEmpty()
			if s != "" {
				rm.Resource().Attributes().PutStr("service.name", s)
			}
			rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("m")
		}
		return p.ConsumeMetrics(ctx, md)
	default:
		next, _ := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
			rls := ld.ResourceLogs()
			return rec.record(ctx, rls.Len(), func(i int) string { v, _ := rls.At(i).Resource().Attributes().Get("service.name"); return v.Str() })
		})
		p, err := f.CreateLogs(ctx, set, cfg, next)
		if err != nil {
			t.Fatal(err)
		}
		ld := plog.NewLogs()
		for _, s := range services {
			rl := ld.ResourceLogs().AppendEmpty()
			if s != "" {
				rl.Resource().Attributes().PutStr("service.name", s)
			}
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("line")
		}
		return p.ConsumeLogs(ctx, ld)
	}
}

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id      string
		want    string
		wantErr string
	}{
		{"service_metadata", "service.name", ""},
		{"service_metadata/custom", "x-service", ""},
		{"service_metadata/empty", "", "metadata_key: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unmarshal(cfg); err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.MetadataKey != tt.want {
				t.Errorf("metadata_key = %q (%v), want %q", cfg.MetadataKey, err, tt.want)
			}
		})
	}
}
