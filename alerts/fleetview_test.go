package alerts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetViews returns the engines of fleetEngines with their views, named
// ev0, ev1, …, and the store they share.
func fleetViews(t *testing.T, n int) ([]*Engine, []*FleetView, *countingStore) {
	t.Helper()
	store := &countingStore{MemStore: NewMemStore(), sets: map[string]int{}}
	engines := make([]*Engine, n)
	views := make([]*FleetView, n)
	for i := range n {
		engines[i] = NewEngine(nil, store)
		engines[i].ShardByService()
		require.NoError(t, engines[i].Restore(context.Background(), t0))
		views[i] = NewFleetView(engines[i], store, "ev"+string(rune('0'+i)), time.Second)
	}
	return engines, views, store
}

// countingStore counts the writes of each key.
type countingStore struct {
	*MemStore
	mu   sync.Mutex
	sets map[string]int
}

func (s *countingStore) Set(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	s.sets[key]++
	s.mu.Unlock()
	return s.MemStore.Set(ctx, key, value)
}

func (s *countingStore) setsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sets[key]
}

func fingerprintsOf(sts []AlertStatus) []string {
	out := []string{}
	for _, st := range sts {
		out = append(out, st.Alert.Fingerprint)
	}
	return out
}

func publishAll(t *testing.T, at time.Time, views ...*FleetView) {
	t.Helper()
	for _, v := range views {
		require.NoError(t, v.Publish(context.Background(), at, nil))
	}
}

// TestFleetViewListsEveryEvaluatorsAlerts: each evaluator's console lists
// the alerts every evaluator holds, with what holds them back as their
// holder judges it, in the groups of the routing.
func TestFleetViewListsEveryEvaluatorsAlerts(t *testing.T) {
	ctx := context.Background()
	engines, views, _ := fleetViews(t, 3)
	engines[0].Ingest(pageCheckout, t0)
	engines[0].Ingest(ticketCheckout, t0)
	engines[1].Ingest(ticketSearch, t0)
	silence := &Silence{ID: "s1", Matchers: mustParse(t, `service_name="search"`), StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	engines[1].SetSilences([]*Silence{silence}, t0)
	publishAll(t, t0.Add(time.Second), views...)

	want := []string{pageCheckout.Fingerprint, ticketCheckout.Fingerprint, ticketSearch.Fingerprint}
	for i, v := range views {
		got, err := v.Alerts(ctx, t0.Add(2*time.Second))
		require.NoError(t, err)
		assert.ElementsMatch(t, want, fingerprintsOf(got), "evaluator %d", i)
		for _, st := range got {
			if st.Alert.Fingerprint == ticketSearch.Fingerprint {
				assert.Equal(t, []string{FileSilenceID("s1")}, st.SilencedBy, "evaluator %d: silenced as its holder sees it", i)
				assert.Equal(t, []string{DefaultReceiverName}, st.Receivers)
				assert.Equal(t, t0.Add(DefaultConfig().ResolveTimeout), st.ResolvesBy)
			}
		}
	}
	local := engines[2].Groups(t0.Add(2 * time.Second))
	assert.Empty(t, local, "the third evaluator holds nothing itself")
	groups, err := views[2].Groups(ctx, t0.Add(2*time.Second))
	require.NoError(t, err)
	want0 := engines[0].Groups(t0.Add(2 * time.Second))
	want1 := engines[1].Groups(t0.Add(2 * time.Second))
	require.Len(t, groups, len(want0)+len(want1))
	for _, g := range append(want0, want1...) {
		var found *GroupStatus
		for i := range groups {
			if groups[i].Key == g.Key {
				found = &groups[i]
			}
		}
		require.NotNil(t, found, "group %s", g.Key)
		assert.Equal(t, g.Labels, found.Labels)
		assert.Equal(t, g.Receiver, found.Receiver)
		assert.Equal(t, fingerprintsOf(g.Alerts), fingerprintsOf(found.Alerts))
	}
}

// TestFleetViewShowsAnAlertOnce: an alert two evaluators hold during a
// handover is listed once, as the asking evaluator holds it, else as
// the most recent view does, and a group spanning evaluators lists the
// alerts of both.
func TestFleetViewShowsAnAlertOnce(t *testing.T) {
	ctx := context.Background()
	engines, views, _ := fleetViews(t, 3)
	// Grouped by alert name alone, so one group spans services.
	cfg := parseTestConfig(t, `
route:
  receiver: default
  group_by: [alertname]
receivers:
  - name: default
`)
	for _, e := range engines {
		e.SetConfig(cfg, t0)
	}
	engines[0].Ingest(ticketCheckout, t0)
	engines[1].Ingest(ticketCheckout, t0.Add(10*time.Second))
	engines[2].Ingest(ticketSearch, t0)
	require.NoError(t, views[0].Publish(ctx, t0.Add(11*time.Second), nil))
	require.NoError(t, views[1].Publish(ctx, t0.Add(12*time.Second), nil))
	require.NoError(t, views[2].Publish(ctx, t0.Add(12*time.Second), nil))

	got, err := views[2].Alerts(ctx, t0.Add(13*time.Second))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{ticketCheckout.Fingerprint, ticketSearch.Fingerprint}, fingerprintsOf(got))
	for _, st := range got {
		if st.Alert.Fingerprint == ticketCheckout.Fingerprint {
			assert.Equal(t, t0.Add(10*time.Second), st.UpdatedAt, "as the evaluator that saw it reported last holds it")
		}
	}
	got, err = views[0].Alerts(ctx, t0.Add(13*time.Second))
	require.NoError(t, err)
	for _, st := range got {
		if st.Alert.Fingerprint == ticketCheckout.Fingerprint {
			assert.Equal(t, t0, st.UpdatedAt, "as the asking evaluator holds it")
		}
	}
	groups, err := views[0].Groups(ctx, t0.Add(13*time.Second))
	require.NoError(t, err)
	require.Len(t, groups, 1)
	assert.Equal(t, map[string]string{LabelAlertName: "Ticket"}, groups[0].Labels)
	assert.ElementsMatch(t, []string{ticketCheckout.Fingerprint, ticketSearch.Fingerprint}, fingerprintsOf(groups[0].Alerts))
}

// TestFleetViewFollowsTheEvaluators: a resolve leaves the other consoles
// at the holder's next publish; a view whose index entry stopped changing
// for three refresh periods (a dead evaluator) is not shown, one
// withdrawn (a clean stop) at once, and an entry unchanged for
// viewForget is removed with its values.
func TestFleetViewFollowsTheEvaluators(t *testing.T) {
	ctx := context.Background()
	engines, views, store := fleetViews(t, 3)
	engines[0].Ingest(pageCheckout, t0)
	engines[1].Ingest(ticketSearch, t0)
	engines[2].Ingest(euAlert, t0)
	publishAll(t, t0, views...)
	listed := func(at time.Time) []string {
		t.Helper()
		got, err := views[0].Alerts(ctx, at)
		require.NoError(t, err)
		return fingerprintsOf(got)
	}
	require.ElementsMatch(t, []string{pageCheckout.Fingerprint, ticketSearch.Fingerprint, euAlert.Fingerprint}, listed(t0))

	engines[1].Ingest(resolved(ticketSearch), t0.Add(time.Second))
	publishAll(t, t0.Add(time.Second), views[1])
	assert.ElementsMatch(t, []string{pageCheckout.Fingerprint, euAlert.Fingerprint}, listed(t0.Add(time.Second)))

	// The second evaluator keeps publishing; the third has died.
	engines[1].Ingest(ticketSearch, t0.Add(2*time.Second))
	stale := viewStaleRefreshes * ViewRefresh
	for at := t0.Add(2 * time.Second); !at.After(t0.Add(stale)); at = at.Add(time.Second) {
		publishAll(t, at, views[0], views[1])
		assert.Len(t, listed(at), 3, "at +%v, within three refresh periods", at.Sub(t0))
	}
	at := t0.Add(stale + time.Second)
	publishAll(t, at, views[0], views[1])
	assert.ElementsMatch(t, []string{pageCheckout.Fingerprint, ticketSearch.Fingerprint}, listed(at), "the dead evaluator's view is stale")

	require.NoError(t, views[1].Withdraw(ctx))
	assert.ElementsMatch(t, []string{pageCheckout.Fingerprint}, listed(at), "withdrawn")
	data, err := store.Get(ctx, ViewKey("ev1"))
	require.NoError(t, err)
	assert.Nil(t, data)

	data, err = store.Get(ctx, ViewKey("ev2"))
	require.NoError(t, err)
	require.NotNil(t, data, "kept until forgotten")
	publishAll(t, t0.Add(viewForget+time.Minute), views[0])
	data, err = store.Get(ctx, ViewKey("ev2"))
	require.NoError(t, err)
	assert.Nil(t, data, "forgotten once unchanged for viewForget")
}

// TestFleetViewIgnoresClocks: liveness is judged on the reader's clock,
// by when it saw each evaluator's index entry change, so evaluators whose
// clocks are an hour ahead or behind, or whose persist loop runs every
// 20s, are shown as long as they publish, and hidden once they stop.
func TestFleetViewIgnoresClocks(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	var engines []*Engine
	var views []*FleetView
	for i, interval := range []time.Duration{time.Second, time.Second, time.Second, 20 * time.Second} {
		e := NewEngine(nil, store)
		e.ShardByService()
		require.NoError(t, e.Restore(ctx, t0))
		engines = append(engines, e)
		views = append(views, NewFleetView(e, store, fmt.Sprint("ev", i), interval))
	}
	engines[1].Ingest(pageCheckout, t0)
	engines[2].Ingest(ticketSearch, t0)
	engines[3].Ingest(euAlert, t0)
	skew := []time.Duration{0, time.Hour, -time.Hour, 0}
	for s := 0; s <= 120; s++ {
		at := t0.Add(time.Duration(s) * time.Second)
		for i, v := range views {
			if i == 3 && s%20 != 0 {
				continue // a persist loop every 20s
			}
			require.NoError(t, v.Publish(ctx, at.Add(skew[i]), nil))
		}
		got, err := views[0].Alerts(ctx, at)
		require.NoError(t, err)
		require.Len(t, got, 3, "at +%ds", s)
	}
	// The evaluator an hour ahead stops: hidden three periods later.
	for s := 121; s <= 150; s++ {
		at := t0.Add(time.Duration(s) * time.Second)
		require.NoError(t, views[0].Publish(ctx, at, nil))
		got, err := views[0].Alerts(ctx, at)
		require.NoError(t, err)
		if s <= 135 {
			assert.Contains(t, fingerprintsOf(got), pageCheckout.Fingerprint, "at +%ds", s)
		} else {
			assert.NotContains(t, fingerprintsOf(got), pageCheckout.Fingerprint, "at +%ds", s)
		}
	}
}

// TestFleetViewWritesOnChange: an evaluator writes its view when its
// alerts or groups change, and when only report times changed at most
// every viewVolatileRefresh; its attachment at most every
// viewAttachmentRefresh.
func TestFleetViewWritesOnChange(t *testing.T) {
	ctx := context.Background()
	engines, views, store := fleetViews(t, 1)
	key := ViewKey("ev0")
	engines[0].Ingest(pageCheckout, t0)
	for s := 0; s <= 40; s++ {
		publishAll(t, t0.Add(time.Duration(s)*time.Second), views[0])
	}
	assert.Equal(t, 1, store.setsOf(key), "unchanged: written once")
	engines[0].Ingest(pageCheckout, t0.Add(41*time.Second))
	publishAll(t, t0.Add(41*time.Second), views[0])
	assert.Equal(t, 2, store.setsOf(key), "re-reported, 41s after the last write")
	engines[0].Ingest(pageCheckout, t0.Add(45*time.Second))
	publishAll(t, t0.Add(45*time.Second), views[0])
	assert.Equal(t, 2, store.setsOf(key), "re-reported 4s after the last write")
	engines[0].Ingest(ticketSearch, t0.Add(46*time.Second))
	publishAll(t, t0.Add(46*time.Second), views[0])
	assert.Equal(t, 3, store.setsOf(key), "a new alert, at once")

	attachment := ViewAttachmentKey("ev0")
	require.NoError(t, views[0].Publish(ctx, t0.Add(47*time.Second), []byte(`{"a":1}`)))
	require.NoError(t, views[0].Publish(ctx, t0.Add(48*time.Second), []byte(`{"a":2}`)))
	assert.Equal(t, 1, store.setsOf(attachment), "the first attachment at once, a change within 10s waits")
	require.NoError(t, views[0].Publish(ctx, t0.Add(57*time.Second), []byte(`{"a":2}`)))
	assert.Equal(t, 2, store.setsOf(attachment))
	require.NoError(t, views[0].Publish(ctx, t0.Add(120*time.Second), []byte(`{"a":2}`)))
	assert.Equal(t, 2, store.setsOf(attachment), "unchanged")

	// A store that lost everything (Redis restarted without persistence)
	// gets the view and the attachment again at the next refresh.
	for _, k := range []string{StoreKeyViewIndex, key, attachment} {
		require.NoError(t, store.Delete(ctx, k))
	}
	require.NoError(t, views[0].Publish(ctx, t0.Add(130*time.Second), []byte(`{"a":2}`)))
	for _, k := range []string{StoreKeyViewIndex, key, attachment} {
		data, err := store.Get(ctx, k)
		require.NoError(t, err)
		assert.NotNil(t, data, k)
	}
}

// TestFleetViewAttachments: what an evaluator attaches to its view reaches
// the others, and goes with its view when it withdraws.
func TestFleetViewAttachments(t *testing.T) {
	ctx := context.Background()
	_, views, _ := fleetViews(t, 2)
	require.NoError(t, views[1].Publish(ctx, t0, []byte(`{"slos":[]}`)))
	got, err := views[0].Attachments(ctx, t0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "ev1", got[0].Evaluator)
	assert.JSONEq(t, `{"slos":[]}`, string(got[0].Data))
	require.NoError(t, views[1].Withdraw(ctx))
	got, err = views[0].Attachments(ctx, t0)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestFleetViewWithoutTheStore: when the store does not answer, a
// console lists the alerts its evaluator holds, with the error; a failed
// publish is written at the next one.
func TestFleetViewWithoutTheStore(t *testing.T) {
	ctx := context.Background()
	store := &faultyStore{MemStore: NewMemStore()}
	var engines []*Engine
	var views []*FleetView
	for _, name := range []string{"a", "b"} {
		e := NewEngine(nil, store)
		e.ShardByService()
		require.NoError(t, e.Restore(ctx, t0))
		engines, views = append(engines, e), append(views, NewFleetView(e, store, name, time.Second))
	}
	engines[0].Ingest(pageCheckout, t0)
	engines[1].Ingest(ticketSearch, t0)
	store.setErr = errors.New("store down")
	require.Error(t, views[1].Publish(ctx, t0, nil))
	store.setErr = nil
	require.NoError(t, views[1].Publish(ctx, t0.Add(time.Second), nil))

	store.getErr = errors.New("store down")
	got, err := views[0].Alerts(ctx, t0.Add(time.Second))
	require.ErrorContains(t, err, "store down")
	assert.Equal(t, []string{pageCheckout.Fingerprint}, fingerprintsOf(got))
	groups, err := views[0].Groups(ctx, t0.Add(time.Second))
	require.Error(t, err)
	require.Len(t, groups, 1)

	store.getErr = nil
	got, err = views[0].Alerts(ctx, t0.Add(time.Second))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{pageCheckout.Fingerprint, ticketSearch.Fingerprint}, fingerprintsOf(got))
}
