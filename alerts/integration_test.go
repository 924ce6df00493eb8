package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twoIntegrations is the built-in receiver with two integrations, as the
// alertrouter connector declares `default: [logs/pagerduty, logs/webhook]`.
var twoIntegrations = map[string][]string{DefaultReceiverName: {"pagerduty", "webhook"}}

// restarted is a new engine over store with integrations, restored at
// t0+at, as the router after a restart; dropped collects what the load
// dropped.
func restarted(t *testing.T, store Store, integrations map[string][]string, at time.Duration) (*Engine, *[]LogEntry) {
	t.Helper()
	var dropped []LogEntry
	e := NewEngine(nil, store)
	e.SetIntegrations(integrations, func(entry LogEntry) { dropped = append(dropped, entry) })
	require.NoError(t, e.Restore(context.Background(), t0.Add(at)))
	return e, &dropped
}

// TestIntegrationsDeliveredApart: with one integration of a receiver
// failing, the other is sent the trigger once and never again; the
// failing one is sent it at every group flush until it takes it, also
// across a restart from the persisted log, then never again; the resolve
// goes to each once.
func TestIntegrationsDeliveredApart(t *testing.T) {
	store := NewMemStore()
	e, _ := restarted(t, store, twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, failAt: []string{"webhook"}, want: []string{
			"trigger default/pagerduty Page/checkout", "trigger default/webhook Page/checkout",
		}},
		{at: 10 * time.Second, ingest: []Alert{pageCheckout}},
		// The group's next flush: only the webhook is owed the trigger.
		{at: 65 * time.Second, ingest: []Alert{pageCheckout}, failAt: []string{"webhook"}, want: []string{"trigger default/webhook Page/checkout"}},
	})
	require.NoError(t, e.Persist(context.Background()))

	// Restarted from the log: PagerDuty's trigger is recorded delivered,
	// the webhook's pending.
	e, _ = restarted(t, store, twoIntegrations, 70*time.Second)
	runSteps(t, e, []step{
		{at: 70 * time.Second, ingest: []Alert{pageCheckout}},
		{at: 75 * time.Second, ingest: []Alert{pageCheckout}, failAt: []string{"webhook"}, want: []string{"trigger default/webhook Page/checkout"}},
		{at: 135 * time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default/webhook Page/checkout"}},
		// Taken: nothing more while the alert fires.
		{at: 195 * time.Second, ingest: []Alert{pageCheckout}},
		{at: 200 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 255 * time.Second, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
		{at: 315 * time.Second},
		{at: time.Hour},
	})
	assert.Empty(t, e.Log())
}

// TestIntegrationFailingAtTheResolve: PagerDuty down at the resolve
// repeats the resolve at PagerDuty only, not at the webhook that took it.
func TestIntegrationFailingAtTheResolve(t *testing.T) {
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{"trigger default/pagerduty Page/checkout", "trigger default/webhook Page/checkout"}},
		{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 65 * time.Second, failAt: []string{"pagerduty"}, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
		{at: 125 * time.Second, failAt: []string{"pagerduty"}, want: []string{"resolve default/pagerduty Page/checkout"}},
		{at: 185 * time.Second, want: []string{"resolve default/pagerduty Page/checkout"}},
		{at: 245 * time.Second},
	})
	assert.Empty(t, e.Log())
}

// TestIntegrationInFlightHoldsBackNothing: a notification an integration
// has not finished taking (not yet reported to MarkSent, as while its
// pipeline blocks) holds back neither the other integration's trigger
// nor its resolve; once reported taken, the integration gets the
// resolve at the next flush.
func TestIntegrationInFlightHoldsBackNothing(t *testing.T) {
	ctx := context.Background()
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	e.Ingest(pageCheckout, t0)
	ns := e.Flush(t0.Add(5 * time.Second))
	require.Len(t, ns, 2)
	pd, hook := ns[0], ns[1]
	require.Equal(t, "webhook", hook.Integration)
	require.NoError(t, e.MarkSending(ctx, pd))
	require.NoError(t, e.MarkSent(ctx, pd, nil))
	require.NoError(t, e.MarkSending(ctx, hook)) // and it blocks

	e.Ingest(resolved(pageCheckout), t0.Add(10*time.Second))
	var got []string
	for _, n := range e.Flush(t0.Add(65 * time.Second)) {
		got = append(got, describe(n))
		require.NoError(t, e.MarkSending(ctx, n))
		require.NoError(t, e.MarkSent(ctx, n, nil))
	}
	assert.Equal(t, []string{"resolve default/pagerduty Page/checkout"}, got)

	require.NoError(t, e.MarkSent(ctx, hook, nil)) // released
	runSteps(t, e, []step{
		{at: 125 * time.Second, want: []string{"resolve default/webhook Page/checkout"}},
		{at: 185 * time.Second},
	})
}

// storedBeforeIntegrations is a service's notification log as the
// version before integrations wrote it (version 2, entries keyed by
// receiver only): the trigger of pageCheckout delivered, that of
// ticketSearch pending (handed over, not confirmed), both to the receiver
// "default", whose pipelines were PagerDuty and the webhook.
func storedBeforeIntegrations(t *testing.T) map[string][]byte {
	t.Helper()
	entry := func(a Alert, pending bool) string {
		labels, err := json.Marshal(a.Labels)
		require.NoError(t, err)
		p := ""
		if pending {
			p = `"pending":true,`
		}
		return fmt.Sprintf(`{"receiver":"default","fingerprint":%q,"action":"trigger",%s"sent_at":"2026-11-21T20:00:05Z",`+
			`"alert":{"labels":%s,"state":"firing","starts_at":"2026-11-21T20:00:00Z","fingerprint":%q}}`, a.Fingerprint, p, labels, a.Fingerprint)
	}
	return map[string][]byte{
		StoreKeyIndex:          []byte(`{"version":2,"services":["checkout","search"]}`),
		ServiceKey("checkout"): []byte(`{"version":2,"entries":[` + entry(pageCheckout, false) + `]}`),
		ServiceKey("search"):   []byte(`{"version":2,"entries":[` + entry(ticketSearch, true) + `]}`),
	}
}

// TestRestoreLogWrittenBeforeIntegrations: after the upgrade, an entry
// of the receiver stands for each of its integrations: the delivered
// trigger goes to neither again, the pending one to both, and each alert
// is resolved at both. The log is written back with an entry per
// integration.
func TestRestoreLogWrittenBeforeIntegrations(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	for k, v := range storedBeforeIntegrations(t) {
		require.NoError(t, store.Set(ctx, k, v))
	}
	e, dropped := restarted(t, store, twoIntegrations, time.Minute)
	assert.Empty(t, *dropped)
	var got []string
	for _, entry := range e.Log() {
		got = append(got, fmt.Sprintf("%s/%s %s %s pending=%t", entry.Receiver, entry.Integration, entry.Action,
			entry.Alert.Labels[LabelAlertName]+"/"+entry.Alert.Labels[LabelService], entry.Pending))
	}
	assert.ElementsMatch(t, []string{
		"default/pagerduty trigger Page/checkout pending=false",
		"default/pagerduty trigger Ticket/search pending=true",
		"default/webhook trigger Page/checkout pending=false",
		"default/webhook trigger Ticket/search pending=true",
	}, got)

	require.NoError(t, e.Persist(ctx))
	var doc serviceDoc
	_, err := load(ctx, store, ServiceKey("checkout"), &doc, func() int { return doc.Version })
	require.NoError(t, err)
	require.Len(t, doc.Entries, 2, "written back per integration")
	assert.Equal(t, []string{"pagerduty", "webhook"}, []string{doc.Entries[0].Integration, doc.Entries[1].Integration})

	runSteps(t, e, []step{
		{at: time.Minute, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: time.Minute + 5*time.Second, ingest: []Alert{pageCheckout, ticketSearch}, want: []string{
			"trigger default/pagerduty Ticket/search", "trigger default/webhook Ticket/search",
		}},
		{at: 2 * time.Minute, ingest: []Alert{resolved(pageCheckout), resolved(ticketSearch)}},
		{at: 2*time.Minute + 5*time.Second, want: []string{
			"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout",
			"resolve default/pagerduty Ticket/search", "resolve default/webhook Ticket/search",
		}},
		{at: 10 * time.Minute},
	})
	assert.Empty(t, e.Log())
}

// TestRestoreLogWrittenBeforeIntegrationsNotReported: an alert of the old
// log that its source never reports again is resolved at resolve_timeout
// at both integrations.
func TestRestoreLogWrittenBeforeIntegrationsNotReported(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	for k, v := range storedBeforeIntegrations(t) {
		require.NoError(t, store.Set(ctx, k, v))
	}
	e, _ := restarted(t, store, twoIntegrations, time.Minute)
	runSteps(t, e, []step{
		{at: time.Minute + 5*time.Second, want: []string{
			"trigger default/pagerduty Ticket/search", "trigger default/webhook Ticket/search",
		}},
		{at: time.Minute + DefaultResolveTimeout + 5*time.Second, want: []string{
			"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout",
			"resolve default/pagerduty Ticket/search", "resolve default/webhook Ticket/search",
		}},
	})
}

// TestIntegrationsChangedBetweenRuns: an integration removed from its
// receiver has its entries dropped at the load (reported, and written
// back without them); one added is sent the firing alerts at their
// group's next flush, then their resolves; the one kept is sent nothing
// again.
func TestIntegrationsChangedBetweenRuns(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e, _ := restarted(t, store, twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{"trigger default/pagerduty Page/checkout", "trigger default/webhook Page/checkout"}},
	})

	changed := map[string][]string{DefaultReceiverName: {"chat", "pagerduty"}}
	e, dropped := restarted(t, store, changed, time.Minute)
	require.Len(t, *dropped, 1)
	assert.Equal(t, "webhook", (*dropped)[0].Integration)
	require.NoError(t, e.Persist(ctx))
	again, droppedAgain := restarted(t, store, changed, time.Minute)
	assert.Empty(t, *droppedAgain, "the dropped entry was written back without")
	assert.Len(t, again.Log(), 1)

	runSteps(t, e, []step{
		{at: time.Minute, ingest: []Alert{pageCheckout}},
		{at: time.Minute + 5*time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default/chat Page/checkout"}},
		{at: 2 * time.Minute, ingest: []Alert{resolved(pageCheckout)}},
		{at: 2*time.Minute + 5*time.Second, want: []string{"resolve default/chat Page/checkout", "resolve default/pagerduty Page/checkout"}},
	})

	// A receiver no longer declared at all: its entries go too.
	runSteps(t, e, []step{
		{at: 3 * time.Minute, ingest: []Alert{pageCheckout}},
		{at: 3*time.Minute + 5*time.Second, want: []string{"trigger default/chat Page/checkout", "trigger default/pagerduty Page/checkout"}},
	})
	require.NoError(t, e.Persist(ctx))
	_, dropped = restarted(t, store, map[string][]string{"oncall": {"pagerduty"}}, 4*time.Minute)
	assert.Len(t, *dropped, 2)
}

// TestRestoreWhereIntegrationsLag: an alert resolved and firing again,
// whose PagerDuty integration still owes the resolve of the earlier
// firing (pending) while the webhook took the new trigger: restored
// firing, so PagerDuty gets the trigger and the webhook no false resolve.
// (PagerDuty's entry comes first in the log: the state is not the first
// entry's.)
func TestRestoreWhereIntegrationsLag(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e, _ := restarted(t, store, twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{"trigger default/pagerduty Page/checkout", "trigger default/webhook Page/checkout"}},
		{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 65 * time.Second, failAt: []string{"pagerduty"}, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
		{at: 70 * time.Second, ingest: []Alert{pageCheckout}},
	})
	ns := e.Flush(t0.Add(125 * time.Second))
	require.Len(t, ns, 2)
	for _, n := range ns {
		if n.Integration == "webhook" {
			require.NoError(t, e.MarkSending(ctx, n))
			require.NoError(t, e.MarkSent(ctx, n, nil))
			continue
		}
		// PagerDuty's queue was full: not handed over.
		require.NoError(t, e.MarkSent(ctx, n, errors.New("queue full")))
	}
	require.NoError(t, e.Persist(ctx))

	e, _ = restarted(t, store, twoIntegrations, 130*time.Second)
	runSteps(t, e, []step{
		{at: 135 * time.Second, want: []string{"trigger default/pagerduty Page/checkout"}},
	})
}

// TestForgottenServiceIgnoresLateReports: in a fleet, the outcome of a
// notification whose service was handed over since the flush (its
// pipeline took long) changes neither this engine's log nor the next
// owner's value in the store, and MarkSending tells the router not to
// send it (ErrNotInFlight); after the service came back, it neither
// clears the notification in flight then nor is sent: the log then would
// not know of it, and a trigger sent would never be resolved.
func TestForgottenServiceIgnoresLateReports(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e := NewEngine(nil, store)
	e.ShardByService()
	e.SetIntegrations(twoIntegrations, nil)
	require.NoError(t, e.Restore(ctx, t0))
	require.NoError(t, e.RestoreService(ctx, "checkout", t0))
	e.Ingest(pageCheckout, t0)
	late := e.Flush(t0.Add(5 * time.Second))
	require.Len(t, late, 2)
	require.NoError(t, e.MarkSending(ctx, late[0]))

	e.ForgetService("checkout")
	nextOwners := []byte(`{"version":2,"entries":[]}`)
	require.NoError(t, store.Set(ctx, ServiceKey("checkout"), nextOwners))
	for _, n := range late {
		require.ErrorIs(t, e.MarkSending(ctx, n), ErrNotInFlight)
		require.NoError(t, e.MarkSent(ctx, n, nil))
	}
	assert.Empty(t, e.Log())
	data, err := store.Get(ctx, ServiceKey("checkout"))
	require.NoError(t, err)
	assert.Equal(t, string(nextOwners), string(data), "the next owner's log was overwritten")

	// The service comes back: its alert is notified anew, and the late
	// report of the earlier notification leaves the new one in flight.
	require.NoError(t, e.RestoreService(ctx, "checkout", t0.Add(time.Minute)))
	e.Ingest(pageCheckout, t0.Add(time.Minute))
	now := e.Flush(t0.Add(time.Minute + 5*time.Second))
	require.Len(t, now, 2)
	require.ErrorIs(t, e.MarkSending(ctx, late[0]), ErrNotInFlight, "the earlier trigger, queued before the handover, would be sent")
	require.NoError(t, e.MarkSent(ctx, late[1], errors.New("cancelled")))
	assert.Empty(t, e.Flush(t0.Add(2*time.Minute+5*time.Second)), "a notification in flight was produced again")
	for _, n := range now {
		require.NoError(t, e.MarkSending(ctx, n))
		require.NoError(t, e.MarkSent(ctx, n, nil))
	}
	assert.Len(t, e.Log(), 2)
}

// TestRestoreServiceLogWrittenBeforeIntegrations: a fleet's evaluator
// taking a service over reads its log in the previous format the same
// way, and writes it back per integration.
func TestRestoreServiceLogWrittenBeforeIntegrations(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	for k, v := range storedBeforeIntegrations(t) {
		require.NoError(t, store.Set(ctx, k, v))
	}
	e := NewEngine(nil, store)
	e.ShardByService()
	e.SetIntegrations(twoIntegrations, nil)
	require.NoError(t, e.Restore(ctx, t0.Add(time.Minute)))
	require.NoError(t, e.RestoreService(ctx, "search", t0.Add(time.Minute)))
	require.NoError(t, e.Persist(ctx))
	var doc serviceDoc
	_, err := load(ctx, store, ServiceKey("search"), &doc, func() int { return doc.Version })
	require.NoError(t, err)
	require.Len(t, doc.Entries, 2)
	assert.Equal(t, []string{"pagerduty", "webhook"}, []string{doc.Entries[0].Integration, doc.Entries[1].Integration})
	runSteps(t, e, []step{
		{at: time.Minute + 5*time.Second, want: []string{"trigger default/pagerduty Ticket/search", "trigger default/webhook Ticket/search"}},
	})
}

// TestIntegrationsMutedTogether: inhibition and silences are the
// receiver's: a ticket its page inhibits goes to neither integration, a
// silenced alert to neither, and once the page resolves the ticket goes
// to both.
func TestIntegrationsMutedTogether(t *testing.T) {
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	silence := []*Silence{{ID: "s", Matchers: mustParse(t, `service_name="search"`), EndsAt: t0.Add(time.Hour)}}
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketCheckout, ticketSearch}, silences: silence},
		{at: 5 * time.Second, want: []string{"trigger default/pagerduty Page/checkout", "trigger default/webhook Page/checkout"}},
		{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout), ticketCheckout, ticketSearch}},
		{at: 65 * time.Second, want: []string{
			"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout",
			"trigger default/pagerduty Ticket/checkout", "trigger default/webhook Ticket/checkout",
		}},
	})
}
