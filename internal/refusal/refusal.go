// Package refusal carries a receiver's refusal of a notification from the
// exporter that sent it back to the alertrouter connector that produced
// it, when the pipeline's error path cannot: an exporter with a
// persistent sending queue answers the router's handover once the
// notification is on disk, and PagerDuty's 400 (a wrong routing key, say)
// or a webhook receiver's 4xx comes later, in a queue consumer, where
// exporterhelper would only drop it (the pagerduty and webhook
// exporters report here). The router then records the notification as refused
// (alerts.Engine.MarkRefused) and sends it again at its group's next
// flush, as Alertmanager retries a notify that failed. An exporter whose
// handover waits for the send (no queue, or wait_for_result) returns the
// refusal as the handover's error instead, and does not report it here.
//
// Exporter and router meet on a Board, in-process, by the router's
// component ID, which the router writes on every notification
// (alertevent.SetRouter). A refusal reported while its router is not
// listening (the collector starts exporters first, and rebuilds every
// component on SIGHUP) is held until it subscribes, up to MaxHeld per
// router.
package refusal // import "github.com/vigil-otel/vigil/internal/refusal"

import (
	"sync"

	"github.com/vigil-otel/vigil/alerts"
)

// MaxHeld bounds the refusals held for one router that is not listening:
// far more than a sending queue holds (240 notifications by default);
// past it the oldest is dropped.
const MaxHeld = 4096

// MaxHeldRouters bounds how many routers not listening have refusals
// held: a router renamed, or records naming a router that never runs
// (sent straight to an exporter), would otherwise each keep up to MaxHeld
// for the life of the process. A refusal for one more is not held.
const MaxHeldRouters = 16

// Board passes refusals from exporters to routers. The zero value is not
// ready: use NewBoard, or Default. Its methods are safe for concurrent
// use.
type Board struct {
	mu   sync.Mutex
	subs map[string]*subscription
	held map[string][]alerts.Notification
}

type subscription struct {
	handle func(alerts.Notification)
	// running counts the handle calls in progress, which unsubscribing
	// waits for.
	running sync.WaitGroup
}

// Default is the board of the process, which the alertrouter connector
// and the exporters use; tests make their own.
var Default = NewBoard()

// NewBoard returns an empty board.
func NewBoard() *Board {
	return &Board{subs: map[string]*subscription{}, held: map[string][]alerts.Notification{}}
}

// Report tells router that the receiver refused n for good; n is the
// notification as the exporter read it (alertevent.DecodeNotification).
// With the router subscribed, its handler runs now, on the caller's
// goroutine; otherwise n is held for it. Report returns false when it
// dropped a held refusal to stay within MaxHeld, or did not hold n to
// stay within MaxHeldRouters.
func (b *Board) Report(router string, n alerts.Notification) bool {
	b.mu.Lock()
	sub := b.subs[router]
	if sub == nil {
		if _, ok := b.held[router]; !ok && len(b.held) >= MaxHeldRouters {
			b.mu.Unlock()
			return false
		}
		held := append(b.held[router], n)
		dropped := len(held) > MaxHeld
		if dropped {
			held = held[len(held)-MaxHeld:]
		}
		b.held[router] = held
		b.mu.Unlock()
		return !dropped
	}
	sub.running.Add(1)
	b.mu.Unlock()
	defer sub.running.Done()
	sub.handle(n)
	return true
}

// Subscribe makes handle the handler of router's refusals, first calling
// it with those held for router, in the order reported. Unsubscribe
// returns once no call of handle is in progress; refusals reported
// afterwards are held for the next subscriber (the router rebuilt).
func (b *Board) Subscribe(router string, handle func(alerts.Notification)) (unsubscribe func()) {
	sub := &subscription{handle: handle}
	b.mu.Lock()
	held := b.held[router]
	delete(b.held, router)
	b.subs[router] = sub
	sub.running.Add(1)
	b.mu.Unlock()
	for _, n := range held {
		handle(n)
	}
	sub.running.Done()
	return func() {
		b.mu.Lock()
		if b.subs[router] == sub {
			delete(b.subs, router)
		}
		b.mu.Unlock()
		sub.running.Wait()
	}
}
