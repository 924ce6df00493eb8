package statusboard

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func TestBudgetHistory(t *testing.T) {
	b := New()
	const period = 24 * time.Hour
	// Two days of evaluations every minute: the history covers the last
	// period, in at most HistoryPoints points, evenly enough.
	for i := range 2 * 24 * 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		b.PublishSLOs("slo", []SLO{{Name: "availability", Service: "checkout", Period: period, BudgetRemaining: 1 - float64(i)/10000, At: at}})
	}
	slos := b.SLOs()
	require.Len(t, slos, 1)
	h := slos[0].Budget
	require.NotEmpty(t, h)
	assert.LessOrEqual(t, len(h), HistoryPoints)
	assert.Greater(t, len(h), HistoryPoints/4, "the history keeps a useful resolution")
	last := t0.Add((2*24*60 - 1) * time.Minute)
	assert.Equal(t, last, h[len(h)-1].At, "the latest evaluation is the last point")
	assert.False(t, h[0].At.Before(last.Add(-period)), "nothing older than the period")
	assert.True(t, h[0].At.Before(last.Add(-period+2*time.Hour)), "the whole period is covered")
	for i := 1; i < len(h); i++ {
		assert.True(t, h[i].At.After(h[i-1].At))
	}
}

func TestPublishReadWithdraw(t *testing.T) {
	b := New()
	b.PublishSLOs("slo/b", []SLO{{Name: "latency", Service: "search", At: t0}})
	b.PublishSLOs("slo/a", []SLO{
		{Name: "availability", Service: "checkout", Group: map[string]string{"http.route": "/pay"}, At: t0,
			Alerts: []SLOAlert{{Severity: "page", Firing: true, Since: t0}}},
	})
	b.PublishAnomalies("anomaly", Anomalies{Watched: 12, Flagged: []Anomaly{
		{Metric: "error_ratio", Service: "checkout", Score: 0.7},
		{Metric: "latency_p99", Service: "search", Score: 0.9},
	}})
	slos := b.SLOs()
	require.Len(t, slos, 2)
	assert.Equal(t, "checkout", slos[0].Service, "by service")
	assert.True(t, slos[0].Firing())
	assert.False(t, slos[1].Firing())
	slos[0].Group["http.route"] = "changed"
	assert.Equal(t, "/pay", b.SLOs()[0].Group["http.route"], "readers get copies")

	flagged, watched := b.Anomalies()
	assert.Equal(t, 12, watched)
	require.Len(t, flagged, 2)
	assert.Equal(t, "latency_p99", flagged[0].Metric, "most anomalous first")

	b.Withdraw("slo/a")
	b.Withdraw("anomaly")
	assert.Len(t, b.SLOs(), 1)
	flagged, watched = b.Anomalies()
	assert.Empty(t, flagged)
	assert.Zero(t, watched)
}

// TestSnapshotAndMerge: a board's snapshot thins the budget histories it
// is asked to, and a fleet's merge shows each series once, the local
// board's first, and counts every evaluator's watched series.
func TestSnapshotAndMerge(t *testing.T) {
	b := New()
	v0 := b.Version()
	for i := range 100 {
		b.PublishSLOs("slo", []SLO{{Name: "availability", Service: "checkout", Period: 24 * time.Hour, BudgetRemaining: 1 - float64(i)/100, At: t0.Add(time.Duration(i) * time.Hour / 4)}})
	}
	b.PublishAnomalies("anomaly", Anomalies{Watched: 3, Flagged: []Anomaly{{Metric: "calls", Service: "checkout", Score: 0.7}}})
	assert.Greater(t, b.Version(), v0, "publishing changes the version")
	full := b.Snapshot(0)
	require.Len(t, full.SLOs, 1)
	thinned := b.Snapshot(10)
	h := thinned.SLOs[0].Budget
	assert.LessOrEqual(t, len(h), 10)
	assert.GreaterOrEqual(t, len(h), 5)
	assert.Equal(t, full.SLOs[0].Budget[len(full.SLOs[0].Budget)-1], h[len(h)-1], "the latest point is kept")
	assert.Equal(t, 3, thinned.Watched)
	v1 := b.Version()
	b.Snapshot(0)
	assert.Equal(t, v1, b.Version(), "reading changes nothing")

	// Another evaluator holds checkout's SLO too (a handover) and search's.
	other := Snapshot{
		SLOs: []SLO{
			{Name: "availability", Service: "checkout", BudgetRemaining: 0.1},
			{Name: "latency", Service: "search", BudgetRemaining: 0.5},
		},
		Anomalies: []Anomaly{
			{Metric: "calls", Service: "checkout", Score: 0.9},
			{Metric: "calls", Service: "search", Score: 0.8, Attributes: map[string]string{"region": "eu"}},
			{Metric: "calls", Service: "search", Score: 0.6, Attributes: map[string]string{"region": "us"}},
		},
		Watched: 4,
	}
	merged := Merge(thinned, other)
	require.Len(t, merged.SLOs, 2)
	assert.Equal(t, "checkout", merged.SLOs[0].Service)
	assert.InDelta(t, thinned.SLOs[0].BudgetRemaining, merged.SLOs[0].BudgetRemaining, 1e-12, "the local board's series wins")
	assert.Equal(t, "search", merged.SLOs[1].Service)
	require.Len(t, merged.Anomalies, 3)
	assert.InDelta(t, 0.8, merged.Anomalies[0].Score, 1e-12, "most anomalous first")
	assert.InDelta(t, 0.7, merged.Anomalies[1].Score, 1e-12, "the local board's checkout series")
	assert.Equal(t, 7, merged.Watched)
}

// TestSnapshotJSONCarriesDataSince: a fleet's consoles get the start of
// each budget's data with the budget, so they word it as the local
// console does; a series without events (or a peer that does not send
// it) reads as zero.
func TestSnapshotJSONCarriesDataSince(t *testing.T) {
	since := t0.Add(-2 * time.Minute)
	data, err := json.Marshal(Snapshot{SLOs: []SLO{
		{Name: "availability", Service: "checkout", BudgetRemaining: -19, DataSince: since, At: t0},
		{Name: "latency", Service: "checkout", BudgetRemaining: 1, At: t0},
	}})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(data), `"DataSince"`), "omitted when zero: %s", data)
	var back Snapshot
	require.NoError(t, json.Unmarshal(data, &back))
	require.Len(t, back.SLOs, 2)
	assert.True(t, back.SLOs[0].DataSince.Equal(since), "DataSince %v, want %v", back.SLOs[0].DataSince, since)
	assert.True(t, back.SLOs[1].DataSince.IsZero())
}
