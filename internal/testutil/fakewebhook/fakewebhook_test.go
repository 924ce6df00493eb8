package fakewebhook

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// good is a payload as Alertmanager 0.33's webhook notifier sends it.
const good = `{"receiver":"chat","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"SLOBurnRate","service_name":"checkout"},` +
	`"annotations":{"summary":"burning"},"startsAt":"2026-11-21T20:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://g/d",` +
	`"fingerprint":"3da51f0b61ceafb2"}],"notification_reason":"","groupLabels":{"service_name":"checkout"},"commonLabels":{"alertname":"SLOBurnRate","service_name":"checkout"},` +
	`"commonAnnotations":{"summary":"burning"},"externalURL":"http://127.0.0.1:9094","version":"4","groupKey":"0/chat:{service_name=\"checkout\"}","truncatedAlerts":0}`

func TestCheck(t *testing.T) {
	tests := []struct {
		name, body, contentType, want string
	}{
		{"Alertmanager's payload", good, "application/json", ""},
		{"wrong content type", good, "text/plain", `Content-Type "text/plain": want application/json`},
		{"unknown field", strings.Replace(good, `"version"`, `"extra":1,"version"`, 1), "application/json", `unknown field "extra"`},
		{"missing field", strings.Replace(good, `"groupKey":"0/chat:{service_name=\"checkout\"}",`, "", 1), "application/json", "groupKey: missing"},
		{"old version", strings.Replace(good, `"version":"4"`, `"version":"3"`, 1), "application/json", `version "3": want "4"`},
		{"status disagrees", strings.Replace(good, `"status":"firing","alerts"`, `"status":"resolved","alerts"`, 1), "application/json", `status "resolved": want "firing"`},
		{"firing with an end", strings.Replace(good, `"0001-01-01T00:00:00Z"`, `"2026-11-21T21:00:00Z"`, 1), "application/json", "a firing alert has the zero time"},
		{"bad fingerprint", strings.Replace(good, `3da51f0b61ceafb2`, `xyz`, 1), "application/json", "fingerprint: want 16 hex digits"},
		{"dotted annotation", strings.Replace(good, `"annotations":{"summary"`, `"annotations":{"slo.burn":"1","summary"`, 1), "application/json", `annotation name "slo.burn"`},
		{"common label not shared", strings.Replace(good, `"commonLabels":{"alertname":"SLOBurnRate"`, `"commonLabels":{"alertname":"Other"`, 1), "application/json", "is not a label of alerts[0]"},
		{"relative external URL", strings.Replace(good, `http://127.0.0.1:9094`, `/console`, 1), "application/json", `externalURL "/console"`},
		{"no alerts", `{"receiver":"chat","status":"resolved","alerts":[],"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://x","version":"4","groupKey":"k","truncatedAlerts":0}`,
			"application/json", "alerts: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := Check("POST", tt.contentType, []byte(tt.body))
			if tt.want == "" {
				assert.Empty(t, problems)
				return
			}
			assert.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}
