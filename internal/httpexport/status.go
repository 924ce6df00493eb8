package httpexport

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Class is what an HTTP status means for an exporter's request.
type Class int

const (
	// Success: 2xx, the data was taken.
	Success Class = iota
	// Retryable: 408 (the server timed the request out), 429 (rate
	// limited) and 5xx (the server failed): the same request may succeed
	// later.
	Retryable
	// Permanent: every other status (400, 401, 403, 404, 413, 422, ...):
	// the same bytes would fail the same way.
	Permanent
)

// Classify returns the class of an HTTP status. Vendors with documented
// statuses of their own (PagerDuty's Events API) keep their own table;
// Loki, Sentry and Alertmanager answer as HTTP intends.
func Classify(status int) Class {
	switch {
	case status >= 200 && status < 300:
		return Success
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return Retryable
	default:
		return Permanent
	}
}

// ResponseError returns the error exporterhelper acts on for an answer of
// status with headers h: nil on success; err marked permanent
// (consumererror.NewPermanent) for a permanent status; for a retryable one,
// a throttle (exporterhelper.NewThrottleRetry) after the answer's capped
// Retry-After when it has one, else err as it is, retried with backoff.
func ResponseError(status int, h http.Header, err error, now time.Time) error {
	switch Classify(status) {
	case Success:
		return nil
	case Retryable:
		if d, ok := RetryAfter(h, now); ok {
			return exporterhelper.NewThrottleRetry(err, d)
		}
		return err
	default:
		return consumererror.NewPermanent(err)
	}
}

// Bounds of ReadErrorBody. A server, or something posing as one, may answer
// with an endless body: an error message needs its start only, and the
// rest is drained up to a bound so the connection can be reused, or left
// for the transport to close.
const (
	// MaxErrorBody is how much of an error body ends up in an error.
	MaxErrorBody = 1 << 10
	// MaxDrain is how much more is read and discarded.
	MaxDrain = 64 << 10
)

// ReadErrorBody reads the start of a response body for an error message
// (at most MaxErrorBody bytes, trimmed, invalid UTF-8 replaced) and drains
// up to MaxDrain more. The caller still closes the body.
func ReadErrorBody(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, MaxErrorBody))
	Drain(body)
	return ErrorMessage(b)
}

// ErrorMessage is what ReadErrorBody makes of a body, for a caller that
// read more of it (to parse it whole): its first MaxErrorBody bytes,
// trimmed, invalid UTF-8 replaced.
func ErrorMessage(body []byte) string {
	if len(body) > MaxErrorBody {
		body = body[:MaxErrorBody]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD"))
}

// Drain reads and discards up to MaxDrain bytes of a response body, so
// that the connection can carry the next request.
func Drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, MaxDrain)
}

// StatusError is a non-2xx answer: the status and the start of the body.
type StatusError struct {
	// Server names who answered, in the exporter's words ("Loki",
	// "Alertmanager", "Sentry project 42 at o1.ingest.sentry.io").
	Server  string
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s answered HTTP %d %s", e.Server, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s answered HTTP %d %s: %s", e.Server, e.Status, http.StatusText(e.Status), e.Message)
}
