package sloconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
)

const metricRepeatedRequests = "otelcol_slo_repeated_requests"

// availabilitySpec: every checkout server span is an event, failed ones
// bad.
const availabilitySpec = `version: vigil/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      spans:
        match: {span_kind: server}
        bad: {status: error}
`

// replayHarness is a connector of the replay factory, which evaluates
// when told: what a test reads from an evaluation is exactly what was
// consumed before it. The traces and metrics instances get each request
// as the collector's fan-out hands it to them.
type replayHarness struct {
	t       *testing.T
	c       *sloConnector
	traces  connector.Traces
	metrics connector.Metrics
	mSink   *consumertest.MetricsSink
	tel     *componenttest.Telemetry
	at      time.Time
}

func newReplayHarness(t *testing.T, name string, cfg *Config) *replayHarness {
	t.Helper()
	h := &replayHarness{t: t, mSink: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry(),
		at: time.Now().Truncate(time.Minute)}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	f := NewReplayFactory(func() time.Time { return h.at })
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("slo", name)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	ctx := context.Background()
	tm, err := f.CreateTracesToMetrics(ctx, set, cfg, h.mSink)
	require.NoError(t, err)
	mm, err := f.CreateMetricsToMetrics(ctx, set, cfg, h.mSink)
	require.NoError(t, err)
	h.traces, h.metrics, h.c = tm, mm, tm.(*tracesFacet).c
	for _, c := range []component.Component{tm, mm} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{tm, mm} {
			require.NoError(t, c.Shutdown(ctx))
		}
	})
	return h
}

// sendTraces hands the connector a request as a receiver decoded it:
// each try of a sender's retry is a new copy of the same content.
func (h *replayHarness) sendTraces(td ptrace.Traces) {
	cp := ptrace.NewTraces()
	td.CopyTo(cp)
	require.NoError(h.t, h.traces.ConsumeTraces(context.Background(), cp))
}

func (h *replayHarness) sendMetrics(md pmetric.Metrics) {
	cp := pmetric.NewMetrics()
	md.CopyTo(cp)
	require.NoError(h.t, h.metrics.ConsumeMetrics(context.Background(), cp))
}

// events evaluates and returns the good and bad events counted by the
// SLO.
func (h *replayHarness) events(slo string) (good, bad float64) {
	h.t.Helper()
	require.NoError(h.t, h.traces.(Evaluator).Evaluate(context.Background(), h.at))
	pts := lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents)
	good, _ = valueOf(pts, map[string]any{"slo": slo, "outcome": "good"})
	bad, _ = valueOf(pts, map[string]any{"slo": slo, "outcome": "bad"})
	return good, bad
}

// repeated is the connector's otelcol_slo_repeated_requests by signal.
func (h *replayHarness) repeated() map[string]int64 {
	h.t.Helper()
	m, err := h.tel.GetMetric(metricRepeatedRequests)
	require.NoError(h.t, err)
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		signal, _ := dp.Attributes.Value(attribute.Key(attrSignal))
		out[signal.AsString()] = dp.Value
	}
	return out
}

// checkoutSpans is a request of n checkout server spans with IDs (from
// first on), ending a second before at; every fourth fails.
func checkoutSpans(first, n int, at time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := first; i < first+n; i++ {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		s.SetSpanID(pcommon.SpanID{9, 9, 9, 9, 0, 0, byte(i >> 8), byte(i)})
		s.SetName("POST /checkout")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Second - 30*time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Second)))
		if i%4 == 3 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// TestRetriedSpansCountOnce: a request sent again after the connector
// counted it (another consumer of the fan-out refused it, and the sender
// retries) is accepted without being counted again, in the SLO events
// and in the RED metrics the anomaly connector watches; each repeat is
// counted in otelcol_slo_repeated_requests. Before dedup the three tries
// counted 60 events.
func TestRetriedSpansCountOnce(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "checkout.yaml", availabilitySpec))
	cfg.RED.Enabled = true
	h := newReplayHarness(t, "retried-spans", cfg)
	td := checkoutSpans(0, 20, h.at)
	for range 3 { // the first try and two retries
		h.sendTraces(td)
	}
	good, bad := h.events("availability")
	assert.Equal(t, 15.0, good)
	assert.Equal(t, 5.0, bad)
	assert.Equal(t, map[string]int64{"traces": 2, "metrics": 0}, h.repeated())

	h.c.emitRED(context.Background(), h.at)
	mds := h.mSink.AllMetrics()
	assert.Equal(t, uint64(20), histogramCount(mds[len(mds)-1]), "RED durations of the spans sent, once each")

	// The next request of new spans counts, and so does its retry... once.
	next := checkoutSpans(20, 20, h.at)
	h.sendTraces(next)
	h.sendTraces(next)
	good, bad = h.events("availability")
	assert.Equal(t, 30.0, good)
	assert.Equal(t, 10.0, bad)
}

// TestRetriedSpansCountAgainWithoutDedup is the defect, with dedup off
// (window 0): every try of the request is counted.
func TestRetriedSpansCountAgainWithoutDedup(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "checkout.yaml", availabilitySpec))
	cfg.Dedup.Window = 0
	h := newReplayHarness(t, "no-dedup", cfg)
	td := checkoutSpans(0, 20, h.at)
	for range 3 {
		h.sendTraces(td)
	}
	good, bad := h.events("availability")
	assert.Equal(t, 45.0, good)
	assert.Equal(t, 15.0, bad)
	assert.Equal(t, map[string]int64{"traces": 0, "metrics": 0}, h.repeated())
}

// TestOverlappingRequestCountsWhole: a request that carries spans of an
// earlier one along with new ones is another request (a sender that
// batched again between tries): all of its spans count, the earlier
// ones a second time. Dedup remembers requests, not spans (see
// internal/dedup for why); nothing new is ever dropped.
func TestOverlappingRequestCountsWhole(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "checkout.yaml", availabilitySpec))
	h := newReplayHarness(t, "overlap", cfg)
	h.sendTraces(checkoutSpans(0, 20, h.at))
	h.sendTraces(checkoutSpans(10, 20, h.at)) // spans 10-19 again, 20-29 new
	good, bad := h.events("availability")
	assert.Equal(t, 30.0, good)
	assert.Equal(t, 10.0, bad)
	assert.Equal(t, int64(0), h.repeated()["traces"])
}

// TestSpansWithoutIDsCountEveryTime: spans without IDs cannot be told
// from new spans with the same times, so their request counts at every
// try, as before dedup.
func TestSpansWithoutIDsCountEveryTime(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "checkout.yaml", availabilitySpec))
	h := newReplayHarness(t, "no-ids", cfg)
	td := checkoutSpans(0, 4, h.at)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2).SetSpanID(pcommon.NewSpanIDEmpty())
	h.sendTraces(td)
	h.sendTraces(td)
	good, bad := h.events("availability")
	assert.Equal(t, 6.0, good)
	assert.Equal(t, 2.0, bad)
}

// TestRetriedDeltaPointsCountOnce: metric SLIs count a delta point's
// value; a retried request of delta points is counted once. (Cumulative
// points sent again were never counted twice: they are not after the
// stream's previous point.)
func TestRetriedDeltaPointsCountOnce(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "payments.yaml", ratioSpec))
	h := newReplayHarness(t, "retried-points", cfg)
	md := counterBatch("payments",
		counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "ok"}, value: 90, start: h.at.Add(-11 * time.Second), ts: h.at.Add(-time.Second)},
		counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "timeout"}, value: 10, start: h.at.Add(-11 * time.Second), ts: h.at.Add(-time.Second)})
	for range 4 {
		h.sendMetrics(md)
	}
	good, bad := h.events("auth")
	assert.Equal(t, 90.0, good)
	assert.Equal(t, 10.0, bad)
	assert.Equal(t, map[string]int64{"traces": 0, "metrics": 3}, h.repeated())
}

// TestRepeatWhileFirstTryIsCounted: a try that arrives while the first
// is still being counted (a sender that gave up waiting) is a repeat
// too: the connector records a request before it counts it.
func TestRepeatWhileFirstTryIsCounted(t *testing.T) {
	cfg := testConfig(writeSpec(t, t.TempDir(), "checkout.yaml", availabilitySpec))
	h := newReplayHarness(t, "concurrent", cfg)
	td := checkoutSpans(0, 200, h.at)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			cp := ptrace.NewTraces()
			td.CopyTo(cp)
			assert.NoError(t, h.traces.ConsumeTraces(context.Background(), cp))
		}()
	}
	for range 8 {
		<-done
	}
	good, bad := h.events("availability")
	assert.Equal(t, 150.0, good)
	assert.Equal(t, 50.0, bad)
	assert.Equal(t, int64(7), h.repeated()["traces"])
}
