package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"sync"
	"time"

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
	err := h.r.engine.RestoreService(ctx, service, h.r.now())
	h.r.warnDropped()
	return err
}

// Released drops the service's alerts without notifying. Its handovers in
// progress get releaseGrace to finish, so that what they hand over is
// recorded in the log the next owner loads; a pipeline still holding one
// after that (its exporter waits for a receiver that is down) has it
// cancelled: the next owner sends it, from the pending entry MarkSending
// wrote. Only this service's handovers are waited for, so neither
// another service nor the coordinator waits on a receiver that is down.
//
// On a handover the log is then written once more (Persist): MarkSending
// and MarkSent write it at every notification, but a resolve received and
// not yet sent (LogEntry.ResolvedAt) waits for the persist loop, and a
// write that failed is retried there too, so the next owner loads all of
// it. A handover that finishes after ForgetService changes nothing: the
// engine no longer has its notification in flight.
func (h fleetHandler) Released(ctx context.Context, service string, handover bool) {
	if n := h.r.handovers.release(ctx, service, releaseGrace); n > 0 {
		h.r.logger.Warn("Handovers of a service given up still in progress after the grace; cancelled, the next owner sends them",
			zap.String("service", service), zap.Int("handovers", n))
	}
	if handover {
		if err := h.r.engine.Persist(ctx); err != nil {
			h.r.logger.Warn("Writing the notification log before handing a service over failed", zap.String("service", service), zap.Error(err))
		}
	}
	h.r.engine.ForgetService(service)
}

// handovers tracks the handovers in progress by service: each worker
// registers the notification it hands to its pipeline, and a service
// given up waits for its own (release).
type handovers struct {
	mu        sync.Mutex
	byService map[string]map[*handover]struct{}
}

type handover struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// start registers a handover of a notification of service; its context
// is parent's, cancelled by release too. Call done when it is over.
func (hs *handovers) start(parent context.Context, service string) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(parent)
	h := &handover{cancel: cancel, done: make(chan struct{})}
	hs.mu.Lock()
	if hs.byService == nil {
		hs.byService = map[string]map[*handover]struct{}{}
	}
	if hs.byService[service] == nil {
		hs.byService[service] = map[*handover]struct{}{}
	}
	hs.byService[service][h] = struct{}{}
	hs.mu.Unlock()
	return ctx, func() {
		hs.mu.Lock()
		delete(hs.byService[service], h)
		if len(hs.byService[service]) == 0 {
			delete(hs.byService, service)
		}
		hs.mu.Unlock()
		cancel()
		close(h.done)
	}
}

// release waits up to grace (or ctx) for the handovers of service in
// progress to finish and cancels those that have not; it returns how many
// it cancelled. Handovers that start afterwards see the service unowned
// (the coordinator reports it so before releasing it).
func (hs *handovers) release(ctx context.Context, service string, grace time.Duration) int {
	hs.mu.Lock()
	var pending []*handover
	for h := range hs.byService[service] {
		pending = append(pending, h)
	}
	hs.mu.Unlock()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	cancelled := 0
	for _, h := range pending {
		select {
		case <-h.done:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		// Out of time: cancel this one and every other still running.
		for _, h := range pending {
			select {
			case <-h.done:
			default:
				h.cancel()
				cancelled++
			}
		}
		break
	}
	return cancelled
}
