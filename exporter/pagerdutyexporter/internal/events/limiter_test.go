package events

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

// fakeClock is a manual clock: After channels fire only on Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	changed chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0, changed: make(chan struct{})} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// waitForWaiters blocks until n timers are pending.
func (c *fakeClock) waitForWaiters(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%d timers pending, want %d", got, n)
		}
	}
}

// maxInAnyWindow counts the most slots in any half-open span of length w.
func maxInAnyWindow(slots []time.Time, w time.Duration) int {
	s := append([]time.Time(nil), slots...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	best, start := 0, 0
	for end := range s {
		for s[end].Sub(s[start]) >= w {
			start++
		}
		best = max(best, end-start+1)
	}
	return best
}

func TestLimiterSchedule(t *testing.T) {
	type call struct {
		at time.Duration // clock offset when Reserve is called
		n  int           // how many Reserve calls
	}
	tests := []struct {
		name     string
		settings LimiterSettings
		calls    []call
		want     map[time.Duration]int // slot offset → how many slots
	}{
		{
			name:     "burst within the limit goes now",
			settings: LimiterSettings{Events: 3, Window: 10 * time.Second},
			calls:    []call{{0, 3}},
			want:     map[time.Duration]int{0: 3},
		},
		{
			name:     "burst over the limit queues window by window",
			settings: LimiterSettings{Events: 3, Window: 10 * time.Second},
			calls:    []call{{0, 7}},
			want:     map[time.Duration]int{0: 3, 10 * time.Second: 3, 20 * time.Second: 1},
		},
		{
			name:     "sliding, not fixed buckets",
			settings: LimiterSettings{Events: 3, Window: 10 * time.Second},
			calls:    []call{{0, 1}, {time.Second, 1}, {2 * time.Second, 1}, {5 * time.Second, 1}, {11 * time.Second, 1}},
			// the 4th waits for the 1st to leave (0+10s); the 5th for the
			// 2nd (1s+10s), which is already now.
			want: map[time.Duration]int{0: 1, time.Second: 1, 2 * time.Second: 1, 10 * time.Second: 1, 11 * time.Second: 1},
		},
		{
			name:     "quiet key sends at once",
			settings: LimiterSettings{Events: 3, Window: 10 * time.Second},
			calls:    []call{{0, 3}, {time.Minute, 3}},
			want:     map[time.Duration]int{0: 3, time.Minute: 3},
		},
		{
			name:  "PagerDuty defaults: 120 per minute plus the guard",
			calls: []call{{0, 300}},
			want:  map[time.Duration]int{0: 120, 61 * time.Second: 120, 122 * time.Second: 60},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := tt.settings
			s.Now, s.After = clock.Now, clock.After
			l, err := NewLimiter(s)
			if err != nil {
				t.Fatal(err)
			}
			var slots []time.Time
			got := map[time.Duration]int{}
			elapsed := time.Duration(0)
			for _, c := range tt.calls {
				clock.Advance(c.at - elapsed)
				elapsed = c.at
				for i := 0; i < c.n; i++ {
					slot := l.Reserve(canary)
					if slot.Before(clock.Now()) {
						t.Fatalf("slot %v is in the past", slot)
					}
					slots = append(slots, slot)
					got[slot.Sub(t0)]++
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("slots = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("slots = %v, want %v", got, tt.want)
				}
			}
			// PagerDuty's own window must hold at most its limit.
			events, window := l.events, l.window
			if m := maxInAnyWindow(slots, window); m > events {
				t.Fatalf("%d slots in one %v window, limit %d", m, window, events)
			}
			if tt.settings.Events == 0 {
				if m := maxInAnyWindow(slots, RateLimitWindow); m > RateLimitEvents {
					t.Fatalf("%d slots in one minute, PagerDuty allows %d", m, RateLimitEvents)
				}
			}
		})
	}
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	clock := newFakeClock()
	l, _ := NewLimiter(LimiterSettings{Events: 1, Window: time.Minute, Now: clock.Now, After: clock.After})
	other := RoutingKey("0123456789abcdef0123456789abcdef")
	l.Reserve(canary)
	if got := l.Reserve(canary); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second slot of one key = %v, want a minute later", got)
	}
	if got := l.Reserve(other); !got.Equal(t0) {
		t.Fatalf("first slot of another key = %v, want now", got)
	}
}

func TestLimiterCancel(t *testing.T) {
	clock := newFakeClock()
	l, _ := NewLimiter(LimiterSettings{Events: 2, Window: 10 * time.Second, Now: clock.Now, After: clock.After})
	a, b := l.Reserve(canary), l.Reserve(canary)
	c := l.Reserve(canary)
	if !c.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("third slot = %v", c)
	}
	l.Cancel(canary, c)
	if got := l.Reserve(canary); !got.Equal(c) {
		t.Fatalf("slot after cancelling the queued one = %v, want %v", got, c)
	}
	// Give back both sends of t0 and the queued one: the key is idle again.
	l.Cancel(canary, a)
	l.Cancel(canary, b)
	l.Cancel(canary, c)
	if got := l.Reserve(canary); !got.Equal(t0) {
		t.Fatalf("slot on an idle key = %v, want now", got)
	}
}

func TestNewLimiterRejectsNegative(t *testing.T) {
	for _, s := range []LimiterSettings{{Events: -1}, {Window: -time.Second}} {
		if _, err := NewLimiter(s); err == nil {
			t.Errorf("NewLimiter(%+v) succeeded", s)
		}
	}
}

func TestLimiterWaitQueues(t *testing.T) {
	clock := newFakeClock()
	l, _ := NewLimiter(LimiterSettings{Events: 2, Window: 10 * time.Second, Now: clock.Now, After: clock.After})
	done := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func() { done <- l.Wait(context.Background(), canary) }()
	}
	receive := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Wait() = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of %d waiters returned", i, n)
			}
		}
	}
	assertBlocked := func() {
		t.Helper()
		select {
		case <-done:
			t.Fatal("a waiter returned before its slot")
		default:
		}
	}
	// Two go at once; three queue on timers, none is dropped.
	receive(2)
	clock.waitForWaiters(t, 3)
	assertBlocked()
	clock.Advance(10 * time.Second)
	receive(2)
	assertBlocked()
	clock.Advance(10 * time.Second)
	receive(1)
}

func TestLimiterWaitCancelled(t *testing.T) {
	clock := newFakeClock()
	l, _ := NewLimiter(LimiterSettings{Events: 1, Window: 10 * time.Second, Now: clock.Now, After: clock.After})
	if err := l.Wait(context.Background(), canary); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Wait(ctx, canary) }()
	clock.waitForWaiters(t, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait() = %v, want context.Canceled", err)
	}
	// The cancelled waiter's slot is free again.
	if got := l.Reserve(canary); !got.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("next slot = %v, want the freed one at +10s", got)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := l.Wait(done, canary); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait(cancelled ctx) = %v", err)
	}
}

func TestLimiterWithClientAgainstFake(t *testing.T) {
	// Real clock, short window: every event is delivered, none dropped, and
	// the fake never sees more than the limit in its window. The limiter's
	// window is wider than the one checked, as DefaultLimiterGuard is for
	// PagerDuty, to absorb scheduling jitter.
	const (
		limit   = 3
		checked = 150 * time.Millisecond
		events  = 8
	)
	fake := fakepagerduty.New(t)
	l, err := NewLimiter(LimiterSettings{Events: limit, Window: checked + 100*time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL(), Limiter: l})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, events)
	for i := 0; i < events; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Send(ctx, trigger(canary, "f"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Events()); n != events {
		t.Fatalf("fake accepted %d events, want %d", n, events)
	}
	if m := fake.MaxInWindow(string(canary), checked); m > limit {
		t.Fatalf("fake saw %d requests in %v, limit %d", m, checked, limit)
	}
}

func TestClientLimiterCancelled(t *testing.T) {
	fake := fakepagerduty.New(t)
	clock := newFakeClock()
	l, _ := NewLimiter(LimiterSettings{Events: 1, Window: time.Hour, Now: clock.Now, After: clock.After})
	c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL(), Limiter: l})
	if _, err := c.Send(context.Background(), trigger(canary, "f")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, trigger(canary, "f"))
		errc <- err
	}()
	clock.waitForWaiters(t, 1)
	cancel()
	err := <-errc
	if ReasonOf(err) != ReasonCancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("Send() = %v, want cancelled while waiting", err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("fake saw %d requests, want only the first", n)
	}
}
