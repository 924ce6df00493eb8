package redisstorageextension

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
)

// slowHandover is a Handler whose write of a service handed over takes
// delay, as the alertrouter connector's does while a notification of the
// service is still with a receiver (its releaseGrace).
type slowHandover struct {
	recorder
	delay time.Duration
}

func (h *slowHandover) Released(ctx context.Context, service string, handover bool) {
	if handover {
		time.Sleep(h.delay)
	}
	h.recorder.Released(ctx, service, handover)
}

// TestSlowHandoversKeepTheOtherLeases: handing over many services at once,
// each taking longer than a renewal interval, does not stall the renewal of
// the leases this instance keeps past their lapse: a service whose data
// still arrives here (and, for a moment, at another instance too) stays
// here, with no takeover and no loss. Before, a tick handed every service
// over before the next tick renewed, and six handovers of 400ms let the
// 1s lease of the service kept lapse, for the other instance to claim.
func TestSlowHandoversKeepTheOtherLeases(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := newTestStorage(t, srv.Addr, "a"), newTestStorage(t, srv.Addr, "b")
	t.Cleanup(func() {
		for _, s := range []*redisStorage{a, b} {
			if err := s.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	ra, rb := &slowHandover{delay: 400 * time.Millisecond}, &recorder{}
	defer a.Register(ra)()
	defer b.Register(rb)()
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); wg.Wait() })

	moving := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	stopA := make(chan struct{})
	for _, s := range append([]string{"keep"}, moving...) {
		feed(a, s, stopA, done, &wg)
	}
	stopKeep := make(chan struct{})
	waitFor(t, "a owns every service", func() bool {
		for _, s := range append([]string{"keep"}, moving...) {
			if !a.Owns(s) {
				return false
			}
		}
		return true
	})
	// keep's data arrives at both (the gateways disagree for a moment):
	// a keeps it as long as its lease is renewed. The others move to b.
	feed(a, "keep", stopKeep, done, &wg)
	feed(b, "keep", stopKeep, done, &wg)
	stopB := make(chan struct{})
	for _, s := range moving {
		feed(b, s, stopB, done, &wg)
	}
	close(stopA)

	deadline := time.Now().Add(20 * time.Second)
	for {
		if !a.Owns("keep") || b.Owns("keep") {
			t.Fatalf("keep moved while a handed the others over: a owns it %v, b %v; a's handler saw %v",
				a.Owns("keep"), b.Owns("keep"), ra.last())
		}
		all := true
		for _, s := range moving {
			all = all && b.Owns(s)
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b owns not every moved service after 20s; a's handler saw %v", ra.last())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, e := range rb.last() {
		if e == "acquired keep" {
			t.Fatalf("b acquired keep: %v", rb.last())
		}
	}
	if got := fmt.Sprint(a.stats.losses.Load()); got != "0" {
		t.Errorf("a lost %s leases", got)
	}
	close(stopKeep)
	close(stopB)
}
