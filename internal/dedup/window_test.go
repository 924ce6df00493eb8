package dedup

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time for windows under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func fpOf(i uint64) Fingerprint          { return Fingerprint{hi: i, lo: ^i} }
func testConfig(window time.Duration, max int) Config {
	return Config{Window: window, MaxRequests: max}
}

func TestAcceptTakesARequestOnce(t *testing.T) {
	w := New(NewDefaultConfig())
	if !w.Accept(fpOf(1)) {
		t.Fatal("a first request is not new")
	}
	if w.Accept(fpOf(1)) || w.Accept(fpOf(1)) {
		t.Fatal("a repeat is new")
	}
	if !w.Accept(fpOf(2)) {
		t.Fatal("another request is not new")
	}
	if got := w.Repeats(); got != 2 {
		t.Errorf("Repeats = %d, want 2", got)
	}
}

func TestSeenDoesNotRecord(t *testing.T) {
	w := New(NewDefaultConfig())
	if w.Seen(fpOf(1)) || w.Seen(fpOf(1)) {
		t.Fatal("Seen found a request never recorded")
	}
	w.Record(fpOf(1))
	if !w.Seen(fpOf(1)) {
		t.Fatal("Seen missed a recorded request")
	}
	if got := w.Repeats(); got != 1 {
		t.Errorf("Repeats = %d, want 1", got)
	}
}

// TestConsumeRecordsOnlyWhatSucceeded: a request the consumer refused is
// taken again when it comes again; once taken, its repeats are not.
func TestConsumeRecordsOnlyWhatSucceeded(t *testing.T) {
	w := New(NewDefaultConfig())
	var calls int
	refuse := errors.New("sending queue is full")
	fail := func() error { calls++; return refuse }
	ok := func() error { calls++; return nil }

	for i := range 3 {
		repeat, err := w.Consume(fpOf(1), true, fail)
		if repeat || !errors.Is(err, refuse) {
			t.Fatalf("try %d of a refused request: repeat %v, err %v; want the consumer's refusal", i, repeat, err)
		}
	}
	if repeat, err := w.Consume(fpOf(1), true, ok); repeat || err != nil {
		t.Fatalf("the try that succeeds: repeat %v, err %v", repeat, err)
	}
	for i := range 3 {
		if repeat, err := w.Consume(fpOf(1), true, fail); !repeat || err != nil {
			t.Fatalf("repeat %d after success: repeat %v, err %v; want a repeat, consumer not called", i, repeat, err)
		}
	}
	if calls != 4 {
		t.Errorf("consumer called %d times, want 4 (3 refusals, 1 success)", calls)
	}
	if got := w.Repeats(); got != 3 {
		t.Errorf("Repeats = %d, want 3", got)
	}
}

// TestConsumeWithoutFingerprint: a request that has no fingerprint is
// consumed every time.
func TestConsumeWithoutFingerprint(t *testing.T) {
	w := New(NewDefaultConfig())
	calls := 0
	for range 3 {
		if repeat, _ := w.Consume(Fingerprint{}, false, func() error { calls++; return nil }); repeat {
			t.Fatal("a request without fingerprint is a repeat")
		}
	}
	if calls != 3 {
		t.Errorf("consumed %d times, want 3", calls)
	}
}

func TestOffRemembersNothing(t *testing.T) {
	w := New(Config{})
	if w != nil || w.Enabled() {
		t.Fatal("a zero window is on")
	}
	for range 2 {
		if !w.Accept(fpOf(1)) || w.Seen(fpOf(1)) {
			t.Fatal("a window that is off remembered a request")
		}
	}
	w.Record(fpOf(1))
	if w.Len() != 0 || w.Repeats() != 0 {
		t.Fatal("a window that is off holds something")
	}
}

// TestWindowForgets: a request is forgotten within twice the window
// after it was last seen, with other traffic meanwhile or without.
func TestWindowForgets(t *testing.T) {
	const window = time.Minute
	t.Run("other traffic", func(t *testing.T) {
		c := &clock{t: time.Unix(1_700_000_000, 0)}
		w := newWindow(testConfig(window, 1000), c.now)
		c.advance(window / 2)
		w.Record(fpOf(1))
		c.advance(window / 2)
		w.Record(fpOf(2)) // a generation later
		c.advance(window + window/2 + time.Nanosecond)
		if w.Seen(fpOf(1)) {
			t.Error("request 1 remembered more than twice the window after it was last seen")
		}
		if !w.Seen(fpOf(2)) {
			t.Error("request 2 forgotten less than twice the window after it was recorded")
		}
	})
	t.Run("quiet", func(t *testing.T) {
		c := &clock{t: time.Unix(1_700_000_000, 0)}
		w := newWindow(testConfig(window, 1000), c.now)
		w.Record(fpOf(1))
		c.advance(2*window + time.Nanosecond)
		if w.Seen(fpOf(1)) {
			t.Error("remembered more than twice the window after it was last seen")
		}
		if w.Len() != 0 {
			t.Errorf("holds %d after everything expired", w.Len())
		}
	})
}

// TestWindowAtLeast checks the lower bound precisely: at every offset
// within the window from its recording, the request is remembered, where
// in its generation ever it was recorded.
func TestWindowAtLeast(t *testing.T) {
	const window = 10 * time.Second
	for _, recordAt := range []time.Duration{0, time.Second, 5 * time.Second, 9 * time.Second, 10 * time.Second, 19 * time.Second} {
		for _, lookAfter := range []time.Duration{0, time.Second, 9 * time.Second, window - time.Nanosecond} {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			w := newWindow(testConfig(window, 1000), c.now)
			c.advance(recordAt)
			w.Record(fpOf(1))
			c.advance(lookAfter)
			if !w.Seen(fpOf(1)) {
				t.Errorf("recorded %v after the window began, looked up %v later: forgotten", recordAt, lookAfter)
			}
		}
	}
}

// TestRetriesKeepARequest: a request retried more often than the window
// stays remembered, however long the retries go on (a gateway retrying
// without end); once they stop it is forgotten.
func TestRetriesKeepARequest(t *testing.T) {
	const window = time.Minute
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	w := newWindow(testConfig(window, 1000), c.now)
	if !w.Accept(fpOf(1)) {
		t.Fatal("first try not new")
	}
	for i := range 100 { // 100 minutes of tries 55 s apart
		c.advance(55 * time.Second)
		w.Accept(fpOf(uint64(1000 + i))) // other traffic meanwhile
		if w.Accept(fpOf(1)) {
			t.Fatalf("retry %d, %v after the first try, taken as new", i+1, time.Duration(i+1)*55*time.Second)
		}
	}
	c.advance(2*window + time.Second)
	if !w.Accept(fpOf(1)) {
		t.Fatal("still remembered more than twice the window after the last retry")
	}
}

// TestWindowBoundedInCount: however many requests arrive within the
// window, it holds at most MaxRequests, and the newest half of them.
func TestWindowBoundedInCount(t *testing.T) {
	const max = 1000
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	w := newWindow(testConfig(time.Hour, max), c.now)
	const n = 100_000
	for i := range uint64(n) {
		w.Record(fpOf(i))
		if l := w.Len(); l > max {
			t.Fatalf("holds %d after %d requests, more than max_requests %d", l, i+1, max)
		}
	}
	for i := uint64(n - max/2); i < n; i++ {
		if !w.Seen(fpOf(i)) {
			t.Fatalf("request %d, among the newest %d, forgotten", i, max/2)
		}
	}
	if w.Seen(fpOf(0)) {
		t.Error("the oldest request is still held")
	}
}

// TestWindowMemory: a window of the default size holds a few MB at most,
// whatever the rate; it is filled many times over.
func TestWindowMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := New(NewDefaultConfig())
	for i := range uint64(20 * DefaultMaxRequests) {
		w.Accept(fpOf(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("a full default window (%d requests) holds %.2f MB", w.Len(), float64(used)/1e6)
	if w.Len() > DefaultMaxRequests {
		t.Errorf("holds %d requests, more than %d", w.Len(), DefaultMaxRequests)
	}
	const limit = 4 << 20
	if used > limit {
		t.Errorf("a full default window uses %d bytes, more than %d", used, limit)
	}
	runtime.KeepAlive(w)
}

// TestAcceptConcurrent: of tries of one request that arrive together,
// exactly one is new.
func TestAcceptConcurrent(t *testing.T) {
	w := New(NewDefaultConfig())
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range uint64(200) {
				if w.Accept(fpOf(i)) {
					fresh.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := fresh.Load(); got != 200 {
		t.Errorf("%d tries taken as new, want 200 (one per request)", got)
	}
	if got := w.Repeats(); got != 15*200 {
		t.Errorf("Repeats = %d, want %d", got, 15*200)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", NewDefaultConfig(), true},
		{"off", Config{}, true},
		{"negative window", Config{Window: -time.Second, MaxRequests: 10}, false},
		{"too few requests", Config{Window: time.Second, MaxRequests: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
