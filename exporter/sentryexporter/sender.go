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
// Sentry announced, so it does not send while its project is limited; every
// sender of the same DSN in the process (the traces and the logs exporter,
// two exporters configured alike) shares them.
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

	limits  *rateLimits // shared by the DSN's senders
	release func()      // gives the shared limits back; idempotent
}

// rateLimits are the rate limits Sentry announced for one DSN: category
// ("" = all) → limited until.
type rateLimits struct {
	mu    sync.Mutex
	until map[string]time.Time
	refs  int // senders holding it; guarded by sharedLimits.mu
}

// sharedLimits holds the rate limits of every DSN some sender of the
// process uses, so that a rate limit Sentry announced to one pipeline's
// exporter holds for the others posting to the same project with the same
// key. An entry lives while a sender holds it: exporters release theirs at
// shutdown.
var sharedLimits = struct {
	mu    sync.Mutex
	byDSN map[string]*rateLimits
}{byDSN: map[string]*rateLimits{}}

// acquireLimits returns the shared rate limits of a DSN (its envelope URL
// and public key) and the function that gives them back.
func acquireLimits(key string) (*rateLimits, func()) {
	sharedLimits.mu.Lock()
	defer sharedLimits.mu.Unlock()
	l, ok := sharedLimits.byDSN[key]
	if !ok {
		l = &rateLimits{until: map[string]time.Time{}}
		sharedLimits.byDSN[key] = l
	}
	l.refs++
	var once sync.Once
	return l, func() {
		once.Do(func() {
			sharedLimits.mu.Lock()
			defer sharedLimits.mu.Unlock()
			l.refs--
			if l.refs == 0 && sharedLimits.byDSN[key] == l {
				delete(sharedLimits.byDSN, key)
			}
		})
	}
}

// newSender prepares a sender for a parsed DSN; it holds the DSN's shared
// rate limits until its release is called.
func newSender(dsn *sentry.Dsn, client *http.Client, clientName string) *sender {
	s := &sender{
		where:  fmt.Sprintf("project %s at %s", dsn.GetProjectID(), dsn.GetAPIURL().Host),
		url:    dsn.GetAPIURL().String(),
		auth:   fmt.Sprintf("Sentry sentry_version=%s, sentry_client=%s, sentry_key=%s", protocolVersion, clientName, dsn.GetPublicKey()),
		dsn:    publicDSN(dsn),
		keys:   nonEmpty(dsn.GetPublicKey(), dsn.GetSecretKey()),
		client: client,
		now:    time.Now,
	}
	// The envelope URL names the Sentry and the project, the public key
	// the key: Sentry's rate limits apply to a key, a project or an
	// organization, so senders of the same both share them.
	s.limits, s.release = acquireLimits(s.url + " " + dsn.GetPublicKey())
	return s
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
		s.limits.extend(ParseRateLimits(v, now))
		return
	}
	if status != http.StatusTooManyRequests {
		return
	}
	wait, ok := httpexport.RetryAfter(h, now)
	if !ok {
		wait = defaultRetryAfter
	}
	s.limits.extend(map[string]time.Time{"": now.Add(wait)})
}

// limitedFor is how long events of category stay rate limited.
func (s *sender) limitedFor(category string, now time.Time) time.Duration {
	return s.limits.limitedFor(category, now)
}

// extend records limits, keeping the later end of each category's. The
// map holds at most one entry per data category Sentry names.
func (l *rateLimits) extend(limits map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, until := range limits {
		if until.After(l.until[c]) {
			l.until[c] = until
		}
	}
}

func (l *rateLimits) limitedFor(category string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.until[category]
	if all := l.until[""]; all.After(until) {
		until = all
	}
	return until.Sub(now)
}

// maxRateLimit caps one X-Sentry-Rate-Limits delay.
const maxRateLimit = 24 * time.Hour

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
		if err != nil || !(secs >= 0) { // NaN too
			continue
		}
		// Sentry's limits may run to the end of a quota period, hours
		// away, and are honoured; beyond maxRateLimit an event is tried
		// again and a Sentry still limiting says so. (Uncapped, a huge
		// value overflowed the conversion to a Duration.)
		until := now.Add(time.Duration(min(secs, maxRateLimit.Seconds()) * float64(time.Second)))
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
