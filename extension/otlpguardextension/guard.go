package otlpguardextension

import (
	"context"
	"reflect"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// guard is the otlp_guard extension: a confighttp and configgrpc server
// middleware.
type guard struct {
	maxDepth  int
	paths     map[string]scan.Message // OTLP/HTTP path → export request
	telemetry *guardTelemetry
	scanners  sync.Pool // *scan.Scanner for maxDepth
	bodies    sync.Pool // *bytes.Buffer for HTTP bodies
	pending   pendingRefusals
}

var (
	_ extension.Extension            = (*guard)(nil)
	_ extensionmiddleware.HTTPServer = (*guard)(nil)
	_ extensionmiddleware.GRPCServer = (*guard)(nil)
)

func newGuard(cfg *Config, set component.TelemetrySettings) (*guard, error) {
	tel, err := newGuardTelemetry(set)
	if err != nil {
		return nil, err
	}
	g := &guard{
		maxDepth: cfg.MaxDepth,
		paths: map[string]scan.Message{
			cfg.TracesURLPath:   scan.TracesRequest,
			cfg.MetricsURLPath:  scan.MetricsRequest,
			cfg.LogsURLPath:     scan.LogsRequest,
			cfg.ProfilesURLPath: scan.ProfilesRequest,
		},
		telemetry: tel,
	}
	g.scanners.New = func() any { return scan.NewScanner(g.maxDepth) }
	return g, nil
}

func (*guard) Start(context.Context, component.Host) error { return nil }
func (*guard) Shutdown(context.Context) error              { return nil }

// check scans one request: a protobuf export request root, or JSON.
func (g *guard) check(body []byte, root scan.Message, json bool) *scan.Refusal {
	s := g.scanners.Get().(*scan.Scanner)
	defer g.scanners.Put(s)
	if json {
		return s.JSON(body)
	}
	return s.Proto(body, root)
}

// exportRequests maps the message names of the OTLP export requests, as
// the gRPC services' request types are named (pdata's internal types carry
// the proto names), to the scan's roots.
var exportRequests = map[string]scan.Message{
	"ExportTraceServiceRequest":    scan.TracesRequest,
	"ExportMetricsServiceRequest":  scan.MetricsRequest,
	"ExportLogsServiceRequest":     scan.LogsRequest,
	"ExportProfilesServiceRequest": scan.ProfilesRequest,
}

// rootOf returns the export request a gRPC request message is, or
// scan.None.
func rootOf(v any) scan.Message {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return scan.None
	}
	return exportRequests[t.Elem().Name()]
}
