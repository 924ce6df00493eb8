package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetEngines returns n engines of a fleet sharing one store, as the
// alert routers of n evaluators do.
func fleetEngines(t *testing.T, n int) []*Engine {
	t.Helper()
	store := NewMemStore()
	out := make([]*Engine, n)
	for i := range out {
		out[i] = NewEngine(nil, store)
		out[i].ShardByService()
		require.NoError(t, out[i].Restore(context.Background(), t0))
	}
	return out
}

func syncAll(t *testing.T, at time.Time, es ...*Engine) {
	t.Helper()
	for _, e := range es {
		require.NoError(t, e.SyncSilences(context.Background(), at))
		require.NoError(t, e.Persist(context.Background()))
	}
}

func silenceState(t *testing.T, e *Engine, id string, at time.Time) SilenceState {
	t.Helper()
	s, ok := e.SilenceByID(id, at)
	if !ok {
		return ""
	}
	return s.State
}

// TestSilencesAcrossEngines: a silence set through one evaluator's API
// mutes the alerts another evaluator holds once it synced, and an expiry
// through that other evaluator lets them through on both.
func TestSilencesAcrossEngines(t *testing.T) {
	ctx := context.Background()
	es := fleetEngines(t, 2)
	a, b := es[0], es[1]
	id, err := a.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="checkout"`), EndsAt: t0.Add(time.Hour), CreatedBy: "alice"}, t0)
	require.NoError(t, err)
	require.NoError(t, b.SyncSilences(ctx, t0.Add(time.Second)))
	assert.Equal(t, SilenceActive, silenceState(t, b, id, t0.Add(time.Second)))
	runSteps(t, b, []step{
		{at: time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 6 * time.Second, want: []string{"trigger default Ticket/search"}},
	})

	require.NoError(t, b.ExpireSilence(ctx, id, t0.Add(time.Minute)))
	require.NoError(t, a.SyncSilences(ctx, t0.Add(time.Minute+time.Second)))
	assert.Equal(t, SilenceExpired, silenceState(t, a, id, t0.Add(time.Minute+time.Second)))
	runSteps(t, b, []step{
		{at: time.Minute + 10*time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default Page/checkout"}},
	})
}

// TestConcurrentSilenceWrites: consoles of several evaluators create
// silences at once, none having seen the others'; none is lost, and
// after a sync every evaluator has all of them.
func TestConcurrentSilenceWrites(t *testing.T) {
	ctx := context.Background()
	es := fleetEngines(t, 4)
	const perEngine = 25
	var wg sync.WaitGroup
	ids := make(chan string, len(es)*perEngine)
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perEngine {
				id, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, fmt.Sprintf(`service_name="svc-%d-%d"`, i, j)), EndsAt: t0.Add(time.Hour)}, t0)
				if err != nil {
					t.Error(err)
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	syncAll(t, t0.Add(time.Second), es...)
	for id := range ids {
		for i, e := range es {
			if silenceState(t, e, id, t0.Add(time.Second)) != SilenceActive {
				t.Errorf("evaluator %d lacks silence %s", i, id)
			}
		}
	}
}

// TestSilenceMerge: the merge keeps the same version of a silence on
// every evaluator whatever the order, an expiry wins over an edit in place
// made at once by an evaluator that had not seen it (even one with a later
// clock), and silences ended longer than the
// retention ago do not come back from the store.
func TestSilenceMerge(t *testing.T) {
	ctx := context.Background()
	es := fleetEngines(t, 2)
	a, b := es[0], es[1]
	id, err := a.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="checkout"`), EndsAt: t0.Add(time.Hour), Comment: "deploy"}, t0)
	require.NoError(t, err)
	syncAll(t, t0.Add(time.Second), b)

	// a edits the silence with a clock ahead; b, behind, expires it.
	s, _ := a.SilenceByID(id, t0.Add(time.Second))
	s.Comment = "deploy, longer"
	s.EndsAt = t0.Add(2 * time.Hour)
	_, err = a.SetSilence(ctx, s.Silence, t0.Add(20*time.Second))
	require.NoError(t, err)
	require.NoError(t, b.ExpireSilence(ctx, id, t0.Add(10*time.Second)))
	syncAll(t, t0.Add(30*time.Second), a, b)
	for i, e := range es {
		got, _ := e.SilenceByID(id, t0.Add(30*time.Second))
		assert.Equal(t, SilenceExpired, got.State, "evaluator %d", i)
		assert.Equal(t, t0.Add(10*time.Second), got.EndsAt, "evaluator %d", i)
	}

	// Past the retention a collects it; b's sync and write do not bring
	// it back.
	late := t0.Add(10*time.Second + SilenceRetention + time.Minute)
	a.Flush(late)
	syncAll(t, late, a, b)
	for i, e := range es {
		_, ok := e.SilenceByID(id, late)
		assert.False(t, ok, "evaluator %d still lists a silence ended longer than the retention ago", i)
	}
}

// TestUntilResolvedAcrossEngines: an until_resolved silence mutes alerts
// of services held by two evaluators. It ends only once both alerts
// resolved, each seen by the evaluator that holds it.
func TestUntilResolvedAcrossEngines(t *testing.T) {
	ctx := context.Background()
	es := fleetEngines(t, 2)
	a, b := es[0], es[1]
	id, err := a.SetSilence(ctx, Silence{Matchers: mustParse(t, `slo="availability"`), EndsAt: t0.Add(7 * 24 * time.Hour), Comment: "INC-7 [until-resolved]"}, t0)
	require.NoError(t, err)
	syncAll(t, t0, b)
	runSteps(t, a, []step{{at: 0, ingest: []Alert{pageCheckout}}, {at: 5 * time.Second}})
	runSteps(t, b, []step{{at: 0, ingest: []Alert{ticketSearch}}, {at: 5 * time.Second}})
	syncAll(t, t0.Add(6*time.Second), a, b, a)

	// checkout resolves on a; search still fires on b.
	runSteps(t, a, []step{{at: 10 * time.Second, ingest: []Alert{resolved(pageCheckout)}}, {at: 70 * time.Second}})
	syncAll(t, t0.Add(71*time.Second), a, b, a)
	for i, e := range es {
		assert.Equal(t, SilenceActive, silenceState(t, e, id, t0.Add(71*time.Second)), "evaluator %d: ended while b's alert fires", i)
	}
	runSteps(t, b, []step{{at: 75 * time.Second, ingest: []Alert{ticketSearch}}, {at: 80 * time.Second}})

	// search resolves on b: the silence ends everywhere.
	runSteps(t, b, []step{{at: 90 * time.Second, ingest: []Alert{resolved(ticketSearch)}}, {at: 150 * time.Second}})
	syncAll(t, t0.Add(151*time.Second), b, a)
	for i, e := range es {
		assert.Equal(t, SilenceExpired, silenceState(t, e, id, t0.Add(151*time.Second)), "evaluator %d", i)
	}
	// And the next incident pages.
	runSteps(t, a, []step{
		{at: 3 * time.Minute, ingest: []Alert{pageCheckout}},
		{at: 3*time.Minute + 5*time.Second, want: []string{"trigger default Page/checkout"}},
	})
}

// TestSilencesOfEarlierVersions: a document written before the state of
// until_resolved silences was merged still loads, its muted alerts taken
// as firing.
func TestSilencesOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	doc := map[string]any{
		"version":  nflogVersion,
		"silences": map[string]any{"s1": map[string]any{"muted": map[string]bool{pageCheckout.Fingerprint: true}}},
		"api": map[string]any{"s1": map[string]any{
			"matchers":  []map[string]any{{"type": MatchEqual, "name": "slo", "value": "availability"}},
			"starts_at": t0, "ends_at": t0.Add(time.Hour), "until_resolved": true, "updated_at": t0,
		}},
	}
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, store.Set(ctx, StoreKeySilences, data))
	e := NewEngine(nil, store)
	require.NoError(t, e.Restore(ctx, t0))
	assert.Equal(t, SilenceActive, silenceState(t, e, "s1", t0))
	e.mu.Lock()
	m := e.silState["s1"].Alerts[pageCheckout.Fingerprint]
	e.mu.Unlock()
	assert.True(t, m.Firing, "the alert the silence muted is still taken as firing")
}

// TestExpiryRacingAnUpdate pins what an expiry and an update of the same
// silence made at the same time do (the README's "Silences in a fleet"
// says so). The API carries no version of the silence a client read, so
// an update that reaches the engine after the expiry cannot be told from
// a deliberate update of an expired silence: as in Alertmanager, it is a
// new silence with a new ID, and the expired one stays expired. An
// update in place made on an evaluator that had not seen the expiry yet
// loses to it at the merge.
func TestExpiryRacingAnUpdate(t *testing.T) {
	ctx := context.Background()
	base := Silence{Matchers: mustParse(t, `service_name="checkout"`), EndsAt: t0.Add(time.Hour), CreatedBy: "alice"}
	// update is `amtool silence update --duration=4h id`: the silence as
	// read, ending 4h after its start.
	update := func(e *Engine, id string) Silence {
		s, ok := e.SilenceByID(id, t0)
		require.True(t, ok)
		u := s.Silence
		u.EndsAt = s.StartsAt.Add(4 * time.Hour)
		return u
	}

	t.Run("one node, the expiry first", func(t *testing.T) {
		e := NewEngine(nil, NewMemStore())
		id, err := e.SetSilence(ctx, base, t0)
		require.NoError(t, err)
		u := update(e, id) // read before the expiry
		require.NoError(t, e.ExpireSilence(ctx, id, t0.Add(time.Second)))
		newID, err := e.SetSilence(ctx, u, t0.Add(2*time.Second))
		require.NoError(t, err)
		assert.NotEqual(t, id, newID, "an update of an expired silence is a new silence")
		assert.Equal(t, SilenceExpired, silenceState(t, e, id, t0.Add(2*time.Second)))
		assert.Equal(t, SilenceActive, silenceState(t, e, newID, t0.Add(2*time.Second)))
	})
	t.Run("one node, the update first", func(t *testing.T) {
		e := NewEngine(nil, NewMemStore())
		id, err := e.SetSilence(ctx, base, t0)
		require.NoError(t, err)
		same, err := e.SetSilence(ctx, update(e, id), t0.Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, id, same, "in place")
		require.NoError(t, e.ExpireSilence(ctx, id, t0.Add(2*time.Second)))
		assert.Equal(t, SilenceExpired, silenceState(t, e, id, t0.Add(2*time.Second)))
		assert.Len(t, e.Silences(t0.Add(2*time.Second)), 1)
	})
	t.Run("fleet, the update on an evaluator that has not seen the expiry", func(t *testing.T) {
		es := fleetEngines(t, 2)
		a, b := es[0], es[1]
		id, err := a.SetSilence(ctx, base, t0)
		require.NoError(t, err)
		syncAll(t, t0, a, b)
		require.NoError(t, a.ExpireSilence(ctx, id, t0.Add(time.Second)))
		same, err := b.SetSilence(ctx, update(b, id), t0.Add(2*time.Second))
		require.NoError(t, err)
		require.Equal(t, id, same, "in place on b")
		syncAll(t, t0.Add(3*time.Second), a, b, a)
		for i, e := range es {
			assert.Equal(t, SilenceExpired, silenceState(t, e, id, t0.Add(3*time.Second)), "evaluator %d: the expiry wins", i)
			assert.Len(t, e.Silences(t0.Add(3*time.Second)), 1, "evaluator %d", i)
		}
	})
	t.Run("fleet, the update on an evaluator that has seen the expiry", func(t *testing.T) {
		es := fleetEngines(t, 2)
		a, b := es[0], es[1]
		id, err := a.SetSilence(ctx, base, t0)
		require.NoError(t, err)
		syncAll(t, t0, a, b)
		u := update(b, id)
		require.NoError(t, a.ExpireSilence(ctx, id, t0.Add(time.Second)))
		syncAll(t, t0.Add(time.Second), a, b)
		newID, err := b.SetSilence(ctx, u, t0.Add(2*time.Second))
		require.NoError(t, err)
		assert.NotEqual(t, id, newID)
		syncAll(t, t0.Add(3*time.Second), b, a)
		for i, e := range es {
			assert.Equal(t, SilenceExpired, silenceState(t, e, id, t0.Add(3*time.Second)), "evaluator %d", i)
			assert.Equal(t, SilenceActive, silenceState(t, e, newID, t0.Add(3*time.Second)), "evaluator %d", i)
		}
	})
}
