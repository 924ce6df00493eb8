package statusboard

import (
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
