package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"

	"github.com/vigil-otel/vigil/internal/storageclient"
)

const (
	// notificationIDAttr carries, on the log record handed to the sending
	// queue, the ID under which the dispatcher keeps the built event. The
	// event itself (and so the routing key) never enters pdata.
	notificationIDAttr = "vigil.notification.id"
	// senderSuffix names the internal sending exporter, so its exporterhelper
	// telemetry (queue size, sent and failed records) is told apart from the
	// ingesting side's: pagerduty/<name>/notifications.
	senderSuffix = "notifications"
	// persistTimeout bounds writing the notification log after a send and
	// at shutdown, when the dispatcher's context may already be cancelled.
	persistTimeout = 5 * time.Second
	// shutdownGrace is how long shutdown lets in-flight sends finish before
	// aborting them. A send normally ends in milliseconds; cutting one whose
	// answer is already on its way would leave a delivered trigger out of
	// the notification log and send it again after the restart. Sends
	// queued behind the rate limit or a retry backoff are aborted after it,
	// and go out again after the restart.
	shutdownGrace = 5 * time.Second
	// reasonQueueFull, reasonShutdown and reasonInvalidAlert complete the
	// events package's failure reasons for failures that happen before or
	// around a request rather than in one.
	reasonQueueFull    = "queue_full"
	reasonShutdown     = "shutdown"
	reasonInvalidAlert = "invalid_alert"
	reasonOther        = "other"
)

// pdExporter is the pagerduty exporter: an ingesting side (ConsumeLogs →
// alert engine), a dispatcher goroutine (engine flushes → sending queue) and
// a sending side (exporterhelper queue and retry → Events API v2).
type pdExporter struct {
	cfg     *Config
	set     exporter.Settings
	logger  *zap.Logger
	builder *events.Builder
	client  *events.Client
	links   linkTemplates
	tel     *telemetry
	key     events.RoutingKey
	now     func() time.Time

	// sender is the exporterhelper-wrapped push of one notification.
	sender exporter.Logs

	engine   *alerts.Engine
	reloader *alerts.Reloader
	storage  storage.Client

	pending sync.Map // notification ID → events.Event
	nextID  atomic.Uint64

	cancel     context.CancelFunc // stops the dispatcher
	cancelSend context.CancelFunc // aborts in-flight sends
	loop       sync.WaitGroup     // the dispatcher goroutine
	sends      sync.WaitGroup     // goroutines waiting on the sending queue
	stopped    chan struct{}
}

func newExporter(ctx context.Context, set exporter.Settings, cfg *Config, limiter *events.Limiter) (exporter.Logs, error) {
	builder, err := events.NewBuilder(cfg.builderSettings())
	if err != nil {
		return nil, err
	}
	client, err := events.NewClient(events.ClientSettings{
		Endpoint: cfg.URL,
		Timeout:  cfg.TimeoutConfig.Timeout,
		Version:  set.BuildInfo.Version,
		Limiter:  limiter,
	})
	if err != nil {
		return nil, err
	}
	links, err := newLinkTemplates(cfg)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &pdExporter{
		cfg:     cfg,
		set:     set,
		logger:  set.Logger,
		builder: builder,
		client:  client,
		links:   links,
		tel:     tel,
		key:     events.RoutingKey(cfg.RoutingKey),
		now:     time.Now,
		stopped: make(chan struct{}),
	}

	senderSet := set
	senderSet.ID = component.NewIDWithName(set.ID.Type(), joinName(set.ID.Name(), senderSuffix))
	senderSet.Logger = set.Logger.With(zap.String("part", senderSuffix))
	queue := cfg.QueueConfig
	if q := queue.Get(); q != nil {
		qc := *q
		// The dispatcher must learn each notification's final outcome to
		// report it to the engine.
		qc.WaitForResult = true
		queue = configoptional.Some(qc)
	}
	e.sender, err = exporterhelper.NewLogs(ctx, senderSet, cfg, e.push,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The request timeout is the HTTP client's; a timeout here would
		// also cut the wait for a rate-limit slot.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(cfg.RetryConfig),
		exporterhelper.WithQueue(queue),
	)
	if err != nil {
		return nil, err
	}

	return exporterhelper.NewLogs(ctx, set, cfg, e.consumeLogs,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		// Ingesting only updates the engine in memory: nothing to queue,
		// retry or time out.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
	)
}

func joinName(name, suffix string) string {
	if name == "" {
		return suffix
	}
	return name + "/" + suffix
}

// start opens the notification log, restores the engine from it, loads
// the routing and silences files and starts the dispatcher.
func (e *pdExporter) start(ctx context.Context, host component.Host) error {
	var store alerts.Store = alerts.NewMemStore()
	if e.cfg.Storage != nil {
		client, err := storageclient.Get(ctx, host, *e.cfg.Storage, component.KindExporter, e.set.ID, "nflog")
		if err != nil {
			return err
		}
		e.storage, store = client, client
	} else {
		e.logger.Warn("no storage extension configured: open incidents are forgotten on restart")
	}
	if err := e.prepare(ctx, host, store); err != nil {
		if e.storage != nil {
			_ = e.storage.Close(ctx)
			e.storage = nil
		}
		return err
	}
	if e.key == "" && e.cfg.Routing == "" {
		e.logger.Info("no routing_key: alert notifications go to the log")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	sendCtx, cancelSend := context.WithCancel(context.Background())
	e.cancel, e.cancelSend = cancel, cancelSend
	e.loop.Add(1)
	go e.run(runCtx, sendCtx)
	return nil
}

// prepare builds the engine from the notification log and the routing and
// silences files, and starts the sending side.
func (e *pdExporter) prepare(ctx context.Context, host component.Host, store alerts.Store) error {
	e.engine = alerts.NewEngine(alerts.DefaultConfig(e.defaultReceiver()), store)
	now := e.now()
	if err := e.engine.Restore(ctx, now); err != nil {
		return fmt.Errorf("restoring the notification log: %w", err)
	}
	e.reloader = &alerts.Reloader{ConfigPath: e.cfg.Routing, SilencesPath: e.cfg.Silences}
	if err := e.reloader.Reload(e.engine, now); err != nil {
		return fmt.Errorf("loading alert routing: %w", err)
	}
	return e.sender.Start(ctx, host)
}

// defaultReceiver is the single receiver of the built-in routing.
func (e *pdExporter) defaultReceiver() alerts.Receiver {
	if e.key == "" {
		return alerts.Receiver{Type: alerts.ReceiverLog}
	}
	return alerts.Receiver{Type: alerts.ReceiverPagerDuty}
}

// shutdown stops the dispatcher, lets in-flight sends end (cancelled ones
// are not logged as sent, so they go out again after a restart), persists
// the engine and closes the storage client.
func (e *pdExporter) shutdown(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	e.loop.Wait()
	sent := make(chan struct{})
	go func() {
		e.sends.Wait()
		close(sent)
	}()
	grace := time.NewTimer(shutdownGrace)
	select {
	case <-sent:
	case <-grace.C:
	case <-ctx.Done():
	}
	grace.Stop()
	e.cancelSend()
	var errs []error
	if err := e.sender.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	<-sent
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	if err := e.engine.Persist(pctx); err != nil {
		errs = append(errs, err)
	}
	if e.storage != nil {
		if err := e.storage.Close(pctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// consumeLogs ingests every alert event of ld into the engine. Other
// records are ignored and counted: the exporter may sit on a pipeline that
// carries ordinary logs too.
func (e *pdExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	now := e.now()
	for _, rl := range ld.ResourceLogs().All() {
		resourceService, _ := rl.Resource().Attributes().Get(conventions.AttrServiceName)
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a, ok, err := alertFromRecord(lr, resourceService, now)
				switch {
				case err != nil:
					e.tel.recordIgnored(ctx, "invalid")
					e.logger.Warn("dropping malformed alert event", zap.Error(err))
				case !ok:
					e.tel.recordIgnored(ctx, "not_alert")
				default:
					e.engine.Ingest(a, now)
				}
			}
		}
	}
	return nil
}

// alertFromRecord turns a log record into an alert; ok is false for a
// record that is no alert event (no alert.name). service.name comes from
// the record, or else from its resource. Other resource attributes are left
// out: they describe the emitter, not the alert, and as labels they would
// split one alert into many.
func alertFromRecord(lr plog.LogRecord, resourceService pcommon.Value, now time.Time) (alerts.Alert, bool, error) {
	attrs := lr.Attributes()
	if _, ok := attrs.Get(conventions.AttrAlertName); !ok {
		return alerts.Alert{}, false, nil
	}
	m := make(map[string]string, attrs.Len()+1)
	for k, v := range attrs.All() {
		m[k] = v.AsString()
	}
	if _, ok := m[conventions.AttrServiceName]; !ok && resourceService.Type() != pcommon.ValueTypeEmpty {
		m[conventions.AttrServiceName] = resourceService.AsString()
	}
	ts := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		ts = lr.ObservedTimestamp().AsTime()
	}
	if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
		ts = now
	}
	a, err := alerts.FromEvent(lr.Body().AsString(), m, ts)
	if err != nil {
		return alerts.Alert{}, false, err
	}
	return a, true, nil
}

// run is the dispatcher: every FlushInterval it applies changed routing and
// silences files and sends what the engine flushes.
func (e *pdExporter) run(ctx, sendCtx context.Context) {
	defer e.loop.Done()
	ticker := time.NewTicker(e.cfg.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.tick(sendCtx)
		}
	}
}

func (e *pdExporter) tick(ctx context.Context) {
	now := e.now()
	if err := e.reloader.Reload(e.engine, now); err != nil {
		// The engine keeps its previous routing; the reloader reports a
		// broken file once until its content changes.
		e.logger.Error("alert routing or silences file rejected; keeping the previous one", zap.Error(err))
	}
	for _, n := range e.engine.Flush(now) {
		e.dispatch(ctx, n)
	}
}

// dispatch sends one notification: to the log when its receiver has no
// routing key, otherwise through the sending queue, reporting the final
// outcome to the engine.
func (e *pdExporter) dispatch(ctx context.Context, n alerts.Notification) {
	action := string(n.Action)
	key, toPagerDuty := e.routingKey(n.Receiver)
	if !toPagerDuty {
		e.logNotification(n)
		e.tel.recordSent(ctx, action, n.Receiver)
		e.markSent(n, nil)
		return
	}
	ev, err := e.builder.Build(key, e.eventAlert(n))
	if err != nil {
		// Build fails only on what no retry can fix; the notification is
		// dropped (reported as done) so it is not rebuilt every flush.
		e.tel.recordFailed(ctx, action, n.Receiver, reasonInvalidAlert)
		e.logger.Error("cannot build PagerDuty event; dropped",
			zap.String("receiver", n.Receiver), zap.String("action", action),
			zap.String("dedup_key", n.DedupKey()), zap.Error(err))
		e.markSent(n, nil)
		return
	}
	id := strconv.FormatUint(e.nextID.Add(1), 10)
	e.pending.Store(id, ev)
	e.sends.Add(1)
	go func() {
		defer e.sends.Done()
		defer e.pending.Delete(id)
		err := e.sender.ConsumeLogs(ctx, notificationLogs(id, n))
		switch {
		case err == nil:
			e.tel.recordSent(ctx, action, n.Receiver)
			e.markSent(n, nil)
		case consumererror.IsPermanent(err):
			// PagerDuty refused the event itself (400): the same event
			// would be refused again, so it is reported done, not retried.
			e.logger.Error("PagerDuty rejected the event; dropped",
				zap.String("receiver", n.Receiver), zap.Stringer("event", ev), zap.Error(err))
			e.tel.recordFailed(ctx, action, n.Receiver, failureReason(err))
			e.markSent(n, nil)
		default:
			// Retries exhausted, queue full or shutdown: not logged as
			// sent, so the engine flushes it again at the group's next
			// interval (or after a restart).
			e.logger.Warn("PagerDuty event not delivered; the engine will send it again",
				zap.String("receiver", n.Receiver), zap.Stringer("event", ev), zap.Error(err))
			e.tel.recordFailed(ctx, action, n.Receiver, failureReason(err))
			e.markSent(n, err)
		}
	}()
}

func (e *pdExporter) markSent(n alerts.Notification, sendErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	defer cancel()
	if err := e.engine.MarkSent(ctx, n, sendErr); err != nil {
		e.logger.Error("persisting the notification log", zap.Error(err))
	}
}

// routingKey returns the key of a receiver, and false when its
// notifications go to the log: a log receiver, an unknown one, or a
// PagerDuty receiver with no key (in the file or in routing_key).
func (e *pdExporter) routingKey(receiver string) (events.RoutingKey, bool) {
	r, ok := e.engine.Config().Receiver(receiver)
	if !ok || r.Type != alerts.ReceiverPagerDuty {
		return "", false
	}
	if k, ok := r.Settings["routing_key"].(string); ok && k != "" {
		return events.RoutingKey(k), true
	}
	return e.key, e.key != ""
}

func (e *pdExporter) logNotification(n alerts.Notification) {
	e.logger.Info("alert notification",
		zap.String("receiver", n.Receiver),
		zap.String("action", string(n.Action)),
		zap.String("dedup_key", n.DedupKey()),
		zap.String("alertname", n.Alert.Labels[alerts.LabelAlertName]),
		zap.String("severity", n.Alert.Labels[alerts.LabelSeverity]),
		zap.String("service", n.Alert.Labels[alerts.LabelService]),
		zap.String("summary", n.Alert.Annotations[alerts.AnnotationSummary]),
	)
}

// notificationLogs is the request one notification makes in the sending
// queue: one record, so exporterhelper's item counts are notifications.
func notificationLogs(id string, n alerts.Notification) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(n.At))
	lr.Body().SetStr(string(n.Action) + " " + n.DedupKey())
	lr.Attributes().PutStr(notificationIDAttr, id)
	return ld
}

// push sends the notifications of one queued request. It runs once per
// attempt; exporterhelper retries what it returns as retryable.
func (e *pdExporter) push(ctx context.Context, ld plog.Logs) error {
	var errs []error
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if err := e.sendRecord(ctx, lr); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (e *pdExporter) sendRecord(ctx context.Context, lr plog.LogRecord) error {
	id, _ := lr.Attributes().Get(notificationIDAttr)
	v, ok := e.pending.Load(id.AsString())
	if !ok {
		return consumererror.NewPermanent(fmt.Errorf("notification %q is no longer pending", id.AsString()))
	}
	ev := v.(events.Event)
	_, err := e.client.Send(ctx, ev)
	if err != nil && !consumererror.IsPermanent(err) {
		e.tel.recordRetried(ctx, string(ev.EventAction), failureReason(err))
	}
	return err
}

// failureReason labels a failed send for metrics and logs.
func failureReason(err error) string {
	if r := events.ReasonOf(err); r != "" {
		return string(r)
	}
	switch {
	case errors.Is(err, exporterhelper.ErrQueueIsFull):
		return reasonQueueFull
	case errors.Is(err, context.Canceled):
		return reasonShutdown
	}
	return reasonOther
}
