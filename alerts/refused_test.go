package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readBack is n as an integration reads it back from the record it was
// handed (what the pagerduty exporter reports refused): no engine id.
func readBack(n Notification) Notification {
	return Notification{
		Receiver: n.Receiver, Integration: n.Integration, Action: n.Action, Alert: n.Alert.Clone(),
		GroupKey: n.GroupKey, GroupLabels: n.GroupLabels, At: n.At,
	}
}

// deliverFlush flushes e at t0+at and has every notification taken by
// its integration (MarkSending, then MarkSent), as a persistent queue
// takes it before the receiver answers; it returns the one pick selects.
func deliverFlush(t *testing.T, e *Engine, at time.Duration, pick func(Notification) bool) Notification {
	t.Helper()
	ctx := context.Background()
	var picked Notification
	for _, n := range e.Flush(t0.Add(at)) {
		require.NoError(t, e.MarkSending(ctx, n))
		require.NoError(t, e.MarkSent(ctx, n, nil))
		if pick(n) {
			picked = n
		}
	}
	return picked
}

// atPagerDuty picks the notification to the pagerduty integration.
func atPagerDuty(n Notification) bool { return n.Integration == "pagerduty" }

const (
	pdPage     = "trigger default/pagerduty Page/checkout"
	hookPage   = "trigger default/webhook Page/checkout"
	pdTicket   = "trigger default/pagerduty Ticket/search"
	hookTicket = "trigger default/webhook Ticket/search"
)

// TestRefusedTriggerSentAgain: PagerDuty refuses a page after its
// exporter's queue took it (a wrong routing key): the page is sent again
// to PagerDuty at the group's next flush, not before, and at every flush
// after while refused, never to the webhook that took it; once taken,
// never again while the alert fires. Another alert PagerDuty took is
// never sent again. The resolve goes to each integration once.
func TestRefusedTriggerSentAgain(t *testing.T) {
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 5 * time.Second, refuse: []string{pdPage}, want: []string{pdPage, hookPage, pdTicket, hookTicket}},
		// Not before the group's interval.
		{at: 30 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 65 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}, refuse: []string{pdPage}, want: []string{pdPage}},
		{at: 125 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}, want: []string{pdPage}},
		{at: 185 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 200 * time.Second, ingest: []Alert{resolved(pageCheckout), ticketSearch}},
		{at: 245 * time.Second, ingest: []Alert{ticketSearch}, want: []string{
			"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout",
		}},
		{at: 305 * time.Second, ingest: []Alert{ticketSearch}},
	})
}

// TestRefusedTriggerSentAgainAfterRestart: the refusal is persisted, so
// the engine of a restart (the collector rebuilds every component on
// SIGHUP, as after the operator fixed the key) sends the refused page at
// its group's first flush, and nothing that was delivered.
func TestRefusedTriggerSentAgainAfterRestart(t *testing.T) {
	store := NewMemStore()
	e, _ := restarted(t, store, twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 5 * time.Second, refuse: []string{pdPage}, want: []string{pdPage, hookPage, pdTicket, hookTicket}},
	})
	e, _ = restarted(t, store, twoIntegrations, 20*time.Second)
	runSteps(t, e, []step{
		{at: 20 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 25 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}, want: []string{pdPage}},
		{at: 85 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: time.Hour, ingest: []Alert{pageCheckout, ticketSearch}},
	})
}

// TestRefusedInFlight: the receiver refuses the page before the router
// told the engine its queue took it (a queue consumer faster than the
// router): the handover counts as failed, and the page is sent again.
func TestRefusedInFlight(t *testing.T) {
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, refuseInFlight: []string{pdPage}, want: []string{pdPage, hookPage}},
		{at: 65 * time.Second, ingest: []Alert{pageCheckout}, want: []string{pdPage}},
		{at: 125 * time.Second, ingest: []Alert{pageCheckout}},
	})
}

// TestRefusalSuperseded: a refusal of a notification that a later one
// replaced (sent again since, and taken) changes nothing, nor does a
// refusal of a trigger whose alert's resolve was delivered since: the
// incident is over.
func TestRefusalSuperseded(t *testing.T) {
	ctx := context.Background()
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	e.Ingest(pageCheckout, t0)
	first := deliverFlush(t, e, 5*time.Second, func(n Notification) bool { return describe(n) == pdPage })
	changed, err := e.MarkRefused(ctx, readBack(first))
	require.NoError(t, err)
	require.True(t, changed)
	runSteps(t, e, []step{
		{at: 65 * time.Second, ingest: []Alert{pageCheckout}, want: []string{pdPage}},
	})
	changed, err = e.MarkRefused(ctx, readBack(first))
	require.NoError(t, err)
	assert.False(t, changed, "a refusal of the page sent at +5s, taken again at +65s")
	runSteps(t, e, []step{
		{at: 125 * time.Second, ingest: []Alert{pageCheckout}},
		{at: 130 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 185 * time.Second, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
	})
	changed, err = e.MarkRefused(ctx, readBack(first))
	require.NoError(t, err)
	assert.False(t, changed, "a refusal of a trigger after its alert's resolve was delivered")
	runSteps(t, e, []step{{at: 245 * time.Second}, {at: 305 * time.Second}})
	assert.Empty(t, e.Log())
}

// TestRefusedTriggerOfResolvedAlert: the page is refused after its
// alert was reported resolved: the resolve still goes out (to both
// integrations, PagerDuty's incident may be open from an earlier page),
// and the page is not sent again.
func TestRefusedTriggerOfResolvedAlert(t *testing.T) {
	ctx := context.Background()
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	e.Ingest(pageCheckout, t0)
	page := deliverFlush(t, e, 5*time.Second, func(n Notification) bool { return describe(n) == pdPage })
	e.Ingest(resolved(pageCheckout), t0.Add(10*time.Second))
	changed, err := e.MarkRefused(ctx, readBack(page))
	require.NoError(t, err)
	require.True(t, changed)
	runSteps(t, e, []step{
		{at: 65 * time.Second, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
		{at: 125 * time.Second},
	})
	assert.Empty(t, e.Log())
}

// TestRefusedResolveSentAgain: PagerDuty refuses a resolve its queue
// took, before and after the group's next flush forgot the resolved
// alert: the resolve is sent again, to PagerDuty only, at every flush
// until taken; never a trigger.
func TestRefusedResolveSentAgain(t *testing.T) {
	for _, forgotten := range []bool{false, true} {
		name := "refused before the next flush"
		if forgotten {
			name = "refused after the next flush forgot the alert"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := NewMemStore()
			e, _ := restarted(t, store, twoIntegrations, 0)
			runSteps(t, e, []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{pdPage, hookPage}},
				{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
			})
			resolve := deliverFlush(t, e, 65*time.Second, atPagerDuty)
			require.Equal(t, ActionResolve, resolve.Action)
			at := 125 * time.Second
			if forgotten {
				runSteps(t, e, []step{{at: at}})
				require.Empty(t, e.Log())
				at += time.Minute
			}
			changed, err := e.MarkRefused(ctx, readBack(resolve))
			require.NoError(t, err)
			require.True(t, changed)
			// Persisted: a restart sends it too.
			restored, _ := restarted(t, store, twoIntegrations, at)
			for _, e := range []*Engine{e, restored} {
				wait := time.Duration(0)
				if e == restored {
					wait = DefaultGroupWait
				}
				runSteps(t, e, []step{
					{at: at + wait, want: []string{"resolve default/pagerduty Page/checkout"}},
					{at: at + wait + time.Minute},
				})
				assert.Empty(t, e.Log())
			}
		})
	}
}

// TestRefusedResolveOfAnEarlierFiring: a refusal of a resolve that
// arrives after the alert fired again and that firing's trigger and
// resolve were delivered (a queue retrying the old resolve meanwhile)
// owes nothing: no resolve is sent again.
func TestRefusedResolveOfAnEarlierFiring(t *testing.T) {
	ctx := context.Background()
	e, _ := restarted(t, NewMemStore(), twoIntegrations, 0)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{pdPage, hookPage}},
		{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
	})
	first := deliverFlush(t, e, 65*time.Second, atPagerDuty)
	require.Equal(t, ActionResolve, first.Action)
	again := pageCheckout.Clone()
	again.StartsAt = t0.Add(70 * time.Second)
	runSteps(t, e, []step{
		{at: 70 * time.Second, ingest: []Alert{again}},
		{at: 125 * time.Second, want: []string{pdPage, hookPage}},
		{at: 130 * time.Second, ingest: []Alert{resolved(again)}},
		{at: 185 * time.Second, want: []string{"resolve default/pagerduty Page/checkout", "resolve default/webhook Page/checkout"}},
	})
	changed, err := e.MarkRefused(ctx, readBack(first))
	require.NoError(t, err)
	assert.False(t, changed, "the refusal of the first firing's resolve")
	runSteps(t, e, []step{{at: 245 * time.Second}, {at: 305 * time.Second}})
	assert.Empty(t, e.Log())
}

// TestRefusedResolveInAFleet: a fleet's engine re-owes a refused resolve
// only for an alert it still holds; one it forgot may be of a service it
// gave up.
func TestRefusedResolveInAFleet(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, NewMemStore())
	e.ShardByService()
	e.SetIntegrations(twoIntegrations, nil)
	require.NoError(t, e.Restore(ctx, t0))
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{pdPage, hookPage}},
		{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
	})
	resolve := deliverFlush(t, e, 65*time.Second, atPagerDuty)
	e.ForgetService("checkout")
	changed, err := e.MarkRefused(ctx, readBack(resolve))
	require.NoError(t, err)
	assert.False(t, changed)
	runSteps(t, e, []step{{at: 125 * time.Second}})
	assert.Empty(t, e.Log())
}
