package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/exporthealth"
	"github.com/vigil-otel/vigil/internal/queuelog"
	"github.com/vigil-otel/vigil/internal/queuestorage"
	"github.com/vigil-otel/vigil/internal/refusal"
)

// Reasons of failures and ignored records that happen around a request
// rather than in one; the events package names the others.
const (
	reasonInvalidAlert = "invalid_alert"
	reasonNotAlert     = "not_alert"
	reasonInvalid      = "invalid"
	reasonStale        = "stale_trigger"
	reasonOther        = "other"
)

// pdExporter is the pagerduty exporter: a stateless notifier. Each alert
// event it consumes (a notification of the alertrouter connector, or any
// alert event) becomes one Events API v2 event: trigger for firing,
// resolve for resolved. Queueing and retries are exporterhelper's.
type pdExporter struct {
	cfg     *Config
	set     exporter.Settings
	logger  *zap.Logger
	builder *events.Builder
	limiter *events.Limiter
	links   linkTemplates
	tel     *telemetry
	key     events.RoutingKey
	order   *orderGuard
	now     func() time.Time
	// health makes an exporter that cannot reach PagerDuty
	// StatusRecoverableError and says so in the log, once per outage.
	health exporthealth.Reporter
	// queued is set when a persistent queue answers the router's handover
	// before the send: a refusal then goes to the router through refusals,
	// not as the handover's error.
	queued   bool
	refusals *refusal.Board

	client *events.Client // built at start, from confighttp
}

func newExporter(ctx context.Context, set exporter.Settings, cfg *Config, limiter *events.Limiter, refusals *refusal.Board) (exporter.Logs, error) {
	builder, err := events.NewBuilder(cfg.builderSettings())
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
		limiter: limiter,
		links:   links,
		tel:     tel,
		key:     events.RoutingKey(cfg.RoutingKey),
		order:   newOrderGuard(),
		now:     time.Now,
		// Validate allows no in-memory queue without wait_for_result.
		queued:   cfg.QueueConfig.Get() != nil && !cfg.QueueConfig.Get().WaitForResult,
		refusals: refusals,
	}
	exp, err := exporterhelper.NewLogs(ctx, queuelog.Settings(set, cfg.QueueConfig), cfg, e.push,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		// The HTTP client's timeout bounds each request; a timeout here
		// would also cut the wait for a rate-limit slot.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(cfg.RetryConfig),
		exporterhelper.WithQueue(cfg.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	// A notification queued on disk is sent even if the disk fills before
	// the queue reads it (exporterhelper would drop it).
	return queuestorage.Logs(exp, set.Logger), nil
}

func (e *pdExporter) start(ctx context.Context, host component.Host) error {
	e.health.Start(host, e.logger)
	if e.key == "" {
		e.logger.Info("no routing_key: alert notifications go to the log")
		return nil
	}
	hc, err := e.cfg.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client, err = events.NewClient(events.ClientSettings{
		Endpoint:   e.cfg.Endpoint,
		Version:    e.set.BuildInfo.Version,
		HTTPClient: hc,
		Limiter:    e.limiter,
	})
	return err
}

func (e *pdExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

// push sends the alert events of ld, in order. It runs once per attempt:
// on a retryable failure it returns the records not yet sent, wrapped so
// that exporterhelper retries only those (an event PagerDuty took is never
// sent twice by a retry). Records that are no alert events and malformed
// ones are counted, logged and dropped. An event PagerDuty refuses for good
// (400, another 4xx but 429, too large) is counted and logged, never
// retried here, and goes back to the alert router that produced it, which
// sends it again at its group's next flush (the operator may have fixed
// the routing key by then): as push's permanent error when the router's
// handover waits for it (no sending queue, or wait_for_result), through
// the refusal board (internal/refusal) when a persistent queue answered
// the handover already. A request of several records returns its refusals
// only when no later record needs a retry, which returns the rest alone
// (the router hands over one record at a time). A retryable failure makes
// the exporter StatusRecoverableError until an attempt gets through.
func (e *pdExporter) push(ctx context.Context, ld plog.Logs) error {
	return e.health.Observe(e.pushAll(ctx, ld))
}

func (e *pdExporter) pushAll(ctx context.Context, ld plog.Logs) error {
	now := e.now()
	i := 0
	var refused []error
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				switch err := e.send(ctx, lr, rl, now); {
				case err == nil:
				case consumererror.IsPermanent(err):
					refused = append(refused, err)
				default:
					return consumererror.NewLogs(err, from(ld, i))
				}
				i++
			}
		}
	}
	if e.queued {
		// Reported to the routers; exporterhelper would only log it.
		return nil
	}
	return errors.Join(refused...)
}

// send handles one record; it returns retryable errors, and PagerDuty's
// refusals (permanent).
func (e *pdExporter) send(ctx context.Context, lr plog.LogRecord, rl plog.ResourceLogs, now time.Time) error {
	a, err := alertevent.Decode(lr, rl.Resource(), now)
	switch {
	case errors.Is(err, alertevent.ErrNotAlertEvent):
		e.tel.recordIgnored(ctx, reasonNotAlert)
		return nil
	case err != nil:
		e.tel.recordIgnored(ctx, reasonInvalid)
		e.logger.Warn("dropping malformed alert event", zap.Error(err))
		return nil
	}
	receiver := alertevent.Receiver(lr)
	action := alerts.ActionTrigger
	if !a.Firing() {
		action = alerts.ActionResolve
	}
	if e.key == "" {
		e.logNotification(receiver, action, a)
		e.tel.recordSent(ctx, string(action), receiver)
		return nil
	}
	key := events.DedupKey(a.Fingerprint)
	notified := lr.ObservedTimestamp().AsTime()
	if lr.ObservedTimestamp() == 0 {
		notified = lr.Timestamp().AsTime()
	}
	if action == alerts.ActionTrigger && e.order.stale(key, notified) {
		// Overtaken by its own resolve (a retried trigger, or one sent
		// again after a restart): sending it now would open an incident
		// that is already over.
		e.tel.recordIgnored(ctx, reasonStale)
		e.logger.Info("dropping a trigger notified before its alert's delivered resolve", zap.String("dedup_key", key))
		return nil
	}
	ev, err := e.builder.Build(e.key, e.eventAlert(action, a))
	if err != nil {
		// Build fails only on what no retry can fix.
		e.tel.recordFailed(ctx, string(action), receiver, reasonInvalidAlert)
		e.logger.Error("cannot build PagerDuty event; dropped",
			zap.String("receiver", receiver), zap.String("action", string(action)),
			zap.String("dedup_key", key), zap.Error(err))
		return nil
	}
	_, err = e.client.Send(ctx, ev)
	switch {
	case err == nil:
		e.tel.recordSent(ctx, string(action), receiver)
		if action == alerts.ActionResolve {
			e.order.resolved(key, notified)
		}
		return nil
	case consumererror.IsPermanent(err):
		// PagerDuty refused the event itself (400): the same event would
		// be refused again, but maybe not once the operator fixed the
		// configuration (a wrong routing key), so back to the router.
		e.tel.recordFailed(ctx, string(action), receiver, failureReason(err))
		msg := "PagerDuty rejected the event; not sent again"
		if e.refuse(lr, rl, now) {
			msg = "PagerDuty rejected the event; the alert router sends it again at its group's next flush"
		}
		e.logger.Error(msg, zap.String("receiver", receiver), zap.Stringer("event", ev), zap.Error(err))
		return err
	default:
		e.tel.recordRetried(ctx, string(action), failureReason(err))
		return err
	}
}

// refuse hands a refused record back to the alert router that produced
// it, through the board when a persistent queue took it (the handover's
// error returns it otherwise); it reports whether a router will send it
// again. A record that names no router (an alert event sent straight to
// the exporter) has nobody to send it again.
func (e *pdExporter) refuse(lr plog.LogRecord, rl plog.ResourceLogs, now time.Time) bool {
	router := alertevent.Router(lr)
	if router == "" {
		return false
	}
	if !e.queued {
		return true
	}
	n, err := alertevent.DecodeNotification(lr, rl.Resource(), now)
	if err != nil {
		return false
	}
	if !e.refusals.Report(router, n) {
		e.logger.Warn("too many refusals held for an alert router that is not running; the oldest is forgotten, and its notification is not sent again before its repeat_interval",
			zap.String("router", router))
	}
	return true
}

// from returns the records of ld from the i-th on, for a retry.
func from(ld plog.Logs, i int) plog.Logs {
	rest := plog.NewLogs()
	ld.CopyTo(rest)
	n := 0
	rest.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				n++
				return n <= i
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return rest
}

func (e *pdExporter) logNotification(receiver string, action alerts.Action, a alerts.Alert) {
	e.logger.Info("alert notification",
		zap.String("receiver", receiver),
		zap.String("action", string(action)),
		zap.String("dedup_key", a.Fingerprint),
		zap.String("alertname", a.Labels[alerts.LabelAlertName]),
		zap.String("severity", a.Labels[alerts.LabelSeverity]),
		zap.String("service", a.Labels[alerts.LabelService]),
		zap.String("summary", a.Annotations[alerts.AnnotationSummary]),
	)
}

// failureReason labels a failed send for metrics and logs.
func failureReason(err error) string {
	if r := events.ReasonOf(err); r != "" {
		return string(r)
	}
	return reasonOther
}
