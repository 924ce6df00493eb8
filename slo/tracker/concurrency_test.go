package tracker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// TestConcurrentRecordAndEvaluate records from several goroutines while
// Evaluate, Stats, Snapshot and Update run; with -race it proves the
// locking, and the totals prove no event is lost.
func TestConcurrentRecordAndEvaluate(t *testing.T) {
	const (
		writers = 4
		perWrit = 2000
	)
	var slos []slo.SLO
	for i := range 3 {
		s := testSLO(fmt.Sprintf("slo-%d", i), 99.9, rolling30d())
		s.GroupBy = []string{"route"}
		s.Alerting = alerting(0)
		slos = append(slos, s)
	}
	tr, clock := newTestTracker(t, slos, Options{}, t0)
	routes := []string{"/a", "/b", "/c"}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWrit {
				s := slos[(w+i)%len(slos)]
				if err := tr.Record(s.ID(), []string{routes[i%len(routes)]}, clock.Now(), 1, uint64(i%2)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			tr.Evaluate(clock.Now())
			tr.Stats()
			if _, err := tr.Snapshot(); err != nil {
				t.Error(err)
			}
			tr.Update(slos)
			clock.Set(clock.Now().Add(time.Millisecond))
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()

	statuses, _ := tr.Evaluate(clock.Now())
	var good, bad uint64
	for _, st := range statuses {
		good += st.TotalGood
		bad += st.TotalBad
	}
	if good != writers*perWrit || bad != writers*perWrit/2 {
		t.Errorf("totals %d good %d bad, want %d and %d", good, bad, writers*perWrit, writers*perWrit/2)
	}
}
