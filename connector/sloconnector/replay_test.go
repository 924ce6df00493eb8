package sloconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo/tracker"
)

func TestEvaluateNeedsReplayFactory(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, "not-replay", testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	for _, c := range h.components() {
		ev, ok := c.(Evaluator)
		require.True(t, ok, "%T", c)
		assert.Error(t, ev.Evaluate(context.Background(), time.Now()))
	}
}

// A replay connector reads its clock, evaluates only when told, and
// emits what a production connector emits at that evaluation.
func TestReplayFactory(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec))
	start := time.Date(2025, time.January, 6, 0, 0, 0, 0, time.UTC)
	clock := tracker.NewSimClock(start)
	f := NewReplayFactory(clock.Now)
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("slo", "replay")
	mSink, lSink := new(consumertest.MetricsSink), new(consumertest.LogsSink)
	ctx := context.Background()
	tm, err := f.CreateTracesToMetrics(ctx, set, cfg, mSink)
	require.NoError(t, err)
	tl, err := f.CreateTracesToLogs(ctx, set, cfg, lSink)
	require.NoError(t, err)
	ev := tm.(Evaluator)
	require.Error(t, ev.Evaluate(ctx, start), "before Start")
	for _, c := range []component.Component{tm, tl} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	defer func() {
		require.NoError(t, tm.Shutdown(ctx))
		require.NoError(t, tl.Shutdown(ctx))
	}()

	// Spans a day old by the system clock, timely by the replay's.
	at := start.Add(time.Minute)
	clock.Set(at)
	td := routeSpans(20, "/pay", ptrace.StatusCodeError)
	routeSpans(80, "/pay", ptrace.StatusCodeOk).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	spans := td.ResourceSpans()
	for i := 0; i < spans.Len(); i++ {
		ss := spans.At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < ss.Len(); j++ {
			ss.At(j).SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Second)))
			ss.At(j).SetEndTimestamp(pcommon.NewTimestampFromTime(at))
		}
	}
	require.NoError(t, tm.ConsumeTraces(ctx, td))
	require.NoError(t, tl.ConsumeTraces(ctx, td))

	// No loop: nothing is emitted until Evaluate, whatever the interval.
	time.Sleep(4 * cfg.EvaluationInterval)
	assert.Zero(t, mSink.DataPointCount())
	assert.Zero(t, lSink.LogRecordCount())

	require.NoError(t, ev.Evaluate(ctx, at))
	mds := mSink.AllMetrics()
	require.Len(t, mds, 1)
	bad, _ := valueOf(lastPoints(mds, conventions.MetricSLOEvents), map[string]any{"outcome": "bad"})
	assert.Equal(t, 20.0, bad)
	burn, _ := valueOf(lastPoints(mds, conventions.MetricSLOBurnRate), map[string]any{"window": "5m"})
	assert.InDelta(t, 200, burn, 1e-9)
	dp := mds[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
	assert.Equal(t, start, dp.StartTimestamp().AsTime().UTC(), "counter start is the replay clock's")
	assert.Equal(t, at, dp.Timestamp().AsTime().UTC())
	fired := eventsWhere(alertEventsOf(lSink.AllLogs()), conventions.StateFiring)
	require.Len(t, fired, 1)
	lr := lSink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, at, lr.ObservedTimestamp().AsTime().UTC(), "observed at the replay clock's time")
}
