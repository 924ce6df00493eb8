package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-otel/vigil/extension/redisstorageextension/internal/metadata"
)

// Values of the outcome attribute (metadata.yaml).
var (
	outcomeAcquired = metric.WithAttributes(attribute.String("outcome", "acquired"))
	outcomeHeld     = metric.WithAttributes(attribute.String("outcome", "held"))
	outcomeRenewed  = metric.WithAttributes(attribute.String("outcome", "renewed"))
	outcomeFailed   = metric.WithAttributes(attribute.String("outcome", "failed"))
)

// registerTelemetry exports the coordinator's counts as the extension's
// own telemetry. They are read at each collection, so every series is
// there from the start, at 0, and an evaluator that never claimed a
// service still says so.
func registerTelemetry(set component.TelemetrySettings, st *leaseStats) (*metadata.TelemetryBuilder, error) {
	b, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	err = errors.Join(
		b.RegisterRedisStorageOwnedServicesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.owned.Load())
			return nil
		}),
		b.RegisterRedisStorageLeaseClaimsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.claimsAcquired.Load(), outcomeAcquired)
			o.Observe(st.claimsHeld.Load(), outcomeHeld)
			o.Observe(st.claimsFail.Load(), outcomeFailed)
			return nil
		}),
		b.RegisterRedisStorageLeaseRenewalsCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.renewed.Load(), outcomeRenewed)
			o.Observe(st.renewFailed.Load(), outcomeFailed)
			return nil
		}),
		b.RegisterRedisStorageLeaseLossesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.losses.Load())
			return nil
		}),
		b.RegisterRedisStorageHandoversCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.handovers.Load())
			return nil
		}),
	)
	if err != nil {
		b.Shutdown()
		return nil, err
	}
	return b, nil
}
