// Package dedup makes a consumer's accounting idempotent across retries
// of the same request: a consumer that counts what it receives (the slo
// and anomaly connectors) or stores it where duplicates stay (the
// clickhouse exporter) accepts a request it has already accepted without
// acting on it again.
//
// Why a consumer has to: the collector's fan-out hands a request to every
// consumer of a pipeline, and a receiver to every pipeline, and returns
// any one consumer's error to the receiver. The sender (an OpenTelemetry
// SDK, a gateway's exporterhelper with max_elapsed_time 0) then sends the
// same request again, to every consumer, those that had accepted it
// included. When a storage exporter's sending queue is full every request
// of its signal is refused and retried for as long as the queue stays
// full: 200 spans became 4,840 SLO events in 30 s in a trial with a
// 50-row ClickHouse queue. Nothing in the collector's own machinery tells
// the consumers that accepted a request apart from those that refused it,
// or a retry from a new request: only the consumer knows what it
// accepted, so each remembers it.
//
// How: each such consumer keeps a Window of the Fingerprints of the
// requests it accepted, and a request whose fingerprint the window holds
// is a repeat: the consumer answers it with success and counts it (its
// otelcol_<type>_repeated_requests telemetry), so operators see retries
// being absorbed. A fingerprint is recorded only once the consumer's own
// processing succeeded: a request it refused itself (its queue was full)
// is taken when it comes again, and exporterhelper's own retries, which
// run behind the consumer's entry point, are not seen here at all.
//
// A fingerprint is a 128-bit xxh3 hash of what identifies a request's
// records (Traces, Logs, Metrics): for spans their trace, span and
// parent IDs, start and end times, kind and status (IDs are unique by
// design; 56 bytes a span, no name or attribute read), the whole content
// of log records and metric points, where nothing short of that tells
// two records apart. A request whose records cannot be told
// apart from another's (a span without IDs, a record or point without a
// time) gets none and is handled as before, every time.
//
// The window (Config) remembers a fingerprint for at least Config.Window
// after the request was last seen: each repeat refreshes it, so a sender
// that retries without end stays caught as long as its tries are less
// than the window apart. The default, 5 minutes, covers the OpenTelemetry
// Go SDK's retries (for up to a minute, at most 30 s apart, give or take
// jitter), the Vigil gateway's (without end, at most 5 s apart before
// jitter, gateway.yaml) and a gateway that restarts and sends
// its disk queue again within minutes, and is configurable for senders
// that wait longer between tries. The window is bounded in count too
// (Config.MaxRequests, 65,536 by default: about 3.5 MB when full,
// whatever the rate, TestWindowMemory): where more requests than that
// arrive within the window, a request is remembered for at least
// MaxRequests/2 newer ones rather than for the whole window. At 100,000
// spans/s in requests of 500 spans that is more than 2.5 minutes; and while
// a consumer refuses, senders wait on their retries and send few new
// requests. Memory is taken as requests arrive, so a quiet consumer uses
// little.
//
// What it does not catch, by design:
//   - A retry that differs by batching: a sender that merges or splits
//     requests between tries (a batch processor or a batching sending
//     queue in front of Vigil) sends another request, counted again.
//     Vigil's gateway does not batch: what it sends again has the same
//     records, though for logs and metrics the services of an
//     evaluator's part may come in another order (contrib's
//     load_balancing exporter merges them in map order), which the
//     fingerprint ignores (resourceSet).
//   - A request that overlaps an earlier one (some of its records, and
//     new ones) is a new request and all of it counts; remembering
//     records one by one would cost a hundred times the memory.
//   - A restart: the window is in memory, so a request retried across a
//     restart counts once more. Not persisted on purpose: after a crash
//     the counts since the last checkpoint are lost too, and the retry of
//     a request accepted since restores them; saving the fingerprints
//     without the counts they stand for would lose that.
//   - Another process: in a fleet, a retry that lands on another
//     evaluator (the gateways' ring changed between the tries: scale out
//     or in, a crash) is counted there. The gateway routes a service to
//     one evaluator, so while the ring holds, retries find the evaluator
//     that remembers them.
//   - Concurrent tries: Window.Accept records a fingerprint before the
//     consumer acts, for consumers that cannot fail (the connectors), so
//     a try that arrives while the first is still being processed (a
//     sender that timed out waiting) is a repeat too. A consumer that can
//     fail (the exporter) records after it succeeded, so two concurrent
//     tries may both be taken: at least once, never lost.
package dedup // import "github.com/vigil-otel/vigil/internal/dedup"
