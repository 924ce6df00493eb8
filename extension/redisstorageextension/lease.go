package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/internal/ownership"
)

// The lease scripts run in Redis, so each read-and-write of a lease is
// atomic. KEYS[1] is the service's lease, KEYS[2] its handover request;
// ARGV[1] is this instance, ARGV[2] the lease TTL in milliseconds. They
// are sent whole (EVAL, not EVALSHA): a restarted Redis has no script
// cache, and the scripts are a few hundred bytes.
var (
	// claimScript takes a free lease (or one this instance already holds,
	// after a restart with the same instance name), or records that this
	// instance wants the service. 1: owned; 0: held by another.
	claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  return 1
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 0`)
	// renewScript extends a lease this instance holds, or takes it again
	// if it vanished (a Redis restarted without persistence). -1: held
	// by another (lost); 1: another instance wants it; 0: kept.
	renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  return -1
end
local w = redis.call('GET', KEYS[2])
if w and w ~= ARGV[1] then return 1 end
return 0`)
	// releaseScript deletes a lease this instance holds.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// handlerTimeout bounds the loading or writing of one service's state by
// one handler.
const handlerTimeout = 5 * time.Second

// coordinator holds a lease per owned service in Redis; see doc.go.
type coordinator struct {
	rdb      *redis.Client
	cfg      OwnershipConfig
	prefix   string
	instance string
	logger   *zap.Logger

	services sync.Map // service name → *service

	mu       sync.Mutex
	handlers map[int]ownership.Handler
	nextID   int

	cancel context.CancelFunc
	done   chan struct{}
	// failing is set while Redis does not answer, so the outage is
	// logged once, and its end once.
	failing bool

	stats leaseStats
}

// leaseStats counts what the coordinator did, for the extension's own
// telemetry (telemetry.go).
type leaseStats struct {
	owned                                  atomic.Int64
	claimsAcquired, claimsHeld, claimsFail atomic.Int64
	renewed, renewFailed                   atomic.Int64
	losses, handovers                      atomic.Int64
}

// service is what the coordinator knows of one service.
type service struct {
	lastSeen atomic.Int64 // Unix nanoseconds of the last Observe
	owned    atomic.Bool
}

func newCoordinator(rdb *redis.Client, cfg *Config, logger *zap.Logger) *coordinator {
	instance := cfg.Ownership.Instance
	if instance == "" {
		instance = defaultInstance()
	}
	return &coordinator{
		rdb: rdb, cfg: cfg.Ownership, prefix: cfg.Prefix, instance: instance,
		logger: logger.With(zap.String("instance", instance)), handlers: map[int]ownership.Handler{},
	}
}

func defaultInstance() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func (c *coordinator) leaseKey(svc string) string { return c.prefix + ":lease:" + svc }
func (c *coordinator) wantKey(svc string) string  { return c.prefix + ":want:" + svc }

// Observe implements ownership.Coordinator.
func (c *coordinator) Observe(name string) {
	now := time.Now().UnixNano()
	v, ok := c.services.Load(name)
	if !ok {
		v, _ = c.services.LoadOrStore(name, &service{})
	}
	v.(*service).lastSeen.Store(now)
}

// Owns implements ownership.Coordinator.
func (c *coordinator) Owns(name string) bool {
	v, ok := c.services.Load(name)
	return ok && v.(*service).owned.Load()
}

// Register implements ownership.Coordinator.
func (c *coordinator) Register(h ownership.Handler) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.handlers[id] = h
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.handlers, id)
	}
}

func (c *coordinator) handlerList() []ownership.Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int, 0, len(c.handlers))
	for id := range c.handlers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]ownership.Handler, len(ids))
	for i, id := range ids {
		out[i] = c.handlers[id]
	}
	return out
}

func (c *coordinator) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.loop(ctx)
}

// stop ends the loop and releases every lease held, so the services'
// next owners need not wait for the leases to lapse.
func (c *coordinator) stop(ctx context.Context) {
	c.cancel()
	<-c.done
	pipe := c.rdb.Pipeline()
	n := 0
	c.services.Range(func(k, v any) bool {
		// Also the leases of services claimed and not yet loaded (a
		// tick's budget postponed them): the script deletes a lease only
		// where this instance holds it.
		if v.(*service).owned.Swap(false) {
			c.stats.owned.Add(-1)
		}
		releaseScript.Eval(ctx, pipe, []string{c.leaseKey(k.(string))}, c.instance)
		n++
		return true
	})
	if n > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			c.logger.Warn("Releasing service leases at shutdown failed; they lapse after lease_ttl", zap.Int("services", n), zap.Error(err))
		}
	}
}

func (c *coordinator) loop(ctx context.Context) {
	defer close(c.done)
	ticker := time.NewTicker(c.cfg.renewInterval())
	defer ticker.Stop()
	c.tick(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			c.tick(ctx)
		}
	}
}

// Kinds of lease operation in a tick.
const (
	opRenew = iota
	opClaim
)

type leaseOp struct {
	name string
	svc  *service
	kind int
	cmd  *redis.Cmd
}

// tick renews the leases held, claims the services observed and not owned,
// hands over the services another instance wants once their data stopped
// arriving here, and forgets services neither owned nor observed within
// the claim window. All lease operations of a tick go in one round trip.
func (c *coordinator) tick(ctx context.Context) {
	now := time.Now()
	ttl := c.cfg.LeaseTTL.Milliseconds()
	pipe := c.rdb.Pipeline()
	var ops []leaseOp
	type staleService struct {
		name string
		svc  *service
	}
	var stale []staleService
	c.services.Range(func(k, v any) bool {
		name, s := k.(string), v.(*service)
		keys := []string{c.leaseKey(name), c.wantKey(name)}
		switch idle := now.Sub(time.Unix(0, s.lastSeen.Load())); {
		case s.owned.Load():
			ops = append(ops, leaseOp{name, s, opRenew, renewScript.Eval(ctx, pipe, keys, c.instance, ttl)})
		case idle < c.claimWindow():
			ops = append(ops, leaseOp{name, s, opClaim, claimScript.Eval(ctx, pipe, keys, c.instance, ttl)})
		default:
			stale = append(stale, staleService{name, s})
		}
		return true
	})
	defer func() {
		for _, st := range stale {
			// Data that reached this instance while another owned the
			// service (the gateways disagreed for a moment), never merged:
			// drop what the components accounted, which no owner will
			// read. After the renewals, which must not wait for it; unless
			// its data came back meanwhile.
			if time.Since(time.Unix(0, st.svc.lastSeen.Load())) < c.claimWindow() || !c.services.CompareAndDelete(st.name, st.svc) {
				continue
			}
			c.release(ctx, st.name, false)
			// A claim granted and postponed (see below) left the lease
			// held here.
			releaseScript.Eval(ctx, c.rdb, []string{c.leaseKey(st.name)}, c.instance)
		}
	}()
	if len(ops) == 0 {
		return
	}
	_, err := pipe.Exec(ctx)
	if err != nil && ctx.Err() == nil {
		c.storeDown(err)
	} else if err == nil {
		c.storeUp()
	}
	// A handover or an acquisition loads or writes the service's state
	// through every handler, which can take seconds (a large state, a
	// notification still with its receiver). The next tick's renewals must
	// not wait for all of them: the leases kept here would lapse, and
	// another instance would claim a service this one still evaluates, both
	// owning it until this one renews. So a tick starts them only during
	// the first half of its renewal interval, and at least one; the others
	// wait for the next tick: a handover is asked for again, and a claim
	// granted leaves the lease held here (the next claim refreshes it)
	// until it is loaded.
	budget := time.Now().Add(c.cfg.renewInterval() / 2)
	spent := false
	postpone := func() bool {
		// At shutdown (ctx cancelled) a handover could write nothing:
		// the service stays owned, and stop releases its lease.
		if ctx.Err() != nil || spent && time.Now().After(budget) {
			return true
		}
		spent = true
		return false
	}
	for _, op := range ops {
		res, err := op.cmd.Int()
		if err != nil {
			// Store unreachable: an owner keeps its services and goes on
			// evaluating in memory; a claim waits for the store.
			if op.kind == opClaim {
				c.stats.claimsFail.Add(1)
			} else {
				c.stats.renewFailed.Add(1)
			}
			continue
		}
		switch op.kind {
		case opClaim:
			if res == 1 {
				if postpone() {
					continue
				}
				c.acquire(ctx, op.name, op.svc)
			} else {
				c.stats.claimsHeld.Add(1)
			}
		case opRenew:
			if res >= 0 {
				c.stats.renewed.Add(1)
			}
			switch {
			case res < 0:
				c.logger.Warn("Service lease taken over by another evaluator; dropping its state", zap.String("service", op.name))
				op.svc.owned.Store(false)
				c.stats.owned.Add(-1)
				c.stats.losses.Add(1)
				c.release(ctx, op.name, false)
			case res == 1 && now.Sub(time.Unix(0, op.svc.lastSeen.Load())) >= c.cfg.HandoverQuiet && !postpone():
				c.handover(ctx, op.name, op.svc)
			}
		}
	}
}

// claimWindow is how long after its last data a service not owned here
// is still claimed: past the lapse of a dead owner's lease (lease_ttl
// after its last renewal, which may come just after the data moved here)
// and a handover's quiet time, so a service whose data stopped right
// after it moved is still taken over, with what was accounted here.
func (c *coordinator) claimWindow() time.Duration {
	return 2*c.cfg.LeaseTTL + c.cfg.HandoverQuiet
}

// acquire loads the service's state into every handler and only then
// reports the service owned; on a failure it gives the lease back and the
// next tick tries again.
func (c *coordinator) acquire(ctx context.Context, name string, s *service) {
	for _, h := range c.handlerList() {
		hctx, cancel := context.WithTimeout(ctx, handlerTimeout)
		err := h.Acquired(hctx, name)
		cancel()
		if err != nil {
			c.stats.claimsFail.Add(1)
			c.logger.Warn("Loading a service's state failed; trying again", zap.String("service", name), zap.Error(err))
			c.release(ctx, name, false)
			if err := releaseScript.Eval(ctx, c.rdb, []string{c.leaseKey(name)}, c.instance).Err(); err != nil {
				c.logger.Debug("Giving back a service lease failed; it lapses", zap.String("service", name), zap.Error(err))
			}
			return
		}
	}
	s.owned.Store(true)
	c.stats.owned.Add(1)
	c.stats.claimsAcquired.Add(1)
	c.logger.Info("Service acquired", zap.String("service", name))
}

// handover writes the service's state for the instance that wants it,
// drops it here and frees the lease.
func (c *coordinator) handover(ctx context.Context, name string, s *service) {
	s.owned.Store(false)
	c.stats.owned.Add(-1)
	c.stats.handovers.Add(1)
	// Forgotten here, so it is claimed again only when its data comes
	// back, not at the next tick from the data that made it ours.
	c.services.CompareAndDelete(name, s)
	c.release(ctx, name, true)
	if err := releaseScript.Eval(ctx, c.rdb, []string{c.leaseKey(name)}, c.instance).Err(); err != nil {
		c.logger.Warn("Freeing a handed-over service's lease failed; it lapses after lease_ttl", zap.String("service", name), zap.Error(err))
	}
	c.logger.Info("Service handed over", zap.String("service", name))
}

// release tells every handler, in reverse order of registration, that the
// service is gone.
func (c *coordinator) release(ctx context.Context, name string, handover bool) {
	hs := c.handlerList()
	for i := len(hs) - 1; i >= 0; i-- {
		hctx, cancel := context.WithTimeout(ctx, handlerTimeout)
		hs[i].Released(hctx, name, handover)
		cancel()
	}
}

func (c *coordinator) storeDown(err error) {
	if !c.failing {
		c.failing = true
		c.logger.Warn("The shared store does not answer; owned services keep being evaluated in memory, none is claimed until it answers", zap.Error(err))
	}
}

func (c *coordinator) storeUp() {
	if c.failing {
		c.failing = false
		c.logger.Info("The shared store answers again; leases renewed")
	}
}
