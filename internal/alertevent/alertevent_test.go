package alertevent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
)

var (
	t0  = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	now = t0.Add(time.Hour)
)

// record builds a log record with string attributes and the given
// timestamps (zero leaves one unset).
func record(body string, attrs map[string]string, ts, observed time.Time) plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.Body().SetStr(body)
	for k, v := range attrs {
		lr.Attributes().PutStr(k, v)
	}
	if !ts.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	}
	if !observed.IsZero() {
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	}
	return lr
}

func TestDecode(t *testing.T) {
	sloAttrs := map[string]string{
		conventions.AttrAlertName:               "SLOErrorBudgetBurn",
		conventions.AttrAlertState:              "firing",
		conventions.AttrAlertSeverity:           "page",
		conventions.AttrAlertSource:             "slo",
		conventions.AttrServiceName:             "checkout",
		conventions.AttrSLOName:                 "checkout-availability",
		conventions.AttrSLOBurnRateLong:         "15.2",
		conventions.AttrSLOWindowLong:           "1h",
		conventions.AttrSLOErrorBudgetRemaining: "0.93",
		conventions.AttrAlertRunbookURL:         "https://runbooks/checkout",
	}
	// The tier is vigil_severity; without a severity of its own the alert
	// gets the tier as severity, and the fingerprint it always had.
	sloIdentity := map[string]string{"alertname": "SLOErrorBudgetBurn", "severity": "page", "source": "slo", "service_name": "checkout", "slo": "checkout-availability"}
	sloLabels := map[string]string{"alertname": "SLOErrorBudgetBurn", "severity": "page", "vigil_severity": "page", "source": "slo", "service_name": "checkout", "slo": "checkout-availability"}
	tests := []struct {
		name            string
		lr              plog.LogRecord
		resourceService string
		want            alerts.Alert
		wantErr         string
	}{
		{
			name: "slo alert: identity to labels, measurements to annotations",
			lr:   record("checkout-availability burning budget 15x", sloAttrs, t0, now),
			want: alerts.Alert{
				Labels: sloLabels,
				Annotations: map[string]string{
					"summary": "checkout-availability burning budget 15x", "slo.burn_rate.long": "15.2",
					"slo.window.long": "1h", "slo.error_budget.remaining": "0.93", "alert.runbook_url": "https://runbooks/checkout",
				},
				State: alerts.StateFiring, StartsAt: t0, Fingerprint: alerts.Fingerprint(sloIdentity),
			},
		},
		{
			name: "the spec's own severity reaches routing as written; the tier is vigil_severity",
			lr: record("", map[string]string{
				conventions.AttrAlertName: "MyServiceHighErrorRate", conventions.AttrAlertState: "firing", conventions.AttrAlertSeverity: "page",
				conventions.AttrAlertSource: "slo", "severity": "pageteam", "routing_key": "myteam",
			}, t0, now),
			want: alerts.Alert{
				Labels:      map[string]string{"alertname": "MyServiceHighErrorRate", "severity": "pageteam", "vigil_severity": "page", "source": "slo", "routing_key": "myteam"},
				Annotations: map[string]string{},
				State:       alerts.StateFiring, StartsAt: t0,
				Fingerprint: alerts.Fingerprint(map[string]string{"alertname": "MyServiceHighErrorRate", "severity": "pageteam", "vigil_severity": "page", "source": "slo", "routing_key": "myteam"}),
			},
		},
		{
			name: "anomaly alert resolved, with its own fingerprint and a group-by dimension",
			lr: record("", map[string]string{
				conventions.AttrAlertName: "Anomaly", conventions.AttrAlertState: "resolved", conventions.AttrAlertFingerprint: "abc",
				conventions.AttrAnomalyMetric: "http.server.duration", conventions.AttrAnomalyScore: "0.99", "http.route": "/pay",
			}, t0, now),
			want: alerts.Alert{
				Labels:      map[string]string{"alertname": "Anomaly", "metric": "http.server.duration", "http_route": "/pay"},
				Annotations: map[string]string{"anomaly.score": "0.99"},
				State:       alerts.StateResolved, EndsAt: t0, Fingerprint: "abc",
			},
		},
		{
			name:            "service from the resource; no timestamp: the observed one",
			lr:              record("", map[string]string{conventions.AttrAlertName: "A", conventions.AttrAlertState: "firing"}, time.Time{}, now),
			resourceService: "search",
			want: alerts.Alert{
				Labels: map[string]string{"alertname": "A", "service_name": "search"}, Annotations: map[string]string{},
				State: alerts.StateFiring, StartsAt: now, Fingerprint: alerts.Fingerprint(map[string]string{"alertname": "A", "service_name": "search"}),
			},
		},
		{
			name:            "the record's service wins over the resource's; no timestamp at all: now",
			lr:              record("", map[string]string{conventions.AttrAlertName: "A", conventions.AttrAlertState: "resolved", conventions.AttrServiceName: "cart"}, time.Time{}, time.Time{}),
			resourceService: "search",
			want: alerts.Alert{
				Labels: map[string]string{"alertname": "A", "service_name": "cart"}, Annotations: map[string]string{},
				State: alerts.StateResolved, EndsAt: now, Fingerprint: alerts.Fingerprint(map[string]string{"alertname": "A", "service_name": "cart"}),
			},
		},
		{
			name: "a notification's receiver and group key are neither labels nor annotations",
			lr: record("", map[string]string{
				conventions.AttrAlertName: "A", conventions.AttrAlertState: "firing", conventions.AttrAlertFingerprint: "fp",
				conventions.AttrAlertReceiver: "oncall", conventions.AttrAlertGroupKey: "0/oncall:{}",
			}, t0, now),
			want: alerts.Alert{
				Labels: map[string]string{"alertname": "A"}, Annotations: map[string]string{},
				State: alerts.StateFiring, StartsAt: t0, Fingerprint: "fp",
			},
		},
		{
			name:    "empty name and bad state reported together",
			lr:      record("", map[string]string{conventions.AttrAlertName: "", conventions.AttrAlertState: "pending"}, t0, now),
			wantErr: "alert event has an empty alert.name\nalert event \"\" has alert.state \"pending\", want \"firing\" or \"resolved\"",
		},
		{
			name:    "an ordinary log record",
			lr:      record("GET /", map[string]string{"http.route": "/"}, t0, now),
			wantErr: ErrNotAlertEvent.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pcommon.NewResource()
			if tt.resourceService != "" {
				res.Attributes().PutStr(conventions.AttrServiceName, tt.resourceService)
			}
			got, err := Decode(tt.lr, res, now)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestAppendDecode: what a writer appends, a reader decodes to the same
// fingerprint whether or not the record carries it, with the severity the
// codec gives every writer.
func TestAppendDecode(t *testing.T) {
	identity := map[string]string{
		conventions.AttrAlertName: "ServiceAnomaly", conventions.AttrAlertSeverity: "ticket",
		conventions.AttrAlertSource: "anomaly", conventions.AttrServiceName: "checkout",
		conventions.AttrAnomalyMetric: "request_rate", "span.name": "POST /pay",
	}
	tests := []struct {
		name      string
		state     string
		severity  string
		wantText  string
		wantLevel plog.SeverityNumber
	}{
		{"firing page", conventions.StateFiring, conventions.SeverityPage, "ERROR", plog.SeverityNumberError},
		{"firing ticket", conventions.StateFiring, conventions.SeverityTicket, "WARN", plog.SeverityNumberWarn},
		{"resolved page", conventions.StateResolved, conventions.SeverityPage, "INFO", plog.SeverityNumberInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := map[string]string{}
			for k, v := range identity {
				id[k] = v
			}
			id[conventions.AttrAlertSeverity] = tt.severity
			records := plog.NewLogRecordSlice()
			lr := Append(records, Event{Identity: id, State: tt.state, Summary: "s", Time: t0})
			lr.Attributes().PutDouble(conventions.AttrAnomalyScore, 0.97)
			assert.Equal(t, tt.wantText, lr.SeverityText())
			assert.Equal(t, tt.wantLevel, lr.SeverityNumber())
			assert.Equal(t, t0, lr.ObservedTimestamp().AsTime(), "observed defaults to the event time")

			a, err := Decode(lr, pcommon.NewResource(), now)
			require.NoError(t, err)
			assert.Equal(t, Fingerprint(id), a.Fingerprint)
			assert.Equal(t, "0.97", a.Annotations[conventions.AttrAnomalyScore])
			assert.Equal(t, "POST /pay", a.Labels["span_name"])

			lr.Attributes().Remove(conventions.AttrAlertFingerprint)
			derived, err := Decode(lr, pcommon.NewResource(), now)
			require.NoError(t, err)
			assert.Equal(t, a.Fingerprint, derived.Fingerprint, "a reader derives the writer's fingerprint")
		})
	}
}

// TestSourceEventStart: a source's events say when their alert started
// firing (alert.starts_at): a re-send, stamped with the evaluation that
// sends it, decodes to the alert's start, not to its own time, and a
// resolve to the start of the episode it ends as well as its end. An
// event whose writer knows no start carries none, and a firing one starts
// at its time, as before the attribute.
func TestSourceEventStart(t *testing.T) {
	identity := map[string]string{
		conventions.AttrAlertName: "checkout-availability-page", conventions.AttrAlertSeverity: "page",
		conventions.AttrAlertSource: "slo", conventions.AttrServiceName: "checkout", conventions.AttrSLOName: "availability",
	}
	// A start in another zone is written in UTC, to the nanosecond.
	started := t0.Add(-42*time.Minute + 7).In(time.FixedZone("CET", 3600))
	records := plog.NewLogRecordSlice()

	resend := Append(records, Event{Identity: identity, State: conventions.StateFiring, Time: t0, StartsAt: started})
	v, ok := resend.Attributes().Get(conventions.AttrAlertStartsAt)
	require.True(t, ok, "a firing event carries alert.starts_at")
	assert.Equal(t, "2026-11-21T19:18:00.000000007Z", v.Str())
	assert.Equal(t, t0, resend.Timestamp().AsTime(), "the record's time stays the evaluation's")
	a, err := Decode(resend, pcommon.NewResource(), now)
	require.NoError(t, err)
	assert.True(t, a.StartsAt.Equal(started), "a re-send starts at alert.starts_at, not at its time: %v", a.StartsAt)

	end := t0.Add(5 * time.Minute)
	resolve := Append(records, Event{Identity: identity, State: conventions.StateResolved, Time: end, StartsAt: started})
	a, err = Decode(resolve, pcommon.NewResource(), now)
	require.NoError(t, err)
	assert.Equal(t, alerts.StateResolved, a.State)
	assert.True(t, a.StartsAt.Equal(started), "a resolve carries the start of its episode: %v", a.StartsAt)
	assert.Equal(t, end, a.EndsAt, "a resolve's time is its end")

	unknown := Append(records, Event{Identity: identity, State: conventions.StateFiring, Time: t0})
	_, ok = unknown.Attributes().Get(conventions.AttrAlertStartsAt)
	assert.False(t, ok, "no start known, no alert.starts_at")
	a, err = Decode(unknown, pcommon.NewResource(), now)
	require.NoError(t, err)
	assert.Equal(t, t0, a.StartsAt, "without alert.starts_at a firing event starts at its time")
	unknownResolve := Append(records, Event{Identity: identity, State: conventions.StateResolved, Time: end})
	a, err = Decode(unknownResolve, pcommon.NewResource(), now)
	require.NoError(t, err)
	assert.True(t, a.StartsAt.IsZero(), "without alert.starts_at a resolve has no start")

	// A malformed start is reported and taken as absent: the alert is
	// still there to route.
	resolve.Attributes().PutStr(conventions.AttrAlertStartsAt, "an hour ago")
	a, err = Decode(resolve, pcommon.NewResource(), now)
	assert.ErrorIs(t, err, ErrBadStart)
	assert.EqualError(t, err, `alert event "checkout-availability-page": start ignored: alert.starts_at "an hour ago": want an RFC 3339 time`)
	assert.Equal(t, alerts.StateResolved, a.State)
	assert.True(t, a.StartsAt.IsZero(), "a malformed start on a resolve: none")
	resend.Attributes().PutStr(conventions.AttrAlertStartsAt, "2026-12-07 10:00:00")
	a, err = Decode(resend, pcommon.NewResource(), now)
	assert.ErrorIs(t, err, ErrBadStart)
	assert.Equal(t, alerts.StateFiring, a.State)
	assert.Equal(t, t0, a.StartsAt, "a malformed start on a firing event: its time")
}

// TestNotificationRoundTrip: a notification written by the router decodes
// to the alert it carries, firing and resolved.
func TestNotificationRoundTrip(t *testing.T) {
	labels := map[string]string{"alertname": "Page", "severity": "page", "service_name": "checkout", "slo": "availability", "source": "slo", "http_route": "/pay"}
	firing := alerts.Alert{
		Labels:      labels,
		Annotations: map[string]string{"summary": "burning", "slo.burn_rate.long": "14.9", "alert.runbook_url": "https://r"},
		State:       alerts.StateFiring, StartsAt: t0, Fingerprint: "fp1",
	}
	resolved := firing.Clone()
	resolved.State, resolved.StartsAt, resolved.EndsAt = alerts.StateResolved, time.Time{}, t0.Add(time.Minute)
	for _, a := range []alerts.Alert{firing, resolved} {
		t.Run(string(a.State), func(t *testing.T) {
			records := plog.NewLogRecordSlice()
			n := alerts.Notification{Receiver: "oncall", Action: alerts.ActionTrigger, Alert: a, GroupKey: "0/oncall:{}", At: now}
			lr := AppendNotification(records, n)
			assert.Equal(t, "oncall", Receiver(lr))
			assert.Equal(t, now, lr.ObservedTimestamp().AsTime())
			got, err := Decode(lr, pcommon.NewResource(), time.Time{})
			require.NoError(t, err)
			assert.Equal(t, a, got)
		})
	}
}

// TestDecodeNotification: a notifier gets the whole notification back,
// with the group's labels, the integration, and the start of a resolved
// alert, which its timestamp (the end) does not carry; and the router
// that produced it, for a refusal to be reported to, which is neither a
// label nor an annotation.
func TestDecodeNotification(t *testing.T) {
	labels := map[string]string{"alertname": "Page", "severity": "page", "service": "checkout", "slo": "availability", "source": "slo"}
	resolved := alerts.Alert{
		Labels: labels, Annotations: map[string]string{"summary": "over"},
		State: alerts.StateResolved, StartsAt: t0, EndsAt: t0.Add(time.Hour), Fingerprint: "fp1",
	}
	n := alerts.Notification{
		Receiver: "oncall", Integration: "logs/pagerduty", Action: alerts.ActionResolve, Alert: resolved, At: now,
		GroupKey: `0/oncall:{service="checkout"}`, GroupLabels: map[string]string{"service": "checkout"},
	}
	records := plog.NewLogRecordSlice()
	lr := AppendNotification(records, n)
	assert.Equal(t, "", Router(lr))
	SetRouter(lr, "alertrouter/fleet")
	assert.Equal(t, "alertrouter/fleet", Router(lr))
	got, err := DecodeNotification(lr, pcommon.NewResource(), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, n.Alert.StartsAt, got.Alert.StartsAt.In(n.Alert.StartsAt.Location()))
	got.Alert.StartsAt = n.Alert.StartsAt
	assert.Equal(t, n, got)

	// An alert event that no router wrote has no receiver to notify.
	ev := Append(records, Event{Identity: map[string]string{"alert.name": "X"}, State: "firing", Time: t0})
	_, err = DecodeNotification(ev, pcommon.NewResource(), now)
	assert.ErrorContains(t, err, "no alert.receiver attribute")

	bad := AppendNotification(records, n)
	bad.Attributes().PutStr("alert.starts_at", "yesterday")
	_, err = DecodeNotification(bad, pcommon.NewResource(), now)
	assert.ErrorContains(t, err, `alert.starts_at "yesterday": want an RFC 3339 time`)
}

// TestReceiverOfAnEventThatIsNoNotification: an alert event that did not
// come through the router (a source's own event, sent straight to an
// exporter) has no receiver, and reading it must not panic.
func TestReceiverOfAnEventThatIsNoNotification(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Attributes().PutStr(conventions.AttrAlertName, "Page")
	assert.Equal(t, "", Receiver(lr))
}
