package events

import (
	"net/http"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status      int
		wantOutcome Outcome
		wantReason  Reason
	}{
		{202, OutcomeAccepted, ""},
		{200, OutcomeAccepted, ""},
		{204, OutcomeAccepted, ""},
		{400, OutcomePermanent, ReasonInvalidEvent},
		{401, OutcomePermanent, ReasonClientError},
		{403, OutcomePermanent, ReasonClientError},
		{404, OutcomePermanent, ReasonClientError},
		{405, OutcomePermanent, ReasonClientError},
		{408, OutcomeRetryable, ReasonTimeout},
		{413, OutcomePermanent, ReasonTooLarge},
		{429, OutcomeRetryable, ReasonRateLimited},
		{500, OutcomeRetryable, ReasonServerError},
		{502, OutcomeRetryable, ReasonServerError},
		{503, OutcomeRetryable, ReasonServerError},
		{504, OutcomeRetryable, ReasonServerError},
		{599, OutcomeRetryable, ReasonServerError},
		{302, OutcomePermanent, ReasonUnexpectedStatus},
		{100, OutcomePermanent, ReasonUnexpectedStatus},
		{600, OutcomePermanent, ReasonUnexpectedStatus},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			outcome, reason := Classify(tt.status)
			if outcome != tt.wantOutcome || reason != tt.wantReason {
				t.Fatalf("Classify(%d) = %s, %q; want %s, %q", tt.status, outcome, reason, tt.wantOutcome, tt.wantReason)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "absent", value: "", wantOK: false},
		{name: "seconds", value: "7", want: 7 * time.Second, wantOK: true},
		{name: "zero seconds", value: "0", want: 0, wantOK: true},
		{name: "seconds with spaces", value: " 30 ", want: 30 * time.Second, wantOK: true},
		{name: "negative", value: "-5", wantOK: false},
		{name: "huge seconds capped", value: "99999999999", want: MaxRetryAfter, wantOK: true},
		{name: "HTTP date", value: "Sat, 21 Nov 2026 20:00:45 GMT", want: 45 * time.Second, wantOK: true},
		{name: "RFC 850 date", value: "Saturday, 21-Nov-26 20:01:00 GMT", want: time.Minute, wantOK: true},
		{name: "date in the past", value: "Sat, 21 Nov 2026 19:00:00 GMT", want: 0, wantOK: true},
		{name: "date far ahead capped", value: "Sun, 21 Nov 2027 20:00:00 GMT", want: MaxRetryAfter, wantOK: true},
		{name: "fractional seconds are not allowed", value: "1.5", wantOK: false},
		{name: "garbage", value: "soon", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := RetryAfter(h, now)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
