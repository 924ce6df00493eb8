package alertmanagerexporter // import "github.com/vigil-otel/vigil/exporter/alertmanagerexporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
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

// AlertsPath is Alertmanager's API v2 path for posting alerts.
const AlertsPath = "/api/v2/alerts"

type amExporter struct {
	cfg    *Config
	set    exporter.Settings
	url    string
	client *http.Client
	now    func() time.Time
	// health makes an exporter whose Alertmanager cannot be reached
	// StatusRecoverableError and says so in the log, once per outage:
	// exporterhelper logs each retry at info level only.
	health exporthealth.Reporter
}

func newExporter(cfg *Config, set exporter.Settings) *amExporter {
	return &amExporter{
		cfg: cfg,
		set: set,
		url: strings.TrimSuffix(cfg.ClientConfig.Endpoint, "/") + AlertsPath,
		now: time.Now,
	}
}

func (e *amExporter) start(ctx context.Context, host component.Host) error {
	e.health.Start(host, e.set.Logger)
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

// ToAlerts converts the alert events of ld into Alertmanager alerts with
// the alert-event codec; other records are skipped, malformed alert events
// are returned as errors (and skipped). A firing alert starts, and a
// resolved one ends, at its event's time (now for an event without any
// timestamp), as for every other reader of alert events.
func ToAlerts(ld plog.Logs, now time.Time) (models.PostableAlerts, []error) {
	var (
		out  models.PostableAlerts
		errs []error
	)
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				a, err := alertevent.Decode(lr, rl.Resource(), now)
				switch {
				case errors.Is(err, alertevent.ErrNotAlertEvent):
				case errors.Is(err, alertevent.ErrBadStart):
					// Reported, and posted as if it had no start: an
					// alert is not dropped for its start.
					errs = append(errs, err)
					out = append(out, toPostable(a))
				case err != nil:
					errs = append(errs, err)
				default:
					out = append(out, toPostable(a))
				}
			}
		}
	}
	return out, errs
}

// toPostable is the alert in Alertmanager's own API type. A zero start or
// end is sent as the zero time, which Alertmanager reads as unset.
func toPostable(a alerts.Alert) *models.PostableAlert {
	p := &models.PostableAlert{
		Alert: models.Alert{
			Labels:       models.LabelSet(a.Labels),
			GeneratorURL: strfmt.URI(a.Annotations[conventions.AttrAlertDashboardURL]),
		},
		Annotations: make(models.LabelSet, len(a.Annotations)),
		StartsAt:    strfmt.DateTime(a.StartsAt),
		EndsAt:      strfmt.DateTime(a.EndsAt),
	}
	for k, v := range a.Annotations {
		if name := labelname.Sanitize(k); name != "" {
			p.Annotations[name] = v
		}
	}
	return p
}

// push posts the alert events of ld. A retryable failure makes the
// exporter StatusRecoverableError until an attempt gets through.
func (e *amExporter) push(ctx context.Context, ld plog.Logs) error {
	return e.health.Observe(e.post(ctx, ld))
}

func (e *amExporter) post(ctx context.Context, ld plog.Logs) error {
	postable, errs := ToAlerts(ld, e.now())
	for _, err := range errs {
		e.set.Logger.Warn("dropping malformed alert event", zap.Error(err))
	}
	if len(postable) == 0 {
		return nil
	}
	body, err := json.Marshal(postable)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("encoding alerts: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	defer resp.Body.Close()
	if httpexport.Classify(resp.StatusCode) == httpexport.Success {
		httpexport.Drain(resp.Body)
		return nil
	}
	// 400 and 422 (the alerts break the API) are permanent; 408, 429 and
	// 5xx are retried, after Retry-After when Alertmanager sends one.
	err = &httpexport.StatusError{Server: "Alertmanager", Status: resp.StatusCode, Message: httpexport.ReadErrorBody(resp.Body)}
	return httpexport.ResponseError(resp.StatusCode, resp.Header, err, e.now())
}
