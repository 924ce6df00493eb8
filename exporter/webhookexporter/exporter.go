package webhookexporter // import "github.com/vigil-otel/vigil/exporter/webhookexporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/alertmanager/template"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/exporthealth"
	"github.com/vigil-otel/vigil/internal/httpexport"
	"github.com/vigil-otel/vigil/internal/labelname"
	"github.com/vigil-otel/vigil/internal/refusal"
)

// Version is the webhook payload's version, Alertmanager's current.
const Version = "4"

// Message is Alertmanager's webhook payload. Its fields are
// template.Data's, Alertmanager's own type, plus the three its webhook
// notifier adds (notify/webhook.Message, declared here because that
// package brings in Alertmanager's whole notification pipeline).
type Message struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

type webhookExporter struct {
	cfg    *Config
	set    exporter.Settings
	client *http.Client
	now    func() time.Time
	// health makes an exporter whose receiver cannot be reached
	// StatusRecoverableError and says so in the log, once per outage.
	health exporthealth.Reporter
	// queued is set when a persistent queue answers the router's handover
	// before the send: a refusal then goes back to the router through
	// refusals, as well as being counted as a failed send.
	queued   bool
	refusals *refusal.Board
}

func newExporter(cfg *Config, set exporter.Settings, refusals *refusal.Board) *webhookExporter {
	return &webhookExporter{
		cfg: cfg, set: set, now: time.Now,
		// Validate allows no in-memory queue without wait_for_result.
		queued:   cfg.QueueConfig.Get() != nil && !cfg.QueueConfig.Get().WaitForResult,
		refusals: refusals,
	}
}

func (e *webhookExporter) start(ctx context.Context, host component.Host) error {
	e.health.Start(host, e.set.Logger)
	if e.cfg.ClientConfig.Endpoint == "" {
		e.set.Logger.Info("webhook exporter disabled: no endpoint; notifications of its pipeline are dropped")
		return nil
	}
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

// Messages builds the webhook messages of the notifications in ld: one per
// receiver and group key, in the order their first notification comes.
// Records that are no alert events are skipped; malformed ones are
// returned as errors (and skipped).
func Messages(ld plog.Logs, externalURL string, maxAlerts int, now time.Time) ([]Message, []error) {
	groups, errs := groupsOf(ld, now)
	out := make([]Message, 0, len(groups))
	for _, g := range groups {
		out = append(out, message(g.notifications, externalURL, maxAlerts))
	}
	return out, errs
}

// group is the notifications of one receiver and group key, with the
// alert router each came from (alertevent.Router; "" if none).
type group struct {
	notifications []alerts.Notification
	routers       []string
}

// groupsOf reads the notifications of ld by receiver and group key, in
// the order their first notification comes.
func groupsOf(ld plog.Logs, now time.Time) ([]*group, []error) {
	var (
		errs []error
		idx  = map[[2]string]*group{}
		out  []*group
	)
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				n, err := alertevent.DecodeNotification(lr, rl.Resource(), now)
				switch {
				case errors.Is(err, alertevent.ErrNotAlertEvent):
					continue
				case err != nil:
					errs = append(errs, err)
					continue
				}
				key := [2]string{n.Receiver, n.GroupKey}
				g := idx[key]
				if g == nil {
					g = &group{}
					idx[key] = g
					out = append(out, g)
				}
				g.notifications = append(g.notifications, n)
				g.routers = append(g.routers, alertevent.Router(lr))
			}
		}
	}
	return out, errs
}

// message builds the message of notifications of one group.
func message(ns []alerts.Notification, externalURL string, maxAlerts int) Message {
	first := ns[0]
	data := &template.Data{
		Receiver:          first.Receiver,
		Status:            string(alerts.StateResolved),
		Alerts:            template.Alerts{},
		GroupLabels:       template.KV(maps.Clone(first.GroupLabels)),
		CommonLabels:      template.KV{},
		CommonAnnotations: template.KV{},
		ExternalURL:       externalURL,
	}
	if data.GroupLabels == nil {
		data.GroupLabels = template.KV{}
	}
	for i, n := range ns {
		a := alertOf(n.Alert)
		if n.Alert.Firing() {
			data.Status = string(alerts.StateFiring)
		}
		if i == 0 {
			maps.Copy(data.CommonLabels, a.Labels)
			maps.Copy(data.CommonAnnotations, a.Annotations)
		} else {
			keepCommon(data.CommonLabels, a.Labels)
			keepCommon(data.CommonAnnotations, a.Annotations)
		}
		data.Alerts = append(data.Alerts, a)
	}
	msg := Message{Data: data, Version: Version, GroupKey: first.GroupKey}
	if maxAlerts > 0 && len(data.Alerts) > maxAlerts {
		msg.TruncatedAlerts = uint64(len(data.Alerts) - maxAlerts)
		data.Alerts = data.Alerts[:maxAlerts]
	}
	return msg
}

// keepCommon drops from common what kv does not share.
func keepCommon(common, kv template.KV) {
	for k, v := range common {
		if kv[k] != v {
			delete(common, k)
		}
	}
}

// alertOf is one alert as the payload carries it. A firing alert has the
// zero endsAt, as Alertmanager's webhook sends it.
func alertOf(a alerts.Alert) template.Alert {
	out := template.Alert{
		Status:       string(a.State),
		Labels:       template.KV(maps.Clone(a.Labels)),
		Annotations:  template.KV{},
		StartsAt:     a.StartsAt.UTC(),
		EndsAt:       a.EndsAt.UTC(),
		GeneratorURL: a.Annotations[conventions.AttrAlertDashboardURL],
		Fingerprint:  a.Fingerprint,
	}
	for _, k := range slices.Sorted(maps.Keys(a.Annotations)) {
		if name := labelname.Sanitize(k); name != "" {
			out.Annotations[name] = a.Annotations[k]
		}
	}
	if a.Firing() {
		out.EndsAt = time.Time{}
	}
	return out
}

// push sends the messages of ld. A retryable failure makes the exporter
// StatusRecoverableError until an attempt gets through.
func (e *webhookExporter) push(ctx context.Context, ld plog.Logs) error {
	return e.health.Observe(e.pushAll(ctx, ld))
}

// pushAll sends every message of ld, whatever happens to the others: a
// receiver refusing one group's message for good does not drop the next
// groups'. When some failed in a way worth retrying, the error carries
// only their notifications (consumererror.Logs), which is all
// exporterhelper's retry sends again: the messages delivered are not
// posted twice, nor those refused for good.
func (e *webhookExporter) pushAll(ctx context.Context, ld plog.Logs) error {
	if e.client == nil {
		return nil // disabled: no endpoint
	}
	groups, errs := groupsOf(ld, e.now())
	for _, err := range errs {
		e.set.Logger.Warn("dropping malformed notification", zap.Error(err))
	}
	var permanent, retryable []error
	retry := map[[2]string]bool{}
	for _, g := range groups {
		msg := message(g.notifications, e.cfg.ExternalURL, e.cfg.MaxAlerts)
		err := e.send(ctx, msg)
		switch {
		case err == nil:
		case consumererror.IsPermanent(err):
			permanent = append(permanent, err)
			e.refuse(g, err)
		default:
			retryable = append(retryable, err)
			retry[[2]string{msg.Receiver, msg.GroupKey}] = true
		}
	}
	if len(retryable) == 0 {
		return errors.Join(permanent...)
	}
	for _, err := range permanent {
		// Returned with the retryable errors, it would be retried too;
		// refuse has said what becomes of it.
		e.set.Logger.Debug("webhook receiver refused a notification", zap.Error(err))
	}
	// A retryable error keeps what exporterhelper needs from it (a
	// Retry-After's throttle) through errors.Join.
	return consumererror.NewLogs(errors.Join(retryable...), e.only(ld, retry))
}

// refuse hands the notifications of a message the receiver refused for
// good back to the alert routers that produced them, which send them
// again at their group's next flush (the receiver may be fixed by then),
// as Alertmanager retries a notify that failed. A router whose handover
// waits for the send learns it from push's error; one a persistent queue
// answered already learns it through the refusal board.
func (e *webhookExporter) refuse(g *group, err error) {
	again := false
	for i, n := range g.notifications {
		router := g.routers[i]
		if router == "" {
			continue
		}
		again = true
		if !e.queued {
			continue
		}
		if !e.refusals.Report(router, n) {
			e.set.Logger.Warn("too many refusals held for an alert router that is not running; the oldest is forgotten, and its notification is not sent again before its repeat_interval",
				zap.String("router", router))
		}
	}
	msg := "webhook receiver refused the notification; not sent again"
	if again {
		msg = "webhook receiver refused the notification; the alert router sends it again at its group's next flush"
	}
	e.set.Logger.Error(msg, zap.String("receiver", g.notifications[0].Receiver),
		zap.String("group_key", g.notifications[0].GroupKey), zap.Error(err))
}

// only returns the notifications of ld whose receiver and group key are
// in groups.
func (e *webhookExporter) only(ld plog.Logs, groups map[[2]string]bool) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	now := e.now()
	out.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				n, err := alertevent.DecodeNotification(lr, rl.Resource(), now)
				return err != nil || !groups[[2]string{n.Receiver, n.GroupKey}]
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	return out
}

func (e *webhookExporter) send(ctx context.Context, msg Message) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("webhook: encoding the payload: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.ClientConfig.Endpoint, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("webhook to %s: %w", redact(e.cfg.ClientConfig.Endpoint), redactErr(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook to %s: %w", redact(e.cfg.ClientConfig.Endpoint), redactErr(err))
	}
	defer resp.Body.Close()
	if httpexport.Classify(resp.StatusCode) == httpexport.Success {
		httpexport.Drain(resp.Body)
		return nil
	}
	// As Alertmanager's notifiers: 408, 429 and 5xx are retried
	// (honouring Retry-After), any other answer is permanent.
	err = &httpexport.StatusError{
		Server: "webhook " + redact(e.cfg.ClientConfig.Endpoint), Status: resp.StatusCode,
		Message: httpexport.ReadErrorBody(resp.Body),
	}
	return httpexport.ResponseError(resp.StatusCode, resp.Header, err, e.now())
}

// redact keeps the scheme and host of a URL: its path and query often
// hold the webhook's token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid URL>"
	}
	return u.Scheme + "://" + u.Host + "/<redacted>"
}

// redactErr strips the URL that net/http puts into its errors.
func redactErr(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}
