package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// v1Log is a notification log as version 1 wrote it: one value holding
// the trigger of pageCheckout, delivered 5s after t0, and the state of an
// until_resolved silence that muted it.
func v1Log(t *testing.T) []byte {
	t.Helper()
	labels, err := json.Marshal(pageCheckout.Labels)
	require.NoError(t, err)
	fp := pageCheckout.Fingerprint
	return fmt.Appendf(nil, `{"version":1,"entries":[{"receiver":"default","fingerprint":%q,"action":"trigger",`+
		`"sent_at":"2026-11-21T20:00:05Z","alert":{"labels":%s,"state":"firing","starts_at":"2026-11-21T20:00:00Z","fingerprint":%q}}],`+
		`"silences":{"INC-1":{"muted":{%q:true}}}}`, fp, labels, fp, fp)
}

// TestRestoreMigratesVersion1: an upgraded router reads the log of
// version 1, rewrites it in the current layout and deletes it; the
// incident it held open gets its resolve, and the until_resolved silence
// still knows the alert it muted fires.
func TestRestoreMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	require.NoError(t, store.Set(ctx, storeKeyV1, v1Log(t)))

	e := NewEngine(nil, store)
	require.NoError(t, e.Restore(ctx, t0.Add(time.Minute)))
	want := LogEntry{Receiver: DefaultReceiverName, Fingerprint: pageCheckout.Fingerprint, Action: ActionTrigger, SentAt: t0.Add(5 * time.Second), Alert: pageCheckout}
	want.Alert.StartsAt = t0
	assert.Equal(t, []LogEntry{want}, e.Log())
	assert.Equal(t, map[string]mutedAlert{pageCheckout.Fingerprint: {Firing: true}}, e.silState["INC-1"].Alerts)

	old, err := store.Get(ctx, storeKeyV1)
	require.NoError(t, err)
	assert.Nil(t, old, "the version 1 value is deleted")
	var index indexDoc
	found, err := load(ctx, store, StoreKeyIndex, &index, func() int { return index.Version })
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, []string{"checkout"}, index.Services)

	// Restarted again: the same log, from the current layout alone.
	again := NewEngine(nil, store)
	require.NoError(t, again.Restore(ctx, t0.Add(time.Minute)))
	assert.Equal(t, []LogEntry{want}, again.Log())

	runSteps(t, e, []step{
		{at: time.Minute, ingest: []Alert{pageCheckout}},
		{at: time.Minute + 5*time.Second, ingest: []Alert{pageCheckout}},
		{at: 2 * time.Minute, ingest: []Alert{resolved(pageCheckout)}},
		{at: 2*time.Minute + 5*time.Second, want: []string{"resolve default Page/checkout"}},
	})
}

// TestMigrateV1KeepsTheCurrentLayout: where the current layout already
// holds a service's log or the silence state (a migration a crash
// interrupted after writing them, then a router that ran on), the version
// 1 value does not overwrite them; it is deleted all the same.
func TestMigrateV1KeepsTheCurrentLayout(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	runSteps(t, NewEngine(nil, store), []step{
		{at: 0, ingest: []Alert{ticketCheckout, ticketSearch}},
		{at: 5 * time.Second, want: []string{"trigger default Ticket/checkout", "trigger default Ticket/search"}},
	})
	require.NoError(t, store.Set(ctx, StoreKeySilences, []byte(`{"version":2,"silences":{"INC-2":{}}}`)))
	require.NoError(t, store.Set(ctx, storeKeyV1, v1Log(t)))

	e := NewEngine(nil, store)
	require.NoError(t, e.Restore(ctx, t0.Add(time.Minute)))
	var got []string
	for _, entry := range e.Log() {
		got = append(got, entry.Alert.Labels[LabelAlertName]+"/"+entry.Alert.Labels[LabelService])
	}
	assert.ElementsMatch(t, []string{"Ticket/checkout", "Ticket/search"}, got, "checkout's current value wins")
	assert.Contains(t, e.silState, "INC-2")
	assert.NotContains(t, e.silState, "INC-1", "the current silence state wins")
	old, err := store.Get(ctx, storeKeyV1)
	require.NoError(t, err)
	assert.Nil(t, old)
}
