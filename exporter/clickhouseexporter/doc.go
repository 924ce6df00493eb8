//go:generate go tool mdatagen metadata.yaml

// Package clickhouseexporter stores traces, logs, metrics and Vigil's alert
// history in ClickHouse over the native protocol.
//
// The tables follow the OpenTelemetry schema that the Grafana ClickHouse
// data source reads (otel_traces, otel_traces_trace_id_ts, otel_logs,
// otel_metrics_*), plus vigil_alerts, which keeps every alert event for
// history and time-to-resolve. The schema is created by versioned
// migrations that only ever add, so an upgrade never breaks a table or a
// Grafana view that already exists.
//
// The mapping from pdata to column values is a set of pure functions
// (TracesToColumns, LogsToColumns, MetricsToColumns); queueing, batching and
// retries are left to exporterhelper, and this package only classifies
// errors as transient or permanent. In front of exporterhelper, a window
// of the requests taken keeps a sender's retry of one from being queued,
// and stored, a second time (dedup.go, package internal/dedup).
package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"
