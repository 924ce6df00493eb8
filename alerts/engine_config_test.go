package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetConfigResolvesAtTheReceiverThatWasTriggered(t *testing.T) {
	e := NewEngine(parseTestConfig(t, `
receivers: [{name: old}, {name: new}]
route: {receiver: old}
`), NewMemStore())
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second, want: []string{"trigger old Page/checkout"}},
	})
	e.SetConfig(parseTestConfig(t, `
receivers: [{name: old}, {name: new}]
route: {receiver: new}
`), t0.Add(10*time.Second))
	runSteps(t, e, []step{
		// The new route's group is new: it waits group_wait, then triggers
		// at the new receiver.
		{at: 10 * time.Second, ingest: []Alert{pageCheckout}},
		{at: 15 * time.Second, want: []string{"trigger new Page/checkout"}},
		{at: 20 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		// Both incidents are resolved, the old one although no route
		// leads to its receiver any more.
		{at: 75 * time.Second, want: []string{"resolve new Page/checkout", "resolve old Page/checkout"}},
		{at: 135 * time.Second},
	})
	assert.Empty(t, e.Log())
}

func TestNotificationsInFlightAreNotRepeated(t *testing.T) {
	e := NewEngine(nil, NewMemStore())
	e.Ingest(pageCheckout, t0)
	first := e.Flush(t0.Add(5 * time.Second))
	require.Len(t, first, 1)
	e.Ingest(pageCheckout, t0.Add(time.Minute))
	assert.Empty(t, e.Flush(t0.Add(65*time.Second)), "not sent again while the first send is pending")

	e.Ingest(resolved(pageCheckout), t0.Add(70*time.Second))
	require.NoError(t, e.MarkSent(context.Background(), first[0], nil))
	ns := e.Flush(t0.Add(125 * time.Second))
	require.Len(t, ns, 1, "the resolve waits for the trigger's delivery, then goes out")
	assert.Equal(t, ActionResolve, ns[0].Action)
	assert.Equal(t, pageCheckout.Fingerprint, ns[0].DedupKey())
	assert.Equal(t, map[string]string{"alertname": "Page", "service_name": "checkout", "slo": "availability"}, ns[0].GroupLabels)
}

// TestConcurrentUse lets the race detector check the locking: the exporter
// ingests from its consumer goroutines while a ticker flushes.
func TestConcurrentUse(t *testing.T) {
	e := NewEngine(nil, NewMemStore())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Second)
				if w == 0 {
					for _, n := range e.Flush(now) {
						assert.NoError(t, e.MarkSent(context.Background(), n, nil))
					}
					continue
				}
				e.Ingest([]Alert{pageCheckout, ticketSearch, euAlert}[w-1], now)
			}
		}()
	}
	wg.Wait()
	for _, n := range e.Flush(t0.Add(time.Hour)) {
		require.NoError(t, e.MarkSent(context.Background(), n, nil))
	}
	assert.Empty(t, e.Log(), "every alert went stale and was resolved")
}

func TestIngestFillsFingerprint(t *testing.T) {
	e := NewEngine(nil, nil)
	a := pageCheckout
	a.Fingerprint = ""
	e.Ingest(a, t0)
	ns := e.Flush(t0.Add(DefaultGroupWait))
	require.Len(t, ns, 1)
	assert.Equal(t, Fingerprint(pageCheckout.Labels), ns[0].DedupKey())
}
