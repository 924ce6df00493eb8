package anomalyconnector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/connector/anomalyconnector/internal/metadata"
	"github.com/vigil-otel/vigil/internal/cumdelta"
	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/internal/ownership"

	"github.com/vigil-otel/vigil/internal/statusboard"
	"github.com/vigil-otel/vigil/internal/storageclient"
)

// core holds the detectors and accumulators that the connector's instances
// share, and runs the interval and checkpoint loop.
type core struct {
	cfg        *Config
	set        connector.Settings
	logger     *zap.Logger
	metricsOut consumer.Metrics // nil without a metrics → metrics instance
	logsOut    consumer.Logs    // nil without a metrics → logs instance
	selected   map[string]*selection
	now        func() time.Time
	// seen remembers the requests consumed, so that a sender's retry of
	// one is not consumed again (package internal/dedup); nil when off.
	seen *dedup.Window

	// sendMu orders what goes to metricsOut: the markers that end a
	// released service's series go after any interval's output that still
	// had them (see Released), and at a later time (sentAt, the time of the
	// last interval's output). Taken before mu, never with it held.
	sendMu sync.Mutex
	sentAt time.Time

	mu sync.Mutex
	// deltas holds the last point of every cumulative input stream:
	// streams that began after the core was made are counted from zero,
	// older ones only from their second point.
	deltas      *cumdelta.Tracker
	red         map[string]*redAccum    // this interval, by service and operation
	custom      map[string]*customAccum // this interval, by series key
	series      map[string]*series
	pendingNew  int // series this interval's accumulators will create
	rejectedNow int // series refused this interval for lack of room
	// rejectedSinceLog and lastCapLog rate-limit the max_series warning.
	rejectedSinceLog int
	lastCapLog       time.Time

	// gen is the generation of the series' state: the intervals closed
	// (flush), counted on from the latest generation restored. The
	// checkpoint and the transition log stamp their copies of series with
	// it, so that restore keeps the latest. Guarded by mu.
	gen uint64

	// autoFlush runs the interval loop; tests turn it off to drive
	// flush and checkpoint themselves on a fake clock.
	autoFlush bool

	client storage.Client
	// writeMu orders the writes of state to storage: checkpoints, the
	// transition writes of an interval (held from the write before its
	// alert events go out to the one after) and, in a fleet, handovers,
	// so that an older state never lands after a newer one; restore holds
	// it while it takes the transition log over. Taken before mu and
	// never with sendMu held.
	writeMu sync.Mutex
	// log is the transition log's state (transitions.go); guarded by
	// writeMu.
	log transitionLog
	// fleet is set when the storage extension coordinates ownership of
	// services among the evaluators of a fleet (fleet.go).
	fleet   *fleetState
	stop    chan struct{}
	done    chan struct{}
	running bool

	tel telemetry
}

// telemetry is the connector's own metrics, the instruments mdatagen
// generates from metadata.yaml.
type telemetry struct {
	active  atomic.Int64
	warming atomic.Int64
	// writeFailures counts failed writes of the connector's state;
	// writeFailing is whether the last one failed.
	writeFailures atomic.Int64
	writeFailing  atomic.Bool
	rejected      metric.Int64Counter
	observed      metric.Int64Counter
	builder       *metadata.TelemetryBuilder
}

// wrote records the outcome of a write of the connector's state: a
// failure is counted, and the state is failing until a write succeeds.
func (t *telemetry) wrote(err error) {
	if err != nil {
		t.writeFailures.Add(1)
	}
	t.writeFailing.Store(err != nil)
}

func newCore(set connector.Settings, cfg *Config) (*core, error) {
	c := &core{
		cfg:       cfg,
		set:       set,
		logger:    set.Logger,
		selected:  make(map[string]*selection, len(cfg.Metrics)),
		now:       time.Now,
		seen:      dedup.New(cfg.Dedup),
		deltas:    cumdelta.New(cumdelta.Settings{Started: time.Now(), MaxIdle: cfg.IdleTimeout}),
		red:       map[string]*redAccum{},
		custom:    map[string]*customAccum{},
		series:    map[string]*series{},
		autoFlush: true,
	}
	for i := range cfg.Metrics {
		// Compiled once here, not per datapoint; Validate has already
		// refused expressions that do not compile.
		res, err := cfg.Metrics[i].compileMatchers()
		if err != nil {
			return nil, err
		}
		c.selected[cfg.Metrics[i].Name] = &selection{MetricConfig: &cfg.Metrics[i], regexps: res}
	}
	if err := c.initTelemetry(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *core) initTelemetry() error {
	b, err := metadata.NewTelemetryBuilder(c.set.TelemetrySettings)
	if err != nil {
		return err
	}
	c.tel.builder = b
	c.tel.rejected = b.AnomalySeriesRejected
	c.tel.observed = b.AnomalyPointsObserved
	return errors.Join(
		b.RegisterAnomalyActiveSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.tel.active.Load())
			return nil
		}),
		b.RegisterAnomalySeriesWarmingUpCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.tel.warming.Load())
			return nil
		}),
		b.RegisterAnomalyRepeatedRequestsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.seen.Repeats())
			return nil
		}),
		b.RegisterAnomalyStateWriteFailuresCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.tel.writeFailures.Load())
			return nil
		}),
		b.RegisterAnomalyStateWriteFailingCallback(func(_ context.Context, o metric.Int64Observer) error {
			var v int64
			if c.tel.writeFailing.Load() {
				v = 1
			}
			o.Observe(v)
			return nil
		}),
		b.RegisterAnomalyPointsDroppedCallback(func(_ context.Context, o metric.Int64Observer) error {
			d := c.deltas.Stats()
			for _, r := range []struct {
				reason cumdelta.Outcome
				n      uint64
			}{{cumdelta.OutOfOrder, d.OutOfOrder}, {cumdelta.NoRecordedValue, d.NoRecordedValue}, {cumdelta.Invalid, d.Invalid}} {
				o.Observe(int64(r.n), metric.WithAttributes(attribute.String("reason", r.reason.String())))
			}
			return nil
		}),
	)
}

// Start restores the checkpoint, if storage is configured. It runs at the
// first instance's Start (package sharedcomponent).
func (c *core) Start(ctx context.Context, host component.Host) error {
	if c.cfg.Storage == nil {
		return nil
	}
	client, err := storageclient.Get(ctx, host, *c.cfg.Storage, component.KindConnector, c.set.ID, "")
	if err != nil {
		return err
	}
	c.client = client
	if owner := ownership.FromHost(host, *c.cfg.Storage); owner != nil {
		// A fleet: each service's detectors are loaded when this
		// evaluator takes the service over, not at start.
		c.startFleet(owner)
		return nil
	}
	legacy, err := c.restore(ctx)
	if legacy {
		// Before any transition is logged over chunks of an earlier
		// version (see restore).
		err := c.checkpoint(ctx)
		c.tel.wrote(err)
		if err != nil {
			c.logger.Warn("Anomaly state checkpoint failed", zap.Error(err))
		}
	}
	if err != nil {
		// A checkpoint that cannot be read costs a warm-up, not the
		// pipeline: start with what could be read and say so.
		c.mu.Lock()
		restored := len(c.series)
		c.mu.Unlock()
		if restored == 0 {
			c.logger.Warn("Anomaly state not restored; detectors start learning anew", zap.Error(err))
		} else {
			c.logger.Warn("Anomaly state partly restored; the series not restored start learning anew",
				zap.Int("series", restored), zap.Error(err))
		}
	}
	return nil
}

// StartSending starts the loop that closes intervals and writes
// checkpoints, once every instance has started, so that no output is sent
// before both output pipelines are running.
func (c *core) StartSending() {
	if !c.autoFlush {
		return
	}
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	c.running = true
	go c.loop()
}

// StopSending stops the loop at the first instance's Shutdown: the
// collector shuts a connector down before the pipelines it feeds, so the
// core must stop sending before either of them goes. The open interval is
// dropped rather than flushed: its points would reach detectors early.
func (c *core) StopSending() {
	if c.running {
		close(c.stop)
		<-c.done
		c.running = false
	}
}

// loop closes each interval at its wall-clock boundary (so that every
// instance of Vigil feeds detectors at the same instants) and checkpoints
// every CheckpointInterval.
func (c *core) loop() {
	defer close(c.done)
	boundary := time.NewTimer(time.Until(c.nextBoundary(c.now())))
	defer boundary.Stop()
	var checkpoints <-chan time.Time
	if c.client != nil {
		t := time.NewTicker(c.cfg.CheckpointInterval)
		defer t.Stop()
		checkpoints = t.C
	}
	var last time.Time // the last interval closed
	for {
		select {
		case <-c.stop:
			return
		case <-boundary.C:
			// An interval is closed once: a timer that fires before the
			// wall clock reaches the boundary (the clock was set back)
			// would close the last one again, its gauges written twice at
			// one time with different values, which Prometheus refuses.
			if t := c.now().Truncate(c.cfg.Interval); t.After(last) {
				c.flushAndSend(context.Background(), t)
				last = t
			}
			boundary.Reset(time.Until(c.nextBoundary(c.now())))
		case <-checkpoints:
			err := c.checkpoint(context.Background())
			c.tel.wrote(err)
			if err != nil {
				c.logger.Warn("Anomaly state checkpoint failed", zap.Error(err))
			}
		}
	}
}

func (c *core) nextBoundary(now time.Time) time.Time {
	return now.Truncate(c.cfg.Interval).Add(c.cfg.Interval)
}

// Shutdown writes a last checkpoint at the last instance's Shutdown, when
// no more input can arrive.
func (c *core) Shutdown(ctx context.Context) error {
	var errs []error
	c.StopSending() // a lone instance shut down without starting every other
	if c.fleet != nil {
		c.fleet.unregister()
	}
	if c.client != nil {
		errs = append(errs, c.checkpoint(ctx))
		errs = append(errs, c.client.Close(ctx))
		c.client = nil
	}
	statusboard.Default.Withdraw(c.set.ID.String())
	// The callbacks read this core's state: unregister them so a stopped
	// core is neither read nor kept alive by the meter.
	c.tel.builder.Shutdown()
	return errors.Join(errs...)
}
