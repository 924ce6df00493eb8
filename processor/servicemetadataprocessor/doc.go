//go:generate go tool mdatagen metadata.yaml

// Package servicemetadataprocessor implements the service_metadata
// processor: it splits every request by the service.name of its resources
// and passes each service's part on with that name in the request's client
// metadata (key "service.name" by default).
//
// It exists so that contrib's kafka exporter can key every record by
// service (traces::message_key_from_metadata_key and the same for metrics
// and logs): records of one service then land on one partition, and the
// one consumer of that partition, an evaluator, owns the service. The
// kafka exporter's own partition_* options key by trace ID or by a hash of
// all resource attributes (host and pod included), which would spread a
// service over partitions; contrib has no processor that sets client
// metadata from the data (a component for it is proposed upstream), so
// this one does that and nothing else. The exporter's persistent sending
// queue keeps client metadata with each request.
//
// Like the collector's fan-out, a failure of one service's part is
// returned (the parts joined) while the parts already taken stay taken:
// a retry of the whole request can repeat them.
package servicemetadataprocessor // import "github.com/vigil-otel/vigil/processor/servicemetadataprocessor"
