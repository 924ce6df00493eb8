// Package ownership is how the stateful components of a fleet evaluator
// (issue 16) learn which services they own: the slo and anomaly connectors
// account every service whose data reaches them, but emit SLO series and
// alert events, and the alertrouter connector notifies, only for the
// services this evaluator owns, and each loads and drops a service's state
// when ownership moves.
//
// A Coordinator decides ownership; the redis_storage extension is one (a
// lease per service in Redis, see its doc). A component finds it through
// the storage extension its config names (FromHost): a storage extension
// that is no Coordinator, such as file_storage on a single node, means the
// process owns every service.
package ownership

import (
	"context"

	"go.opentelemetry.io/collector/component"
)

// Coordinator tells which services this process owns, and tells the
// registered Handlers when that changes. Observe and Owns are called on
// the data path and must be cheap and never block.
type Coordinator interface {
	// Observe records that data of service reached this process now. A
	// service observed and not owned is claimed when its lease is free.
	// Only data from outside counts: what a component derives from data
	// already observed (the slo connector's RED series, re-emitted at
	// every flush) would observe the service again later, when the
	// gateways may have moved it, and claim it back.
	Observe(service string)
	// Owns reports whether this process owns service now: it holds the
	// service's lease and every Handler has loaded the service's state.
	Owns(service string) bool
	// Register adds h, which is told of every service acquired or released
	// from now on; the returned func removes it.
	Register(h Handler) (unregister func())
}

// Handler loads and drops the state of a component for one service.
type Handler interface {
	// Acquired loads the state of service from the shared store and adds
	// it to what was accounted here since the service's data first arrived
	// (the previous owner and this process saw disjoint data). It runs
	// before Owns(service) turns true; an error leaves the service unowned
	// and it is tried again.
	Acquired(ctx context.Context, service string) error
	// Released drops the state of service, which Owns no longer reports:
	// without a notification, an alert event or a resolve, since the
	// service's alerts now belong to its next owner. With handover, the
	// lease is still held and the state is written first, for the next
	// owner to load; without, the lease was lost (another process took it
	// over from the state last written) and nothing may be written.
	Released(ctx context.Context, service string, handover bool)
}

// FromHost returns the Coordinator of the extension id, or nil when that
// extension is none (every service is then owned).
func FromHost(host component.Host, id component.ID) Coordinator {
	c, _ := host.GetExtensions()[id].(Coordinator)
	return c
}

// Owns reports whether c owns service; a nil c owns every service.
func Owns(c Coordinator, service string) bool {
	return c == nil || c.Owns(service)
}
