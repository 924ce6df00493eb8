package alerts

import (
	"context"
	"time"
)

// The methods of this file run the engine as one evaluator of a fleet
// (issue 16), where each service is owned by one evaluator at a time and
// the store is shared: the engine then loads a service's notification log
// when its evaluator takes the service over (RestoreService), drops it
// without notifying when the service moves away (ForgetService), and
// writes no index of services, which every evaluator would overwrite with
// its own.

// ShardByService switches the engine to a fleet's per-service loading:
// Restore loads only the silences, RestoreService and ForgetService load
// and drop each service's log, and no index is written. Call it before
// Restore and the first Ingest.
func (e *Engine) ShardByService() {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.sharded = true
}

// RestoreService loads the notification log of one service, as Restore
// does for every service: each alert it shows as triggered is taken to be
// firing as of now, and the source that owns the service now re-reports
// it, resolves it, or lets ResolveTimeout resolve it. Alerts of the
// service the engine already holds keep their state. Entries are fitted
// to the declared integrations, as by Restore.
func (e *Engine) RestoreService(ctx context.Context, service string, now time.Time) error {
	var doc serviceDoc
	if _, err := load(ctx, e.store, ServiceKey(service), &doc, func() int { return doc.Version }); err != nil {
		return err
	}
	var dropped []LogEntry
	var report func(LogEntry)
	// After the locks are released.
	defer func() { e.reportDropped(report, dropped) }()
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	report = e.dropped
	wasDirty := e.dirty[service]
	var added []LogEntry
	changed := false
	for _, stored := range doc.Entries {
		fitted := e.fit(stored, &dropped)
		changed = changed || len(fitted) != 1 || fitted[0].Integration != stored.Integration
		for i := range fitted {
			entry := fitted[i]
			if e.log.get(entry.destination(), entry.Fingerprint) != nil {
				continue
			}
			e.logPut(&entry)
			added = append(added, entry)
		}
	}
	switch {
	case changed:
		// Fitted: written back as the declaration has it.
		e.dirty[service] = true
	case !wasDirty:
		delete(e.dirty, service) // as stored
	}
	e.restoreAlerts(added, now)
	return nil
}

// ForgetService drops every alert, group entry and log entry of service
// without a notification: the service moved to another evaluator, which
// loads its log from the store and notifies from now on. Notifications
// of the service returned by Flush and not yet reported to MarkSending
// and MarkSent change nothing when they are: the engine no longer has
// them in flight (it may have others of the same alerts by then, if the
// service came back), and the log they would write is the next owner's.
func (e *Engine) ForgetService(service string) {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	for fp, st := range e.alerts {
		if serviceOf(st.alert) != service {
			continue
		}
		for key := range st.groups {
			if g := e.groups[key]; g != nil {
				delete(g.alerts, fp)
				if len(g.alerts) == 0 {
					delete(e.groups, key)
				}
			}
		}
		delete(e.alerts, fp)
		delete(e.inflight, fp)
	}
	for fp := range e.services[service] {
		delete(e.log, fp)
		delete(e.inflight, fp)
	}
	delete(e.services, service)
	delete(e.dirty, service)
	delete(e.indexed, service)
}
