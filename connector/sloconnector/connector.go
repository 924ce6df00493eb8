package sloconnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"

	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/internal/filewatch"
	"github.com/vigil-otel/vigil/internal/ownership"
	"github.com/vigil-otel/vigil/internal/sharedcomponent"
	"github.com/vigil-otel/vigil/internal/statusboard"
	"github.com/vigil-otel/vigil/internal/storageclient"
)

// instances holds the connector of each configuration, shared by the
// instances the collector builds for each pair of pipeline signals: it
// passes them all the same *Config.
var instances = sharedcomponent.NewMap[*Config, *sloConnector]()

// running remembers, by component ID, the SLOs each connector last ran
// with, across the collector's rebuilds of its pipelines: on SIGHUP the
// collector shuts every component down and builds new ones, and a spec
// broken meanwhile must not stop the new connector from starting (the
// collector would exit). The new connector then runs the SLOs the old one
// ran, says why, and picks the fixed files up when they change. For the
// same reason Config.Validate, which the collector runs before the
// rebuild, passes invalid specs once a connector ran (checkSpecs).
var running = struct {
	sync.Mutex
	specs map[component.ID][]slo.Spec
}{specs: map[component.ID][]slo.Spec{}}

// sloConnector is the state shared by all instances of one configuration.
type sloConnector struct {
	id     component.ID
	cfg    *Config
	set    connector.Settings
	logger *zap.Logger
	// clock is the time source of a replay connector (NewReplayFactory);
	// nil means time.Now. manual: no evaluation loop, Evaluate drives it.
	clock  func() time.Time
	manual bool

	// Set while the collector builds the pipelines, before any Start;
	// read-only afterwards.
	metricsOut     consumer.Metrics
	logsOut        consumer.Logs
	tracesCounter  *tracesFacet
	metricsCounter *metricsFacet

	// rules is swapped by a reload; the hot path only loads it.
	rules   atomic.Pointer[ruleset]
	tracker *tracker.Tracker
	metrics *metricAccounting
	storage storage.Client
	// fleet is set when the storage extension coordinates ownership of
	// services among the evaluators of a fleet (see fleet.go).
	fleet   *fleetState
	links   linkTemplates
	tel     *telemetry
	started time.Time
	// watch tells when the spec files changed; owned by the evaluation
	// goroutine once it runs.
	watch filewatch.Tree

	// events is owned by the evaluation goroutine once it runs.
	events *alertEvents
	// shown are the statuses whose series the last evaluation emitted,
	// for ending those the next one no longer has (see endSeries), and
	// shownAt that evaluation's time. Owned by the evaluation (and, in a
	// fleet, guarded by fleetState.mu: Released ends a service's series).
	shown   []tracker.Status
	shownAt time.Time
	// red computes the RED metrics; nil when they are off.
	red *redAccounting
	// seenSpans and seenPoints remember the traces and metrics requests
	// counted, so that a sender's retry of one is accepted without being
	// counted again (package internal/dedup); nil when dedup is off. They
	// live as long as the connector: a restart forgets them.
	seenSpans, seenPoints *dedup.Window

	// reloadMu serializes reloads and checkpoints with shutdown.
	reloadMu sync.Mutex

	sending bool // the evaluation loop runs
	stop    chan struct{}
	wake    chan struct{} // a batch brought bad events: evaluate early (see loop)
	done    chan struct{}
	reload  chan chan error // reload requests (requestReload)
}

type linkTemplates struct {
	dashboard, runbook *template.Template
}

func newConnector(set connector.Settings, cfg *Config, opts factoryOptions) *sloConnector {
	var red *redAccounting
	if cfg.RED.Enabled {
		// span_metrics labels its series with the collector's instance
		// ID, a UUID the collector makes at start (service.instance.id of
		// its own resource).
		var instanceID string
		for _, k := range []string{redAttrInstanceID, "service.instance.id"} {
			if v, ok := set.Resource.Attributes().Get(k); ok && instanceID == "" {
				instanceID = v.AsString()
			}
		}
		red = newREDAccounting(cfg.RED, instanceID)
	}
	return &sloConnector{
		red:        red,
		seenSpans:  dedup.New(cfg.Dedup),
		seenPoints: dedup.New(cfg.Dedup),
		id:         set.ID,
		cfg:        cfg,
		set:        set,
		logger:     set.Logger,
		clock:      opts.clock,
		manual:     opts.manual,
		stop:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		reload:     make(chan chan error),
	}
}

// now reads the connector's clock.
func (c *sloConnector) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

func (c *sloConnector) setMetricsOut(next consumer.Metrics) {
	if c.metricsOut == nil {
		c.metricsOut = next
	}
}

func (c *sloConnector) setLogsOut(next consumer.Logs) {
	if c.logsOut == nil {
		c.logsOut = next
	}
}

// newTracesFacet returns an instance consuming traces. The first one
// built counts spans; the collector hands every other the same spans.
func (c *sloConnector) newTracesFacet(inst *sharedcomponent.Instance[*Config, *sloConnector]) *tracesFacet {
	f := &tracesFacet{facet{Instance: inst, c: c}}
	if c.tracesCounter == nil {
		c.tracesCounter = f
	}
	return f
}

// newMetricsFacet returns an instance consuming metrics; as for traces,
// the first one built counts.
func (c *sloConnector) newMetricsFacet(inst *sharedcomponent.Instance[*Config, *sloConnector]) *metricsFacet {
	f := &metricsFacet{facet{Instance: inst, c: c}}
	if c.metricsCounter == nil {
		c.metricsCounter = f
	}
	return f
}

// facet is what every instance of the connector shares: one lifecycle and
// one evaluation, whichever signal the instance consumes.
type facet struct {
	*sharedcomponent.Instance[*Config, *sloConnector]
	c *sloConnector
}

func (f facet) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Evaluate implements Evaluator.
func (f facet) Evaluate(ctx context.Context, at time.Time) error {
	return f.c.evaluateManually(ctx, at)
}

// tracesFacet is one instance of the connector that consumes traces.
type tracesFacet struct{ facet }

func (f *tracesFacet) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if f != f.c.tracesCounter {
		return nil
	}
	if w := f.c.seenSpans; w.Enabled() {
		// Accept records the request before it is counted: counting
		// cannot fail, and a try that arrives meanwhile is a repeat too.
		if fp, ok := dedup.Traces(td); ok && !w.Accept(fp) {
			return nil // counted when it first came; the sender retries
		}
	}
	if f.c.fleet != nil {
		f.c.fleet.observeTraces(td)
	}
	if rs := f.c.rules.Load(); rs != nil {
		if rs.observeSpans(ctx, td, f.c.tracker, f.c.tel, f.c.red) {
			select {
			case f.c.wake <- struct{}{}:
			default: // one is pending already
			}
		}
	}
	return nil
}

// metricsFacet is one instance of the connector that consumes metrics.
type metricsFacet struct{ facet }

func (f *metricsFacet) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	if f != f.c.metricsCounter {
		return nil
	}
	if w := f.c.seenPoints; w.Enabled() {
		// Cumulative points sent again are dropped as out of order
		// anyway (internal/cumdelta); delta points would count twice.
		if fp, ok := dedup.Metrics(md); ok && !w.Accept(fp) {
			return nil
		}
	}
	if f.c.fleet != nil {
		f.c.fleet.observeMetrics(md)
	}
	if rs := f.c.rules.Load(); rs != nil {
		f.c.metrics.record(rs, md, f.c.tracker, f.c.tel, f.c.now())
	}
	return nil
}

// Start runs at the first instance's Start (package sharedcomponent): it
// loads the specs, builds the tracker and restores the checkpoint. An
// invalid spec fails start-up with every problem, file:line:col, unless
// this connector ran before in this process (the collector rebuilt its
// pipelines on SIGHUP): then it keeps the SLOs that ran and logs why.
func (c *sloConnector) Start(ctx context.Context, host component.Host) error {
	var err error
	if c.links.dashboard, err = parseURLTemplate(c.cfg.DashboardURL); err != nil {
		return fmt.Errorf("dashboard_url: %w", err)
	}
	if c.links.runbook, err = parseURLTemplate(c.cfg.RunbookURL); err != nil {
		return fmt.Errorf("runbook_url: %w", err)
	}
	_, files := splitSpecPaths(c.cfg.Specs)
	c.watch = filewatch.Tree{Paths: files, Extensions: specFileExtensions}
	// The baseline is taken before reading, so that a change made while
	// the specs load is seen at the next check.
	_, _ = c.watch.Changed()
	rs, specs, err := c.loadRuleset()
	if err != nil {
		running.Lock()
		prev, ok := running.specs[c.id]
		running.Unlock()
		if !ok {
			return fmt.Errorf("slo specs: %w", err)
		}
		c.logger.Error("SLO specs are invalid; keeping the SLOs that ran before the collector reloaded", zap.Error(err))
		if rs, err = compile(flatten(prev), c.set.TelemetrySettings); err != nil {
			return fmt.Errorf("slo specs: %w", err)
		}
		specs = prev
	}
	for _, n := range slo.Notes(specs) {
		c.logger.Info("SLO spec note", zap.String("note", n.String()))
	}
	c.started = c.now()
	c.tracker = tracker.New(rs.slos, tracker.Options{
		Clock:           c.clock, // nil: time.Now
		LateTolerance:   c.cfg.LateTolerance,
		FutureTolerance: c.cfg.FutureTolerance,
		ResolveHoldDown: c.cfg.ResolveHoldDown,
	})
	c.metrics = newMetricAccounting(c.started)
	c.events = newAlertEvents(c.cfg.AlertResendInterval)
	if c.tel, err = newTelemetry(c.set.TelemetrySettings, c.tracker, c.metrics, c.seenSpans, c.seenPoints); err != nil {
		c.tracker = nil
		return err
	}
	if err := c.openStorage(ctx, host); err != nil {
		c.tel.close()
		c.tracker = nil
		return err
	}
	c.rules.Store(rs)
	c.remember(specs)
	c.logger.Info("SLO connector started", zap.Int("slos", len(rs.slos)), zap.Strings("specs", c.cfg.Specs))
	c.warnIfNoSLO(len(rs.slos))
	return nil
}

// warnIfNoSLO says so when the specs hold no SLO: an empty or mis-mounted
// spec folder (VIGIL_SLO_DIR) silently meant no SLO and no page.
func (c *sloConnector) warnIfNoSLO(n int) {
	if n == 0 {
		c.logger.Warn("No SLO in the spec files: no SLO is evaluated and no SLO alert fires until a spec is added", zap.Strings("specs", c.cfg.Specs))
	}
}

// loadRuleset loads and compiles the specs of the configuration.
func (c *sloConnector) loadRuleset() (*ruleset, []slo.Spec, error) {
	return loadRuleset(c.cfg.Specs, c.set.TelemetrySettings)
}

// remember records the specs running, for a rebuild of the pipelines.
func (c *sloConnector) remember(specs []slo.Spec) {
	running.Lock()
	defer running.Unlock()
	running.specs[c.id] = specs
}

// StartSending starts the evaluation loop once every instance has started,
// so that no metric or alert event reaches a pipeline not yet running. A
// replay connector has none: Evaluate drives it.
func (c *sloConnector) StartSending() {
	if c.manual {
		return
	}
	c.sending = true
	go c.loop()
}

// StopSending stops the evaluation loop at the first instance's Shutdown,
// before any pipeline it sends to stops.
func (c *sloConnector) StopSending() {
	if !c.sending {
		return
	}
	close(c.stop)
	<-c.done
	c.sending = false
}

// flatten lists the SLOs of the specs in file order.
func flatten(specs []slo.Spec) []slo.SLO {
	var out []slo.SLO
	for _, s := range specs {
		out = append(out, s.SLOs...)
	}
	return out
}

// openStorage gets the storage client and restores the checkpoint. A
// checkpoint that cannot be read is logged and ignored: losing state is
// better than not starting.
func (c *sloConnector) openStorage(ctx context.Context, host component.Host) error {
	if c.cfg.Storage == nil {
		return nil
	}
	client, err := storageclient.Get(ctx, host, *c.cfg.Storage, component.KindConnector, c.id, "")
	if err != nil {
		return err
	}
	c.storage = client
	if owner := ownership.FromHost(host, *c.cfg.Storage); owner != nil {
		// A fleet: each service's state is loaded when this evaluator
		// takes the service over, not at start.
		c.startFleet(owner)
		return nil
	}
	data, err := client.Get(ctx, checkpointKey(c.id))
	if err != nil {
		c.logger.Warn("Reading the SLO checkpoint failed; starting without state", zap.Error(err))
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	if err := c.restore(data); err != nil {
		c.logger.Warn("Restoring the SLO checkpoint failed; state of some SLOs is lost", zap.Error(err))
	}
	return nil
}

// checkpointKey is the storage key of the connector's state. The storage
// client is already scoped to the component; the ID in the key keeps
// state apart should two connectors share a client.
func checkpointKey(id component.ID) string { return "slo_state/" + id.String() }

// Shutdown writes the last checkpoint at the last instance's Shutdown,
// when every instance sharing the connector is down and no more events
// can arrive.
func (c *sloConnector) Shutdown(ctx context.Context) error {
	c.StopSending() // a lone instance shut down before the others started
	if c.tracker == nil {
		return nil // never started, or failed to
	}
	statusboard.Default.Withdraw(c.id.String())
	var errs []error
	if c.fleet != nil {
		c.fleet.unregister()
	}
	if c.storage != nil {
		errs = append(errs, c.checkpoint(ctx), c.storage.Close(ctx))
	}
	if c.tel != nil {
		c.tel.close()
	}
	return errors.Join(errs...)
}

// checkpoint writes the state to storage.
func (c *sloConnector) checkpoint(ctx context.Context) error {
	if c.storage == nil {
		return nil
	}
	if c.fleet != nil {
		return c.checkpointServices(ctx)
	}
	data, err := c.snapshot()
	if err != nil {
		return fmt.Errorf("slo checkpoint: %w", err)
	}
	if err := c.storage.Set(ctx, checkpointKey(c.id), data); err != nil {
		return fmt.Errorf("slo checkpoint: %w", err)
	}
	return nil
}

// loop evaluates on whole multiples of the evaluation interval, and
// checkpoints and checks for spec changes on their own intervals, all in
// one goroutine so that evaluation, reload and alert bookkeeping never
// race. It handles no signal: SIGHUP is the collector's, which rebuilds
// every component (see running).
func (c *sloConnector) loop() {
	defer close(c.done)
	interval := c.cfg.EvaluationInterval
	now := time.Now()
	next := now.Truncate(interval).Add(interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	lastCheckpoint, lastReloadCheck := now, now
	// Bad events wake the loop for an evaluation between the ticks, so
	// that an alert fires within a second of the data that makes it fire
	// rather than up to an interval later. Early evaluations are spaced by
	// at least minEarlyGap and ten times what the last evaluation took,
	// which keeps them under a tenth of a core however many series there
	// are (steady errors wake the loop with every batch).
	var lastEval time.Time
	var evalCost time.Duration
	evaluateAt := func(at time.Time) {
		began := time.Now()
		c.evaluate(context.Background(), at)
		lastEval, evalCost = began, time.Since(began)
	}
	// RED metrics go out on their own ticker, as span_metrics' do.
	var redTick <-chan time.Time
	if c.red != nil {
		t := time.NewTicker(c.cfg.RED.flushInterval())
		defer t.Stop()
		redTick = t.C
	}
	for {
		select {
		case <-c.stop:
			return
		case at := <-redTick:
			c.emitRED(context.Background(), at)
		case <-c.wake:
			if now := time.Now(); evaluateEarly(now, next, lastEval, evalCost) {
				evaluateAt(now)
			}
		case reply := <-c.reload:
			reply <- c.reloadSpecs()
		case <-timer.C:
			at := next
			evaluateAt(at)
			if ci := c.cfg.CheckpointInterval; c.storage != nil && ci > 0 && at.Sub(lastCheckpoint) >= ci {
				lastCheckpoint = at
				err := c.checkpoint(context.Background())
				c.tel.wrote(err)
				if err != nil {
					c.logger.Warn("SLO checkpoint failed", zap.Error(err))
				}
			}
			if ri := c.reloadCheckInterval(); ri > 0 && at.Sub(lastReloadCheck) >= ri {
				lastReloadCheck = at
				c.reloadIfChanged()
			}
			// Skip ticks missed while the process was stopped or slow,
			// rather than evaluating a burst of past times.
			next = next.Add(interval)
			if now := time.Now(); next.Before(now) {
				next = now.Truncate(interval).Add(interval)
			}
			timer.Reset(time.Until(next))
		}
	}
}

// emitRED sends the RED metrics.
func (c *sloConnector) emitRED(ctx context.Context, at time.Time) {
	if c.metricsOut == nil {
		return
	}
	md := pmetric.NewMetrics()
	c.red.build(md, pcommon.NewTimestampFromTime(at))
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	if err := c.metricsOut.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("Emitting RED metrics failed", zap.Error(err))
	}
}

// minEarlyGap is the least time between an evaluation and an early one.
const minEarlyGap = time.Second

// evaluateEarly reports whether a wake at now evaluates at now, before the
// tick at next: when the last evaluation (begun at lastEval, lasting
// evalCost) is far enough behind, and never once the tick is due. The loop
// may find the wake and a due tick ready together (it was busy emitting
// RED metrics, say) and picks either; an evaluation at now would then be
// followed by the tick's at next, earlier, and every SLO series would go
// back in time: Prometheus refuses the request of an older sample (400),
// and the remote write exporter never gets past it.
func evaluateEarly(now, next, lastEval time.Time, evalCost time.Duration) bool {
	return now.Before(next) && now.Sub(lastEval) >= max(minEarlyGap, 10*evalCost)
}

func (c *sloConnector) reloadCheckInterval() time.Duration {
	switch ri := c.cfg.ReloadCheckInterval; {
	case ri < 0:
		return 0
	case ri == 0:
		return defaultReloadCheckInterval
	default:
		return ri
	}
}

// reloadIfChanged reloads the specs when a spec file changed. Files that
// cannot be read or are invalid keep the running SLOs; they are tried
// again once their content changes.
func (c *sloConnector) reloadIfChanged() {
	changed, err := c.watch.Changed()
	if err != nil {
		c.logger.Warn("Reading the SLO spec files failed; keeping the current SLOs", zap.Error(err))
		return
	}
	if !changed {
		return
	}
	c.logger.Info("SLO spec files changed; reloading")
	if err := c.reloadSpecs(); err != nil {
		c.logger.Error("SLO spec reload failed; keeping the current SLOs", zap.Error(err))
	}
}

// reloadSpecs loads and compiles the specs again and updates the
// tracker: unchanged SLOs keep their state. An invalid spec keeps the
// current set and returns the validation errors, file:line:col.
func (c *sloConnector) reloadSpecs() error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	rs, specs, err := c.loadRuleset()
	if err != nil {
		return err
	}
	c.tracker.Update(rs.slos)
	c.rules.Store(rs)
	keep := map[string]bool{}
	for i := range rs.slos {
		keep[rs.slos[i].ID()] = true
	}
	c.metrics.forget(keep)
	c.remember(specs)
	for _, n := range slo.Notes(specs) {
		c.logger.Info("SLO spec note", zap.String("note", n.String()))
	}
	c.logger.Info("SLO specs reloaded", zap.Int("slos", len(rs.slos)))
	c.warnIfNoSLO(len(rs.slos))
	return nil
}

// requestReload asks the evaluation loop to reload the specs, as a
// change of the files does, and returns the outcome.
func (c *sloConnector) requestReload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case c.reload <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// evaluateManually evaluates a replay connector at, as the evaluation
// loop of a production connector does on each tick (see Evaluator).
func (c *sloConnector) evaluateManually(ctx context.Context, at time.Time) error {
	if !c.manual {
		return errors.New("slo connector: Evaluate needs a connector of NewReplayFactory; this one evaluates on its own loop")
	}
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if c.tracker == nil {
		return errors.New("slo connector: Evaluate before a successful Start")
	}
	c.evaluate(ctx, at)
	return nil
}

// evaluate evaluates the tracker at the tick and emits metrics and alert
// events.
func (c *sloConnector) evaluate(ctx context.Context, at time.Time) {
	if c.fleet != nil {
		c.fleet.mu.Lock()
		defer c.fleet.mu.Unlock()
	}
	statuses, transitions := c.tracker.Evaluate(at)
	if c.fleet != nil {
		statuses, transitions = c.fleet.ownedOnly(statuses, transitions)
	}
	c.publish(statuses, at)
	c.metrics.expire(at)
	if c.metricsOut != nil {
		md := buildMetrics(statuses, c.started, at)
		c.endSeries(md, statuses, at)
		if err := c.metricsOut.ConsumeMetrics(ctx, md); err != nil {
			c.logger.Warn("Emitting SLO metrics failed", zap.Error(err))
		}
	}
	// An alert transition is written to storage twice: before its event
	// goes out, with the firing set as it was (write-ahead: after a
	// crash the restored tracker fires, the firing set does not know it,
	// and build announces it), and once it went out, so that a restart
	// does not announce it again. Without these writes a crash before the
	// next periodic checkpoint would lose the alert's state: a page would
	// not be resolved until downstream's resolve timeout.
	durable := c.storage != nil && len(transitions) > 0
	var snap json.RawMessage // the tracker's state at this evaluation, for both writes
	if durable {
		snap = c.checkpointTransitions(ctx, transitions, nil, "before")
	}
	ld := c.events.build(statuses, transitions, c.links, c.rules.Load().traceIDs, at, c.now())
	if c.logsOut != nil && ld.LogRecordCount() > 0 {
		if err := c.logsOut.ConsumeLogs(ctx, ld); err != nil {
			c.logger.Warn("Emitting SLO alert events failed", zap.Error(err))
		}
	}
	if durable {
		c.checkpointTransitions(ctx, transitions, snap, "after")
	}
}

// checkpointTransitions writes the state at an evaluation with alert
// transitions (see evaluate), logging a failure: the periodic checkpoint
// tries again. In a fleet only the services with a transition are
// written. Otherwise the tracker's snapshot is taken when snap is nil,
// and returned, so that the write after the events reuses the one before
// (the alert states in it are the evaluation's; it is the larger part of
// the cost, see BenchmarkSnapshot in slo/tracker). It runs in the
// evaluation, which the loop goroutine or evaluateManually's lock already
// serializes with reloads, and, in a fleet, under fleet.mu.
func (c *sloConnector) checkpointTransitions(ctx context.Context, transitions []tracker.Transition, snap json.RawMessage, when string) json.RawMessage {
	var err error
	if c.fleet != nil {
		var services []string
		for i := range transitions {
			if s := transitions[i].SLO.Service; !slices.Contains(services, s) {
				services = append(services, s)
			}
		}
		err = c.fleet.writeServices(ctx, services)
	} else {
		if snap == nil {
			snap, err = c.tracker.Snapshot()
		}
		var data []byte
		if err == nil {
			data, err = c.envelope(snap)
		}
		if err == nil {
			err = c.storage.Set(ctx, checkpointKey(c.id), data)
		}
	}
	c.tel.wrote(err)
	if err != nil {
		c.logger.Warn("SLO checkpoint at an alert transition failed; the periodic checkpoint will retry", zap.String("when", when+" the alert events went out"), zap.Error(err))
	}
	return snap
}
