package alerts

import (
	"maps"
	"slices"
	"time"
)

// A receiver's integrations are the destinations its notifications go to,
// as Alertmanager's receiver has its pagerduty_configs, webhook_configs
// and the rest: the engine produces each notification once per
// integration, and keeps for each its own log entry (Alertmanager's
// notification log is keyed by receiver and integration too) and its own
// notification in flight. So an integration that fails, or takes long to
// take a notification, repeats and holds back nothing at the others: an
// alert it has not been sent yet is produced for it again at its group's
// next flush, and only for it. What groups, mutes and repeats stays the
// receiver's route's: every integration of a receiver is notified at the
// same flushes, muted by the same silences, inhibitions and time
// intervals, and each re-sent repeat_interval after its own last delivery.
//
// What an integration is (a collector pipeline, for the alertrouter
// connector) is the caller's; the engine knows only names.

// SetIntegrations declares the integrations of every receiver, by
// receiver name; a receiver it does not list has none. Without a call
// every receiver has one integration, named "", and log entries carry no
// integration (as before integrations existed). Call it before Restore.
//
// Log entries loaded afterwards (Restore, RestoreService) are fitted to
// the declaration: an entry without an integration (written before
// integrations existed: "notified at the receiver", which meant at every
// one of its integrations) becomes one entry per integration of its
// receiver, so nothing it records as delivered is sent again and every
// incident it records open is resolved at every integration; an entry for
// an integration its receiver no longer has (one removed from the
// configuration) is dropped, and dropped, when not nil, is told of it,
// after the load: nowhere is left to send its resolve to. An integration
// added to a receiver has no entries: at its group's next flush it is
// sent the receiver's firing alerts (their triggers; then their
// resolves), as Alertmanager notifies an integration new to its log.
func (e *Engine) SetIntegrations(byReceiver map[string][]string, dropped func(LogEntry)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.integrations = make(map[string][]string, len(byReceiver))
	for receiver, names := range byReceiver {
		e.integrations[receiver] = slices.Clone(names)
	}
	e.dropped = dropped
}

// defaultIntegrations is the one integration of every receiver when
// SetIntegrations was not called.
var defaultIntegrations = []string{""}

// integrationsOf returns the integrations of receiver; e.mu held.
func (e *Engine) integrationsOf(receiver string) []string {
	if e.integrations == nil {
		return defaultIntegrations
	}
	return e.integrations[receiver]
}

// hasIntegration reports whether d is an integration of its receiver;
// e.mu held.
func (e *Engine) hasIntegration(d destination) bool {
	return slices.Contains(e.integrationsOf(d.receiver), d.integration)
}

// fit returns the entries that stand for a loaded entry under the
// declared integrations (see SetIntegrations): itself, one per
// integration of its receiver for an entry without one, or none, with
// the entry appended to dropped, for an integration its receiver no longer
// has. e.mu held.
func (e *Engine) fit(entry LogEntry, dropped *[]LogEntry) []LogEntry {
	if entry.Integration == "" && e.integrations != nil {
		var out []LogEntry
		for _, name := range e.integrationsOf(entry.Receiver) {
			copied := entry
			copied.Integration = name
			copied.Alert = entry.Alert.Clone()
			out = append(out, copied)
		}
		if len(out) == 0 {
			*dropped = append(*dropped, entry)
		}
		return out
	}
	if !e.hasIntegration(entry.destination()) {
		*dropped = append(*dropped, entry)
		return nil
	}
	return []LogEntry{entry}
}

// reportDropped tells the caller of the entries a load dropped; called
// without e.mu.
func (e *Engine) reportDropped(dropped func(LogEntry), entries []LogEntry) {
	if dropped == nil {
		return
	}
	for _, entry := range entries {
		dropped(entry)
	}
}

// restoreAlerts makes the alerts of loaded log entries the engine does
// not hold yet, one per fingerprint, from the entries of its
// integrations together (restoreState). e.mu held.
func (e *Engine) restoreAlerts(entries []LogEntry, now time.Time) {
	byAlert := map[string][]LogEntry{}
	for _, entry := range entries {
		byAlert[entry.Fingerprint] = append(byAlert[entry.Fingerprint], entry)
	}
	for _, fp := range slices.Sorted(maps.Keys(byAlert)) {
		if e.alerts[fp] != nil {
			continue
		}
		e.restoreAlert(restoreState(byAlert[fp]), now)
	}
}

// restoreState picks, among the entries of one alert (one per
// destination), the one whose alert the restored engine holds: a trigger
// not reported resolved if there is one (the alert fires: the entries of
// its resolved past are older), else a trigger reported resolved (the
// resolve is owed), else a resolve. Among equals, the latest.
//
// The entries of one alert agree: Ingest marks a resolve on every
// trigger of the alert at once, and they are stored together, in their
// service's value. They differ only when an integration lags the others
// (a trigger or a resolve not yet taken), which this order reads right.
func restoreState(entries []LogEntry) LogEntry {
	rank := func(entry LogEntry) int {
		switch {
		case entry.Action == ActionTrigger && entry.ResolvedAt.IsZero():
			return 0
		case entry.Action == ActionTrigger:
			return 1
		default:
			return 2
		}
	}
	best := entries[0]
	for _, entry := range entries[1:] {
		if r, b := rank(entry), rank(best); r < b || (r == b && entry.SentAt.After(best.SentAt)) {
			best = entry
		}
	}
	return best
}
