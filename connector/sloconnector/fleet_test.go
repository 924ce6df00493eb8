package sloconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
)

// fleetMember starts one evaluator of a fleet sharing store: the
// connector on spec, with its state in the store's storage extension and
// tune's changes to its configuration (each evaluator gets its own
// *Config: no shared instance).
func fleetMember(t *testing.T, store *ownershiptest.Store, spec string, tune func(*Config)) (*harness, *ownershiptest.Member) {
	t.Helper()
	m := ownershiptest.NewMember(store)
	id := component.MustNewID("redis_storage")
	cfg := testConfig(spec)
	cfg.Storage = &id
	if tune != nil {
		tune(cfg)
	}
	h := newHarness(t, "", cfg)
	require.NoError(t, h.start(storageHost{id: id, ext: m}))
	t.Cleanup(h.shutdown)
	return h, m
}

// TestFleetHandover runs two connectors of a fleet, as two evaluators,
// over one shared store. The service is accounted wherever its spans
// arrive but reported only by its owner; when it moves mid-incident, the
// old owner neither resolves nor reports it any more, and the new owner
// adds the old owner's state to what it saw, neither firing the alert
// again nor forgetting to resolve it.
func TestFleetHandover(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	store := ownershiptest.NewStore()
	member := func() (*harness, *ownershiptest.Member) {
		return fleetMember(t, store, spec, func(cfg *Config) { cfg.AlertResendInterval = time.Hour })
	}
	a, am := member()
	b, bm := member()
	ctx := context.Background()
	bad := func(h *harness) float64 {
		v, _ := valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"outcome": "bad"})
		return v
	}

	a.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	assert.Positive(t, am.Observed("checkout"), "spans of checkout observed")
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, alertEventsOf(a.lSink.AllLogs()), "not owned: no alert event")
	assert.Zero(t, bad(a), "not owned: no SLO series")

	require.NoError(t, am.Acquire(ctx, "checkout"))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(a.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return bad(a) == 40 }, 5*time.Second, 10*time.Millisecond)
	started := eventsWhere(alertEventsOf(a.lSink.AllLogs()), "firing")[0].startOf()
	require.NotEmpty(t, started)

	// The gateways move checkout to b: its spans arrive there first.
	b.consumeTraces(routeSpans(10, "/pay", ptrace.StatusCodeError))
	am.Release(ctx, "checkout", true)
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	require.Eventually(t, func() bool { return bad(b) == 50 }, 5*time.Second, 10*time.Millisecond, "b adds a's 40 to its 10")
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, alertEventsOf(b.lSink.AllLogs()), "b does not fire the alert again")
	assert.Len(t, alertEventsOf(a.lSink.AllLogs()), 1, "a neither resolves nor repeats the alert it gave up")

	b.consumeTraces(routeSpans(20000, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool { return len(alertEventsOf(b.lSink.AllLogs())) > 0 }, 5*time.Second, 10*time.Millisecond)
	evs := alertEventsOf(b.lSink.AllLogs())
	require.Len(t, evs, 1)
	assert.Equal(t, "resolved", evs[0].attrs["alert.state"])
	assert.Equal(t, started, evs[0].startOf(), "b's resolve ends the firing a started")
	assert.Len(t, alertEventsOf(a.lSink.AllLogs()), 1)
}

// TestFleetHandoverReSendsTheStart: the new owner of a service sends its
// firing alert again with the start the old owner announced, so an alert
// router that first sees the alert there does not take the re-send for
// its start.
func TestFleetHandoverReSendsTheStart(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	store := ownershiptest.NewStore()
	member := func() (*harness, *ownershiptest.Member) {
		return fleetMember(t, store, spec, func(cfg *Config) { cfg.AlertResendInterval = 50 * time.Millisecond })
	}
	a, am := member()
	b, bm := member()
	ctx := context.Background()
	require.NoError(t, am.Acquire(ctx, "checkout"))
	a.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(a.lSink.AllLogs()), "firing")) > 0 }, 5*time.Second, 10*time.Millisecond)
	first := eventsWhere(alertEventsOf(a.lSink.AllLogs()), "firing")[0]
	require.Equal(t, rfc3339(first.ts), first.startOf())

	am.Release(ctx, "checkout", true)
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(b.lSink.AllLogs()), "firing")) >= 2 }, 5*time.Second, 10*time.Millisecond)
	for _, ev := range eventsWhere(alertEventsOf(b.lSink.AllLogs()), "firing") {
		assert.Equal(t, first.attrs["alert.fingerprint"], ev.attrs["alert.fingerprint"])
		assert.Equal(t, first.startOf(), ev.startOf(), "b's re-send of the alert a started")
		assert.True(t, ev.ts.After(first.ts), "stamped with b's evaluation")
	}
	b.consumeTraces(routeSpans(20000, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(b.lSink.AllLogs()), "resolved")) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, first.startOf(), eventsWhere(alertEventsOf(b.lSink.AllLogs()), "resolved")[0].startOf())
}

// TestFleetMetricSLIHandover: a metric SLI's cumulative baselines move
// with the service. The new owner gets the counter's next point before it
// owns the service (a provisional baseline), then adopts the old owner's
// last point, so the two owners together count every increase once: none
// of the interval between the old owner's last point and the new owner's
// first is lost.
func TestFleetMetricSLIHandover(t *testing.T) {
	tests := []struct {
		name string
		// started: the counter's stream began while both watched (its
		// first point counts its whole value), or long before.
		startedWhileWatched bool
		want                float64
	}{
		{"stream older than the evaluators", false, 50}, // 1000 → 1050
		{"stream started while watched", true, 1050},    // 0 → 1050
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := writeSpec(t, t.TempDir(), "payments.yaml", ratioSpec)
			store := ownershiptest.NewStore()
			began := time.Now()
			member := func() (*harness, *ownershiptest.Member) { return fleetMember(t, store, spec, nil) }
			a, am := member()
			b, bm := member()
			start := began.Add(-time.Hour)
			if tt.startedWhileWatched {
				start = time.Now()
			}
			ts := time.Now()
			point := func(v int64) pmetric.Metrics {
				ts = ts.Add(time.Second)
				return counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "error"}, value: v, cumulative: true, start: start, ts: ts})
			}
			bad := func(h *harness) float64 {
				v, _ := valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"slo": "auth", "outcome": "bad"})
				return v
			}
			ctx := context.Background()

			require.NoError(t, am.Acquire(ctx, "payments"))
			a.consumeMetrics(point(1000))
			a.consumeMetrics(point(1010))
			// The gateways move payments to b: its next point reaches b
			// before b owns the service.
			b.consumeMetrics(point(1030))
			am.Release(ctx, "payments", true)
			require.NoError(t, bm.Acquire(ctx, "payments"))
			b.consumeMetrics(point(1050))
			assert.Eventually(t, func() bool { return bad(b) == tt.want }, 5*time.Second, 10*time.Millisecond)
			assert.Equal(t, tt.want, bad(b), "bad events at b")
		})
	}
}

// TestFleetCheckpointAtTransition: in a fleet, an alert transition writes
// the checkpoint of its service at once, not on checkpoint_interval, so
// that the evaluator taking the service over after a crash knows the
// alert fires: it neither announces it again nor leaves it unresolved.
func TestFleetCheckpointAtTransition(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	store := ownershiptest.NewStore()
	member := func() (*harness, *ownershiptest.Member) {
		return fleetMember(t, store, spec, func(cfg *Config) {
			cfg.CheckpointInterval = time.Hour // only the transition writes
			cfg.AlertResendInterval = time.Hour
		})
	}
	a, am := member()
	ctx := context.Background()
	require.NoError(t, am.Acquire(ctx, "checkout"))
	a.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(a.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)

	// a crashes once its evaluation is over (the firing event goes out
	// before the transition's second write, see evaluate): no release, no
	// shutdown checkpoint. b takes over from what the transition wrote.
	a.c.fleet.mu.Lock()
	//nolint:staticcheck // an empty critical section: waiting for the evaluation holding it
	a.c.fleet.mu.Unlock()
	b, bm := member()
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	// Two evaluations of b's after the takeover: the first would announce.
	n := len(b.mSink.AllMetrics())
	require.Eventually(t, func() bool { return len(b.mSink.AllMetrics()) >= n+2 }, 5*time.Second, 10*time.Millisecond)
	assert.Empty(t, alertEventsOf(b.lSink.AllLogs()), "b does not announce the alert again")
	b.consumeTraces(routeSpans(20000, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool { return len(alertEventsOf(b.lSink.AllLogs())) > 0 }, 5*time.Second, 10*time.Millisecond)
	evs := alertEventsOf(b.lSink.AllLogs())
	require.Len(t, evs, 1)
	assert.Equal(t, "resolved", evs[0].attrs["alert.state"], "b resolves the alert a announced")
}

// TestFleetReleaseEndsTheServiceSeries: an evaluator that gives a service
// up ends its SLO series, so that they do not stand beside the new
// owner's until the exporter's metric_expiration (a sum over the
// evaluators would count the service twice). It ends them at once, after
// its last points: at its next evaluation, on the tick at which the new
// owner may already write the same series, the marker and the new owner's
// value would share a time, which remote write receivers refuse.
func TestFleetReleaseEndsTheServiceSeries(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	store := ownershiptest.NewStore()
	a, am := fleetMember(t, store, spec, nil)
	ctx := context.Background()
	require.NoError(t, am.Acquire(ctx, "checkout"))
	a.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool {
		v, _ := valueOf(lastPoints(a.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"outcome": "good"})
		return v == 40
	}, 5*time.Second, 10*time.Millisecond)
	mds := a.mSink.AllMetrics()
	shown := seriesIn(mds[len(mds)-1], false)
	require.Len(t, shown, 2+1+len(lastPoints(mds, conventions.MetricSLOBurnRate))+2+1, "events, objective, burn rates, budget and its data, alert")
	assert.Empty(t, endedSeries(mds))

	before := time.Now()
	am.Release(ctx, "checkout", true)
	after := time.Now()
	mds = a.mSink.AllMetrics()
	assert.Equal(t, shown, endedSeries(mds), "ended by the release itself")
	var last, ended pcommon.Timestamp
	for _, md := range mds {
		eachPoint(md, func(_ string, dp pmetric.NumberDataPoint) {
			if dp.Flags().NoRecordedValue() {
				ended = dp.Timestamp()
			} else {
				last = max(last, dp.Timestamp())
			}
		})
	}
	assert.Greater(t, ended, last, "the markers follow the last points")
	assert.GreaterOrEqual(t, ended.AsTime(), before.Truncate(time.Millisecond))
	assert.LessOrEqual(t, ended.AsTime(), after.Add(time.Millisecond))

	// Not ended again by the next evaluation.
	n := len(a.mSink.AllMetrics())
	require.Eventually(t, func() bool { return len(a.mSink.AllMetrics()) > n+1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, shown, endedSeries(a.mSink.AllMetrics()))
}
