package sloconnector

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo/tracker"
)

const cartLatencySpec = `version: vigil/v1
service: cart
slos:
  - name: latency
    objective: 99
    window: 30d
    sli: {spans: {match: {span_kind: server}, bad: {latency_above: 300ms}}}
`

// TestEndSeries: a series the evaluation no longer has is ended once, with
// a marker per point it had; an SLO's objective only with its last series;
// the same series in another order end nothing; a definition changed
// under the same ID ends the series it no longer has.
func TestEndSeries(t *testing.T) {
	def := parseSLOs(t, pageOnlySpec)[0]
	status := func(route string) tracker.Status {
		return tracker.Status{SLOID: "checkout/availability", SLO: &def, Group: []string{route},
			Windows: []tracker.WindowStatus{{Window: time.Hour, BurnRate: 2}},
			Alerts:  []tracker.AlertStatus{{Severity: "page"}}}
	}
	at := time.Unix(1_700_000_000, 0)
	c := &sloConnector{}
	emit := func(statuses ...tracker.Status) pmetric.Metrics {
		md := buildMetrics(statuses, at, at)
		c.endSeries(md, statuses, at)
		return md
	}
	first := emit(status("/pay"), status("/cart"))
	assert.Empty(t, seriesIn(first, true), "nothing shown before")

	assert.Empty(t, seriesIn(emit(status("/cart"), status("/pay")), true), "same series, other order")

	md := emit(status("/pay"))
	payOnly := seriesIn(buildMetrics([]tracker.Status{status("/pay")}, at, at), false)
	var cartOnly []string
	for _, s := range seriesIn(first, false) {
		if !slices.Contains(payOnly, s) {
			cartOnly = append(cartOnly, s)
		}
	}
	require.Len(t, cartOnly, 6, "events good and bad, burn rate, budget, budget data, alert firing")
	assert.Equal(t, cartOnly, seriesIn(md, true), "the /cart series end; the objective stays with /pay")
	assert.Equal(t, payOnly, seriesIn(md, false))

	assert.Empty(t, seriesIn(emit(status("/pay")), true), "ended once")

	md = emit()
	assert.Equal(t, payOnly, seriesIn(md, true), "the last series ends with the objective")
	assert.Empty(t, seriesIn(emit(), true))

	// A reload that keeps the SLO as it was (a new definition, equal):
	// nothing ends.
	emit(status("/pay"))
	same := def
	unchanged := status("/pay")
	unchanged.SLO = &same
	assert.Empty(t, seriesIn(emit(unchanged), true))

	// A reload that changes the burn-rate window only: that series ends,
	// the SLO's others stay.
	rewindowed := def
	windowed := status("/pay")
	windowed.SLO = &rewindowed
	windowed.Windows = []tracker.WindowStatus{{Window: 2 * time.Hour, BurnRate: 2}}
	md = emit(windowed)
	require.Len(t, seriesIn(md, true), 1)
	assert.Contains(t, seriesIn(md, true)[0], conventions.MetricSLOBurnRate)
	assert.Contains(t, seriesIn(md, true)[0], "window:1h")

	// A reload that keeps the SLO's ID but changes its labels: every
	// series of the old definition ends, the series of the new one do
	// not.
	emit(status("/pay"))
	relabelled := def
	relabelled.Labels = map[string]string{"team": "payments"}
	changed := status("/pay")
	changed.SLO = &relabelled
	md = emit(changed)
	assert.Equal(t, payOnly, seriesIn(md, true))
	assert.Equal(t, seriesIn(buildMetrics([]tracker.Status{changed}, at, at), false), seriesIn(md, false))
}

// TestBudgetDataSeconds: each series says how much data its budget is
// computed from, from its oldest event (Status.DataSince) to the
// evaluation; a series without an event in its window says 0.
func TestBudgetDataSeconds(t *testing.T) {
	def := parseSLOs(t, pageOnlySpec)[0]
	at := time.Unix(1_700_000_000, 0)
	fresh := tracker.Status{SLOID: "checkout/availability", SLO: &def, Group: []string{"/pay"}, DataSince: at.Add(-2 * time.Minute)}
	quiet := tracker.Status{SLOID: "checkout/availability", SLO: &def, Group: []string{"/cart"}}
	points := lastPoints([]pmetric.Metrics{buildMetrics([]tracker.Status{fresh, quiet}, at, at)}, conventions.MetricSLOErrorBudgetData)

	v, ok := valueOf(points, map[string]any{"http.route": "/pay", conventions.LabelServiceName: "checkout", conventions.LabelSLO: "availability"})
	require.True(t, ok, "%v", points)
	assert.Equal(t, 120.0, v)
	v, ok = valueOf(points, map[string]any{"http.route": "/cart"})
	require.True(t, ok, "%v", points)
	assert.Equal(t, 0.0, v)
}

// TestReloadEndsTheSeriesOfARemovedSLO: when a reload removes an SLO, its
// series are ended at the next evaluation, not served until the
// exporter's metric_expiration; the other SLO's stay.
func TestReloadEndsTheSeriesOfARemovedSLO(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	cart := writeSpec(t, dir, "cart.yaml", cartLatencySpec)
	h := newHarness(t, "reload", testConfig(dir))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	h.consumeTraces(routeSpans(7, "/pay", ptrace.StatusCodeOk))
	h.consumeTraces(repeat(3, spanOpts{service: "cart", kind: ptrace.SpanKindServer, status: ptrace.StatusCodeOk}))
	require.Eventually(t, func() bool {
		_, ok := valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"slo": "latency", "outcome": "good"})
		return ok
	}, 5*time.Second, 10*time.Millisecond)
	mds := h.mSink.AllMetrics()
	cartSeries := withService(seriesIn(mds[len(mds)-1], false), "cart")
	require.NotEmpty(t, cartSeries)

	require.NoError(t, os.Remove(cart))
	require.NoError(t, h.c.requestReload(context.Background()))
	require.Eventually(t, func() bool { return len(endedSeries(h.mSink.AllMetrics())) > 0 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, cartSeries, endedSeries(h.mSink.AllMetrics()), "every series of the removed SLO, and no other")
	n := len(h.mSink.AllMetrics())
	require.Eventually(t, func() bool { return len(h.mSink.AllMetrics()) > n+2 }, 5*time.Second, 10*time.Millisecond)
	mds = h.mSink.AllMetrics()
	assert.Empty(t, withService(seriesIn(mds[len(mds)-1], false), "cart"))
	assert.NotEmpty(t, withService(seriesIn(mds[len(mds)-1], false), "checkout"))
	assert.Equal(t, cartSeries, endedSeries(h.mSink.AllMetrics()), "ended once")
}
