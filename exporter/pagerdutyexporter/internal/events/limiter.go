package events

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultLimiterGuard widens the limiter's window beyond PagerDuty's minute.
// The limiter stamps a send when it leaves; PagerDuty counts it when it
// arrives, and network jitter can bring two sends a minute apart closer
// together than that. A second of slack costs under 2% of throughput.
const DefaultLimiterGuard = time.Second

// LimiterSettings configures a Limiter.
type LimiterSettings struct {
	// Events per Window per routing key; zero means RateLimitEvents.
	Events int
	// Window is the sliding window; zero means RateLimitWindow plus
	// DefaultLimiterGuard.
	Window time.Duration
	// Now and After stand in for time.Now and time.After in tests; nil
	// means the real clock.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Limiter keeps each routing key under PagerDuty's rate limit by queueing:
// a send over the limit waits for its slot instead of being dropped or
// drawing a 429. It is an exact sliding window, so no window of length
// Window ever holds more than Events sends for one key, bursts included
// (a token bucket would let burst + rate·window through). Waiters get slots
// in the order they called. Safe for concurrent use.
type Limiter struct {
	events int
	window time.Duration
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	mu sync.Mutex
	// slots holds, per key, the start times of the sends of the last
	// window, oldest first; times in the future belong to queued waiters.
	slots map[RoutingKey][]time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(s LimiterSettings) (*Limiter, error) {
	l := &Limiter{
		events: s.Events,
		window: s.Window,
		now:    s.Now,
		after:  s.After,
		slots:  map[RoutingKey][]time.Time{},
	}
	if l.events == 0 {
		l.events = RateLimitEvents
	}
	if l.window == 0 {
		l.window = RateLimitWindow + DefaultLimiterGuard
	}
	if l.events < 0 || l.window < 0 {
		return nil, fmt.Errorf("rate limit %d events per %s: both must be positive", l.events, l.window)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.after == nil {
		l.after = time.After
	}
	return l, nil
}

// Reserve books the next free slot for key and returns when it starts
// (now or later). The caller must send no earlier than that time, or call
// Cancel if it will not send at all.
func (l *Limiter) Reserve(key RoutingKey) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := l.slots[key]
	// A send at least a window old cannot share a window with this one.
	old := now.Add(-l.window)
	i := 0
	for i < len(s) && !s[i].After(old) {
		i++
	}
	s = s[i:]
	// Booking after every queued slot keeps the order fair and the log
	// sorted; then the slot must wait until the events-th latest send has
	// left the window, so no window ever holds more than `events`.
	at := now
	if n := len(s); n > 0 && s[n-1].After(at) {
		at = s[n-1]
	}
	if n := len(s); n >= l.events {
		if free := s[n-l.events].Add(l.window); free.After(at) {
			at = free
		}
	}
	l.slots[key] = append(s, at)
	return at
}

// Cancel gives back a slot that Reserve booked and that was not used. Slots
// booked after it keep their times: with one send fewer they only become
// more conservative, never over the limit.
func (l *Limiter) Cancel(key RoutingKey, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.slots[key]
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].Equal(at) {
			l.slots[key] = append(s[:i], s[i+1:]...)
			break
		}
	}
	if len(l.slots[key]) == 0 {
		delete(l.slots, key)
	}
}

// Wait blocks until key may send one event. It returns ctx's error, and
// frees the slot, if ctx ends first.
func (l *Limiter) Wait(ctx context.Context, key RoutingKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	at := l.Reserve(key)
	d := at.Sub(l.now())
	if d <= 0 {
		return nil
	}
	select {
	case <-l.after(d):
		return nil
	case <-ctx.Done():
		l.Cancel(key, at)
		return ctx.Err()
	}
}
