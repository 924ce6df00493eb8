package events

import (
	"net/http"
	"testing"
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
