package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-otel/vigil/internal/httpexport"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Sentry's protocol constants.
// https://develop.sentry.dev/sdk/overview/#authentication
const (
	// protocolVersion is the sentry_version of the X-Sentry-Auth header.
	protocolVersion = "7"
	// envelopeContentType is the media type of the envelope endpoint.
	envelopeContentType = "application/x-sentry-envelope"
	// rateLimitsHeader lists per-category limits, on any response.
	// https://develop.sentry.dev/sdk/expected-features/rate-limiting/
	rateLimitsHeader = "X-Sentry-Rate-Limits"
	// defaultRetryAfter is how long to wait after a 429 that says nothing
	// else, as Sentry's SDKs do.
	defaultRetryAfter = 60 * time.Second
	// categoryError is the rate-limit category of error events.
	categoryError = "error"
)

// sender posts envelopes to one DSN's project. It does not retry: it
// classifies each outcome (permanent, retryable, throttled) and leaves
// retries and queueing to exporterhelper. It remembers the rate limits
// Sentry announced, so it does not send while its project is limited.
type sender struct {
	// where names the project for errors and logs: "project 42 at
	// host:port", never the key.
	where  string
	url    string
	auth   string   // X-Sentry-Auth value: holds the public key
	dsn    string   // the DSN for envelope headers: holds the public key
	keys   []string // the public (and legacy secret) key, scrubbed from anything we report
	client *http.Client
	now    func() time.Time

	mu     sync.Mutex
	limits map[string]time.Time // category ("" = all) → limited until
}

// newSender prepares a sender for a parsed DSN.
func newSender(dsn *sentry.Dsn, client *http.Client, clientName string) *sender {
	return &sender{
		where:  fmt.Sprintf("project %s at %s", dsn.GetProjectID(), dsn.GetAPIURL().Host),
		url:    dsn.GetAPIURL().String(),
		auth:   fmt.Sprintf("Sentry sentry_version=%s, sentry_client=%s, sentry_key=%s", protocolVersion, clientName, dsn.GetPublicKey()),
		dsn:    publicDSN(dsn),
		keys:   nonEmpty(dsn.GetPublicKey(), dsn.GetSecretKey()),
		client: client,
		now:    time.Now,
		limits: map[string]time.Time{},
	}
}

// send posts one event. The error, if any, is permanent
// (consumererror.IsPermanent), a throttle (exporterhelper.NewThrottleRetry
// with Sentry's delay) or plain (retryable with backoff).
func (s *sender) send(ctx context.Context, ev *sentry.Event) error {
	now := s.now()
	if wait := s.limitedFor(categoryError, now); wait > 0 {
		return exporterhelper.NewThrottleRetry(fmt.Errorf("sentry %s: rate limited for %s", s.where, wait.Round(time.Second)), wait)
	}
	var buf bytes.Buffer
	if err := EncodeEnvelope(&buf, ev, s.dsn, now); err != nil {
		return consumererror.NewPermanent(fmt.Errorf("sentry %s: %s", s.where, s.scrub(err.Error())))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, &buf)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("sentry %s: %s", s.where, s.scrub(err.Error())))
	}
	req.Header.Set("Content-Type", envelopeContentType)
	req.Header.Set("X-Sentry-Auth", s.auth)
	resp, err := s.client.Do(req)
	if err != nil {
		// Network errors are worth retrying; url.Error names the URL,
		// which holds no key (the key travels in the header).
		return fmt.Errorf("sentry %s: %s", s.where, s.scrub(err.Error()))
	}
	defer resp.Body.Close()
	var body string
	if httpexport.Classify(resp.StatusCode) == httpexport.Success {
		httpexport.Drain(resp.Body) // let the connection be reused
	} else {
		body = httpexport.ReadErrorBody(resp.Body)
	}
	s.observe(resp.Header, resp.StatusCode, now)
	return s.classify(resp.StatusCode, resp.Header, body, now)
}

// classify turns a response into the error exporterhelper acts on
// (httpexport.ResponseError): 400 (invalid envelope), 401/403 (key), 413
// (too large) are permanent; 408 and 5xx are retried. A 429 waits for the
// rate limit Sentry announced (X-Sentry-Rate-Limits, else Retry-After),
// or a minute when it announced none.
// https://develop.sentry.dev/sdk/expected-features/rate-limiting/
func (s *sender) classify(status int, h http.Header, body string, now time.Time) error {
	if httpexport.Classify(status) == httpexport.Success {
		return nil
	}
	err := &httpexport.StatusError{Server: "Sentry " + s.where, Status: status, Message: s.scrub(body)}
	if status == http.StatusTooManyRequests {
		wait := s.limitedFor(categoryError, now)
		if wait <= 0 {
			wait = defaultRetryAfter
		}
		return exporterhelper.NewThrottleRetry(err, wait)
	}
	return httpexport.ResponseError(status, h, err, now)
}

// scrub removes the DSN's keys from text that is about to be
// reported: the key must never reach logs or errors.
func (s *sender) scrub(text string) string {
	for _, k := range s.keys {
		text = strings.ReplaceAll(text, k, "[key]")
	}
	return text
}

// publicDSN is the DSN without the legacy secret key, which envelopes do
// not need: only the public key travels.
func publicDSN(dsn *sentry.Dsn) string {
	if secret := dsn.GetSecretKey(); secret != "" {
		return strings.Replace(dsn.String(), ":"+secret+"@", "@", 1)
	}
	return dsn.String()
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// observe records the rate limits a response announces: X-Sentry-Rate-Limits
// on any response, else Retry-After on a 429 (it then applies to every
// category).
func (s *sender) observe(h http.Header, status int, now time.Time) {
	if v := h.Get(rateLimitsHeader); v != "" {
		limits := ParseRateLimits(v, now)
		s.mu.Lock()
		for c, until := range limits {
			if until.After(s.limits[c]) {
				s.limits[c] = until
			}
		}
		s.mu.Unlock()
		return
	}
	if status != http.StatusTooManyRequests {
		return
	}
	wait, ok := httpexport.RetryAfter(h, now)
	if !ok {
		wait = defaultRetryAfter
	}
	s.mu.Lock()
	s.limits[""] = now.Add(wait)
	s.mu.Unlock()
}

// limitedFor is how long events of category stay rate limited.
func (s *sender) limitedFor(category string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	until := s.limits[category]
	if all := s.limits[""]; all.After(until) {
		until = all
	}
	return until.Sub(now)
}

// ParseRateLimits reads an X-Sentry-Rate-Limits value: comma-separated
// "retry_after:categories:scope:reason_code:..." entries, categories
// separated by semicolons, an empty list meaning all categories (key "").
// Malformed entries are skipped; later fields are ignored as the protocol
// asks. https://develop.sentry.dev/sdk/expected-features/rate-limiting/
func ParseRateLimits(header string, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, limit := range strings.Split(header, ",") {
		limit = strings.TrimSpace(limit)
		if limit == "" {
			continue
		}
		fields := strings.Split(limit, ":")
		secs, err := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64)
		if err != nil || secs < 0 {
			continue
		}
		until := now.Add(time.Duration(secs * float64(time.Second)))
		categories := []string{""}
		if len(fields) > 1 && strings.TrimSpace(fields[1]) != "" {
			categories = strings.Split(fields[1], ";")
		}
		for _, c := range categories {
			c = strings.TrimSpace(c)
			if until.After(out[c]) {
				out[c] = until
			}
		}
	}
	return out
}
