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
}

func newExporter(cfg *Config, set exporter.Settings) *webhookExporter {
	return &webhookExporter{cfg: cfg, set: set, now: time.Now}
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
	var (
		out  []Message
		errs []error
		idx  = map[[2]string]int{}
		ns   [][]alerts.Notification
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
				i, ok := idx[key]
				if !ok {
					i = len(ns)
					idx[key] = i
					ns = append(ns, nil)
				}
				ns[i] = append(ns[i], n)
			}
		}
	}
	for _, group := range ns {
		out = append(out, message(group, externalURL, maxAlerts))
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

func (e *webhookExporter) pushAll(ctx context.Context, ld plog.Logs) error {
	if e.client == nil {
		return nil // disabled: no endpoint
	}
	msgs, errs := Messages(ld, e.cfg.ExternalURL, e.cfg.MaxAlerts, e.now())
	for _, err := range errs {
		e.set.Logger.Warn("dropping malformed notification", zap.Error(err))
	}
	for _, msg := range msgs {
		if err := e.send(ctx, msg); err != nil {
			return err
		}
	}
	return nil
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
