// Package httpexport holds what Vigil's HTTP exporters (pagerduty,
// alertmanager, loki, sentry) share when they read a server's answer: the
// Retry-After header, with one cap for all of them; what a status means
// (success, retry, give up); and a bounded read of an error body.
//
// The exporters leave queueing and retries to exporterhelper: ResponseError
// turns an answer into the error kinds it acts on, as the collector's
// otlphttp exporter does.
package httpexport

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps every Retry-After delay. A server (or a broken proxy)
// asking for hours would otherwise park the exporter's queue behind one
// request; after the cap the request is simply tried again, and a server
// still limiting answers with a new delay.
const MaxRetryAfter = 15 * time.Minute

// RetryAfter reads the Retry-After header of h as a delay from now: either
// delay-seconds (digits only, as the RFC defines them) or an
// HTTP-date (RFC 9110, section 10.2.3). ok is false when the header is
// absent, negative or unreadable; a date in the past gives 0 and true; any
// delay is capped at MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// ParseRetryAfter reads one Retry-After value; see RetryAfter.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs >= int64(MaxRetryAfter/time.Second) { // only overflow fails
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
