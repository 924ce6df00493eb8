package pagerdutyexporter // import "github.com/vigil-otel/vigil/exporter/pagerdutyexporter"

import (
	"sync"
	"time"
)

const (
	// orderMemory is how long the guard remembers a delivered resolve: far
	// longer than a trigger can wait in a queue behind retries.
	orderMemory = 24 * time.Hour
	// orderPruneAt is the size at which remembered resolves older than
	// orderMemory are dropped, which bounds the guard's memory.
	orderPruneAt = 10000
)

// orderGuard keeps an alert's trigger from reaching PagerDuty after the
// alert's resolve. The alert router hands a trigger over before its
// resolve, but several queue consumers send in parallel, and a trigger
// held back by retries (a 429 storm, a PagerDuty outage) could otherwise
// be overtaken by its resolve and open an incident nobody would ever
// resolve. So the guard remembers when each delivered resolve was
// notified (the router's flush that sent it, the record's observed time),
// and a trigger notified no later than that is stale. Notification times,
// not the alert's start and end: an alert that fires again after its
// resolve is notified later whatever start its source reports (an alert
// resolved at resolve_timeout and then re-sent keeps its first start), and
// must page.
//
// It is memory, not state: lost on restart, when the persistent queue may
// send a stale trigger once; bounded by orderPruneAt.
type orderGuard struct {
	mu      sync.Mutex
	settled map[string]time.Time // dedup key → when its last delivered resolve was notified
}

func newOrderGuard() *orderGuard { return &orderGuard{settled: map[string]time.Time{}} }

// stale reports whether a trigger notified at comes after a delivered
// resolve of the same alert, notified no earlier.
func (g *orderGuard) stale(key string, at time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	resolved, ok := g.settled[key]
	return ok && !at.After(resolved)
}

// resolved records a delivered resolve notified at.
func (g *orderGuard) resolved(key string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.settled) >= orderPruneAt {
		for k, t := range g.settled {
			if time.Since(t) > orderMemory {
				delete(g.settled, k)
			}
		}
	}
	if at.After(g.settled[key]) {
		g.settled[key] = at
	}
}
