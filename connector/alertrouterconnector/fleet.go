package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"

	"go.uber.org/zap"
)

// fleetHandler loads and drops the notification log of a service as this
// evaluator of a fleet takes it over or gives it up (ownership.Handler).
// The coordinator reports a service owned only once every handler loaded
// it, so the log is here before the slo connector sends the service's
// first alert event; and the router ingests and notifies only the alerts
// of owned services, so an evaluator that gave a service up never
// resolves its alerts, which its new owner resolves from the shared log.
type fleetHandler struct{ r *router }

// Acquired loads the service's notification log.
func (h fleetHandler) Acquired(ctx context.Context, service string) error {
	return h.r.engine.RestoreService(ctx, service, h.r.now())
}

// Released drops the service's alerts without notifying. On a handover
// the log is written once more (Persist): MarkSending and MarkSent write
// it at every notification, but a resolve received and not yet sent
// (LogEntry.ResolvedAt) waits for the persist loop, and a write that
// failed is retried there too, so the next owner loads all of it.
func (h fleetHandler) Released(ctx context.Context, service string, handover bool) {
	h.r.handing.Lock()
	defer h.r.handing.Unlock()
	if handover {
		if err := h.r.engine.Persist(ctx); err != nil {
			h.r.logger.Warn("Writing the notification log before handing a service over failed", zap.String("service", service), zap.Error(err))
		}
	}
	h.r.engine.ForgetService(service)
}
