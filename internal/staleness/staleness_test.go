package staleness

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// series returns metrics as a component emits them: a resource and a
// scope, a gauge and a cumulative sum with a point per service each.
func series(ts pcommon.Timestamp, services ...string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "vigil")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/vigil-otel/vigil/test")
	sm.Scope().SetVersion("1.0")
	g := sm.Metrics().AppendEmpty()
	g.SetName("budget_remaining")
	g.SetDescription("a gauge")
	s := sm.Metrics().AppendEmpty()
	s.SetName("events")
	s.SetUnit("{event}")
	sum := s.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sum.SetIsMonotonic(true)
	h := sm.Metrics().AppendEmpty()
	h.SetName("latency")
	h.SetUnit("ms")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	gauge := g.SetEmptyGauge()
	for i, svc := range services {
		hp := hist.DataPoints().AppendEmpty()
		hp.SetStartTimestamp(ts - 1e9)
		hp.SetTimestamp(ts)
		hp.SetCount(3)
		hp.SetSum(30)
		hp.ExplicitBounds().FromRaw([]float64{10, 100})
		hp.BucketCounts().FromRaw([]uint64{1, 2, 0})
		hp.Attributes().PutStr("service_name", svc)
		p := gauge.DataPoints().AppendEmpty()
		p.SetTimestamp(ts)
		p.SetDoubleValue(0.5)
		p.Attributes().PutStr("service_name", svc)
		q := sum.DataPoints().AppendEmpty()
		q.SetStartTimestamp(ts - 1e9)
		q.SetTimestamp(ts)
		q.SetIntValue(int64(10 * (i + 1)))
		q.Attributes().PutStr("service_name", svc)
	}
	return md
}

func TestMarkersKeepIdentityAndFlagEveryPoint(t *testing.T) {
	ts := pcommon.NewTimestampFromTime(time.Unix(1000, 0))
	src := series(ts-1e9, "checkout", "cart")
	got := Markers(src, func(name string, attrs pcommon.Map) bool {
		v, _ := attrs.Get("service_name")
		return v.Str() == "checkout"
	}, ts)

	require.Equal(t, 1, got.ResourceMetrics().Len())
	rm := got.ResourceMetrics().At(0)
	assert.Equal(t, map[string]any{"service.name": "vigil"}, rm.Resource().Attributes().AsRaw())
	require.Equal(t, 1, rm.ScopeMetrics().Len())
	sm := rm.ScopeMetrics().At(0)
	assert.Equal(t, "github.com/vigil-otel/vigil/test", sm.Scope().Name())
	assert.Equal(t, "1.0", sm.Scope().Version())
	require.Equal(t, 3, sm.Metrics().Len(), "one metric per marker")

	g := sm.Metrics().At(0)
	assert.Equal(t, "budget_remaining", g.Name())
	assert.Equal(t, "a gauge", g.Description())
	require.Equal(t, pmetric.MetricTypeGauge, g.Type())
	require.Equal(t, 1, g.Gauge().DataPoints().Len())
	gp := g.Gauge().DataPoints().At(0)
	assert.True(t, gp.Flags().NoRecordedValue())
	assert.True(t, math.IsNaN(gp.DoubleValue()), "no number for a reader that ignores the flag")
	assert.Equal(t, ts, gp.Timestamp())
	assert.Equal(t, map[string]any{"service_name": "checkout"}, gp.Attributes().AsRaw())

	s := sm.Metrics().At(1)
	assert.Equal(t, "events", s.Name())
	assert.Equal(t, "{event}", s.Unit())
	require.Equal(t, pmetric.MetricTypeSum, s.Type())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, s.Sum().AggregationTemporality())
	assert.True(t, s.Sum().IsMonotonic())
	require.Equal(t, 1, s.Sum().DataPoints().Len())
	sp := s.Sum().DataPoints().At(0)
	assert.True(t, sp.Flags().NoRecordedValue())
	assert.True(t, math.IsNaN(sp.DoubleValue()))
	assert.Equal(t, map[string]any{"service_name": "checkout"}, sp.Attributes().AsRaw())

	h := sm.Metrics().At(2)
	assert.Equal(t, "latency", h.Name())
	assert.Equal(t, "ms", h.Unit())
	require.Equal(t, pmetric.MetricTypeHistogram, h.Type())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, h.Histogram().AggregationTemporality())
	require.Equal(t, 1, h.Histogram().DataPoints().Len())
	hp := h.Histogram().DataPoints().At(0)
	assert.True(t, hp.Flags().NoRecordedValue())
	assert.Equal(t, ts, hp.Timestamp())
	assert.Equal(t, map[string]any{"service_name": "checkout"}, hp.Attributes().AsRaw())

	assert.Equal(t, 6, Markers(src, nil, ts).DataPointCount(), "nil keeps every point")
	assert.Zero(t, Markers(src, func(string, pcommon.Map) bool { return false }, ts).ResourceMetrics().Len(),
		"nothing kept: no empty resource or scope")
}

// prometheusExporter starts contrib's Prometheus exporter, the one Vigil's
// configurations use, and returns it with a function that scrapes it.
func prometheusExporter(t *testing.T) (exporter.Metrics, func() string) {
	t.Helper()
	f := prometheusexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*prometheusexporter.Config)
	addr := fmt.Sprintf("127.0.0.1:%d", vigiltest.FreePort(t))
	cfg.ServerConfig.NetAddr.Endpoint = addr
	cfg.MetricExpiration = time.Hour
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, exp.Shutdown(context.Background())) })
	return exp, func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
}

// has reports whether the exporter's page has a sample of metric for the
// service.
func has(page, metric, service string) bool {
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, metric+"{") && strings.Contains(line, `service_name="`+service+`"`) {
			return true
		}
	}
	return false
}

// TestPrometheusExporterDropsMarkedSeries: the series the markers name
// leave the exporter's page at once; the others stay.
func TestPrometheusExporterDropsMarkedSeries(t *testing.T) {
	exp, scrape := prometheusExporter(t)
	ctx := context.Background()
	ts := pcommon.NewTimestampFromTime(time.Now())
	require.NoError(t, exp.ConsumeMetrics(ctx, series(ts, "checkout", "cart", "search")))
	page := scrape()
	for _, svc := range []string{"checkout", "cart", "search"} {
		require.True(t, has(page, "budget_remaining", svc), svc)
		require.True(t, has(page, "events_total", svc), svc)
		require.True(t, has(page, "latency_milliseconds_bucket", svc), "%s\n%s", svc, page)
	}

	gone := func(_ string, attrs pcommon.Map) bool {
		v, _ := attrs.Get("service_name")
		return v.Str() != "search"
	}
	require.NoError(t, exp.ConsumeMetrics(ctx, Markers(series(ts, "checkout", "cart", "search"), gone, ts+1e9)))
	page = scrape()
	for _, svc := range []string{"checkout", "cart"} {
		assert.False(t, has(page, "budget_remaining", svc), "marked series gone: %s\n%s", svc, page)
		assert.False(t, has(page, "events_total", svc), "marked series gone: %s\n%s", svc, page)
		assert.False(t, has(page, "latency_milliseconds_bucket", svc), "marked series gone: %s\n%s", svc, page)
	}
	assert.True(t, has(page, "latency_milliseconds_bucket", "search"), page)
	assert.True(t, has(page, "budget_remaining", "search"), page)
	assert.True(t, has(page, "events_total", "search"), page)
}

// TestPrometheusExporterReadsOneMarkerPerMetric pins the exporter's
// behaviour that Markers works around: of two markers in one metric, only
// the first ends its series. When this fails, the exporter was fixed and
// Markers may put a metric's markers together.
func TestPrometheusExporterReadsOneMarkerPerMetric(t *testing.T) {
	exp, scrape := prometheusExporter(t)
	ctx := context.Background()
	ts := pcommon.NewTimestampFromTime(time.Now())
	require.NoError(t, exp.ConsumeMetrics(ctx, series(ts, "checkout", "cart")))
	page := scrape()
	require.True(t, has(page, "budget_remaining", "cart") && has(page, "events_total", "cart"), page)

	// Both series of each metric marked, in the metric as emitted.
	md := series(ts, "checkout", "cart")
	for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		var dps pmetric.NumberDataPointSlice
		switch m.Type() {
		case pmetric.MetricTypeSum:
			dps = m.Sum().DataPoints()
		case pmetric.MetricTypeGauge:
			dps = m.Gauge().DataPoints()
		default:
			continue
		}
		for _, dp := range dps.All() {
			dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
			dp.SetTimestamp(ts + 1e9)
		}
	}
	require.NoError(t, exp.ConsumeMetrics(ctx, md))
	page = scrape()
	assert.False(t, has(page, "budget_remaining", "checkout"), page)
	assert.False(t, has(page, "events_total", "checkout"), page)
	assert.True(t, has(page, "budget_remaining", "cart"), "the second marker of the metric was ignored:\n%s", page)
	assert.True(t, has(page, "events_total", "cart"), "the second marker of the metric was ignored:\n%s", page)
}
