package sloconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vigil-otel/vigil/conventions"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Sloth's getting-started SLI: a ratio of a histogram's _count by code.
const slothCountSpec = `version: prometheus/v1
service: myservice
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
`

// Pyrra's ratio indicator over a counter, grouped by handler.
const pyrraCounterSpec = `apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api-errors, namespace: shop}
spec:
  target: "99"
  window: 2w
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="shop/api",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="shop/api"}'}
      grouping: [handler]
`

// Sloth's apiserver latency SLI: count minus the bucket at 0.4s.
const slothLatencySpec = `version: prometheus/v1
service: k8s-apiserver
slos:
  - name: requests-latency
    objective: 99
    sli:
      events:
        error_query: (sum(rate(apiserver_request_duration_seconds_count{verb!="WATCH"}[{{.window}}])) - sum(rate(apiserver_request_duration_seconds_bucket{le="0.4",verb!="WATCH"}[{{.window}}])))
        total_query: sum(rate(apiserver_request_duration_seconds_count{verb!="WATCH"}[{{.window}}]))
`

// otlpHistogram is one delta point of an OTLP histogram in seconds.
func otlpHistogram(res map[string]any, name string, attrs map[string]any, bounds []float64, counts []uint64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(res)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	_ = dp.Attributes().FromRaw(attrs)
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(counts)
	var total uint64
	for _, c := range counts {
		total += c
	}
	dp.SetCount(total)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return md
}

// TestPromQLSLIsInTheStream: PromQL SLIs that are counts of events are
// evaluated on OTLP metrics under their Prometheus names: the metric name
// with the exporter's suffixes, attributes as label names, job from the
// resource's service.namespace/service.name.
func TestPromQLSLIsInTheStream(t *testing.T) {
	myservice := map[string]any{"service.name": "myservice"}
	tests := []struct {
		name    string
		spec    string
		batches []pmetric.Metrics
		want    map[string][2]uint64
	}{
		{
			name: "Sloth: ratio of a histogram's _count by code, job from service.name",
			spec: slothCountSpec,
			batches: []pmetric.Metrics{
				otlpHistogram(myservice, "http.request.duration", map[string]any{"code": "200"}, []float64{0.1}, []uint64{90, 7}),
				otlpHistogram(myservice, "http.request.duration", map[string]any{"code": "503"}, []float64{0.1}, []uint64{2, 1}),
				otlpHistogram(myservice, "http.request.duration", map[string]any{"code": "429"}, []float64{0.1}, []uint64{1, 0}),
				// Another job is not selected.
				otlpHistogram(map[string]any{"service.name": "other"}, "http.request.duration", map[string]any{"code": "500"}, []float64{0.1}, []uint64{50, 0}),
			},
			want: map[string][2]uint64{"myservice/requests-availability|": {97, 4}},
		},
		{
			name: "Pyrra: counter with _total, grouped by a translated attribute, job with the namespace",
			spec: pyrraCounterSpec,
			batches: []pmetric.Metrics{
				counterBatchRes(map[string]any{"service.name": "api", "service.namespace": "shop"},
					counterPoint{metric: "http.requests", attrs: map[string]any{"code": "200", "handler": "/pay"}, value: 48},
					counterPoint{metric: "http.requests", attrs: map[string]any{"code": "500", "handler": "/pay"}, value: 2},
					counterPoint{metric: "http.requests", attrs: map[string]any{"code": "502", "handler": "/cart"}, value: 1}),
			},
			want: map[string][2]uint64{"shop/api-errors|/pay": {48, 2}, "shop/api-errors|/cart": {0, 1}},
		},
		{
			name: "Sloth: latency as the count minus the bucket at le=0.4",
			spec: slothLatencySpec,
			batches: []pmetric.Metrics{
				otlpHistogram(map[string]any{"service.name": "apiserver"}, "apiserver.request.duration", map[string]any{"verb": "GET"}, []float64{0.1, 0.4, 1}, []uint64{60, 30, 8, 2}),
				otlpHistogram(map[string]any{"service.name": "apiserver"}, "apiserver.request.duration", map[string]any{"verb": "WATCH"}, []float64{0.1, 0.4, 1}, []uint64{0, 0, 0, 100}),
			},
			want: map[string][2]uint64{"k8s-apiserver/requests-latency|": {90, 10}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compile(parseSLOs(t, tt.spec), componenttest.NewNopTelemetrySettings())
			require.NoError(t, err)
			require.Len(t, rs.slos, 1, "the SLO runs in the stream")
			acc := newMetricAccounting(time.Now())
			rec := &fakeRecorder{}
			for _, md := range tt.batches {
				acc.record(rs, md, rec, rec, time.Now())
			}
			assert.Equal(t, tt.want, totals(rec))
		})
	}
}

// TestRulesOnlyPromQLSLIsAreNotTracked: a PromQL SLI the stream cannot
// evaluate has no events here, so the connector reports nothing for it
// rather than an untouched budget.
func TestRulesOnlyPromQLSLIsAreNotTracked(t *testing.T) {
	rs, err := compile(parseSLOs(t, `version: prometheus/v1
service: home-wifi
slos:
  - name: satisfaction
    objective: 95
    sli:
      raw:
        error_ratio_query: 1 - avg(avg_over_time(unifipoller_client_satisfaction_ratio[{{.window}}]))
`), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	assert.Empty(t, rs.slos)
}

func counterBatchRes(res map[string]any, points ...counterPoint) pmetric.Metrics {
	md := counterBatch("", points...)
	_ = md.ResourceMetrics().At(0).Resource().Attributes().FromRaw(res)
	return md
}

// TestSlothSpecPagesFromOTLPMetrics: through the connector as the
// collector builds it, a Sloth spec's SLI is counted from OTLP metrics,
// its events are emitted, and its page carries the spec's labels as
// written (severity: pageteam) with Vigil's tier in alert.severity.
func TestSlothSpecPagesFromOTLPMetrics(t *testing.T) {
	dir := t.TempDir()
	spec := slothCountSpec + `    alerting:
      name: MyServiceHighErrorRate
      page_alert: {labels: {severity: pageteam, routing_key: myteam}}
      ticket_alert: {disable: true}
`
	h := newHarness(t, "sloth", testConfig(writeSpec(t, dir, "sloth.yaml", spec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	myservice := map[string]any{"service.name": "myservice"}
	h.consumeMetrics(otlpHistogram(myservice, "http.request.duration", map[string]any{"code": "200"}, []float64{0.1}, []uint64{10, 0}))
	h.consumeMetrics(otlpHistogram(myservice, "http.request.duration", map[string]any{"code": "500"}, []float64{0.1}, []uint64{40, 0}))
	require.Eventually(t, func() bool {
		pts := lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents)
		good, _ := valueOf(pts, map[string]any{"slo": "requests-availability", "outcome": "good"})
		bad, _ := valueOf(pts, map[string]any{"slo": "requests-availability", "outcome": "bad"})
		return good == 10 && bad == 40
	}, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
	ev := eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")[0]
	assert.Equal(t, "MyServiceHighErrorRate", ev.attrs[conventions.AttrAlertName])
	assert.Equal(t, "page", ev.attrs[conventions.AttrAlertSeverity])
	assert.Equal(t, "pageteam", ev.attrs["severity"])
	assert.Equal(t, "myteam", ev.attrs["routing_key"])
}
