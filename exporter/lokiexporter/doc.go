//go:generate go tool mdatagen metadata.yaml

// Package lokiexporter sends log records to Grafana Loki through its push
// API (POST /loki/api/v1/push, snappy-compressed protobuf), which Loki 2.x
// and 3.x both accept.
//
// Each record becomes one Loki entry. Stream labels are a small,
// low-cardinality set: service_name, service_namespace,
// deployment_environment and level by default, plus the resource and log
// attributes named in the labels allowlist, with names sanitised to Loki's
// label rules and at most 15 of them (Loki's default
// max_label_names_per_series). Everything else travels as structured
// metadata (trace_id, span_id, severity_text, the remaining attributes) or
// in the line, so a trace ID or a user ID never becomes a label by default:
// every distinct label set is a stream Loki must index.
//
// The line is the body, or JSON or logfmt of the body plus the log
// attributes. Lines longer than max_line_size (Loki's own default, 256KB)
// are truncated with a marker rather than rejected by Loki.
//
// Entries are grouped per stream and ordered by timestamp within it. Queueing,
// batching and retries are left to exporterhelper: this package only
// classifies failures (429 and 5xx are retried, honouring Retry-After; other
// 4xx are permanent and counted by reason; of a 400 saying Loki stored the
// push but for some entries, only those are counted).
package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"
