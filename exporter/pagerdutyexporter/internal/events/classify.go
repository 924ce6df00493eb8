package events

import (
	"net/http"
	"strconv"
)

// Outcome is what an HTTP status means for an event.
type Outcome int

const (
	// OutcomeAccepted means PagerDuty took the event.
	OutcomeAccepted Outcome = iota
	// OutcomeRetryable means sending the same event later may succeed.
	OutcomeRetryable
	// OutcomePermanent means the same event will be refused again.
	OutcomePermanent
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeAccepted:
		return "accepted"
	case OutcomeRetryable:
		return "retryable"
	case OutcomePermanent:
		return "permanent"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Reason is a low-cardinality label for a failed send, fit for a metric
// attribute; it never carries request data.
type Reason string

// Reasons a send fails.
const (
	// ReasonInvalidEvent: PagerDuty answered 400, the event breaks the API.
	ReasonInvalidEvent Reason = "invalid_event"
	// ReasonTooLarge: the event exceeds MaxEventBytes (413, or caught before
	// sending).
	ReasonTooLarge Reason = "too_large"
	// ReasonRateLimited: PagerDuty answered 429.
	ReasonRateLimited Reason = "rate_limited"
	// ReasonServerError: PagerDuty answered 5xx.
	ReasonServerError Reason = "server_error"
	// ReasonTimeout: a proxy answered 408.
	ReasonTimeout Reason = "timeout"
	// ReasonClientError: another 4xx, usually a wrong endpoint URL.
	ReasonClientError Reason = "client_error"
	// ReasonUnexpectedStatus: a status outside the 2xx, 4xx and 5xx ranges.
	ReasonUnexpectedStatus Reason = "unexpected_status"
	// ReasonNetwork: no HTTP answer (connection refused, reset, timeout).
	ReasonNetwork Reason = "network"
	// ReasonCancelled: the context ended while waiting for the rate limit.
	ReasonCancelled Reason = "cancelled"
	// ReasonEncoding: the event could not be encoded.
	ReasonEncoding Reason = "encoding"
)

// Classify maps an HTTP status to an outcome and, for failures, a reason,
// following PagerDuty's table: 202 accepted, 400 do not retry, 429 and 5xx
// retry after some time.
// https://developer.pagerduty.com/docs/events-api-v2/overview/#response-codes--retry-logic
func Classify(status int) (Outcome, Reason) {
	switch {
	case status >= 200 && status < 300:
		// PagerDuty answers 202; a proxy may answer 200 for the same thing.
		return OutcomeAccepted, ""
	case status == http.StatusBadRequest:
		return OutcomePermanent, ReasonInvalidEvent
	case status == http.StatusRequestEntityTooLarge:
		return OutcomePermanent, ReasonTooLarge
	case status == http.StatusTooManyRequests:
		return OutcomeRetryable, ReasonRateLimited
	case status == http.StatusRequestTimeout:
		return OutcomeRetryable, ReasonTimeout
	case status >= 500 && status < 600:
		return OutcomeRetryable, ReasonServerError
	case status >= 400 && status < 500:
		return OutcomePermanent, ReasonClientError
	default:
		return OutcomePermanent, ReasonUnexpectedStatus
	}
}
