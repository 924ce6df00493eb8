package sloconnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/ownership"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// fleetState is the connector's part in a fleet (issue 16), when its
// storage extension coordinates ownership of services (redis_storage):
//
//   - every span and point is accounted, whatever its service, and its
//     service observed, so the coordinator claims it;
//   - SLO series and alert events are emitted only for owned services, so
//     each service's series come from one evaluator and a service that
//     moved away neither resolves nor repeats its alerts here;
//   - checkpoints are written per owned service (checkpointServices), and
//     a service taken over has its last checkpoint merged into what was
//     accounted meanwhile (Acquired); a service handed over is written
//     once more and dropped (Released).
type fleetState struct {
	c     *sloConnector
	owner ownership.Coordinator
	// mu orders evaluations, checkpoints and ownership changes: the
	// firing set and the tracker's per-service state change only under it.
	mu         sync.Mutex
	unregister func()
}

func (c *sloConnector) startFleet(owner ownership.Coordinator) {
	c.fleet = &fleetState{c: c, owner: owner}
	c.events.owns = owner.Owns
	c.metrics.setProvisional(func(service string) bool { return !owner.Owns(service) })
	c.fleet.unregister = owner.Register(c.fleet)
}

// serviceKey is the storage key of one service's state. Every evaluator
// uses the same key, so the next owner reads what the previous one wrote.
func serviceKey(id fmt.Stringer, service string) string {
	return "slo_state/" + id.String() + "/" + url.PathEscape(service)
}

func (f *fleetState) observeTraces(td ptrace.Traces) {
	last := ""
	for _, rs := range td.ResourceSpans().All() {
		if v, ok := rs.Resource().Attributes().Get(conventions.AttrServiceName); ok {
			if s := v.AsString(); s != last {
				f.owner.Observe(s)
				last = s
			}
		}
	}
}

func (f *fleetState) observeMetrics(md pmetric.Metrics) {
	last := ""
	for _, rm := range md.ResourceMetrics().All() {
		if v, ok := rm.Resource().Attributes().Get(conventions.AttrServiceName); ok {
			if s := v.AsString(); s != last {
				f.owner.Observe(s)
				last = s
			}
		}
	}
}

// ownedOnly keeps the statuses and transitions of owned services.
func (f *fleetState) ownedOnly(statuses []tracker.Status, transitions []tracker.Transition) ([]tracker.Status, []tracker.Transition) {
	keptS := statuses[:0]
	for _, s := range statuses {
		if f.owner.Owns(s.SLO.Service) {
			keptS = append(keptS, s)
		}
	}
	keptT := transitions[:0]
	for _, t := range transitions {
		if f.owner.Owns(t.SLO.Service) {
			keptT = append(keptT, t)
		}
	}
	return keptS, keptT
}

// serviceState is the checkpoint of one service: checkpointState with
// the tracker's snapshot, the firing alerts and the cumulative metric
// streams of that service only.
func (f *fleetState) serviceState(service string) ([]byte, error) {
	snap, err := f.c.tracker.SnapshotService(service)
	if err != nil {
		return nil, err
	}
	firing := map[string]*firingAlert{}
	for fp, fa := range f.c.events.firing {
		if fa.Labels[conventions.AttrServiceName] == service {
			firing[fp] = fa
		}
	}
	return json.Marshal(checkpointState{Version: stateVersion, Tracker: snap, Firing: firing, Cumulative: f.c.metrics.snapshotService(service)})
}

// checkpointServices writes the state of every owned service, in one
// round trip to the store.
func (c *sloConnector) checkpointServices(ctx context.Context) error {
	f := c.fleet
	f.mu.Lock()
	ops, err := f.serviceOps(c.tracker.Services())
	f.mu.Unlock()
	return errors.Join(err, f.batch(ctx, ops))
}

// writeServices writes the state of the owned services among services,
// in one round trip; the caller holds mu, so that the state written is
// the evaluation's (see checkpointTransitions).
func (f *fleetState) writeServices(ctx context.Context, services []string) error {
	ops, err := f.serviceOps(services)
	return errors.Join(err, f.batch(ctx, ops))
}

// serviceOps are the writes of the owned services' checkpoints; the
// caller holds mu.
func (f *fleetState) serviceOps(services []string) ([]*storage.Operation, error) {
	var ops []*storage.Operation
	var errs []error
	for _, service := range services {
		if !f.owner.Owns(service) {
			continue
		}
		data, err := f.serviceState(service)
		if err != nil {
			errs = append(errs, fmt.Errorf("slo checkpoint of %s: %w", service, err))
			continue
		}
		ops = append(ops, storage.SetOperation(serviceKey(f.c.id, service), data))
	}
	return ops, errors.Join(errs...)
}

func (f *fleetState) batch(ctx context.Context, ops []*storage.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	if err := f.c.storage.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("slo checkpoint: %w", err)
	}
	return nil
}

// Acquired implements ownership.Handler: the last checkpoint of the
// service is merged into what this evaluator accounted since its data
// started arriving here.
func (f *fleetState) Acquired(ctx context.Context, service string) error {
	data, err := f.c.storage.Get(ctx, serviceKey(f.c.id, service))
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Alerts this evaluator computed before owning the service were never
	// reported: the previous owner's are the service's.
	for fp, fa := range f.c.events.firing {
		if fa.Labels[conventions.AttrServiceName] == service {
			delete(f.c.events.firing, fp)
		}
	}
	var st checkpointState
	if len(data) > 0 {
		if err := json.Unmarshal(data, &st); err != nil {
			f.c.logger.Warn("The SLO checkpoint of a service taken over is unreadable; it starts from what this evaluator saw", zap.String("service", service), zap.Error(err))
			st = checkpointState{Version: stateVersion}
		}
		if st.Version != stateVersion {
			f.c.logger.Warn("The SLO checkpoint of a service taken over has another version; ignored", zap.String("service", service), zap.Int("version", st.Version))
			st = checkpointState{Version: stateVersion}
		}
	}
	// The service's metric streams continue from the previous owner's
	// last points, also when there are none (a service new to the fleet:
	// the streams that started while watched count from their start).
	if err := f.c.metrics.adoptService(service, st.Cumulative); err != nil {
		f.c.logger.Warn("Some cumulative streams of a service taken over are unreadable; their next point is a baseline", zap.String("service", service), zap.Error(err))
	}
	if len(data) == 0 {
		return nil
	}
	if len(st.Tracker) > 0 {
		if err := f.c.tracker.Merge(st.Tracker); err != nil {
			f.c.logger.Warn("Merging the SLO checkpoint of a service taken over", zap.String("service", service), zap.Error(err))
		}
	}
	for fp, fa := range st.Firing {
		if fa != nil && fa.Labels != nil {
			f.c.events.firing[fp] = fa
		}
	}
	return nil
}

// Released implements ownership.Handler.
func (f *fleetState) Released(ctx context.Context, service string, handover bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if handover {
		data, err := f.serviceState(service)
		if err == nil {
			err = f.c.storage.Set(ctx, serviceKey(f.c.id, service), data)
		}
		f.c.tel.wrote(err)
		if err != nil {
			f.c.logger.Warn("Writing the SLO state of a service handed over failed; its next owner starts from the last checkpoint", zap.String("service", service), zap.Error(err))
		}
	}
	f.c.tracker.ForgetService(service)
	f.c.metrics.forgetService(service)
	for fp, fa := range f.c.events.firing {
		if fa.Labels[conventions.AttrServiceName] == service {
			delete(f.c.events.firing, fp)
		}
	}
	f.c.endService(ctx, service)
}
