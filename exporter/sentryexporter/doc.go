//go:generate go tool mdatagen metadata.yaml

// Package sentryexporter sends errors to Sentry: spans with status Error and
// log records of severity ERROR or above become Sentry error events.
//
// The conversion is a set of pure functions (TracesToEvents, LogsToEvents,
// ParseGoStack): exception type and value from the OpenTelemetry exception
// attributes; stack frames parsed from Go panic text and zap's stacktrace
// field, oldest call first as Sentry wants, each marked in-app or not; the
// trace context (trace_id, span_id) so Sentry links the error to its trace;
// release, environment and server name from the resource; tags from chosen
// attributes; and a fingerprint (service, exception type, newest in-app
// frame) so the same bug groups into one Sentry issue.
//
// Each event is posted as an envelope to its service's project
// (dsn_by_service, else dsn), one small sender per DSN. The exporter does
// not use sentry-go's HTTP transport: that transport queues in memory,
// drops events it cannot send and reports nothing back, while here every
// failure must reach exporterhelper, which owns queueing and retries. The
// sender classifies outcomes instead: 429 is a throttle for the delay
// Sentry gives (X-Sentry-Rate-Limits for the error category, else
// Retry-After), 5xx and network errors are retried, other 4xx are
// permanent. Event IDs are derived from the span or record, so a retried
// batch carries the same IDs; events already delivered are not sent again.
// The DSN's key is never logged nor put in an error.
package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"
