package servicemetadataprocessor

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// serviceNameKey is the resource attribute that names a service
// (OpenTelemetry semantic conventions).
const serviceNameKey = "service.name"

// groupByService groups the indexes 0..n-1 of a request's resources by
// service name, services in the order they first appear.
func groupByService(n int, resource func(int) pcommon.Resource) (services []string, groups [][]int) {
	index := map[string]int{}
	for i := 0; i < n; i++ {
		svc := ""
		if v, ok := resource(i).Attributes().Get(serviceNameKey); ok {
			svc = v.AsString()
		}
		g, ok := index[svc]
		if !ok {
			g = len(services)
			index[svc] = g
			services = append(services, svc)
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return services, groups
}

// withService returns ctx with key set to service in its client metadata,
// keeping the rest of the client information. A resource without a
// service name leaves the metadata as it was: downstream, no key.
func withService(ctx context.Context, key, service string) context.Context {
	if service == "" {
		return ctx
	}
	info := client.FromContext(ctx)
	md := map[string][]string{}
	for k := range info.Metadata.Keys() {
		md[k] = info.Metadata.Get(k)
	}
	md[key] = []string{service}
	info.Metadata = client.NewMetadata(md)
	return client.NewContext(ctx, info)
}

// consumeParts sends each service's part with its service in the metadata.
// A request of one service (the usual case: one SDK, one resource) goes
// on whole, with no copy.
func consumeParts[T any](ctx context.Context, key string, whole T, n int, resource func(int) pcommon.Resource,
	part func(indexes []int) T, consume func(context.Context, T) error,
) error {
	services, groups := groupByService(n, resource)
	if len(services) <= 1 {
		svc := ""
		if len(services) == 1 {
			svc = services[0]
		}
		return consume(withService(ctx, key, svc), whole)
	}
	var errs []error
	for g, svc := range services {
		if err := consume(withService(ctx, key, svc), part(groups[g])); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type tracesProcessor struct {
	component.StartFunc
	component.ShutdownFunc
	key  string
	next consumer.Traces
}

func (p *tracesProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	rss := td.ResourceSpans()
	return consumeParts(ctx, p.key, td, rss.Len(),
		func(i int) pcommon.Resource { return rss.At(i).Resource() },
		func(indexes []int) ptrace.Traces {
			out := ptrace.NewTraces()
			for _, i := range indexes {
				rss.At(i).MoveTo(out.ResourceSpans().AppendEmpty())
			}
			return out
		},
		p.next.ConsumeTraces)
}

type metricsProcessor struct {
	component.StartFunc
	component.ShutdownFunc
	key  string
	next consumer.Metrics
}

func (p *metricsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *metricsProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	return consumeParts(ctx, p.key, md, rms.Len(),
		func(i int) pcommon.Resource { return rms.At(i).Resource() },
		func(indexes []int) pmetric.Metrics {
			out := pmetric.NewMetrics()
			for _, i := range indexes {
				rms.At(i).MoveTo(out.ResourceMetrics().AppendEmpty())
			}
			return out
		},
		p.next.ConsumeMetrics)
}

type logsProcessor struct {
	component.StartFunc
	component.ShutdownFunc
	key  string
	next consumer.Logs
}

func (p *logsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	rls := ld.ResourceLogs()
	return consumeParts(ctx, p.key, ld, rls.Len(),
		func(i int) pcommon.Resource { return rls.At(i).Resource() },
		func(indexes []int) plog.Logs {
			out := plog.NewLogs()
			for _, i := range indexes {
				rls.At(i).MoveTo(out.ResourceLogs().AppendEmpty())
			}
			return out
		},
		p.next.ConsumeLogs)
}
