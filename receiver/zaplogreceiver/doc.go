//go:generate go tool mdatagen metadata.yaml

// Package zaplogreceiver implements the zaplog receiver: it reads the output
// of go.uber.org/zap's JSON and console encoders from files, TCP connections
// and HTTP requests and turns every record into an OpenTelemetry log record
// with no operator configuration: level to severity, message to body, caller
// to code.* attributes, stacktrace to exception.stacktrace, trace_id and
// span_id to the record's trace context, every other field to a typed
// attribute. A Go runtime crash report (an unrecovered panic, a fatal error)
// among the lines becomes one FATAL record with its exception.* attributes.
// A line that is not a zap record is kept whole as the body and marked with
// zaplog.parse_error, so nothing is lost.
package zaplogreceiver // import "github.com/vigil-otel/vigil/receiver/zaplogreceiver"
