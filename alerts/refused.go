package alerts

import "context"

// A receiver can refuse a notification for good after its integration
// took it: an exporter with a persistent sending queue takes the
// notification (the handover succeeds and MarkSent confirms it) and sends
// it later, and PagerDuty answers 400, for a routing key that is wrong,
// say. Alertmanager records a notification in its log only once the
// integration succeeded, so one that failed is sent again at the group's
// next flush; MarkRefused gives the engine that outcome when the failure
// comes after the handover. Once the operator fixes the key, the alert
// still firing is paged again (at the next group flush, or at the first
// one after the rebuild that applies the fix), rather than after
// repeat_interval.

// MarkRefused records that n's receiver refused it for good after its
// integration took it, so that the group's next flush produces it again,
// for that integration only, as after a failed handover: a receiver that
// keeps refusing is sent it once per group_interval, never more often. n
// is the notification as the integration read it back: its Receiver,
// Integration, Action, Alert.Fingerprint and At (the flush that produced
// it) identify it, and its Alert is kept for a resolve (below).
//
//   - In flight (MarkSent not told yet): MarkSent takes it as failed.
//   - Confirmed (a trigger): its log entry is pending again. A pending
//     trigger is sent again at each flush while the alert fires, and the
//     alert's resolve still goes out when it resolves, as after a crash
//     (see LogEntry); a restart, or the collector's rebuild on SIGHUP,
//     loads it pending and sends it at its group's first flush.
//   - A delivered resolve, whose entry MarkSent removed: the entry comes
//     back as a pending resolve (the alert restored resolved if the engine
//     no longer holds it), so the resolve is sent again; unless the alert
//     fires again, whose trigger and then resolve go out anyway. A fleet's
//     engine (ShardByService) does so only for an alert it still holds,
//     for it may have given the alert's service up since.
//
// A report of a notification superseded by one produced since for the
// same alert and integration (another flush's: matched by At) changes
// nothing, the later one having its own outcome; nor does one for an
// integration not declared (SetIntegrations) now. MarkRefused returns whether
// the report changed anything; the error is a persistence failure (the
// in-memory log is updated anyway, and the next successful write stores
// it).
func (e *Engine) MarkRefused(ctx context.Context, n Notification) (bool, error) {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	changed, write := e.refused(n)
	e.mu.Unlock()
	if !write {
		return changed, nil
	}
	return changed, e.persist(ctx, serviceOf(n.Alert))
}

// refused applies a refusal (see MarkRefused); write says the service's
// log changed. e.mu held.
func (e *Engine) refused(n Notification) (changed, write bool) {
	d, fp := n.destination(), n.Alert.Fingerprint
	if !e.hasIntegration(d) {
		return false, false // of a receiver or integration no longer declared
	}
	if f := e.inflight.get(d, fp); f != nil {
		if f.action != n.Action || !f.at.Equal(n.At) {
			return false, false // a later notification is in flight
		}
		// MarkSending recorded it pending; MarkSent leaves it so.
		f.refused = true
		return true, false
	}
	entry := e.log.get(d, fp)
	switch {
	case entry != nil:
		if entry.Action != n.Action || !entry.SentAt.Equal(n.At) || entry.Pending {
			return false, false // superseded, or owed already
		}
		entry.Pending = true
		e.dirty[serviceOf(entry.Alert)] = true
		return true, true
	case n.Action != ActionResolve:
		// A trigger superseded by the alert's delivered resolve: the
		// alert is over.
		return false, false
	}
	st := e.alerts[fp]
	if (st != nil && st.alert.Firing()) || (st == nil && e.sharded) {
		return false, false
	}
	if st != nil && !st.alert.StartsAt.Equal(n.Alert.StartsAt) {
		// The resolve of an earlier firing, whose later trigger and
		// resolve were delivered since: nothing is owed. (Once the alert
		// is forgotten the engine cannot tell, and sends the resolve
		// again: a receiver takes a resolve of an alert it holds resolved
		// as a no-op, PagerDuty among them.)
		return false, false
	}
	resolve := &LogEntry{
		Receiver: n.Receiver, Integration: n.Integration, Fingerprint: fp, Action: ActionResolve,
		Pending: true, SentAt: n.At, Alert: n.Alert.Clone(),
	}
	e.logPut(resolve)
	if st == nil {
		// Forgotten at its group's flush since the resolve was handed
		// over: held again, resolved, until the resolve is delivered.
		now := e.lastNow
		if now.Before(n.At) {
			now = n.At
		}
		e.restoreAlert(*resolve, now)
	}
	return true, true
}
