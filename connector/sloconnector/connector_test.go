package sloconnector

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

// The connector's own metrics, as metadata.yaml declares them.
const (
	metricRefusedEvents   = "otelcol_slo_refused_events"
	metricGroupLimitReach = "otelcol_slo_group_limit_reached"
	metricPointsDropped   = "otelcol_slo_metric_points_dropped"
	metricWriteFailures   = "otelcol_slo_state_write_failures"
	metricWriteFailing    = "otelcol_slo_state_write_failing"
)

// pageOnlySpec is an availability SLO of checkout that only pages, so a
// test can drive it from firing to resolved with traffic alone.
const pageOnlySpec = `version: vigil/v1
service: checkout
labels: {team: shop}
slos:
  - name: availability
    objective: 99.9
    window: 30d
    description: Checkout requests succeed.
    group_by: [http.route]
    sli:
      spans:
        match: {span_kind: server}
        bad: {status: error}
    alerting:
      page: {labels: {pager: primary}}
      runbook_url: https://runbooks.example.com/checkout
`

func routeSpans(n int, route string, status ptrace.StatusCode) ptrace.Traces {
	td := repeat(n, spanOpts{service: "checkout", kind: ptrace.SpanKindServer, status: status})
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).Attributes().PutStr("http.route", route)
		spans.At(i).SetTraceID(pcommon.TraceID{byte(status), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
	}
	return td
}

func eventsWhere(evs []event, state string) []event {
	var out []event
	for _, e := range evs {
		if e.attrs[conventions.AttrAlertState] == state {
			out = append(out, e)
		}
	}
	return out
}

func TestStartFailsWithEveryValidationError(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, "a.yaml", `version: vigil/v1
service: checkout
slos:
  - name: availability
    objective: 120
    window: 30d
    sli: {spans: {match: {span_kind: sever}, bad: {status: error}}}
`)
	writeSpec(t, dir, "b.yaml", `version: vigil/v1
service: cart
slos:
  - name: latency
    objective: 99
    window: 30x
    sli: {spans: {match: {}, bad: {latency_above: 300ms}}}
`)
	h := newHarness(t, "invalid", testConfig(dir))
	err := h.start(componenttest.NewNopHost())
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		filepath.Join(dir, "a.yaml") + ":5:16: ",
		filepath.Join(dir, "a.yaml") + ":7:38: ",
		filepath.Join(dir, "b.yaml") + ":6:13: ",
	} {
		assert.Contains(t, msg, want)
	}
	h.shutdown()
}

func TestStartFailsOnBadCondition(t *testing.T) {
	dir := t.TempDir()
	p := writeSpec(t, dir, "c.yaml", specWith("          condition: 'nosuchfunc(attributes)'", "          status: error"))
	h := newHarness(t, "badcond", testConfig(p))
	err := h.start(componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), p+":4:5: SLO checkout/s: condition")
	h.shutdown()
}

// TestAlertLifecycle drives an SLO from a burst of errors to a page and
// back, through the four instances the default pipelines build, and checks
// metrics and alert events against the contracts.
func TestAlertLifecycle(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, "lifecycle", testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()

	// One batch, so that no evaluation sees only half of it.
	burst := routeSpans(50, "/pay", ptrace.StatusCodeError)
	routeSpans(50, "/pay", ptrace.StatusCodeOk).ResourceSpans().MoveAndAppendTo(burst.ResourceSpans())
	h.consumeTraces(burst)

	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")) > 0 }, 5*time.Second, 10*time.Millisecond)
	fired := eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")
	require.Len(t, fired, 1)
	ev := fired[0]
	assert.Equal(t, map[string]any{
		"alert.name": "SLOBurnRate-checkout-availability-page", "alert.state": "firing", "alert.severity": "page",
		"alert.source": "slo", "service.name": "checkout", "slo.name": "availability",
		"http.route": "/pay", "team": "shop", "pager": "primary",
		"alert.fingerprint":          ev.attrs["alert.fingerprint"],
		"slo.objective":              ev.attrs["slo.objective"],
		"slo.burn_rate.long":         ev.attrs["slo.burn_rate.long"],
		"slo.burn_rate.short":        ev.attrs["slo.burn_rate.short"],
		"slo.window.long":            "1h",
		"slo.window.short":           "5m",
		"slo.error_budget.remaining": ev.attrs["slo.error_budget.remaining"],
		"alert.runbook_url":          "https://runbooks.example.com/checkout",
		"alert.starts_at":            ev.attrs["alert.starts_at"],
		// What the objective promises, for whoever is paged.
		"slo.description": "Checkout requests succeed.",
		// The latest five bad spans' traces, newest first.
		"alert.trace_ids": "02000000000000000000000000000031,02000000000000000000000000000030," +
			"0200000000000000000000000000002f,0200000000000000000000000000002e,0200000000000000000000000000002d",
	}, ev.attrs)
	// 50 bad of 100 is a burn rate of 0.5/0.001 = 500 over every window.
	assert.Equal(t, 0.999, ev.attrs["slo.objective"])
	assert.InDelta(t, 500, ev.attrs["slo.burn_rate.long"], 1e-6)
	assert.InDelta(t, 500, ev.attrs["slo.burn_rate.short"], 1e-6)
	assert.InDelta(t, 1-500.0, ev.attrs["slo.error_budget.remaining"], 1e-6)
	assert.Contains(t, ev.body, "checkout/availability {http.route=/pay}: page: error budget burning at 500x over 1h")
	// The budget is the ratio of the few seconds of data the SLO holds:
	// the summary says so rather than let -49900% read as a month's.
	assert.Contains(t, ev.body, "objective 99.9%, -49900.0% of the budget left, over the 1m of data seen of its 30d window")
	assert.Equal(t, rfc3339(ev.ts), ev.startOf(), "the alert starts with its first firing event")

	// The fingerprint is what a reader derives from the event without it.
	lr := plog.NewLogRecord()
	lr.Body().SetStr(ev.body)
	for k, v := range ev.attrs {
		if k != conventions.AttrAlertFingerprint {
			lr.Attributes().PutStr(k, fmt.Sprint(v))
		}
	}
	a, err := alertevent.Decode(lr, pcommon.NewResource(), time.Now())
	require.NoError(t, err)
	assert.Equal(t, a.Fingerprint, ev.attrs["alert.fingerprint"])
	// The labels routing and silences match on are conventions'
	// SLOAlertLabels, the examples' vocabulary, with the spec's own
	// (labels, policy labels, group_by) on top.
	wantNames := append(slices.Clone(conventions.SLOAlertLabels), "http_route", "team", "pager")
	assert.ElementsMatch(t, wantNames, slices.Collect(maps.Keys(a.Labels)))

	// Each span counted once although two instances consumed it.
	require.Eventually(t, func() bool {
		v, _ := valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOAlertFiring), map[string]any{"severity": "page"})
		return v == 1
	}, 5*time.Second, 10*time.Millisecond)
	mds := h.mSink.AllMetrics()
	events := lastPoints(mds, conventions.MetricSLOEvents)
	good, _ := valueOf(events, map[string]any{"slo": "availability", conventions.LabelServiceName: "checkout", "outcome": "good", "http.route": "/pay", "team": "shop"})
	bad, _ := valueOf(events, map[string]any{"outcome": "bad"})
	assert.Equal(t, 50.0, good)
	assert.Equal(t, 50.0, bad)
	burn, ok := valueOf(lastPoints(mds, conventions.MetricSLOBurnRate), map[string]any{"window": "5m", "http.route": "/pay"})
	require.True(t, ok)
	assert.InDelta(t, 500, burn, 1e-9)
	obj, ok := valueOf(lastPoints(mds, conventions.MetricSLOObjective), map[string]any{"slo": "availability"})
	require.True(t, ok)
	assert.Equal(t, 0.999, obj)
	budget, ok := valueOf(lastPoints(mds, conventions.MetricSLOErrorBudgetRemaining), map[string]any{"slo": "availability"})
	require.True(t, ok)
	assert.InDelta(t, -499, budget, 1e-6)
	windows := map[string]bool{}
	for _, p := range lastPoints(mds, conventions.MetricSLOBurnRate) {
		windows[p.attrs["window"].(string)] = true
	}
	assert.Equal(t, map[string]bool{"5m": true, "30m": true, "1h": true, "2h": true, "6h": true, "1d": true, "3d": true}, windows)

	// Enough good traffic brings every page window pair under its
	// threshold (50 bad in 10050 events: 0.5% < 0.6%): the alert resolves
	// with the same fingerprint.
	h.consumeTraces(routeSpans(10000, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(h.lSink.AllLogs()), "resolved")) > 0 }, 5*time.Second, 10*time.Millisecond)
	resolved := eventsWhere(alertEventsOf(h.lSink.AllLogs()), "resolved")
	require.Len(t, resolved, 1)
	assert.Equal(t, ev.attrs["alert.fingerprint"], resolved[0].attrs["alert.fingerprint"])
	assert.Equal(t, ev.startOf(), resolved[0].startOf(), "the resolve carries the start of the firing it ends")
	assert.True(t, resolved[0].ts.After(ev.ts), "the resolve's time is its end")
	assert.Len(t, eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing"), 1, "no repeat within alert_resend_interval")
}

func TestFiringAlertsAreSentAgain(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec))
	cfg.AlertResendInterval = 100 * time.Millisecond
	h := newHarness(t, "resend", cfg)
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	h.consumeTraces(routeSpans(20, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")) >= 3 }, 5*time.Second, 10*time.Millisecond)
	fired := eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")
	for _, e := range fired {
		assert.Equal(t, fired[0].attrs["alert.fingerprint"], e.attrs["alert.fingerprint"])
		// Each re-send is stamped with its evaluation and says when the
		// alert started: at the first event.
		assert.Equal(t, rfc3339(fired[0].ts), e.startOf(), "a re-send's alert.starts_at")
	}
	assert.True(t, fired[len(fired)-1].ts.After(fired[0].ts), "re-sends are stamped with their own evaluation")
}

// TestCheckpointRestore restarts the connector on the same storage: the
// budget is kept, the firing alert is not announced again, and its
// resolution still comes.
func TestCheckpointRestore(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	store := newMemStorage()
	host := storageHost{id: storageID, ext: store}
	cfg := testConfig(spec)
	cfg.Storage = &storageID
	cfg.AlertResendInterval = time.Hour

	first := newHarness(t, "restart", cfg)
	require.NoError(t, first.start(host))
	first.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
	fired := eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")[0]
	fp := fired.attrs["alert.fingerprint"]
	require.NotEmpty(t, fired.startOf())
	first.shutdown()
	require.NotEmpty(t, store.data, "shutdown writes a checkpoint")

	second := newHarness(t, "restart", cfg)
	require.NoError(t, second.start(host))
	defer second.shutdown()
	require.Eventually(t, func() bool {
		v, _ := valueOf(lastPoints(second.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"outcome": "bad"})
		return v == 40
	}, 5*time.Second, 10*time.Millisecond, "counts survive the restart")
	firing, _ := valueOf(lastPoints(second.mSink.AllMetrics(), conventions.MetricSLOAlertFiring), map[string]any{"severity": "page"})
	assert.Equal(t, 1.0, firing, "the alert still fires after the restart")
	assert.Empty(t, alertEventsOf(second.lSink.AllLogs()), "no second firing event")

	second.consumeTraces(routeSpans(10000, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool { return len(alertEventsOf(second.lSink.AllLogs())) > 0 }, 5*time.Second, 10*time.Millisecond)
	evs := alertEventsOf(second.lSink.AllLogs())
	require.Len(t, evs, 1)
	assert.Equal(t, "resolved", evs[0].attrs["alert.state"])
	assert.Equal(t, fp, evs[0].attrs["alert.fingerprint"])
	assert.Equal(t, fired.startOf(), evs[0].startOf(), "the resolve after the restart carries the start before it")
}

// TestCheckpointAtTransition: an alert transition reaches storage
// without waiting for checkpoint_interval, twice: before its event goes
// out, with the tracker firing and the firing set as it was
// (write-ahead), and after, with the alert in the firing set. A process
// killed between the two announces the alert once after the restart;
// one killed after the second neither announces it again nor forgets to
// resolve it.
func TestCheckpointAtTransition(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	store := newMemStorage()
	cfg := testConfig(spec)
	cfg.Storage = &storageID
	cfg.CheckpointInterval = time.Hour // no periodic checkpoint in the test
	cfg.AlertResendInterval = time.Hour

	first := newHarness(t, "transition", cfg)
	require.NoError(t, first.start(storageHost{id: storageID, ext: store}))
	first.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
	started := eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")[0].startOf()
	require.NotEmpty(t, started)
	var writes [][]byte
	require.Eventually(t, func() bool { writes = store.writes(checkpointKey(first.c.id)); return len(writes) == 2 }, 5*time.Second, 10*time.Millisecond,
		"two checkpoints at the transition, before any shutdown")
	first.shutdown()

	for i, want := range []struct{ firingSet int }{{0}, {1}} {
		var st checkpointState
		require.NoError(t, json.Unmarshal(writes[i], &st))
		assert.Contains(t, string(st.Tracker), `"severity":"page"`, "write %d: the tracker fires", i)
		assert.Len(t, st.Firing, want.firingSet, "write %d: the firing set", i)
	}

	tests := []struct {
		name       string
		checkpoint []byte
		announced  int
	}{
		{"killed before the event went out", writes[0], 1},
		{"killed after the event went out", writes[1], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restarted := newMemStorage()
			client, err := restarted.GetClient(context.Background(), component.KindConnector, first.c.id, "")
			require.NoError(t, err)
			require.NoError(t, client.Set(context.Background(), checkpointKey(first.c.id), tt.checkpoint))
			second := newHarness(t, "transition", cfg)
			require.NoError(t, second.start(storageHost{id: storageID, ext: restarted}))
			defer second.shutdown()
			require.Eventually(t, func() bool {
				v, ok := valueOf(lastPoints(second.mSink.AllMetrics(), conventions.MetricSLOAlertFiring), map[string]any{"severity": "page"})
				return ok && v == 1
			}, 5*time.Second, 10*time.Millisecond, "the restored page fires")
			second.consumeTraces(routeSpans(10000, "/pay", ptrace.StatusCodeOk))
			require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(second.lSink.AllLogs()), "resolved")) == 1 }, 5*time.Second, 10*time.Millisecond,
				"the page resolves after the restart")
			announced := eventsWhere(alertEventsOf(second.lSink.AllLogs()), "firing")
			assert.Len(t, announced, tt.announced)
			// Announced after the restart or not, the alert started
			// before it.
			for _, ev := range append(announced, eventsWhere(alertEventsOf(second.lSink.AllLogs()), "resolved")...) {
				assert.Equal(t, started, ev.startOf(), "the %s event's start", ev.attrs["alert.state"])
			}
		})
	}
}

// TestRestoreResolvesAlertOfRemovedSLO: an alert firing at the checkpoint
// whose SLO is gone after the restart is resolved, not left open.
func TestRestoreResolvesAlertOfRemovedSLO(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	store := newMemStorage()
	host := storageHost{id: storageID, ext: store}
	cfg := testConfig(spec)
	cfg.Storage = &storageID

	first := newHarness(t, "removed", cfg)
	require.NoError(t, first.start(host))
	first.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
	fired := eventsWhere(alertEventsOf(first.lSink.AllLogs()), "firing")[0]
	fp := fired.attrs["alert.fingerprint"]
	require.NotEmpty(t, fired.startOf())
	first.shutdown()

	writeSpec(t, dir, "checkout.yaml", strings.Replace(pageOnlySpec, "name: availability", "name: renamed", 1))
	second := newHarness(t, "removed", cfg)
	require.NoError(t, second.start(host))
	defer second.shutdown()
	require.Eventually(t, func() bool { return len(alertEventsOf(second.lSink.AllLogs())) > 0 }, 5*time.Second, 10*time.Millisecond)
	evs := alertEventsOf(second.lSink.AllLogs())
	require.Len(t, evs, 1)
	assert.Equal(t, "resolved", evs[0].attrs["alert.state"])
	assert.Equal(t, fp, evs[0].attrs["alert.fingerprint"])
	assert.Equal(t, "availability", evs[0].attrs["slo.name"])
	assert.Equal(t, fired.startOf(), evs[0].startOf(), "the resolve carries the start of the firing it ends")
}

func TestReloadKeepsState(t *testing.T) {
	dir := t.TempDir()
	writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	cfg := testConfig(dir)
	cfg.ReloadCheckInterval = 50 * time.Millisecond
	h := newHarness(t, "reload", cfg)
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	h.consumeTraces(routeSpans(7, "/pay", ptrace.StatusCodeOk))
	goodOf := func(sloName string) (float64, bool) {
		return valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"slo": sloName, "outcome": "good"})
	}
	require.Eventually(t, func() bool { v, _ := goodOf("availability"); return v == 7 }, 5*time.Second, 10*time.Millisecond)

	// An invalid spec on reload keeps the current SLOs and reports why.
	bad := writeSpec(t, dir, "broken.yaml", "version: vigil/v1\nservice: x\nslos: []\n")
	err := h.c.requestReload(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad+":1:1:")
	require.NoError(t, os.Remove(bad))

	// A new SLO in a changed file is picked up by the modification-time
	// check; the unchanged SLO keeps its counts.
	writeSpec(t, dir, "cart.yaml", cartLatencySpec)
	require.Eventually(t, func() bool { _, ok := goodOf("latency"); return ok }, 5*time.Second, 10*time.Millisecond)
	v, _ := goodOf("availability")
	assert.Equal(t, 7.0, v, "unchanged SLO keeps its state")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "default", mutate: func(*Config) {}},
		{name: "zero interval", mutate: func(c *Config) { c.EvaluationInterval = 0 }, wantErr: "evaluation_interval must be positive"},
		{name: "negative checkpoint", mutate: func(c *Config) { c.CheckpointInterval = -time.Second }, wantErr: "checkpoint_interval"},
		{name: "negative late tolerance", mutate: func(c *Config) { c.LateTolerance = -time.Second }, wantErr: "late_tolerance"},
		{name: "bad template", mutate: func(c *Config) { c.RunbookURL = "{{.Service" }, wantErr: "runbook_url"},
		{name: "empty spec path", mutate: func(c *Config) { c.Specs = []string{""} }, wantErr: "specs[0] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// TestMetricsSLIThroughConnector feeds delta counters through the
// metrics instances and reads the SLO's events from the emitted metrics.
func TestMetricsSLIThroughConnector(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, "metrics", testConfig(writeSpec(t, dir, "payments.yaml", ratioSpec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	h.consumeMetrics(counterBatch("payments",
		counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "ok"}, value: 90},
		counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "timeout"}, value: 10}))
	require.Eventually(t, func() bool {
		pts := lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents)
		good, _ := valueOf(pts, map[string]any{"slo": "auth", "outcome": "good"})
		bad, _ := valueOf(pts, map[string]any{"slo": "auth", "outcome": "bad"})
		return good == 90 && bad == 10
	}, 5*time.Second, 10*time.Millisecond, "both points count in the total (100), the timeouts are bad (10)")
}

// TestRebuildWithBrokenSpecKeepsRunningSLOs: the collector handles SIGHUP
// by shutting every component down and building new ones. A spec broken
// meanwhile must not fail the new connector's start (the collector would
// exit and stop paging): it runs the SLOs the old one ran, logs the
// problem file:line:col, and picks the files up once they are fixed.
func TestRebuildWithBrokenSpecKeepsRunningSLOs(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	cfg := testConfig(dir)
	first := newHarness(t, "rebuild", cfg)
	require.NoError(t, first.start(componenttest.NewNopHost()))
	first.shutdown()

	writeSpec(t, dir, "checkout.yaml", "version: vigil/v1\nservice: checkout\nslos:\n  - name: availability\n    objective: 200\n")
	cfg = testConfig(dir) // the collector unmarshals a new configuration
	cfg.ReloadCheckInterval = 50 * time.Millisecond
	core, logs := observer.New(zap.InfoLevel)
	second := newHarnessLogged(t, "rebuild", cfg, zap.New(core))
	require.NoError(t, second.start(componenttest.NewNopHost()), "a broken spec on a rebuild keeps the connector up")
	defer second.shutdown()
	broken := logs.FilterMessageSnippet("SLO specs are invalid")
	require.Equal(t, 1, broken.Len())
	assert.Contains(t, broken.All()[0].ContextMap()["error"], spec+":5:16:", "the log says where")

	// Still evaluating the SLO that ran: a failing burst pages.
	second.consumeTraces(routeSpans(50, "/pay", ptrace.StatusCodeError))
	require.Eventually(t, func() bool {
		return len(eventsWhere(alertEventsOf(second.lSink.AllLogs()), "firing")) == 1
	}, 5*time.Second, 10*time.Millisecond)

	// Fixed, with a second SLO: the watcher picks it up.
	writeSpec(t, dir, "checkout.yaml", pageOnlySpec+`  - name: latency
    objective: 99
    window: 30d
    sli: {spans: {match: {span_kind: server}, bad: {latency_above: 300ms}}}
`)
	require.Eventually(t, func() bool {
		_, ok := valueOf(lastPoints(second.mSink.AllMetrics(), conventions.MetricSLOObjective), map[string]any{"slo": "latency"})
		return ok
	}, 5*time.Second, 10*time.Millisecond)
}

// TestBrokenSpecFailsFirstStart: with no SLOs run before, a broken spec
// fails the start with every problem, as `vigil validate` would.
func TestBrokenSpecFailsFirstStart(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "checkout.yaml", "version: vigil/v1\nservice: checkout\nslos:\n  - name: availability\n    objective: 200\n")
	h := newHarness(t, "broken-first", testConfig(dir))
	err := h.start(componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), spec+":5:16:")
	h.shutdown()
	assert.Equal(t, 0, instances.Len(), "shut down after the failed start, the connector is forgotten")
}

// TestOwnTelemetry checks the refused-events counter and the group cap.
func TestOwnTelemetry(t *testing.T) {
	dir := t.TempDir()
	spec := strings.Replace(pageOnlySpec, "    group_by: [http.route]\n", "    group_by: [http.route]\n    max_groups: 1\n", 1)
	h := newHarness(t, "telemetry", testConfig(writeSpec(t, dir, "checkout.yaml", spec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	h.consumeTraces(routeSpans(3, "/pay", ptrace.StatusCodeOk))
	h.consumeTraces(routeSpans(2, "/cart", ptrace.StatusCodeOk)) // over the cap
	h.consumeTraces(newTraces(spanOpts{service: "checkout", kind: ptrace.SpanKindServer, end: time.Now().Add(-time.Hour)}))

	refused := map[string]int64{}
	m, err := h.tel.GetMetric(metricRefusedEvents)
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value(attribute.Key(attrReason))
		refused[reason.AsString()] = dp.Value
	}
	assert.Equal(t, int64(2), refused[reasonGroupLimit])
	assert.Equal(t, int64(1), refused[reasonTooLate])
	assert.Equal(t, int64(0), refused[reasonUnknownSLO])

	m, err = h.tel.GetMetric(metricGroupLimitReach)
	require.NoError(t, err)
	require.Len(t, m.Data.(metricdata.Gauge[int64]).DataPoints, 1)
	assert.Equal(t, int64(1), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}

// TestDroppedPointsCounted: metric points an SLI selects that are out of
// order or carry no value are dropped and counted by reason.
func TestDroppedPointsCounted(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, "dropped", testConfig(writeSpec(t, dir, "payments.yaml", ratioSpec)))
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()
	start, now := time.Now().Add(-time.Hour), time.Now()
	for _, p := range []counterPoint{
		{value: 10, ts: now},
		{value: 9, ts: now.Add(-time.Second)}, // out of order
		{noValue: true, ts: now.Add(time.Second)},
	} {
		p.metric, p.attrs, p.cumulative, p.start = "payments.authorizations", map[string]any{"outcome": "ok"}, true, start
		h.consumeMetrics(counterBatch("payments", p))
	}
	m, err := h.tel.GetMetric(metricPointsDropped)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value(attribute.Key(attrReason))
		got[reason.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{"out_of_order": 1, "no_recorded_value": 1, "invalid": 0}, got)
}

// TestCumulativeStreamsSurviveRestart: after a restart the next point of
// a cumulative counter counts its increase, not a new baseline.
func TestCumulativeStreamsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	store := newMemStorage()
	host := storageHost{id: storageID, ext: store}
	cfg := testConfig(writeSpec(t, dir, "payments.yaml", ratioSpec))
	cfg.Storage = &storageID
	start := time.Now().Add(-time.Hour)
	point := func(v int64) pmetric.Metrics {
		return counterBatch("payments", counterPoint{metric: "payments.authorizations", attrs: map[string]any{"outcome": "error"}, value: v, cumulative: true, start: start})
	}
	badEvents := func(h *harness) float64 {
		v, _ := valueOf(lastPoints(h.mSink.AllMetrics(), conventions.MetricSLOEvents), map[string]any{"slo": "auth", "outcome": "bad"})
		return v
	}

	first := newHarness(t, "streams", cfg)
	require.NoError(t, first.start(host))
	first.consumeMetrics(point(1000)) // baseline: the stream began before the connector
	first.consumeMetrics(point(1010))
	require.Eventually(t, func() bool { return badEvents(first) == 10 }, 5*time.Second, 10*time.Millisecond)
	first.shutdown()

	second := newHarness(t, "streams", cfg)
	require.NoError(t, second.start(host))
	defer second.shutdown()
	second.consumeMetrics(point(1030))
	require.Eventually(t, func() bool { return badEvents(second) == 30 }, 5*time.Second, 10*time.Millisecond)
}

// TestTracesToLogsAlone: a connector used only for alert events counts
// spans through its one instance.
func TestTracesToLogsAlone(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec))
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("slo", "logsonly")
	sink := new(consumertest.LogsSink)
	tl, err := NewFactory().CreateTracesToLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, tl.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, tl.Shutdown(context.Background())) }()
	require.NoError(t, tl.ConsumeTraces(context.Background(), routeSpans(20, "/pay", ptrace.StatusCodeError)))
	require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(sink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
}

// TestPeriodicCheckpoint: state reaches storage on checkpoint_interval,
// before any shutdown, so a crash loses at most that much.
func TestPeriodicCheckpoint(t *testing.T) {
	dir := t.TempDir()
	store := newMemStorage()
	cfg := testConfig(writeSpec(t, dir, "checkout.yaml", pageOnlySpec))
	cfg.Storage = &storageID
	cfg.CheckpointInterval = 100 * time.Millisecond
	h := newHarness(t, "periodic", cfg)
	require.NoError(t, h.start(storageHost{id: storageID, ext: store}))
	defer h.shutdown()
	h.consumeTraces(routeSpans(3, "/pay", ptrace.StatusCodeOk))
	require.Eventually(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		for _, v := range store.data {
			if strings.Contains(string(v), `"total_good":3`) {
				return true
			}
		}
		return false
	}, 5*time.Second, 20*time.Millisecond)
}

// TestInvalidSpecChangeIsLogged: a spec file that turns invalid is
// reported in the log with its position, and the SLOs stay as they were.
func TestInvalidSpecChangeIsLogged(t *testing.T) {
	dir := t.TempDir()
	p := writeSpec(t, dir, "checkout.yaml", pageOnlySpec)
	cfg := testConfig(dir)
	cfg.ReloadCheckInterval = 50 * time.Millisecond
	h := newHarness(t, "logged", cfg)
	core, logs := observer.New(zap.InfoLevel)
	h.c.logger = zap.New(core)
	require.NoError(t, h.start(componenttest.NewNopHost()))
	defer h.shutdown()

	writeSpec(t, dir, "checkout.yaml", strings.Replace(pageOnlySpec, "objective: 99.9", "objective: 101", 1))
	require.Eventually(t, func() bool {
		return logs.FilterMessage("SLO spec reload failed; keeping the current SLOs").Len() == 1
	}, 5*time.Second, 10*time.Millisecond)
	entry := logs.FilterMessage("SLO spec reload failed; keeping the current SLOs").All()[0]
	assert.Contains(t, entry.ContextMap()["error"], p+":6:16: objective 101")
	_, ok := h.c.rules.Load().spanRuleByID["checkout/availability"]
	assert.True(t, ok, "the current SLOs stay")
}

// TestEvaluateEarly: a wake evaluates early only when the last evaluation
// is far enough behind and the tick is not yet due; once it is due, the
// tick evaluates (at its own time, which an evaluation at now would have
// passed: the series would go back in time).
func TestEvaluateEarly(t *testing.T) {
	tick := time.Date(2026, 1, 1, 12, 0, 10, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		now      time.Time
		lastEval time.Time
		evalCost time.Duration
		want     bool
	}{
		{"between ticks, last evaluation a tick ago", tick.Add(-5 * time.Second), tick.Add(-10 * time.Second), time.Millisecond, true},
		{"within minEarlyGap of the last evaluation", tick.Add(-5 * time.Second), tick.Add(-5*time.Second - 500*time.Millisecond), time.Millisecond, false},
		{"within ten evaluation costs of the last", tick.Add(-5 * time.Second), tick.Add(-7 * time.Second), 300 * time.Millisecond, false},
		{"just before the tick", tick.Add(-time.Millisecond), tick.Add(-10 * time.Second), time.Millisecond, true},
		{"the tick due", tick, tick.Add(-10 * time.Second), time.Millisecond, false},
		{"the tick overdue (the loop was busy)", tick.Add(20 * time.Millisecond), tick.Add(-10 * time.Second), time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, evaluateEarly(tt.now, tick, tt.lastEval, tt.evalCost))
		})
	}
}

// TestStateWriteFailuresCounted: a write of the connector's state that
// fails (a full disk) is counted in otelcol_slo_state_write_failures, at 0
// before any, so that an alert can say a restart would start from an older
// state: both writes at an alert transition, and the periodic checkpoint.
func TestStateWriteFailuresCounted(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	run := func(t *testing.T, checkpointInterval time.Duration) (*harness, func() int64) {
		store := newMemStorage()
		store.failWrites = true
		cfg := testConfig(spec)
		cfg.Storage = &storageID
		cfg.CheckpointInterval = checkpointInterval
		cfg.AlertResendInterval = time.Hour
		h := newHarness(t, "writes", cfg)
		require.NoError(t, h.start(storageHost{id: storageID, ext: store}))
		t.Cleanup(h.shutdown)
		t.Cleanup(func() { // before the shutdown, whose checkpoint must succeed
			store.mu.Lock()
			defer store.mu.Unlock()
			store.failWrites = false
		})
		return h, func() int64 {
			m, err := h.tel.GetMetric(metricWriteFailures)
			require.NoError(t, err)
			dps := m.Data.(metricdata.Sum[int64]).DataPoints
			require.Len(t, dps, 1)
			return dps[0].Value
		}
	}
	t.Run("at a transition", func(t *testing.T) {
		h, failures := run(t, time.Hour)
		assert.Zero(t, failures(), "exported at 0 before any write")
		h.consumeTraces(routeSpans(40, "/pay", ptrace.StatusCodeError))
		require.Eventually(t, func() bool { return len(eventsWhere(alertEventsOf(h.lSink.AllLogs()), "firing")) == 1 }, 5*time.Second, 10*time.Millisecond)
		require.Eventually(t, func() bool { return failures() == 2 }, 5*time.Second, 10*time.Millisecond, "the writes before and after the transition's events")
	})
	t.Run("periodic", func(t *testing.T) {
		_, failures := run(t, 50*time.Millisecond)
		require.Eventually(t, func() bool { return failures() >= 2 }, 5*time.Second, 10*time.Millisecond)
	})
}

// TestStateWriteFailing: otelcol_slo_state_write_failing is 1 from a
// failed write of the state until one succeeds, 0 before and after, so an
// alert on it holds through a checkpoint interval longer than its own
// window (VigilStateNotSaved).
func TestStateWriteFailing(t *testing.T) {
	spec := writeSpec(t, t.TempDir(), "checkout.yaml", pageOnlySpec)
	store := newMemStorage()
	cfg := testConfig(spec)
	cfg.Storage = &storageID
	cfg.CheckpointInterval = 50 * time.Millisecond
	h := newHarness(t, "failing", cfg)
	require.NoError(t, h.start(storageHost{id: storageID, ext: store}))
	t.Cleanup(h.shutdown)
	failing := func() int64 {
		m, err := h.tel.GetMetric(metricWriteFailing)
		require.NoError(t, err)
		dps := m.Data.(metricdata.Gauge[int64]).DataPoints
		require.Len(t, dps, 1)
		return dps[0].Value
	}
	setFailing := func(fail bool) {
		store.mu.Lock()
		defer store.mu.Unlock()
		store.failWrites = fail
	}
	assert.Zero(t, failing())
	setFailing(true)
	require.Eventually(t, func() bool { return failing() == 1 }, 5*time.Second, 10*time.Millisecond, "a checkpoint failed")
	setFailing(false)
	require.Eventually(t, func() bool { return failing() == 0 }, 5*time.Second, 10*time.Millisecond, "a checkpoint succeeded")
}
