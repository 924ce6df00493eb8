package secretscan

import "testing"

func TestFind(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{`{"password": "hunter2"}`, true},
		{`{"routing_key": "R0123456789ABCDEF"}`, true},
		{"exporters:\n  pagerduty:\n    routing_key: R0123456789ABCDEF\n", true},
		{"    password: hunter2\n", true},
		{`Authorization: Bearer abcdef0123456789`, true},
		{`http://vigil:s3cret@clickhouse:8123`, true},
		{`tcp://vigil:s3cret@clickhouse:9000`, true},
		{`https://0123456789abcdef0123456789abcdef@sentry.example.com/42`, true},
		{`{"password": "${CLICKHOUSE_PASSWORD}"}`, false},
		{"    password: ${env:CLICKHOUSE_PASSWORD:-}\n", false},
		{"    routing_key: ${env:PAGERDUTY_ROUTING_KEY_ONCALL:-}\n", false},
		{"    token: \"\"\n", false},
		{`{"rawSql": "SELECT TraceId FROM otel.otel_traces"}`, false},
		{`endpoint: tcp://clickhouse:9000`, false},
		{"  load_balancing:\n    routing_key: service\n", false},
		{"  load_balancing:\n    routing_key: servicekey0123\n", true},
	}
	for _, tt := range tests {
		if got := len(Find(tt.text)) > 0; got != tt.want {
			t.Errorf("Find(%q) found=%v, want %v", tt.text, got, tt.want)
		}
	}
}
