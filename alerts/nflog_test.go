package alerts

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestart runs steps on one engine, "restarts" (a new engine restored
// from the same store, with the in-memory state gone) and runs more steps.
func TestRestart(t *testing.T) {
	tests := []struct {
		name   string
		before []step
		// restartAt is when the new engine restores.
		restartAt time.Duration
		after     []step
	}{
		{
			name: "a re-reported alert is not triggered twice",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
			restartAt: time.Minute,
			after: []step{
				{at: time.Minute, ingest: []Alert{pageCheckout}},
				{at: time.Minute + 5*time.Second, ingest: []Alert{pageCheckout}},
				{at: 3 * time.Minute, ingest: []Alert{pageCheckout}},
			},
		},
		{
			name: "an alert triggered before and resolved after the restart gets its resolve",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
			restartAt: time.Minute,
			after: []step{
				{at: time.Minute, ingest: []Alert{resolved(pageCheckout)}},
				{at: time.Minute + 5*time.Second, want: []string{"resolve default Page/checkout"}},
			},
		},
		{
			name: "an alert that resolved while down and is never reported again is resolved by staleness",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
			restartAt: time.Hour,
			after: []step{
				{at: time.Hour + 5*time.Second},
				{at: time.Hour + 5*time.Minute + 5*time.Second, want: []string{"resolve default Page/checkout"}},
			},
		},
		{
			name: "a resolve that failed before the restart is not lost",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 65 * time.Second, failSends: true, want: []string{"resolve default Page/checkout"}},
			},
			restartAt: 70 * time.Second,
			after: []step{
				// The failed resolve was recorded pending: it goes out at
				// the first flush, not only once staleness resolves it.
				{at: 75 * time.Second, want: []string{"resolve default Page/checkout"}},
				{at: 70*time.Second + 5*time.Minute + 5*time.Second},
			},
		},
		{
			name: "a resolve received but not yet sent before the restart goes out after it",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				// The group's next flush is at +5m5s: the resolve waits.
				{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
			},
			restartAt: time.Minute,
			after: []step{
				// Not at ResolveTimeout: the connector said it resolved.
				{at: time.Minute + 5*time.Second, want: []string{"resolve default Page/checkout"}},
				{at: 10 * time.Minute},
			},
		},
		{
			name: "an alert resolved and firing again before the restart still fires after it",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 20 * time.Second, ingest: []Alert{pageCheckout}},
			},
			restartAt: time.Minute,
			after: []step{
				{at: time.Minute + 5*time.Second},
				{at: 2 * time.Minute, ingest: []Alert{pageCheckout}},
				{at: 3 * time.Minute, ingest: []Alert{pageCheckout}},
			},
		},
		{
			name: "an inhibited ticket does not fire on restart, even when reported before its page",
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout, ticketCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
			restartAt: time.Minute,
			after: []step{
				{at: time.Minute, ingest: []Alert{ticketCheckout}},
				{at: time.Minute + 5*time.Second, ingest: []Alert{ticketCheckout, pageCheckout}},
				{at: 3 * time.Minute, ingest: []Alert{ticketCheckout, pageCheckout}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemStore()
			first := NewEngine(nil, store)
			runSteps(t, first, tt.before)
			// What the router's persist loop does every flush interval.
			require.NoError(t, first.Persist(context.Background()))
			e := NewEngine(nil, store)
			require.NoError(t, e.Restore(context.Background(), t0.Add(tt.restartAt)))
			runSteps(t, e, tt.after)
		})
	}
}

// TestResolveDuringTheTriggersHandover: an alert reported resolved while
// its trigger is being handed over still restores resolved: the trigger's
// entry, written after the resolve arrived, records it.
func TestResolveDuringTheTriggersHandover(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e := NewEngine(nil, store)
	e.Ingest(pageCheckout, t0)
	ns := e.Flush(t0.Add(DefaultGroupWait))
	require.Len(t, ns, 1)
	e.Ingest(resolved(pageCheckout), t0.Add(6*time.Second))
	restoredAfter := func(what string) {
		t.Helper()
		// A copy of the store as the crash left it: the restored engine
		// delivers the resolve and so empties the log it writes.
		crashed := NewMemStore()
		maps.Copy(crashed.m, store.m)
		restored := NewEngine(nil, crashed)
		require.NoError(t, restored.Restore(ctx, t0.Add(time.Minute)))
		require.Len(t, restored.Log(), 1, what)
		assert.Equal(t, t0.Add(6*time.Second), restored.Log()[0].ResolvedAt, what)
		runSteps(t, restored, []step{
			{at: time.Minute + 5*time.Second, want: []string{"resolve default Page/checkout"}},
		})
	}
	require.NoError(t, e.MarkSending(ctx, ns[0]))
	restoredAfter("a crash after MarkSending")
	require.NoError(t, e.MarkSent(ctx, ns[0], nil))
	restoredAfter("a crash after MarkSent")
}

func TestRestoreErrors(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		stored  []byte
		getErr  error
		wantErr string
	}{
		{"corrupt index", StoreKeyIndex, []byte("{"), nil, "decoding notification log vigil.alerts.nflog.index"},
		{"index of another version", StoreKeyIndex, []byte(`{"version":1}`), nil, "notification log vigil.alerts.nflog.index has version 1, want 2"},
		{"corrupt silences", StoreKeySilences, []byte(`{"version":2,"silences":[]}`), nil, "decoding silence state vigil.alerts.silences"},
		{"store failure", "", nil, errors.New("disk gone"), "reading notification log vigil.alerts.nflog: disk gone"},
		{"corrupt version 1 log", storeKeyV1, []byte(`{"version":1,"entries":{}}`), nil, "decoding notification log vigil.alerts.nflog:"},
		{"version 1 key of another version", storeKeyV1, []byte(`{"version":3}`), nil, "notification log vigil.alerts.nflog has version 3, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &faultyStore{MemStore: NewMemStore(), getErr: tt.getErr}
			if tt.stored != nil {
				require.NoError(t, store.Set(context.Background(), tt.key, tt.stored))
			}
			err := NewEngine(nil, store).Restore(context.Background(), t0)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestMarkSentPersists(t *testing.T) {
	store := &faultyStore{MemStore: NewMemStore()}
	e := NewEngine(nil, store)
	e.Ingest(pageCheckout, t0)
	ns := e.Flush(t0.Add(DefaultGroupWait))
	require.Len(t, ns, 1)

	store.setErr = errors.New("disk full")
	require.ErrorContains(t, e.MarkSending(context.Background(), ns[0]), "persisting notification log: disk full")
	err := e.MarkSent(context.Background(), ns[0], nil)
	require.ErrorContains(t, err, "persisting notification log: disk full")
	assert.Len(t, e.Log(), 1, "a delivered trigger is logged in memory even when persisting fails")

	store.setErr = nil
	require.NoError(t, e.Persist(context.Background()))
	restored := NewEngine(nil, store)
	require.NoError(t, restored.Restore(context.Background(), t0.Add(time.Minute)))
	want := LogEntry{Receiver: DefaultReceiverName, Fingerprint: pageCheckout.Fingerprint, Action: ActionTrigger, SentAt: t0.Add(DefaultGroupWait), Alert: pageCheckout}
	want.Alert.StartsAt = t0
	assert.Equal(t, []LogEntry{want}, restored.Log())
}

type faultyStore struct {
	*MemStore
	getErr, setErr error
}

func (s *faultyStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.getErr != nil {
		return nil, s.getErr
	}
	return s.MemStore.Get(ctx, key)
}

func (s *faultyStore) Update(ctx context.Context, key string, update func([]byte) ([]byte, error)) error {
	if s.getErr != nil {
		return s.getErr
	}
	if s.setErr != nil {
		return s.setErr
	}
	return s.MemStore.Update(ctx, key, update)
}

func (s *faultyStore) Set(ctx context.Context, key string, value []byte) error {
	if s.setErr != nil {
		return s.setErr
	}
	return s.MemStore.Set(ctx, key, value)
}

func TestUntilResolvedSilenceSurvivesRestart(t *testing.T) {
	store := NewMemStore()
	silences := []*Silence{{ID: "INC-1", Matchers: mustParse(t, `slo="availability"`), UntilResolved: true}}
	e := NewEngine(nil, store)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}, silences: silences},
		{at: 5 * time.Second},
		{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 65 * time.Second},
	})
	require.NoError(t, e.Persist(context.Background()))

	restored := NewEngine(nil, store)
	require.NoError(t, restored.Restore(context.Background(), t0.Add(2*time.Minute)))
	runSteps(t, restored, []step{
		{at: 2 * time.Minute, ingest: []Alert{pageCheckout}, silences: silences},
		{at: 2*time.Minute + 5*time.Second, want: []string{"trigger default Page/checkout"}},
	})
}

// TestCrashWindows restores from the store as a crash would leave it at
// each point of delivering a notification: handed to MarkSending (pending)
// but never confirmed. Nothing is lost: a pending trigger goes out again
// while the alert fires, its resolve still goes out; a pending resolve
// goes out again.
func TestCrashWindows(t *testing.T) {
	tests := []struct {
		name  string
		crash Action // the action whose MarkSent never happens
		// before runs until the crash; after, on the restored engine.
		before, after []step
	}{
		{
			name:  "trigger handed over, not confirmed; the alert still fires",
			crash: ActionTrigger,
			after: []step{
				{at: 70 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 75 * time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default Page/checkout"}},
				{at: 3 * time.Minute, ingest: []Alert{pageCheckout}},
			},
		},
		{
			name:  "trigger handed over, not confirmed; the alert resolves",
			crash: ActionTrigger,
			after: []step{
				{at: 70 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 75 * time.Second, want: []string{"resolve default Page/checkout"}},
				{at: 3 * time.Minute},
			},
		},
		{
			name:  "resolve handed over, not confirmed",
			crash: ActionResolve,
			before: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
			},
			after: []step{
				{at: 75 * time.Second, want: []string{"resolve default Page/checkout"}},
				{at: 3 * time.Minute},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := NewMemStore()
			e := NewEngine(nil, store)
			runSteps(t, e, tt.before)
			if tt.crash == ActionTrigger {
				e.Ingest(pageCheckout, t0)
			}
			ns := e.Flush(t0.Add(65 * time.Second))
			require.Len(t, ns, 1)
			require.Equal(t, tt.crash, ns[0].Action)
			require.NoError(t, e.MarkSending(ctx, ns[0]))
			// The crash: MarkSent never runs.

			restored := NewEngine(nil, store)
			require.NoError(t, restored.Restore(ctx, t0.Add(70*time.Second)))
			runSteps(t, restored, tt.after)
		})
	}
}

// TestLogKeyedByService: each service's log is its own value, listed in the
// index; a resolve that empties a service's log deletes its value.
func TestLogKeyedByService(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e := NewEngine(nil, store)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 5 * time.Second, want: []string{"trigger default Page/checkout", "trigger default Ticket/search"}},
	})
	index := func() []string {
		var doc indexDoc
		_, err := load(ctx, store, StoreKeyIndex, &doc, func() int { return doc.Version })
		require.NoError(t, err)
		return doc.Services
	}
	entries := func(service string) []string {
		var doc serviceDoc
		_, err := load(ctx, store, ServiceKey(service), &doc, func() int { return doc.Version })
		require.NoError(t, err)
		var out []string
		for _, e := range doc.Entries {
			out = append(out, e.Alert.Labels[LabelAlertName])
		}
		return out
	}
	assert.Equal(t, []string{"checkout", "search"}, index())
	assert.Equal(t, []string{"Page"}, entries("checkout"))
	assert.Equal(t, []string{"Ticket"}, entries("search"))

	runSteps(t, e, []step{
		{at: 10 * time.Second, ingest: []Alert{resolved(ticketSearch)}},
		{at: 65 * time.Second, want: []string{"resolve default Ticket/search"}},
	})
	assert.Equal(t, []string{"checkout"}, index())
	data, err := store.Get(ctx, ServiceKey("search"))
	require.NoError(t, err)
	assert.Nil(t, data, "an empty service log is deleted")
	assert.Equal(t, "vigil.alerts.nflog/a%2Fb", ServiceKey("a/b"), "service names are escaped in keys")
}
