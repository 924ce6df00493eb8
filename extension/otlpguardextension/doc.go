//go:generate go tool mdatagen metadata.yaml

// Package otlpguardextension implements the otlp_guard extension: a server
// middleware that every receiver built on confighttp or configgrpc takes
// through its `middlewares:` setting. It measures how deep the values of an
// OTLP request nest (AnyValue arrays and key-value lists inside one
// another) on the raw, decompressed bytes, before any decoder allocates,
// and refuses a request nested deeper than max_depth with HTTP 400 or gRPC
// InvalidArgument, counting it.
//
// Why it exists: pdata's decoders, and what renders values later (the
// Prometheus exporter's label values go through encoding/json), recurse
// once per level, so one OTLP request of nested key-value lists a million
// levels deep (17.5 MB, under the default 20 MiB body limit) overflows the
// goroutine stack, and Go cannot recover from that: the whole process
// dies. Real SDKs nest a few levels at most.
//
// Over HTTP the guard reads the body (after confighttp's decompression and
// within its max_request_body_size), checks it and hands it on. Over gRPC
// it is the server's codec: it checks the message's bytes, then lets
// pdata's codec decode them; a refused message is never decoded, and a
// unary interceptor answers InvalidArgument for it.
package otlpguardextension // import "github.com/vigil-otel/vigil/extension/otlpguardextension"
