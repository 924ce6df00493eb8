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
	"github.com/vigil-otel/vigil/internal/statusboard"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// TestPublishesToTheBoard: each evaluation hands the console a snapshot
// of every SLO series (objective, budget, burn rates, alerts); shutdown
// withdraws it.
func TestPublishesToTheBoard(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec))
	start := time.Date(2025, time.January, 6, 0, 0, 0, 0, time.UTC)
	clock := tracker.NewSimClock(start)
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("slo", "board")
	ctx := context.Background()
	tl, err := NewReplayFactory(clock.Now).CreateTracesToLogs(ctx, set, cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	require.NoError(t, tl.Start(ctx, componenttest.NewNopHost()))

	at := start.Add(time.Minute)
	clock.Set(at)
	td := routeSpans(20, "/pay", ptrace.StatusCodeError)
	routeSpans(80, "/pay", ptrace.StatusCodeOk).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	for _, rs := range td.ResourceSpans().All() {
		for _, sp := range rs.ScopeSpans().At(0).Spans().All() {
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Second)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at))
		}
	}
	require.NoError(t, tl.ConsumeTraces(ctx, td))
	require.NoError(t, tl.(Evaluator).Evaluate(ctx, at))

	var got *statusboard.SLO
	for _, s := range statusboard.Default.SLOs() {
		if s.Service == "checkout" {
			got = &s
		}
	}
	require.NotNil(t, got, "the SLO is on the board")
	assert.Equal(t, at, got.At)
	assert.Less(t, got.BudgetRemaining, 1.0, "bad events spent budget")
	require.NotEmpty(t, got.BurnRates)
	assert.InDelta(t, 200, got.BurnRates[0].Rate, 1e-9, "20%% bad against a 0.1%% budget over the shortest window")
	assert.True(t, got.Firing(), "the page fires")
	assert.Len(t, got.Budget, 1, "one evaluation, one point of history")
	// The budget comes from this minute's events only: the console words
	// it with when they start (slo.DataSeen).
	assert.False(t, got.DataSince.After(at), "DataSince %v after the events at %v", got.DataSince, at)
	assert.Less(t, at.Sub(got.DataSince), time.Minute, "DataSince %v: the bucket of the events at %v", got.DataSince, at)

	require.NoError(t, tl.Shutdown(ctx))
	for _, s := range statusboard.Default.SLOs() {
		assert.NotEqual(t, "checkout", s.Service, "withdrawn at shutdown")
	}
}
