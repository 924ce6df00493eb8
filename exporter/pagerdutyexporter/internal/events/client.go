package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/internal/httpexport"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

const (
	// DefaultTimeout bounds one request. PagerDuty answers in well under a
	// second; anything slower is better retried than waited for.
	DefaultTimeout = 10 * time.Second
	// maxResponseBytes bounds how much of a response is read: PagerDuty's
	// answers are a few hundred bytes, and an error page from a proxy
	// should not fill memory.
	maxResponseBytes = 64 << 10
	// maxMessageBytes bounds the server text kept in an error.
	maxMessageBytes = 1024
)

// ClientSettings configures a Client.
type ClientSettings struct {
	// Endpoint is the enqueue URL; empty means DefaultEndpoint.
	Endpoint string
	// Timeout bounds each request; zero means DefaultTimeout. It is applied
	// only when HTTPClient is nil.
	Timeout time.Duration
	// Version goes into the User-Agent, "vigil/<Version>"; empty means
	// "dev".
	Version string
	// HTTPClient sends the requests; nil means a client with Timeout.
	HTTPClient *http.Client
	// Limiter, when set, makes Send wait for its routing key's slot before
	// every request, retries included, so PagerDuty's rate limit holds
	// however exporterhelper schedules them.
	Limiter *Limiter
}

// Client sends events to the Events API v2 and classifies the answers:
// 400 as permanent, 429 and 5xx as retryable (throttled when Retry-After
// says how long), network failures as retryable. With a Limiter it also
// keeps each routing key under PagerDuty's rate limit. Safe for concurrent
// use.
type Client struct {
	endpoint  string
	userAgent string
	http      *http.Client
	limiter   *Limiter
	now       func() time.Time
}

// NewClient validates s and returns a Client.
func NewClient(s ClientSettings) (*Client, error) {
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("pagerduty endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("pagerduty endpoint %q: want an absolute http or https URL", endpoint)
	}
	version := s.Version
	if version == "" {
		version = "dev"
	}
	hc := s.HTTPClient
	if hc == nil {
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		// An own transport, so CloseIdleConnections on shutdown closes
		// this client's connections and nobody else's.
		hc = &http.Client{Timeout: timeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Client{
		endpoint:  endpoint,
		userAgent: "vigil/" + version,
		http:      hc,
		limiter:   s.Limiter,
		now:       time.Now,
	}, nil
}

// CloseIdleConnections closes kept-alive connections; call it on shutdown.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Endpoint returns the URL events are posted to.
func (c *Client) Endpoint() string { return c.endpoint }

// SendError describes a failed send. It is returned wrapped: in
// consumererror.NewPermanent when retrying cannot help, in
// exporterhelper.NewThrottleRetry when PagerDuty said how long to wait, as is
// otherwise (retryable). errors.As finds it in all three.
type SendError struct {
	// StatusCode is the HTTP status, 0 when no answer came.
	StatusCode int
	// Reason is the metric label for the failure.
	Reason Reason
	// Outcome says whether a retry may succeed.
	Outcome Outcome
	// Message is PagerDuty's explanation (message and errors), routing key
	// removed.
	Message string
	// RetryAfter is the delay PagerDuty asked for, 0 when it did not.
	RetryAfter time.Duration
	// cause is the transport error, for errors.Is (context.DeadlineExceeded).
	cause error
}

// Error describes the failure without the routing key.
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("pagerduty: ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d (%s)", e.StatusCode, e.Reason)
	} else {
		b.WriteString(string(e.Reason))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *SendError) Unwrap() error { return e.cause }

// ReasonOf returns the failure reason carried by err, or "" when err is nil
// or did not come from this package's client.
func ReasonOf(err error) Reason {
	var se *SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return ""
}

// Send posts ev. On 2xx it returns PagerDuty's answer; otherwise see
// SendError for how the error is wrapped.
func (c *Client) Send(ctx context.Context, ev Event) (Response, error) {
	key := ev.RoutingKey
	body, err := Encode(ev)
	if err != nil {
		return Response{}, consumererror.NewPermanent(&SendError{
			Reason: ReasonEncoding, Outcome: OutcomePermanent, Message: redact(err.Error(), key),
		})
	}
	if len(body) > MaxEventBytes {
		return Response{}, consumererror.NewPermanent(&SendError{
			Reason: ReasonTooLarge, Outcome: OutcomePermanent,
			Message: fmt.Sprintf("event is %d bytes, limit %d", len(body), MaxEventBytes),
		})
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx, key); err != nil {
			return Response{}, &SendError{Reason: ReasonCancelled, Outcome: OutcomeRetryable, Message: "waiting for the rate limit: " + err.Error(), cause: err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return Response{}, consumererror.NewPermanent(&SendError{
			Reason: ReasonClientError, Outcome: OutcomePermanent, Message: redact(err.Error(), key),
		})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(req)
	if err != nil {
		// The transport never sees the body in its errors, but redact
		// anyway: a key pasted into the endpoint URL would show up here.
		return Response{}, &SendError{
			Reason: ReasonNetwork, Outcome: OutcomeRetryable,
			Message: redact(err.Error(), key), cause: err,
		}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)

	var answer Response
	parseErr := json.Unmarshal(raw, &answer)

	outcome, reason := Classify(resp.StatusCode)
	if outcome == OutcomeAccepted {
		if parseErr != nil {
			// The event is in; an unreadable answer must not resend it.
			answer = Response{Status: http.StatusText(resp.StatusCode), DedupKey: ev.DedupKey}
		}
		answer.Message = redact(answer.Message, key)
		return answer, nil
	}

	se := &SendError{
		StatusCode: resp.StatusCode,
		Reason:     reason,
		Outcome:    outcome,
		Message:    failureMessage(answer, parseErr, raw, key),
	}
	if outcome == OutcomePermanent {
		return Response{}, consumererror.NewPermanent(se)
	}
	if d, ok := httpexport.RetryAfter(resp.Header, c.now()); ok {
		se.RetryAfter = d
		return Response{}, exporterhelper.NewThrottleRetry(se, d)
	}
	return Response{}, se
}

// failureMessage extracts PagerDuty's explanation from an error answer, or
// a bounded excerpt of whatever else came back, without the routing key. It
// redacts before cutting: a cut through the key would hide half of it from
// redaction.
func failureMessage(answer Response, parseErr error, raw []byte, key RoutingKey) string {
	if parseErr == nil && (answer.Message != "" || len(answer.Errors) > 0 || answer.Status != "") {
		parts := make([]string, 0, 2)
		if answer.Message != "" {
			parts = append(parts, answer.Message)
		} else if answer.Status != "" {
			parts = append(parts, answer.Status)
		}
		if len(answer.Errors) > 0 {
			parts = append(parts, strings.Join(answer.Errors, "; "))
		}
		return Truncate(redact(strings.Join(parts, ": "), key), maxMessageBytes)
	}
	text := redact(strings.TrimSpace(string(raw)), key)
	if len(text) > maxMessageBytes {
		text = truncateBytes(text, maxMessageBytes)
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}
