//go:generate mdatagen metadata.yaml

// Package redisstorageextension implements the `redis_storage` extension:
// a storage extension (xextension/storage) whose state lives in Redis, and
// the ownership coordinator (internal/ownership) of a fleet of evaluators
// (issue 16; README, "Running a fleet").
//
// Why Vigil's own: contrib's redis_storage extension is not served by the
// module proxy at the collector release Vigil is built on (v0.159.0), and
// a fleet needs more than a key-value store: leases that decide which
// evaluator owns a service. The Redis client is go-redis.
//
// # Storage
//
// GetClient returns a client whose keys are prefixed with the prefix, the
// component's kind and ID (vigil:connector/slo:KEY): the same on every
// evaluator, so what one evaluator wrote for a service the next owner
// reads. Components key their state per service (the slo connector's
// slo_state/<id>/<service>, the anomaly connector's
// anomaly/service/<service>, the alert engine's
// vigil.alerts.nflog/<service>), never one value per instance. Batch is a
// MULTI/EXEC transaction. The one value every evaluator writes, the
// alert engine's silences, is merged rather than overwritten: the
// client's Update is a read-modify-write under WATCH, tried again when
// another evaluator wrote the key in between (alerts.Updater).
//
// # Ownership: a lease per service, claimed by the data
//
// The gateways' loadbalancing exporter decides where a service's data
// goes, with a consistent-hash ring of the evaluators its resolver lists.
// Evaluators do not see that ring, and during a membership change two
// gateways (or one gateway's queue and its new ring) may send the same
// service to two evaluators for a moment. Ownership therefore follows the
// data but is decided in Redis, so that at most one evaluator notifies:
//
//   - Claim. An evaluator that receives data of a service it does not own
//     claims the service's lease (vigil:lease:<service>, a key with the
//     owner's instance name and a TTL, taken with SET NX semantics in a
//     Lua script). Every handler (slo connector, alert router) then loads
//     the service's state from Redis and adds it to what was accounted
//     since the data started arriving; only then does Owns report true,
//     and the service's SLO series, alert events and notifications start.
//   - Renew. Every renew_interval the owner extends its leases, all in one
//     round trip. An owner keeps a service as long as it holds the lease,
//     also while the service is quiet: its windows going quiet then are a
//     real recovery, and its alerts resolve as on one node. A tick starts
//     loading or writing services' states (claims, handovers) only during
//     the first half of its renew_interval, and at least one: the rest
//     waits for the next tick, so that many services moving at once (a
//     scale out) do not delay the renewals past lease_ttl, which would let
//     another evaluator claim a service this one still evaluates. One
//     state that takes longer than lease_ttl to load or write (each
//     handler has 5s) still can.
//   - Handover (scale out, scale in, rebalancing). An evaluator that
//     receives a service someone else owns records that it wants it
//     (vigil:want:<service>). The owner hands it over once the service's
//     data has stopped reaching it for handover_quiet, which means the
//     gateways have moved the service: it stops reporting the service,
//     writes the service's state, drops it without resolving anything, and
//     frees the lease; the wanting evaluator claims it at its next tick.
//     While both still get data, the owner keeps it.
//   - Takeover (crash). A dead owner renews nothing: its leases lapse after
//     lease_ttl, and the evaluator the gateways now send the service to
//     claims it and loads the last checkpoint (at most checkpoint_interval
//     old). Data accepted by the dead evaluator after that checkpoint is
//     lost to the accounting; data still in the gateways' queues is not.
//   - Lost lease. An owner whose renewal finds the lease held by another
//     (it was paused, or cut off from Redis, longer than lease_ttl) drops
//     the service at once, writing nothing: the new owner's state stands.
//
// Why a lease, and not the gateways' ring: the ring is the gateways'
// (each has its own view while a resolver converges), evaluators cannot
// compute it without knowing the same endpoint list, and deriving
// ownership from it would make two evaluators owners whenever two
// gateways disagree. A lease in the store that also holds the state makes
// "owner" and "has the state" the same fact.
//
// # Failure modes
//
//   - Redis down. Renewals and claims fail; owners keep their services and
//     keep evaluating and notifying in memory (the notification log write
//     fails, the page goes out anyway), checkpoints fail and are retried
//     at the next interval. No service changes hands until Redis answers:
//     a service whose owner also dies meanwhile is evaluated by nobody.
//     When Redis answers again, leases are renewed (taken again if Redis
//     lost them) and the next checkpoint writes the state: resynced. The
//     data path never waits on Redis (operations time out after timeout).
//   - Redis restarted without persistence. Leases are taken again by their
//     owners; state is written again at the next checkpoint; a service
//     that moved during the outage starts from what its new owner saw.
//   - An owner paused longer than lease_ttl (GC, a stopped VM) while its
//     service moved: it may send one notification for the service before
//     its next renewal finds the lease gone. PagerDuty folds a repeated
//     trigger by its dedup key; the window is one renew_interval.
//   - A service whose owner died and which gets no more data is owned by
//     nobody: its open incident resolves when its data comes back (to the
//     new owner, which loads the log) or by hand.
//   - Data that reached a non-owner for a moment and never moved there
//     (the gateways disagreed briefly) is dropped after twice lease_ttl
//     plus handover_quiet without reaching the owner's accounting.
//   - Outside this extension, at the gateways: a request whose spans go to
//     several evaluators is retried whole by the loadbalancing exporter
//     when one of them fails, so the others count their part twice
//     (gateway.yaml therefore does not batch across requests).
//   - Writes are not fenced: an owner paused past lease_ttl may, when it
//     wakes, write one checkpoint of a service it lost (its renewal,
//     which would tell it, comes after). The new owner's next checkpoint
//     (checkpoint_interval) writes its own state over it, but a takeover
//     in between would start from the paused owner's older state.
//
// # Telemetry
//
// otelcol_redis_storage_owned_services, otelcol_redis_storage_lease_claims
// {outcome}, otelcol_redis_storage_lease_renewals{outcome},
// otelcol_redis_storage_lease_losses and otelcol_redis_storage_handovers
// (metadata.yaml, documentation.md), read from the coordinator's counts
// at each collection (telemetry.go).
package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"
