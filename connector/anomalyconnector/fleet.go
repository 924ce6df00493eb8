package anomalyconnector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/internal/ownership"
	"github.com/vigil-otel/vigil/internal/staleness"
)

// fleetState is the connector's part in a fleet (issue 16), when its
// storage extension coordinates ownership of services (redis_storage).
// Detectors are state that cannot be added up, so unlike the slo
// connector's counts nothing is accounted for a service before it is
// owned:
//
//   - a point of a service this evaluator does not own is not fed to any
//     detector; only its cumulative stream's baseline is kept (so the
//     first interval after a takeover counts its own increase), and the
//     service is observed, so the coordinator claims it; but not a point
//     this collector derived itself (see derivedHere);
//   - a service taken over has its detectors loaded from the shared store,
//     where its previous owner checkpointed them (Acquired): they resume
//     learned, with their alert state, instead of warming up again;
//   - every checkpoint_interval each owned service's detectors are written
//     under a key of their own (checkpointServices), and so are those of
//     a service with an alert transition, at the transition
//     (writeTransitions); a service handed over
//     is written once more and dropped (Released), one whose lease was
//     lost is dropped without writing, and neither resolves its alerts:
//     they are the next owner's. Series whose alert events did not go
//     out while the service was owned here are handed over to be
//     announced (core.delivered), and the next owner re-sends the
//     service's firing alerts at its first interval (Acquired).
type fleetState struct {
	owner      ownership.Coordinator
	unregister func()
	// instanceID is this collector's instance ID, with which the slo
	// connector's RED series (as span_metrics') are labelled: see
	// derivedHere.
	instanceID string
	// written are the services whose state this evaluator wrote, so that
	// the key of a service whose series all expired is deleted rather
	// than left for the next owner to load. Guarded by core.writeMu,
	// which also makes a handover wait for a checkpoint or an interval's
	// transition writes in flight, so an older state never lands after
	// the state the handover wrote.
	written map[string]bool
	// gone are, by service, the series forgotten with a resolve that has
	// not gone out to a router yet (see core.delivered): a handover
	// passes them on, flagged to be announced, so that the next owner
	// sends the resolve. Guarded by core.mu.
	gone map[string]map[*series]struct{}
}

// undelivered records that the resolve of s, forgotten, has not gone out
// yet.
func (f *fleetState) undelivered(s *series) {
	if f.gone[s.id.service] == nil {
		f.gone[s.id.service] = map[*series]struct{}{}
	}
	f.gone[s.id.service][s] = struct{}{}
}

// takeUndelivered forgets and returns the series of service forgotten
// with a resolve not yet out: all of them, or only s if not nil.
func (f *fleetState) takeUndelivered(service string, s *series) []*series {
	gone := f.gone[service]
	var out []*series
	for g := range gone {
		if s == nil || g == s {
			out = append(out, g)
			delete(gone, g)
		}
	}
	if len(gone) == 0 {
		delete(f.gone, service)
	}
	return out
}

// serviceStateFormat is the version byte of a service's state value,
// after checkpointMagic; the rest is one chunk (see checkpoint.go).
const serviceStateFormat = 1

// checkpointBatch and checkpointBatchBytes bound the services, and their
// bytes, written in one storage round trip: what waits to be written is
// at most about checkpointBatchBytes and one service, since a service's
// state is one value, held whole however large the service (5000 series
// are some 15 MB).
const (
	checkpointBatch      = 64
	checkpointBatchBytes = 4 << 20
)

// serviceWrites gathers services' state values into round trips bounded
// by checkpointBatch and checkpointBatchBytes; c.writeMu held.
type serviceWrites struct {
	c     *core
	ops   []*storage.Operation
	batch []string
	bytes int
	errs  []error
}

// add queues the state value of svc, and writes the queue when full.
func (w *serviceWrites) add(ctx context.Context, svc string, value []byte) {
	w.ops = append(w.ops, storage.SetOperation(serviceStateKey(svc), value))
	w.batch = append(w.batch, svc)
	w.bytes += len(value)
	if len(w.ops) >= checkpointBatch || w.bytes >= checkpointBatchBytes {
		w.send(ctx)
	}
}

// send writes the queue in one round trip.
func (w *serviceWrites) send(ctx context.Context) {
	if len(w.ops) == 0 {
		return
	}
	if err := w.c.client.Batch(ctx, w.ops...); err != nil {
		w.errs = append(w.errs, err)
	} else {
		for _, svc := range w.batch {
			w.c.fleet.written[svc] = true
		}
	}
	// New slices rather than [:0]: the values written are garbage now.
	w.ops, w.batch, w.bytes = nil, nil, 0
}

// flush writes what is queued and returns every failure.
func (w *serviceWrites) flush(ctx context.Context) error {
	w.send(ctx)
	return errors.Join(w.errs...)
}

func (c *core) startFleet(owner ownership.Coordinator) {
	c.fleet = &fleetState{owner: owner, instanceID: collectorInstanceID(c.set.Resource), written: map[string]bool{},
		gone: map[string]map[*series]struct{}{}}
	c.fleet.unregister = owner.Register(c)
}

// collectorInstanceID is the instance ID this collector's span_metrics-
// style RED series carry in collector.instance.id: the slo connector takes
// it from the same resource, looking the keys up in the same order.
func collectorInstanceID(res pcommon.Resource) string {
	for _, k := range []string{attrCollectorInstanceID, "service.instance.id"} {
		if v, ok := res.Attributes().Get(k); ok {
			return v.AsString()
		}
	}
	return ""
}

// owns reports whether this process evaluates service now. In a fleet it
// also records, for a point that came from outside, that the service's
// data arrived here.
func (c *core) owns(service string, attrs pcommon.Map) bool {
	if c.fleet == nil {
		return true
	}
	if !c.fleet.derivedHere(attrs) {
		c.fleet.owner.Observe(service)
	}
	return c.fleet.owner.Owns(service)
}

// derivedHere reports whether a point is one this collector derived
// itself: a RED series of the slo connector (in the shipped evaluator,
// everything this connector reads), labelled with this collector's
// instance ID. Its spans were observed when they arrived. Observing the
// point again would be an echo, not data: the RED series are cumulative
// and re-emitted at every flush for as long as the process runs, also for
// services that moved elsewhere, so each echo would claim back (want) a
// service the gateways now send to another evaluator, and that owner,
// when its own traffic of the service pauses for handover_quiet, would
// hand it back: services went back and forth every flush interval, and
// two evaluators reported the same service (issue 16, the flaky
// TestScaleOutThenIn).
func (f *fleetState) derivedHere(attrs pcommon.Map) bool {
	v, ok := attrs.Get(attrCollectorInstanceID)
	return ok && v.AsString() == f.instanceID
}

// serviceStateKey is the storage key of one service's detectors, the same
// on every evaluator, so the next owner reads what the previous one wrote.
func serviceStateKey(service string) string {
	return "anomaly/service/" + url.PathEscape(service)
}

// serviceStatePrefix begins a service's state value: the chunk of its
// series follows.
func serviceStatePrefix() []byte { return append([]byte(checkpointMagic), serviceStateFormat) }

// encodeService serialises the series of one service; c.mu held.
func (c *core) encodeService(list []*series) ([]byte, error) {
	return c.encodeChunkLocked(serviceStatePrefix(), list)
}

// decodeService reads a value of encodeService.
func (c *core) decodeService(b []byte) (chunk, error) {
	if len(b) < len(checkpointMagic)+1 || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return chunk{}, errors.New("not a service's anomaly state")
	}
	if v := b[len(checkpointMagic)]; v != serviceStateFormat {
		return chunk{}, fmt.Errorf("format %d, want %d", v, serviceStateFormat)
	}
	return c.decodeChunk(b[len(checkpointMagic)+1:])
}

// checkpointServices writes the detectors of every owned service, each
// under its own key, in round trips of a bounded size (serviceWrites);
// c.writeMu held. The lock that flushes need is held while one service is
// encoded.
func (c *core) checkpointServices(ctx context.Context) error {
	f := c.fleet
	c.mu.Lock()
	byService := map[string][]*series{}
	for _, s := range c.series {
		byService[s.id.service] = append(byService[s.id.service], s)
	}
	c.mu.Unlock()
	var errs []error
	rt := serviceWrites{c: c}
	for _, svc := range slices.Sorted(maps.Keys(byService)) {
		c.mu.Lock()
		// A service given up since the list was taken is no longer this
		// evaluator's to write.
		if !f.owner.Owns(svc) {
			c.mu.Unlock()
			continue
		}
		b, err := c.encodeService(byService[svc])
		c.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("anomaly checkpoint of %s: %w", svc, err))
			continue
		}
		rt.add(ctx, svc, b)
	}
	if err := rt.flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("anomaly checkpoint: %w", err))
	}
	// Owned services whose series have all expired: their stored state
	// is gone too.
	for svc := range f.written {
		if byService[svc] == nil && f.owner.Owns(svc) {
			if err := c.client.Delete(ctx, serviceStateKey(svc)); err != nil {
				errs = append(errs, fmt.Errorf("anomaly checkpoint of %s: %w", svc, err))
				continue
			}
			delete(f.written, svc)
		}
	}
	return errors.Join(errs...)
}

// Acquired implements ownership.Handler: the service's detectors are
// loaded from its last checkpoint. Nothing of the service is held here
// (points of services not owned are not learned), so they replace
// nothing. A state that does not load costs the service a warm-up, not
// the takeover.
//
// Its firing alerts are re-sent at the first interval that owns it (see
// expire), not at their next resend_interval: the previous owner's
// router forgets, with the service, an alert it had taken and not yet
// notified (its group_wait), and the router here knows only what was
// notified (the shared notification log), which keeps a re-send of those
// from paging again.
func (c *core) Acquired(ctx context.Context, service string) error {
	data, err := c.client.Get(ctx, serviceStateKey(service))
	if err != nil {
		return err
	}
	var list []*series
	dropped := 0
	if len(data) > 0 {
		var ch chunk
		ch, err = c.decodeService(data)
		list, dropped = ch.list, ch.dropped
		if err != nil {
			c.logger.Warn("The anomaly state of a service taken over is partly unreadable; the rest of its series start learning anew",
				zap.String("service", service), zap.Int("loaded", len(list)), zap.Error(err))
		}
	}
	for _, s := range list {
		if s.firing {
			s.lastSent = time.Time{}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropService(service)
	dropped += c.admit(list)
	c.tel.active.Store(int64(len(c.series)))
	if dropped > 0 {
		c.logger.Warn("Series of a service taken over not loaded (max_series reached, or state unreadable)",
			zap.String("service", service), zap.Int("dropped", dropped))
	}
	return nil
}

// Released implements ownership.Handler: the service's series and this
// interval's accumulators are dropped, without an alert event, and their
// gauges ended at once, so that they do not stand beside the next owner's
// until the exporter's metric_expiration; with a handover, their state is
// written first for the next owner.
func (c *core) Released(ctx context.Context, service string, handover bool) {
	f := c.fleet
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	list := c.dropService(service)
	// Series whose alert events may not have reached a router, changed or
	// forgotten (delivered), are written pending: the next owner
	// announces them at its first interval.
	gone := f.takeUndelivered(service, nil)
	var data []byte
	var err error
	if handover && len(list)+len(gone) > 0 {
		data, err = c.encodeService(append(slices.Clip(list), gone...))
	}
	c.tel.active.Store(int64(len(c.series)))
	c.mu.Unlock()
	if c.metricsOut != nil && len(list) > 0 {
		// After an interval's output that may still have the series:
		// flushAndSend holds sendMu from computing it to sending it.
		// Later than that output too: a marker at the time of a value of
		// its series is refused by Prometheus (duplicate sample for
		// timestamp).
		c.sendMu.Lock()
		at := staleness.After(c.sentAt, c.now())
		if err := c.metricsOut.ConsumeMetrics(ctx, endSeries(list, pcommon.NewTimestampFromTime(at))); err != nil {
			c.logger.Warn("Ending the anomaly series of a service handed over failed; the exporter drops them at its metric_expiration",
				zap.String("service", service), zap.Error(err))
		}
		c.sendMu.Unlock()
	}
	if !handover {
		delete(f.written, service)
		return
	}
	switch {
	case err != nil:
	case len(list)+len(gone) == 0:
		err = c.client.Delete(ctx, serviceStateKey(service))
	default:
		err = c.client.Set(ctx, serviceStateKey(service), data)
	}
	delete(f.written, service)
	c.tel.wrote(err)
	if err != nil {
		c.logger.Warn("Writing the anomaly state of a service handed over failed; its next owner starts from the last checkpoint",
			zap.String("service", service), zap.Error(err))
	}
}

// dropService removes the series and accumulators of service and returns
// the series; c.mu held.
func (c *core) dropService(service string) []*series {
	var list []*series
	for k, s := range c.series {
		if s.id.service == service {
			list = append(list, s)
			delete(c.series, k)
		}
	}
	prefix := service + "\xff"
	for k := range c.red {
		if strings.HasPrefix(k, prefix) {
			delete(c.red, k)
		}
	}
	for k, a := range c.custom {
		if a != nil && a.id.service == service {
			delete(c.custom, k)
		}
	}
	return list
}
