package alertrouterconnector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
	"github.com/vigil-otel/vigil/internal/refusal"
)

// The connector's own metrics, as metadata.yaml declares them.
const (
	metricAlertsReceived = "otelcol_alertrouter_alerts_received"
	metricNotifications  = "otelcol_alertrouter_notifications"
)

// t0 is a Saturday evening; the fake clock of every test starts there.
var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

var (
	pipeOncall  = pipeline.NewIDWithName(pipeline.SignalLogs, "oncall")
	pipeTickets = pipeline.NewIDWithName(pipeline.SignalLogs, "tickets")
	pipeArchive = pipeline.NewIDWithName(pipeline.SignalLogs, "archive")
	pipeWebhook = pipeline.NewIDWithName(pipeline.SignalLogs, "webhook")
)

// routing pages to oncall (and copies pages to archive), tickets to
// tickets, with no group wait so a flush right after an event sends it.
const routing = `
receivers:
  - name: oncall
  - name: tickets
  - name: archive
route:
  receiver: tickets
  group_wait: 0s
  group_interval: 10s
  routes:
    - matchers: ['severity="page"']
      receiver: archive
      continue: true
    - matchers: ['severity="page"']
      receiver: oncall
`

// flakySink is a consumertest sink that fails the first fail calls, as a
// pipeline whose queue is full would, then refuses the next refuse calls
// (a permanent error), as an exporter that waits for PagerDuty's answer
// returns its 400. With block set, each call first
// waits until block is closed or its context is done (then failing with
// the context's error), as a pipeline whose exporter waits for a receiver
// that is down (wait_for_result) would.
type flakySink struct {
	consumertest.LogsSink
	mu     sync.Mutex
	fail   int
	refuse int
	block  chan struct{}
	// blocked counts the calls waiting on block now.
	blocked atomic.Int32
}

func (s *flakySink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if s.block != nil {
		s.blocked.Add(1)
		select {
		case <-s.block:
			s.blocked.Add(-1)
		case <-ctx.Done():
			s.blocked.Add(-1)
			return ctx.Err()
		}
	}
	s.mu.Lock()
	if s.fail > 0 {
		s.fail--
		s.mu.Unlock()
		return errors.New("sending queue is full")
	}
	if s.refuse > 0 {
		s.refuse--
		s.mu.Unlock()
		return consumererror.NewPermanent(errors.New("HTTP 400 (invalid_event): Invalid routing key"))
	}
	s.mu.Unlock()
	return s.LogsSink.ConsumeLogs(ctx, ld)
}

type harness struct {
	r     *router
	sinks map[pipeline.ID]*flakySink
	tel   *componenttest.Telemetry
	clock time.Time
	// receiver is the receiver whose notifications each pipeline gets.
	receiver map[pipeline.ID]string
}

type options struct {
	routing  string // routing file content; empty: built-in routing
	storeDir string // file-backed storage folder shared across restarts
	fail     map[pipeline.ID]int
	refuse   map[pipeline.ID]int
	// block makes the pipeline's consumer wait for the channel (see
	// flakySink).
	block map[pipeline.ID]chan struct{}
	// pipelines, when set, are the pipelines of the built-in routing's
	// receiver "default" (else oncall alone).
	pipelines []pipeline.ID
	console   string // console endpoint; empty: no console
	// host and storageID, when set, are the host and storage extension
	// (a fleet member, say) instead of storeDir's.
	host      *storagetest.StorageHost
	storageID *component.ID
	// board is where the router hears of refusals (shared by the
	// routers of a test that rebuilds it); nil: one of its own.
	board *refusal.Board
}

func start(t *testing.T, o options) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	// The loop never ticks on its own: tests flush with the fake clock.
	cfg.FlushInterval = time.Hour
	cfg.Receivers = map[string][]pipeline.ID{alerts.DefaultReceiverName: {pipeOncall}}
	if o.pipelines != nil {
		cfg.Receivers = map[string][]pipeline.ID{alerts.DefaultReceiverName: o.pipelines}
	}
	if o.routing != "" {
		path := filepath.Join(t.TempDir(), "routing.yml")
		require.NoError(t, os.WriteFile(path, []byte(o.routing), 0o600))
		cfg.Routing = path
		cfg.Receivers = map[string][]pipeline.ID{"oncall": {pipeOncall}, "tickets": {pipeTickets}, "archive": {pipeArchive}}
	}
	if o.console != "" {
		cfg.Console.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = o.console
	}
	require.NoError(t, cfg.Validate())
	h := &harness{sinks: map[pipeline.ID]*flakySink{}, tel: componenttest.NewTelemetry(), clock: t0}
	consumers := map[pipeline.ID]consumer.Logs{}
	for _, id := range []pipeline.ID{pipeOncall, pipeTickets, pipeArchive, pipeWebhook} {
		h.sinks[id] = &flakySink{fail: o.fail[id], refuse: o.refuse[id], block: o.block[id]}
		consumers[id] = h.sinks[id]
	}
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	c, err := NewFactory().CreateLogsToLogs(context.Background(), set, cfg, connector.NewLogsRouter(consumers))
	require.NoError(t, err)
	h.r = c.(*router)
	h.r.now = func() time.Time { return h.clock }
	h.r.refusals = o.board
	if h.r.refusals == nil {
		h.r.refusals = refusal.NewBoard()
	}
	host := storagetest.NewStorageHost()
	if o.host != nil {
		host, cfg.Storage = o.host, o.storageID
	}
	if o.storeDir != "" {
		ext := storagetest.NewFileBackedStorageExtension("file_storage", o.storeDir)
		host = host.WithExtension(ext.ID, ext)
		cfg.Storage = &ext.ID
	}
	if cfg.Storage == nil {
		// A process of its own: a router of the same ID that ran in an
		// earlier test would otherwise hand this one its store in memory,
		// as at a rebuild (rebuild.go).
		noRouterRan(t)
	}
	require.NoError(t, h.r.Start(context.Background(), host))
	t.Cleanup(func() {
		h.stop(t)
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	h.receiver = map[pipeline.ID]string{pipeOncall: alerts.DefaultReceiverName, pipeWebhook: alerts.DefaultReceiverName}
	if o.routing != "" {
		h.receiver = map[pipeline.ID]string{pipeOncall: "oncall", pipeTickets: "tickets", pipeArchive: "archive"}
	}
	return h
}

func (h *harness) stop(t *testing.T) {
	if h.r == nil {
		return
	}
	require.NoError(t, h.r.Shutdown(context.Background()))
	h.r = nil
}

// event is an alert event of an SLO of checkout, as the slo connector
// writes it.
func event(severity, state string) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	alertevent.Append(records, alertevent.Event{
		Identity: map[string]string{
			conventions.AttrAlertName: "SLOBurnRate-checkout-availability-" + severity, conventions.AttrAlertSeverity: severity,
			conventions.AttrAlertSource: conventions.SourceSLO, conventions.AttrServiceName: "checkout", conventions.AttrSLOName: "availability",
		},
		State: state, Summary: "checkout/availability: " + severity, Time: t0,
	})
	return ld
}

// at moves the fake clock to t0+d, feeds the events and flushes.
func (h *harness) at(t *testing.T, d time.Duration, events ...plog.Logs) {
	t.Helper()
	h.clock = t0.Add(d)
	for _, ld := range events {
		require.NoError(t, h.r.ConsumeLogs(context.Background(), ld))
	}
	h.r.tick(h.clock)
}

// notes waits until the sink of id has want notifications and returns them
// as "action alertname" (trigger or resolve, from alert.state).
func (h *harness) notes(t *testing.T, id pipeline.ID, want int) []string {
	t.Helper()
	var got []string
	require.Eventually(t, func() bool {
		got = nil
		for _, ld := range h.sinks[id].AllLogs() {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						a, err := alertevent.Decode(lr, rl.Resource(), time.Time{})
						require.NoError(t, err)
						action := "trigger"
						if !a.Firing() {
							action = "resolve"
						}
						assert.Equal(t, h.receiver[id], alertevent.Receiver(lr))
						got = append(got, action+" "+a.Labels[alerts.LabelAlertName])
					}
				}
			}
		}
		return len(got) >= want
	}, 5*time.Second, 5*time.Millisecond)
	// Nothing more arrives: the handover is done once the flush's
	// notifications are in.
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, got, want)
	return got
}

func TestRoutesToReceiverPipelines(t *testing.T) {
	h := start(t, options{routing: routing})
	page, ticket := "SLOBurnRate-checkout-availability-page", "SLOBurnRate-checkout-availability-ticket"
	h.at(t, 0, event("page", "firing"), event("ticket", "firing"))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1), "continue: true copies the page")
	// The default inhibition: the page holds back the ticket of its SLO.
	assert.Empty(t, h.notes(t, pipeTickets, 0))

	// Re-reported while firing: nothing new. Then the page resolves: its
	// resolve goes to both receivers and the ticket, no longer inhibited,
	// to tickets.
	h.at(t, 5*time.Second, event("page", "firing"))
	h.at(t, 12*time.Second, event("page", "resolved"), event("ticket", "firing"))
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeOncall, 2))
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeArchive, 2))
	assert.Equal(t, []string{"trigger " + ticket}, h.notes(t, pipeTickets, 1))

	h.stop(t)
	m, err := h.tel.GetMetric(metricNotifications)
	require.NoError(t, err)
	var handedOver int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, _ := dp.Attributes.Value(attrOutcome); v.AsString() == outcomeHandedOver {
			handedOver += dp.Value
		}
	}
	assert.Equal(t, int64(5), handedOver)
}

// TestHandoverFailureRetried: a pipeline that refuses a notification gets
// it again at the group's next flush; nothing is lost or doubled.
func TestHandoverFailureRetried(t *testing.T) {
	h := start(t, options{routing: routing, fail: map[pipeline.ID]int{pipeOncall: 1}})
	page := "SLOBurnRate-checkout-availability-page"
	h.at(t, 0, event("page", "firing"))
	assert.Empty(t, h.notes(t, pipeOncall, 0))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1))
	h.at(t, 10*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1), "the receiver that took it is not sent it again")
}

// TestRestart: a router restarted over the same storage neither repeats a
// trigger nor loses a resolve, with the built-in routing.
func TestRestart(t *testing.T) {
	tests := []struct {
		name     string
		reReport bool
	}{
		{"re-reported after the restart, then resolved", true},
		{"only the resolve after the restart", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			page := "SLOBurnRate-checkout-availability-page"
			first := start(t, options{storeDir: dir})
			first.at(t, 0, event("page", "firing"))
			first.at(t, alerts.DefaultGroupWait)
			assert.Equal(t, []string{"trigger " + page}, first.notes(t, pipeOncall, 1))
			first.stop(t)

			second := start(t, options{storeDir: dir})
			second.clock = t0.Add(time.Minute)
			if tt.reReport {
				second.at(t, time.Minute, event("page", "firing"))
				second.at(t, time.Minute+alerts.DefaultGroupWait, event("page", "firing"))
				second.at(t, 3*time.Minute, event("page", "firing"))
			}
			second.at(t, 4*time.Minute, event("page", "resolved"))
			second.at(t, 5*time.Minute)
			assert.Equal(t, []string{"resolve " + page}, second.notes(t, pipeOncall, 1))
		})
	}
}

// TestResolveStoredWhenTaken: a router killed right after it took a
// resolve (no shutdown, no round of the persist loop since), whose sender
// will not send that resolve again, resolves the page at its first flush
// after the restart, not at resolve_timeout.
func TestResolveStoredWhenTaken(t *testing.T) {
	store := ownershiptest.NewStore()
	id := component.MustNewID("memory_storage")
	on := func(store *ownershiptest.Store) options {
		// A single node's storage: no ownership, every service its own.
		host := storagetest.NewStorageHost().WithExtension(id, plainStorage{ownershiptest.NewMember(store)})
		return options{host: host, storageID: &id}
	}
	page := "SLOBurnRate-checkout-availability-page"
	first := start(t, on(store))
	first.at(t, 0, event("page", "firing"))
	first.at(t, alerts.DefaultGroupWait)
	assert.Equal(t, []string{"trigger " + page}, first.notes(t, pipeOncall, 1))
	first.clock = t0.Add(time.Minute)
	require.NoError(t, first.r.ConsumeLogs(context.Background(), event("page", "resolved")))
	crashed := store.Clone() // the kill: what is stored now is all the next run has
	first.stop(t)

	second := start(t, on(crashed))
	second.clock = t0.Add(time.Minute)
	second.at(t, time.Minute+alerts.DefaultGroupWait)
	second.at(t, 2*time.Minute)
	assert.Equal(t, []string{"resolve " + page}, second.notes(t, pipeOncall, 1))
}

// plainStorage is a storage extension and nothing more: an
// ownershiptest.Member without its ownership, as file_storage is.
type plainStorage struct{ storage.Extension }

// TestFirstSeenAtAReSend: a router that first sees an alert at one of its
// re-sends (restarted without the alert in its store, or another
// evaluator of the fleet after a handover) notifies the start the event
// says (alert.starts_at), not the re-send's time; the resolve carries the
// same start.
func TestFirstSeenAtAReSend(t *testing.T) {
	h := start(t, options{})
	started := t0.Add(-40 * time.Minute)
	sourceEvent := func(state string, at time.Time) plog.Logs {
		ld := event("page", state)
		lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		lr.Attributes().PutStr(conventions.AttrAlertStartsAt, started.Format(time.RFC3339Nano))
		return ld
	}
	h.at(t, 0, sourceEvent("firing", t0))
	h.at(t, alerts.DefaultGroupWait)
	h.notes(t, pipeOncall, 1)
	h.at(t, 5*time.Minute, sourceEvent("resolved", t0.Add(5*time.Minute)))
	h.at(t, 6*time.Minute)
	h.notes(t, pipeOncall, 2)
	var got []alerts.Notification
	for _, ld := range h.sinks[pipeOncall].AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
				n, err := alertevent.DecodeNotification(lr, rl.Resource(), time.Time{})
				require.NoError(t, err)
				got = append(got, n)
			}
		}
	}
	require.Len(t, got, 2)
	assert.Equal(t, alerts.ActionTrigger, got[0].Action)
	assert.True(t, got[0].Alert.StartsAt.Equal(started), "the trigger starts at alert.starts_at, not at the re-send: %v", got[0].Alert.StartsAt)
	assert.Equal(t, alerts.ActionResolve, got[1].Action)
	assert.True(t, got[1].Alert.StartsAt.Equal(started), "the resolve's start: %v", got[1].Alert.StartsAt)
	assert.True(t, got[1].Alert.EndsAt.Equal(t0.Add(5*time.Minute)), "the resolve's end: %v", got[1].Alert.EndsAt)
}

// TestMalformedStartStillPages: a firing event whose alert.starts_at is
// no RFC 3339 time is routed as if it had none (it pages, starting at its
// time), not dropped with its page.
func TestMalformedStartStillPages(t *testing.T) {
	h := start(t, options{})
	ld := event("page", "firing")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	lr.Attributes().PutStr(conventions.AttrAlertStartsAt, "2026-12-07 10:00:00")
	h.at(t, 0, ld)
	h.at(t, alerts.DefaultGroupWait)
	h.notes(t, pipeOncall, 1)
}

// TestRecordsThatAreNotAlerts are counted and ignored.
func TestRecordsThatAreNotAlerts(t *testing.T) {
	h := start(t, options{})
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	records.AppendEmpty().Body().SetStr("GET /cart 200")
	bad := records.AppendEmpty()
	bad.Attributes().PutStr(conventions.AttrAlertName, "X")
	bad.Attributes().PutStr(conventions.AttrAlertState, "exploded")
	bad.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	h.at(t, 0, ld)
	h.at(t, time.Minute)
	assert.Empty(t, h.notes(t, pipeOncall, 0))
	h.stop(t)
	m, err := h.tel.GetMetric(metricAlertsReceived)
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(attrOutcome))
		got[v.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{outcomeNotAlert: 1, outcomeInvalid: 1}, got)
}

// TestStartRefusesUnmappedReceiver: a routing file whose receiver has no
// pipelines is refused at start, naming it.
func TestStartRefusesUnmappedReceiver(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	path := filepath.Join(t.TempDir(), "routing.yml")
	require.NoError(t, os.WriteFile(path, []byte("receivers: [{name: oncall}, {name: pager2}]\nroute: {receiver: oncall}\n"), 0o600))
	cfg.Routing = path
	cfg.Receivers = map[string][]pipeline.ID{"oncall": {pipeOncall}}
	sink := &consumertest.LogsSink{}
	c, err := NewFactory().CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg,
		connector.NewLogsRouter(map[pipeline.ID]consumer.Logs{pipeOncall: sink}))
	require.NoError(t, err)
	err = c.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `receiver "pager2" of the routing file has no pipelines`)
	require.NoError(t, c.Shutdown(context.Background()))
}

func TestCreateRefusesUnknownPipeline(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Receivers = map[string][]pipeline.ID{alerts.DefaultReceiverName: {pipeTickets}}
	_, err := NewFactory().CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg,
		connector.NewLogsRouter(map[pipeline.ID]consumer.Logs{pipeOncall: &consumertest.LogsSink{}}))
	require.ErrorContains(t, err, "receivers::default")
}

// TestFleetOwnership: two routers of a fleet share the notification log.
// Only the owner of a service notifies; when the service moves, the old
// owner drops its alerts without resolving them and the new owner, from
// the shared log, neither triggers again nor forgets the resolve.
func TestFleetOwnership(t *testing.T) {
	store := ownershiptest.NewStore()
	ctx := context.Background()
	page := "SLOBurnRate-checkout-availability-page"
	a, am := startFleetMember(t, store)
	b, bm := startFleetMember(t, store)

	// Not owned yet: the event is counted and dropped.
	a.at(t, 0, event("page", "firing"))
	a.at(t, alerts.DefaultGroupWait)
	assert.Empty(t, a.notes(t, pipeOncall, 0))

	require.NoError(t, am.Acquire(ctx, "checkout"))
	a.at(t, time.Minute, event("page", "firing"))
	a.at(t, time.Minute+alerts.DefaultGroupWait)
	assert.Equal(t, []string{"trigger " + page}, a.notes(t, pipeOncall, 1))

	// The service moves: a hands it over, b takes it.
	am.Release(ctx, "checkout", true)
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	// a, no longer the owner, lets the alert go stale: no resolve.
	a.at(t, time.Hour)
	assert.Equal(t, []string{"trigger " + page}, a.notes(t, pipeOncall, 1), "the old owner resolved a service it gave up")
	// b, re-reported the firing alert, does not trigger it again; its
	// resolve goes out once.
	b.at(t, 2*time.Minute, event("page", "firing"))
	b.at(t, 2*time.Minute+alerts.DefaultGroupWait, event("page", "firing"))
	assert.Empty(t, b.notes(t, pipeOncall, 0))
	b.at(t, 3*time.Minute, event("page", "resolved"))
	b.at(t, 4*time.Minute)
	assert.Equal(t, []string{"resolve " + page}, b.notes(t, pipeOncall, 1))
	// No index shared by the evaluators: only per-service values.
	for _, k := range store.Keys() {
		assert.NotContains(t, k, alerts.StoreKeyIndex)
	}
}

// TestFleetSharedSilences: a silence created through one evaluator's
// console mutes the page another evaluator would send, once that one has
// read the shared silences (every flush_interval); an expiry through the
// second reaches the first the same way.
func TestFleetSharedSilences(t *testing.T) {
	store := ownershiptest.NewStore()
	ctx := context.Background()
	a, _ := startFleetMember(t, store)
	b, bm := startFleetMember(t, store)
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	matcher, err := alerts.ParseMatcher(`service_name="checkout"`)
	require.NoError(t, err)
	id, err := a.r.engine.SetSilence(ctx, alerts.Silence{Matchers: alerts.Matchers{matcher}, EndsAt: t0.Add(time.Hour), CreatedBy: "alice"}, t0)
	require.NoError(t, err)

	require.NoError(t, b.r.persistOnce(ctx))
	b.at(t, 0, event("page", "firing"))
	b.at(t, alerts.DefaultGroupWait)
	assert.Empty(t, b.notes(t, pipeOncall, 0), "b paged for a service silenced through a's console")

	require.NoError(t, b.r.engine.ExpireSilence(ctx, id, t0.Add(time.Minute)))
	require.NoError(t, a.r.persistOnce(ctx))
	got, ok := a.r.engine.SilenceByID(id, t0.Add(time.Minute))
	require.True(t, ok)
	assert.Equal(t, alerts.SilenceExpired, got.State, "the expiry through b reached a")
	b.at(t, time.Minute+alerts.DefaultGroupInterval, event("page", "firing"))
	assert.Equal(t, []string{"trigger SLOBurnRate-checkout-availability-page"}, b.notes(t, pipeOncall, 1))
}

func startFleetMember(t *testing.T, store *ownershiptest.Store) (*harness, *ownershiptest.Member) {
	t.Helper()
	m := ownershiptest.NewMember(store)
	return startMember(t, m, options{}), m
}

// startMember starts a router with o as a fleet member m.
func startMember(t *testing.T, m *ownershiptest.Member, o options) *harness {
	t.Helper()
	id := component.MustNewID("redis_storage")
	o.host, o.storageID = storagetest.NewStorageHost().WithExtension(id, m), &id
	return start(t, o)
}

// TestFleetConsoleListsTheFleet: a console lists the alerts another
// evaluator of the fleet holds, once that one published them (its persist
// loop), and stops listing them once it stopped.
func TestFleetConsoleListsTheFleet(t *testing.T) {
	store := ownershiptest.NewStore()
	ctx := context.Background()
	a, _ := startFleetMember(t, store)
	b, bm := startFleetMember(t, store)
	require.NoError(t, bm.Acquire(ctx, "checkout"))
	b.at(t, 0, event("page", "firing"))
	listed := func() []string {
		t.Helper()
		var names []string
		for _, st := range (consoleAlerts{a.r}).Alerts(ctx, a.clock) {
			names = append(names, st.Alert.Labels[alerts.LabelAlertName])
		}
		for _, g := range (consoleAlerts{a.r}).Groups(ctx, a.clock) {
			for _, st := range g.Alerts {
				names = append(names, "group "+st.Alert.Labels[alerts.LabelAlertName])
			}
		}
		return names
	}
	assert.Empty(t, listed(), "not published yet")
	require.NoError(t, b.r.persistOnce(ctx))
	page := "SLOBurnRate-checkout-availability-page"
	assert.Equal(t, []string{page, "group " + page}, listed())
	b.stop(t)
	assert.Empty(t, listed(), "withdrawn when b stopped")
}
