package anomalyconnector

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// deltaCalls is a request of delta RED calls of service a: 60 calls, 6
// failed, over the minute's first 30 s.
func deltaCalls() pmetric.Metrics {
	return spanMetrics([]callsPoint{
		{service: "a", op: "GET", start: t0, ts: t0.Add(30 * time.Second), value: 54, delta: true},
		{service: "a", op: "GET", status: "STATUS_CODE_ERROR", start: t0, ts: t0.Add(30 * time.Second), value: 6, delta: true},
	}, nil)
}

// sendCopy hands both instances a copy of md, as a receiver that decoded
// a sender's retry anew would.
func sendCopy(h *harness, md pmetric.Metrics) {
	cp := pmetric.NewMetrics()
	md.CopyTo(cp)
	h.feed(t0.Add(40*time.Second), cp)
}

// TestRetriedRequest: a request sent again after the connector took it
// (another consumer of the fan-out refused it, and the sender retries)
// is accepted without being taken again: delta calls would otherwise
// count once per try, tripling the rate and the error count here.
// Repeats show in otelcol_anomaly_repeated_requests.
func TestRetriedRequest(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { _ = tel.Shutdown(context.Background()) }()
	set := defaultSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	h := newHarness(t, nil, set, nil)
	defer h.shutdown()
	md := deltaCalls()
	for range 3 {
		sendCopy(h, md)
	}
	got := h.drain()
	want := map[string]point{
		redKey(MetricRequestRate, "a", "GET"): {value: 2, total: -1}, // 60 calls over 30 s
		redKey(MetricErrorRatio, "a", "GET"):  {value: 0.1, total: 60},
	}
	checkPoints(t, got, want)

	m, err := tel.GetMetric("otelcol_anomaly_repeated_requests")
	if err != nil {
		t.Fatal(err)
	}
	if dps := m.Data.(metricdata.Sum[int64]).DataPoints; len(dps) != 1 || dps[0].Value != 2 {
		t.Errorf("otelcol_anomaly_repeated_requests = %+v, want 2", dps)
	}
}

// TestRetriedRequestWithoutDedup is the defect, with dedup off: every
// try counts.
func TestRetriedRequestWithoutDedup(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Dedup.Window = 0 }, defaultSettings(), nil)
	defer h.shutdown()
	md := deltaCalls()
	for range 3 {
		sendCopy(h, md)
	}
	checkPoints(t, h.drain(), map[string]point{
		redKey(MetricRequestRate, "a", "GET"): {value: 6, total: -1},
		redKey(MetricErrorRatio, "a", "GET"):  {value: 0.1, total: 180},
	})
}

// TestOverlappingRequestTakenWhole: a request with the points of an
// earlier one and another is a new request, taken whole (delta points
// sent twice that way count twice: dedup remembers requests, not points).
func TestOverlappingRequestTakenWhole(t *testing.T) {
	h := newHarness(t, nil, defaultSettings(), nil)
	defer h.shutdown()
	sendCopy(h, deltaCalls())
	more := deltaCalls()
	spanMetrics([]callsPoint{{service: "a", op: "GET", start: t0.Add(30 * time.Second), ts: t0.Add(40 * time.Second), value: 20, delta: true}}, nil).
		ResourceMetrics().MoveAndAppendTo(more.ResourceMetrics())
	sendCopy(h, more)
	checkPoints(t, h.drain(), map[string]point{
		redKey(MetricRequestRate, "a", "GET"): {value: 3.5, total: -1}, // 140 calls over 40 s
		redKey(MetricErrorRatio, "a", "GET"):  {value: 12.0 / 140, total: 140},
	})
}
