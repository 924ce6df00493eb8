package alerts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/conventions"
)

func TestFromEvent(t *testing.T) {
	ts := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
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
	tests := []struct {
		name    string
		body    string
		attrs   map[string]string
		want    Alert
		wantErr string
	}{
		{
			name:  "slo alert: identity to labels, measurements to annotations",
			body:  "checkout-availability burning budget 15x",
			attrs: sloAttrs,
			want: Alert{
				Labels: map[string]string{"alertname": "SLOErrorBudgetBurn", "severity": "page", "source": "slo", "service": "checkout", "slo": "checkout-availability"},
				Annotations: map[string]string{
					"summary": "checkout-availability burning budget 15x", "slo.burn_rate.long": "15.2",
					"slo.window.long": "1h", "slo.error_budget.remaining": "0.93", "alert.runbook_url": "https://runbooks/checkout",
				},
				State: StateFiring, StartsAt: ts,
				Fingerprint: Fingerprint(map[string]string{"alertname": "SLOErrorBudgetBurn", "severity": "page", "source": "slo", "service": "checkout", "slo": "checkout-availability"}),
			},
		},
		{
			name: "anomaly alert resolved with its own fingerprint and a group-by dimension",
			attrs: map[string]string{
				conventions.AttrAlertName: "Anomaly", conventions.AttrAlertState: "resolved", conventions.AttrAlertFingerprint: "abc",
				conventions.AttrAnomalyMetric: "http.server.duration", conventions.AttrAnomalyScore: "0.99", "http.route": "/pay",
			},
			want: Alert{
				Labels:      map[string]string{"alertname": "Anomaly", "metric": "http.server.duration", "http_route": "/pay"},
				Annotations: map[string]string{"anomaly.score": "0.99"},
				State:       StateResolved, EndsAt: ts, Fingerprint: "abc",
			},
		},
		{
			name:    "missing name and bad state reported together",
			attrs:   map[string]string{conventions.AttrAlertState: "pending"},
			wantErr: "alert event has no alert.name attribute\nalert event has alert.state \"pending\", want \"firing\" or \"resolved\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEvent(tt.body, tt.attrs, ts)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFingerprint(t *testing.T) {
	// The golden value pins the algorithm: connectors compute fingerprints
	// themselves and PagerDuty incidents are keyed by them, so a change
	// here must be deliberate.
	labels := map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "checkout", "severity": "page", "slo": "checkout-availability", "source": "slo"}
	const golden = "cea8e49af0d375a8" // computed independently with Python's hashlib
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"golden", labels, golden},
		{"empty labels are ignored", map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "checkout", "severity": "page", "slo": "checkout-availability", "source": "slo", "team": ""}, golden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Fingerprint(tt.labels))
		})
	}
	distinct := []map[string]string{
		{"a": "bc"}, {"ab": "c"}, {"a": "b"}, {"a": "b", "c": "d"}, {"a": "b\xffc"}, {},
	}
	seen := map[string]int{}
	for i, l := range distinct {
		fp := Fingerprint(l)
		if j, dup := seen[fp]; dup {
			t.Errorf("labels %v and %v share fingerprint %s", distinct[j], l, fp)
		}
		seen[fp] = i
	}
}
