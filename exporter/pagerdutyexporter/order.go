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
// resolve. So the guard remembers when each delivered resolve said its
// alert ended, and a trigger for an alert that started no later than that
// is stale.
//
// It is memory, not state: lost on restart, when the persistent queue may
// send a stale trigger once; bounded by orderPruneAt.
type orderGuard struct {
	mu    sync.Mutex
	ended map[string]time.Time // dedup key → the alert's end, per its last delivered resolve
}

func newOrderGuard() *orderGuard { return &orderGuard{ended: map[string]time.Time{}} }

// stale reports whether a trigger for an alert that started at startsAt
// comes after a delivered resolve of the same alert.
func (g *orderGuard) stale(key string, startsAt time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	end, ok := g.ended[key]
	return ok && !startsAt.After(end)
}

// resolved records a delivered resolve of an alert that ended at endsAt.
func (g *orderGuard) resolved(key string, endsAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.ended) >= orderPruneAt {
		for k, t := range g.ended {
			if time.Since(t) > orderMemory {
				delete(g.ended, k)
			}
		}
	}
	if endsAt.After(g.ended[key]) {
		g.ended[key] = endsAt
	}
}
