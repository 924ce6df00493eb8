package webhookexporter

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/webhookexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/refusal"
	"github.com/vigil-otel/vigil/internal/testutil/configtest"
	"github.com/vigil-otel/vigil/internal/testutil/fakewebhook"
)

var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}

func TestLoadConfig(t *testing.T) {
	least := createDefaultConfig().(*Config)
	require.NoError(t, configtest.Load(t, component.NewID(metadata.Type), least))
	assert.Equal(t, "http://127.0.0.1:9094", least.ExternalURL)
	assert.False(t, least.QueueConfig.HasValue(), "no queue unless configured: sending is synchronous")
	assert.Zero(t, least.RetryConfig.MaxElapsedTime, "retries never give up")

	full := createDefaultConfig().(*Config)
	require.NoError(t, configtest.Load(t, component.NewIDWithName(metadata.Type, "full"), full))
	assert.Equal(t, "https://vigil.example", full.ExternalURL)
	assert.Equal(t, 20, full.MaxAlerts)
	assert.Equal(t, 3*time.Second, full.ClientConfig.Timeout)
	require.True(t, full.QueueConfig.HasValue())
	assert.Equal(t, "file_storage", full.QueueConfig.Get().StorageID.String())
	assert.Equal(t, time.Hour, full.RetryConfig.MaxElapsedTime)
}

func TestValidate(t *testing.T) {
	secret := "https://chat.example/hooks/T000/SECRET"
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"relative endpoint", func(c *Config) { c.ClientConfig.Endpoint = "/hooks/SECRET" }, "endpoint: want an absolute http or https URL"},
		{"relative external URL", func(c *Config) { c.ExternalURL = "/x" }, `external_url "/x"`},
		{"negative max_alerts", func(c *Config) { c.MaxAlerts = -1 }, "max_alerts -1"},
		{"in-memory queue", func(c *Config) { c.QueueConfig = configoptional.Some(defaultQueueConfig()) }, "an in-memory queue without wait_for_result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := createDefaultConfig().(*Config)
			c.ClientConfig.Endpoint = secret
			tt.edit(c)
			err := c.Validate()
			require.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "SECRET", "the endpoint's token never shows")
		})
	}
}

// notification is what the alert router hands a receiver pipeline.
func notification(receiver string, a alerts.Alert) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	action := alerts.ActionTrigger
	if !a.Firing() {
		action = alerts.ActionResolve
	}
	alertevent.AppendNotification(records, alerts.Notification{
		Receiver: receiver, Action: action, Alert: a, At: t0.Add(time.Hour),
		GroupKey: `0/` + receiver + `:{service_name="checkout"}`, GroupLabels: map[string]string{"service_name": "checkout"},
	})
	return ld
}

var page = func() alerts.Alert {
	labels := map[string]string{"alertname": "SLOBurnRate", "severity": "page", "service_name": "checkout", "slo": "availability", "source": "slo"}
	return alerts.Alert{
		Labels: labels, State: alerts.StateFiring, StartsAt: t0, Fingerprint: alerts.Fingerprint(labels),
		Annotations: map[string]string{
			"summary": "checkout availability burning", "slo.burn_rate.long": "14.9",
			"alert.dashboard_url": "https://grafana.example/d/slo", "alert.runbook_url": "https://runbooks.example/checkout",
		},
	}
}()

func start(t *testing.T, edit func(*Config)) (*fakewebhook.Server, func(plog.Logs) error) {
	t.Helper()
	fake := fakewebhook.New(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = fake.URL + "/hooks/SECRET"
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 10 * time.Millisecond
	if edit != nil {
		edit(cfg)
	}
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return fake, func(ld plog.Logs) error { return exp.ConsumeLogs(context.Background(), ld) }
}

// TestPayload: a trigger and a resolve reach the strict receiver as
// Alertmanager's webhook payload, the resolve with the alert's start.
func TestPayload(t *testing.T) {
	fake, send := start(t, nil)
	require.NoError(t, send(notification("chat", page)))
	over := page.Clone()
	over.State, over.EndsAt = alerts.StateResolved, t0.Add(40*time.Minute)
	require.NoError(t, send(notification("chat", over)))
	require.NoError(t, fake.Err())
	got := fake.Accepted()
	require.Len(t, got, 2)

	p := got[0]
	assert.Equal(t, "4", *p.Version)
	assert.Equal(t, "chat", *p.Receiver)
	assert.Equal(t, "firing", *p.Status)
	assert.Equal(t, `0/chat:{service_name="checkout"}`, *p.GroupKey)
	assert.Equal(t, map[string]string{"service_name": "checkout"}, p.GroupLabels)
	assert.Equal(t, page.Labels, p.CommonLabels)
	assert.Equal(t, "http://127.0.0.1:9094", *p.ExternalURL)
	a := p.Alerts[0]
	assert.Equal(t, page.Fingerprint, *a.Fingerprint)
	assert.Equal(t, "https://grafana.example/d/slo", *a.GeneratorURL)
	assert.Equal(t, "14.9", a.Annotations["slo_burn_rate_long"])
	assert.Equal(t, t0, *a.StartsAt)
	assert.True(t, a.EndsAt.IsZero())

	r := got[1]
	assert.Equal(t, "resolved", *r.Status)
	assert.Equal(t, t0, *r.Alerts[0].StartsAt, "the resolve carries when the alert started")
	assert.Equal(t, t0.Add(40*time.Minute), *r.Alerts[0].EndsAt)
}

func TestMessagesGroupAndTruncate(t *testing.T) {
	ld := notification("chat", page)
	other := page.Clone()
	other.Labels["slo"] = "latency"
	other.Fingerprint = alerts.Fingerprint(other.Labels)
	other.Annotations["summary"] = "latency burning"
	more := notification("chat", other)
	more.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Body().SetStr("not an alert event")

	msgs, errs := Messages(ld, "https://vigil.example", 1, t0)
	require.Empty(t, errs)
	require.Len(t, msgs, 1, "one message per group")
	m := msgs[0]
	assert.Len(t, m.Alerts, 1)
	assert.Equal(t, uint64(1), m.TruncatedAlerts)
	assert.NotContains(t, m.CommonLabels, "slo", "labels the alerts do not share are not common")
	assert.Equal(t, "page", m.CommonLabels["severity"])
	assert.NotContains(t, m.CommonAnnotations, "summary")

	body, err := json.Marshal(m)
	require.NoError(t, err)
	_, problems := fakewebhook.Check(http.MethodPost, "application/json", body)
	assert.Empty(t, problems)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		permanent bool
		delivered bool
	}{
		{"503 then accepted: retried", []int{http.StatusServiceUnavailable}, false, true},
		{"429 then accepted: retried after Retry-After", []int{http.StatusTooManyRequests}, false, true},
		{"400: permanent", []int{http.StatusBadRequest}, true, false},
		{"404: permanent", []int{http.StatusNotFound}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, send := start(t, func(c *Config) { c.RetryConfig.MaxElapsedTime = 5 * time.Second })
			fake.RespondNext(tt.codes...)
			err := send(notification("chat", page))
			if tt.permanent {
				require.Error(t, err)
				assert.True(t, consumererror.IsPermanent(err), "%v", err)
				assert.NotContains(t, err.Error(), "SECRET", "the URL's token never shows")
				assert.Contains(t, err.Error(), "/<redacted>")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.delivered, len(fake.Accepted()) == 1)
			require.NoError(t, fake.Err())
		})
	}
}

// TestRequestOfSeveralGroups: a request carrying the notifications of
// several groups (a queue's batch) posts one message per group, and a
// failure of one message neither drops the others (a 400) nor posts the
// ones delivered again when it is retried (a 503).
func TestRequestOfSeveralGroups(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int // the first two posts' answers; 0: accepted
		permanent bool
		receivers []string // of the messages accepted, in order
	}{
		{"the first refused for good", []int{http.StatusBadRequest}, true, []string{"ops"}},
		{"the second refused for good", []int{0, http.StatusNotFound}, true, []string{"chat"}},
		{"the second failing once", []int{0, http.StatusServiceUnavailable}, false, []string{"chat", "ops"}},
		{"the first failing once", []int{http.StatusServiceUnavailable}, false, []string{"ops", "chat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, send := start(t, func(c *Config) { c.RetryConfig.MaxElapsedTime = 5 * time.Second })
			fake.RespondNext(tt.codes...)
			ld := notification("chat", page)
			notification("ops", page).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
			err := send(ld)
			if tt.permanent {
				require.Error(t, err)
				assert.True(t, consumererror.IsPermanent(err), "%v", err)
			} else {
				require.NoError(t, err)
			}
			var got []string
			for _, p := range fake.Accepted() {
				got = append(got, *p.Receiver)
			}
			assert.Equal(t, tt.receivers, got)
			require.NoError(t, fake.Err())
		})
	}
}

func TestDisabledWithoutEndpoint(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), notification("chat", page)))
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestNetworkErrorHidesTheToken(t *testing.T) {
	e := newExporter(&Config{}, exportertest.NewNopSettings(metadata.Type), refusal.NewBoard())
	e.cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/hooks/SECRET"
	e.client = http.DefaultClient
	msgs, _ := Messages(notification("chat", page), "http://x", 0, t0)
	err := e.send(context.Background(), msgs[0])
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRET")
	assert.True(t, strings.HasPrefix(err.Error(), "webhook to http://127.0.0.1:1/<redacted>: "), err.Error())
}

// TestRefusalGoesBackToTheRouter: a message the receiver refuses for good
// (400) after a persistent queue took the router's handover goes back to
// the router that produced it through the refusal board, so the router
// sends it again at its group's next flush; with a handover that waits,
// the router learns it from the error alone, and nothing is reported
// twice. Notifications of other groups, delivered, are not reported.
func TestRefusalGoesBackToTheRouter(t *testing.T) {
	for _, queued := range []bool{true, false} {
		t.Run(map[bool]string{true: "persistent queue", false: "handover waits"}[queued], func(t *testing.T) {
			fake := fakewebhook.New(t)
			board := refusal.NewBoard()
			var got []alerts.Notification
			defer board.Subscribe("alertrouter", func(n alerts.Notification) { got = append(got, n) })()
			cfg := createDefaultConfig().(*Config)
			cfg.ClientConfig.Endpoint = fake.URL + "/hooks/SECRET"
			e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), board)
			e.queued = queued
			require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))

			ld := notification("chat", page)
			notification("ops", page).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						alertevent.SetRouter(lr, "alertrouter")
					}
				}
			}
			fake.RespondNext(http.StatusBadRequest) // chat's message; ops's is accepted
			err := e.pushAll(context.Background(), ld)
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err), "%v", err)
			require.Len(t, fake.Accepted(), 1)
			if !queued {
				assert.Empty(t, got, "the waiting handover's error tells the router")
				return
			}
			require.Len(t, got, 1, "the refused notification, and only it, goes back to its router")
			assert.Equal(t, "chat", got[0].Receiver)
			assert.Equal(t, page.Fingerprint, got[0].Alert.Fingerprint)
			assert.Equal(t, alerts.ActionTrigger, got[0].Action)
		})
	}
}
