package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/ownership"
	"github.com/vigil-otel/vigil/internal/refusal"
	"github.com/vigil-otel/vigil/internal/storageclient"
)

const (
	// queueLen bounds the notifications waiting for one pipeline of a
	// receiver. Past it a notification is not recorded as sent, and the
	// engine produces it again, for that pipeline only, at the group's
	// next flush.
	queueLen = 256
	// persistTimeout bounds one write of the notification log.
	persistTimeout = 5 * time.Second
	// shutdownGrace lets handovers in progress finish at shutdown before
	// their context is cancelled. A handover to a persistent queue takes
	// milliseconds.
	shutdownGrace = 5 * time.Second
	// releaseGrace lets the handovers in progress of a service this
	// evaluator gives up finish before they are cancelled (fleet.go). A
	// handover to an exporter that waits for its receiver's answer
	// (wait_for_result, as on evaluators) takes a round trip when the
	// receiver answers, and lasts as long as it is down otherwise. It is
	// below the coordinator's 5s for a handler.
	releaseGrace = 2 * time.Second
)

var (
	errQueueFull  = errors.New("the pipeline's notification queue is full")
	errNoPipeline = errors.New("the receiver has no such pipeline")
	errNotOwned   = errors.New("the alert's service is owned by another evaluator")
)

// destination is one pipeline of one receiver: an integration of the
// receiver in the engine (alerts.Engine.SetIntegrations), named by the
// pipeline's ID. Each has its own worker, queue and notification-log
// entries, so a pipeline that blocks or fails holds back and repeats
// nothing at the receiver's other pipelines.
type destination struct {
	receiver string
	pipeline string // the integration's name: pipeline.ID.String()
}

func destinationOf(n alerts.Notification) destination {
	return destination{receiver: n.Receiver, pipeline: n.Integration}
}

// router is the alertrouter connector: alert events in (ConsumeLogs →
// alerts.Engine), notifications out (a flush loop, and one worker per
// pipeline of each receiver that hands that pipeline its notifications).
type router struct {
	cfg       *Config
	set       connector.Settings
	logger    *zap.Logger
	tel       *telemetry
	consumers map[destination]consumer.Logs
	now       func() time.Time

	engine   *alerts.Engine
	reloader *alerts.Reloader
	// owner is set in a fleet (see fleet.go): only alerts of owned
	// services are ingested and notified.
	owner      ownership.Coordinator
	unregister func()
	// view publishes this evaluator's alerts for the consoles of the
	// fleet and lists the fleet's (see console.go); nil on a single node.
	view *alerts.FleetView
	// board is the status last published with the view, as of the
	// board's boardVersion (publishedBoard).
	board        json.RawMessage
	boardVersion uint64
	// viewWarned is when a console request last logged that it could not
	// read the other evaluators' views (Unix ns).
	viewWarned atomic.Int64
	// handovers are the handovers in progress, by service, so that a
	// service this evaluator gives up waits for its own and nothing else
	// (fleet.go).
	handovers handovers
	// dropped collects the log entries a load dropped (a pipeline no
	// longer mapped to its receiver), for one warning per load.
	droppedMu sync.Mutex
	dropped   []alerts.LogEntry
	storage   storage.Client
	queues    map[destination]chan alerts.Notification
	// refusals is where exporters whose persistent queue took a
	// notification report that its receiver refused it (internal/refusal);
	// unsubscribe stops listening.
	refusals    *refusal.Board
	unsubscribe func()

	cancelLoop context.CancelFunc
	sendCtx    context.Context
	cancelSend context.CancelFunc
	loop       sync.WaitGroup
	workers    sync.WaitGroup

	console     *http.Server // nil without a console
	consoleDone chan struct{}
	// filesMu guards routingFrom and silencesFrom, the files the routing
	// and the file silences in force were read from ("": the built-in
	// routing, no silences), for a rebuild (rebuild.go); set at load and
	// by the flush loop (logApplied).
	filesMu                   sync.Mutex
	routingFrom, silencesFrom string
	// memStore is the store without a storage extension, kept for the
	// router a rebuild creates (rebuild.go); nil with storage.
	memStore *alerts.MemStore
	// ran is set once Start succeeded: what a router that ran runs with
	// is remembered for a rebuild (rebuild.go), what one that failed to
	// start was given is not.
	ran bool
}

var _ connector.Logs = (*router)(nil)

func newRouter(set connector.Settings, cfg *Config, consumers map[destination]consumer.Logs) (*router, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &router{cfg: cfg, set: set, logger: set.Logger, tel: tel, consumers: consumers, now: time.Now, refusals: refusal.Default}, nil
}

// Capabilities: the router reads the records it consumes.
func (r *router) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start opens the notification log, restores the engine from it, loads the
// routing and silences files, listens for refusals (first taking those
// reported while no router listened), and starts the flush loop and the
// workers. Files that do not load fail a first start; when the collector
// rebuilt its pipelines they keep the routing and silences that ran (see
// load).
func (r *router) Start(ctx context.Context, host component.Host) error {
	if err := r.prepare(ctx, host); err != nil {
		if r.storage != nil {
			_ = r.storage.Close(ctx)
			r.storage = nil
		}
		return err
	}
	r.unsubscribe = r.refusals.Subscribe(r.set.ID.String(), r.refused)
	r.sendCtx, r.cancelSend = context.WithCancel(context.Background())
	r.queues = make(map[destination]chan alerts.Notification, len(r.consumers))
	for d, next := range r.consumers {
		q := make(chan alerts.Notification, queueLen)
		r.queues[d] = q
		r.workers.Add(1)
		go r.work(d, q, next)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancelLoop = cancel
	r.loop.Add(2)
	go r.run(loopCtx)
	go r.persistLoop(loopCtx)
	if err := r.startConsole(ctx, host); err != nil {
		return errors.Join(err, r.Shutdown(ctx))
	}
	r.ran = true
	r.remember()
	return nil
}

func (r *router) prepare(ctx context.Context, host component.Host) error {
	var store alerts.Store
	if r.cfg.Storage != nil {
		client, err := storageclient.Get(ctx, host, *r.cfg.Storage, component.KindConnector, r.set.ID, "nflog")
		if err != nil {
			return err
		}
		r.storage, store = client, client
	} else {
		// The store of the router this one replaces at a rebuild, so that
		// a SIGHUP forgets nothing (rebuild.go).
		r.memStore = alerts.NewMemStore()
		if prev, ok := previousRun(r.set.ID); ok && prev.store != nil {
			r.memStore = prev.store
		}
		store = r.memStore
		r.logger.Warn("no storage extension configured: open incidents and the console's silences are forgotten on restart (kept when the collector reloads)")
	}
	now := r.now()
	r.engine = alerts.NewEngine(alerts.DefaultConfig(), store)
	r.engine.SetIntegrations(r.cfg.integrations(), r.noteDropped)
	if r.cfg.Storage != nil {
		r.owner = ownership.FromHost(host, *r.cfg.Storage)
	}
	if r.owner != nil {
		// A fleet: each service's log is loaded when this evaluator takes
		// the service over; Restore loads the silences.
		r.engine.ShardByService()
		r.unregister = r.owner.Register(fleetHandler{r})
		r.view = alerts.NewFleetView(r.engine, store, evaluatorName(), r.cfg.FlushInterval)
	}
	if err := r.engine.Restore(ctx, now); err != nil {
		return fmt.Errorf("restoring the notification log: %w", err)
	}
	r.warnDropped()
	if r.cfg.Routing == "" {
		if err := r.cfg.checkRouting(alerts.DefaultConfig()); err != nil {
			return err
		}
	}
	return r.load(now)
}

// Shutdown stops the flush loop, lets the workers finish the handovers in
// progress (cancelled after a grace period), persists what changed and
// closes the storage client. Notifications still queued are dropped: they
// were not recorded, so the engine of the next run produces them again.
func (r *router) Shutdown(ctx context.Context) error {
	if r.unregister != nil {
		r.unregister()
	}
	if r.unsubscribe != nil {
		// Refusals reported from now on are held for the next router
		// (the collector's rebuild on SIGHUP).
		r.unsubscribe()
		r.unsubscribe = nil
	}
	if r.cancelLoop == nil {
		return nil
	}
	consoleErr := r.stopConsole(ctx)
	r.cancelLoop()
	r.cancelLoop = nil // a second Shutdown (after a failed Start) does nothing
	r.loop.Wait()
	if r.ran {
		// What the flush loop applied last, for the router a rebuild
		// creates.
		r.remember()
	}
	for _, q := range r.queues {
		close(q)
	}
	done := make(chan struct{})
	go func() {
		r.workers.Wait()
		close(done)
	}()
	grace := time.NewTimer(shutdownGrace)
	select {
	case <-done:
	case <-grace.C:
	case <-ctx.Done():
	}
	grace.Stop()
	r.cancelSend()
	<-done
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	errs := []error{consoleErr}
	if err := r.engine.Persist(pctx); err != nil {
		errs = append(errs, err)
	}
	if r.view != nil {
		errs = append(errs, r.view.Withdraw(pctx))
	}
	if r.storage != nil {
		errs = append(errs, r.storage.Close(pctx))
	}
	return errors.Join(errs...)
}

// ConsumeLogs ingests the alert events of ld into the engine. Other
// records are counted and ignored, so the router may sit on a pipeline
// that carries ordinary logs too. Ingesting is in memory: nothing here
// fails or blocks on a receiver.
func (r *router) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	now := r.now()
	resolves := false
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a, err := alertevent.Decode(lr, rl.Resource(), now)
				if errors.Is(err, alertevent.ErrBadStart) {
					// Routed as if it had none: a page is not dropped for
					// its start.
					r.logger.Warn("alert event with a malformed start, taken as absent", zap.Error(err))
					err = nil
				}
				switch {
				case errors.Is(err, alertevent.ErrNotAlertEvent):
					r.tel.recordReceived(ctx, outcomeNotAlert)
				case err != nil:
					r.tel.recordReceived(ctx, outcomeInvalid)
					r.logger.Warn("dropping malformed alert event", zap.Error(err))
				case !ownership.Owns(r.owner, a.Labels[alerts.LabelService]):
					r.tel.recordReceived(ctx, outcomeNotOwned)
				default:
					r.tel.recordReceived(ctx, outcomeIngested)
					r.engine.Ingest(a, now)
					resolves = resolves || !a.Firing()
				}
			}
		}
	}
	if resolves && r.storage != nil {
		// A resolve taken is stored before its sender learns it was:
		// the sender does not send it again (the slo and anomaly
		// connectors write that it went out), so a crash before the
		// persist loop's next round would leave the alert firing here
		// until resolve_timeout. Resolves are rare; a failure is the
		// persist loop's to report and retry.
		pctx, cancel := context.WithTimeout(ctx, persistTimeout)
		defer cancel()
		_ = r.engine.Persist(pctx)
	}
	return nil
}

// run is the flush loop: every FlushInterval it applies changed routing
// and silences files and queues what the engine flushes.
func (r *router) run(ctx context.Context) {
	defer r.loop.Done()
	ticker := time.NewTicker(r.cfg.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			r.tick(r.now())
		}
	}
}

// persistLoop writes, every FlushInterval, what the notification log
// could not write when it changed (the store was down): once the store
// answers again, the log in it is whole again. In a fleet it first reads
// the silences the other evaluators' consoles wrote (SyncSilences), so
// they apply here from the next flush. It runs apart from the flush loop,
// so a store that does not answer never delays a notification.
func (r *router) persistLoop(ctx context.Context) {
	defer r.loop.Done()
	ticker := time.NewTicker(r.cfg.FlushInterval)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			err := r.persistOnce(ctx)
			switch {
			case err != nil && !failing:
				failing = true
				r.logger.Warn("persisting the notification log (or, in a fleet, reading the shared silences or publishing the alerts for the consoles) failed; trying again every flush_interval", zap.Error(err))
			case err == nil && failing:
				failing = false
				r.logger.Info("notification log persisted again")
			}
		}
	}
}

// persistOnce is one round of persistLoop: in a fleet, the shared
// silences read and merged, then what the log could not write written,
// then this evaluator's alerts published for the fleet's consoles.
func (r *router) persistOnce(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, persistTimeout)
	defer cancel()
	if r.view == nil {
		return r.engine.Persist(pctx)
	}
	now := r.now()
	return errors.Join(r.engine.SyncSilences(pctx, now), r.engine.Persist(pctx), r.view.Publish(pctx, now, r.publishedBoard()))
}

// logApplied says, once per change, that the routing or silences file
// now in force was read (at start, and at each reload), and records which
// files the routing and silences in force come from, for a rebuild
// (rebuild.go).
func (r *router) logApplied(path string, removed bool) {
	r.filesMu.Lock()
	previous := r.silencesFrom
	switch {
	case removed:
		r.silencesFrom = ""
	case path == r.cfg.Routing:
		r.routingFrom = path
	default:
		r.silencesFrom = path
	}
	r.filesMu.Unlock()
	switch {
	case removed && previous != "" && previous != path:
		// At a rebuild whose silences option names another file than the
		// one whose silences ran (load).
		r.logger.Info("silences file not found; the silences of the previous silences file, which ran before the collector reloaded, are lifted",
			zap.String("path", path), zap.String("previous_path", previous))
	case removed:
		r.logger.Info("silences file removed; the silences it held are lifted", zap.String("path", path))
	case path == r.cfg.Routing:
		r.logger.Info("alert routing file applied", zap.String("path", path))
	default:
		r.logger.Info("silences file applied", zap.String("path", path))
	}
}

// tick flushes the engine at now and queues each notification for the
// worker of its receiver's pipeline.
func (r *router) tick(now time.Time) {
	if err := r.reloader.Reload(r.engine, now); err != nil {
		// The engine keeps its previous routing; the reloader reports a
		// broken file once until its content changes.
		r.logger.Error("alert routing or silences file rejected; keeping the previous one", zap.Error(err))
	}
	for _, n := range r.engine.Flush(now) {
		q, ok := r.queues[destinationOf(n)]
		if !ok {
			// Not expected: the engine notifies only the integrations
			// this router declared (SetIntegrations).
			r.logger.Error("notification for a pipeline the receiver does not map",
				zap.String("receiver", n.Receiver), zap.String("pipeline", n.Integration),
				zap.String("action", string(n.Action)), zap.String("dedup_key", n.DedupKey()))
			r.fail(n, errNoPipeline)
			continue
		}
		select {
		case q <- n:
		default:
			r.fail(n, errQueueFull)
		}
	}
}

// fail reports a notification that was not handed over: the engine
// produces it again, for its pipeline, at its group's next flush.
func (r *router) fail(n alerts.Notification, err error) {
	r.markSent(n, err)
	r.tel.recordNotification(context.Background(), n.Receiver, n.Integration, string(n.Action), outcomeFailed)
}

// work hands the notifications of one pipeline of a receiver to it, one
// at a time and in order, so a trigger is always handed over before its
// resolve, and a slow pipeline delays no other, not even another of the
// same receiver.
func (r *router) work(d destination, q <-chan alerts.Notification, next consumer.Logs) {
	defer r.workers.Done()
	for n := range q {
		r.deliver(d, n, next)
	}
}

// deliver records n as pending, hands it to its pipeline and records the
// outcome; see doc.go for why in this order.
func (r *router) deliver(d destination, n alerts.Notification, next consumer.Logs) {
	service := n.Alert.Labels[alerts.LabelService]
	// Registered before the ownership check: a service given up from now
	// on waits for this handover, or cancels it (fleet.go).
	ctx, done := r.handovers.start(r.sendCtx, service)
	defer done()
	if !ownership.Owns(r.owner, service) {
		// The service moved to another evaluator since the flush: it
		// notifies from the log this one wrote.
		r.markSent(n, errNotOwned)
		return
	}
	pctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	err := r.engine.MarkSending(pctx, n)
	cancel()
	switch {
	case errors.Is(err, alerts.ErrNotInFlight):
		// Queued before the service was given up, which forgot it: its
		// log is the next owner's, or, the service back here, a new one
		// that does not know of it (a trigger sent now would never be
		// resolved). Not counted, as one whose service moved is not.
		r.logger.Debug("notification dropped: its service was given up since the flush",
			zap.String("receiver", d.receiver), zap.String("pipeline", d.pipeline), zap.String("dedup_key", n.DedupKey()))
		return
	case err != nil:
		r.logger.Error("persisting the notification log before a handover; sending anyway", zap.Error(err))
	}
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	alertevent.SetRouter(alertevent.AppendNotification(sl.LogRecords(), n), r.set.ID.String())
	err = next.ConsumeLogs(ctx, ld)
	// Recorded before it is counted: a notification counted as handed
	// over is in the log as such.
	r.markSent(n, err)
	if err != nil && ctx.Err() != nil && r.sendCtx.Err() == nil {
		// Cancelled by the release of its service (fleet.go): the next
		// owner sends it, from the pending entry. Not a delivery failure,
		// which the shipped alert VigilNotificationsFailing pages on.
		r.tel.recordNotification(r.sendCtx, d.receiver, d.pipeline, string(n.Action), outcomeCancelled)
		return
	}
	if err != nil {
		msg := "notification not handed over; the router sends it to this pipeline again at its group's next flush"
		if consumererror.IsPermanent(err) {
			// The exporter waited for the receiver, which refused it.
			msg = "the receiver refused the notification; the router sends it to this pipeline again at its group's next flush"
			r.tel.recordRefused(r.sendCtx, d.receiver, d.pipeline, string(n.Action))
		}
		r.logger.Warn(msg,
			zap.String("receiver", d.receiver), zap.String("pipeline", d.pipeline), zap.String("action", string(n.Action)),
			zap.String("dedup_key", n.DedupKey()), zap.Error(err))
		r.tel.recordNotification(r.sendCtx, d.receiver, d.pipeline, string(n.Action), outcomeFailed)
		return
	}
	r.tel.recordNotification(r.sendCtx, d.receiver, d.pipeline, string(n.Action), outcomeHandedOver)
}

// refused is told by an exporter whose persistent queue took n that the
// receiver refused it for good (internal/refusal): the engine owes it
// again (alerts.Engine.MarkRefused), and the group's next flush sends it
// to the pipeline again. A refusal of a notification superseded since, or
// of a service this evaluator no longer owns, changes nothing.
func (r *router) refused(n alerts.Notification) {
	if !ownership.Owns(r.owner, n.Alert.Labels[alerts.LabelService]) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	defer cancel()
	changed, err := r.engine.MarkRefused(ctx, n)
	if err != nil {
		r.logger.Error("persisting the notification log", zap.Error(err))
	}
	if !changed {
		r.logger.Debug("refusal of a notification superseded since; nothing owed",
			zap.String("receiver", n.Receiver), zap.String("pipeline", n.Integration), zap.String("dedup_key", n.DedupKey()))
		return
	}
	r.logger.Warn("the receiver refused a notification its pipeline's queue took; the router sends it to this pipeline again at its group's next flush",
		zap.String("receiver", n.Receiver), zap.String("pipeline", n.Integration), zap.String("action", string(n.Action)),
		zap.String("dedup_key", n.DedupKey()))
	r.tel.recordRefused(context.Background(), n.Receiver, n.Integration, string(n.Action))
}

func (r *router) markSent(n alerts.Notification, sendErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	defer cancel()
	if err := r.engine.MarkSent(ctx, n, sendErr); err != nil {
		r.logger.Error("persisting the notification log", zap.Error(err))
	}
}

// noteDropped is told by the engine of each log entry a load dropped:
// its pipeline is no longer mapped to its receiver (or the receiver to
// any), so its resolve has nowhere to go.
func (r *router) noteDropped(entry alerts.LogEntry) {
	r.droppedMu.Lock()
	defer r.droppedMu.Unlock()
	r.dropped = append(r.dropped, entry)
}

// warnDropped logs the entries the last load dropped, once per receiver
// and pipeline, rather than an error at every flush.
func (r *router) warnDropped() {
	r.droppedMu.Lock()
	dropped := r.dropped
	r.dropped = nil
	r.droppedMu.Unlock()
	byDestination := map[destination][]string{}
	for _, entry := range dropped {
		d := destination{receiver: entry.Receiver, pipeline: entry.Integration}
		byDestination[d] = append(byDestination[d], entry.Fingerprint)
	}
	for _, d := range slices.SortedFunc(maps.Keys(byDestination), func(a, b destination) int {
		return strings.Compare(a.receiver+"\x00"+a.pipeline, b.receiver+"\x00"+b.pipeline)
	}) {
		r.logger.Warn("the notification log holds incidents for a pipeline the receiver no longer maps; dropped: they stay open there unless resolved by hand",
			zap.String("receiver", d.receiver), zap.String("pipeline", d.pipeline), zap.Strings("dedup_keys", byDestination[d]))
	}
}
