package refusal

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/alerts"
)

func note(fp string) alerts.Notification {
	return alerts.Notification{Receiver: "oncall", Integration: "logs/pagerduty", Action: alerts.ActionTrigger, Alert: alerts.Alert{Fingerprint: fp}}
}

// recorder is a router's handler that records the fingerprints it was told of.
type recorder struct {
	mu  sync.Mutex
	fps []string
}

func (r *recorder) handle(n alerts.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fps = append(r.fps, n.Alert.Fingerprint)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.fps...)
}

// TestHeldUntilSubscribed: refusals reported before the router listens
// (exporters start first; SIGHUP rebuilds the router) reach it when it
// subscribes, in order, and only the router they name; once it
// unsubscribed they are held for the next one.
func TestHeldUntilSubscribed(t *testing.T) {
	b := NewBoard()
	require.True(t, b.Report("alertrouter", note("a")))
	require.True(t, b.Report("alertrouter/other", note("x")))
	require.True(t, b.Report("alertrouter", note("b")))

	var first recorder
	unsubscribe := b.Subscribe("alertrouter", first.handle)
	assert.Equal(t, []string{"a", "b"}, first.got())
	require.True(t, b.Report("alertrouter", note("c")))
	assert.Equal(t, []string{"a", "b", "c"}, first.got(), "reported while subscribed: handled at once")
	unsubscribe()

	require.True(t, b.Report("alertrouter", note("d")))
	assert.Equal(t, []string{"a", "b", "c"}, first.got())
	var second recorder
	defer b.Subscribe("alertrouter", second.handle)()
	assert.Equal(t, []string{"d"}, second.got())

	var other recorder
	defer b.Subscribe("alertrouter/other", other.handle)()
	assert.Equal(t, []string{"x"}, other.got())
}

// TestHeldBounded: past MaxHeld for a router not listening, the oldest
// refusal is dropped, and Report says so.
func TestHeldBounded(t *testing.T) {
	b := NewBoard()
	for i := range MaxHeld {
		require.True(t, b.Report("alertrouter", note(fmt.Sprint(i))))
	}
	assert.False(t, b.Report("alertrouter", note("last")))
	var r recorder
	defer b.Subscribe("alertrouter", r.handle)()
	got := r.got()
	require.Len(t, got, MaxHeld)
	assert.Equal(t, "1", got[0])
	assert.Equal(t, "last", got[MaxHeld-1])
}

// TestHeldRoutersBounded: refusals are held for at most MaxHeldRouters
// routers not listening (renamed ones, names no router has); one for a
// further router is not held and Report says so, while the routers
// already held keep taking theirs, and one that subscribes frees its
// place.
func TestHeldRoutersBounded(t *testing.T) {
	b := NewBoard()
	for i := range MaxHeldRouters {
		require.True(t, b.Report(fmt.Sprint("alertrouter/", i), note("a")))
	}
	assert.False(t, b.Report("alertrouter/late", note("a")), "one router too many")
	assert.True(t, b.Report("alertrouter/0", note("b")), "a router held already")
	var r recorder
	defer b.Subscribe("alertrouter/0", r.handle)()
	assert.Equal(t, []string{"a", "b"}, r.got())
	assert.True(t, b.Report("alertrouter/late", note("c")), "the place freed")
}

// TestUnsubscribeWaitsForHandler: unsubscribing (the router's shutdown)
// returns only once a refusal being handled is done with, so nothing
// touches the router's notification log after its last write.
func TestUnsubscribeWaitsForHandler(t *testing.T) {
	b := NewBoard()
	entered, release := make(chan struct{}), make(chan struct{})
	handled := false
	unsubscribe := b.Subscribe("alertrouter", func(alerts.Notification) {
		close(entered)
		<-release
		handled = true
	})
	go b.Report("alertrouter", note("a"))
	<-entered
	done := make(chan struct{})
	go func() {
		unsubscribe()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("unsubscribe returned while the handler ran")
	default:
	}
	close(release)
	<-done
	assert.True(t, handled)
}
