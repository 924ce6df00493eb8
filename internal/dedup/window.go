package dedup

import (
	"sync"
	"sync/atomic"
	"time"
)

// Window remembers the fingerprints of the requests a consumer accepted,
// bounded in time and count (Config). It is safe for concurrent use. A
// nil *Window remembers nothing: every request is new.
//
// It keeps two generations, each a set: fingerprints are recorded in the
// current one; when it is Window old or holds half of MaxRequests, the
// previous one is dropped and the current becomes the previous. A lookup
// sees both, and a hit in the previous generation moves the fingerprint
// back into the current one, which is what keeps a request that is
// retried again and again remembered. Two sets instead of a queue with a
// time per entry: no per-entry bookkeeping, expiry is one clear, and the
// sets' storage is reused from one generation to the next.
type Window struct {
	window time.Duration
	half   int // fingerprints per generation
	now    func() time.Time

	repeats atomic.Int64

	mu      sync.Mutex
	cur     map[Fingerprint]struct{}
	prev    map[Fingerprint]struct{}
	started time.Time // of cur
}

// New returns the window of cfg, or nil when cfg.Window is 0 (off).
// cfg must be valid (Config.Validate).
func New(cfg Config) *Window {
	return newWindow(cfg, time.Now)
}

func newWindow(cfg Config, now func() time.Time) *Window {
	if cfg.Window <= 0 {
		return nil
	}
	return &Window{
		window:  cfg.Window,
		half:    max(1, cfg.MaxRequests/2),
		now:     now,
		cur:     map[Fingerprint]struct{}{},
		prev:    map[Fingerprint]struct{}{},
		started: now(),
	}
}

// Enabled reports whether w remembers anything, so that callers skip
// computing fingerprints when it does not.
func (w *Window) Enabled() bool { return w != nil }

// Seen reports whether fp was recorded within the window, and if so
// counts a repeat and refreshes fp, so that it is remembered for another
// window from now.
func (w *Window) Seen(fp Fingerprint) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire()
	if w.seen(fp) {
		w.repeats.Add(1)
		return true
	}
	return false
}

// Record remembers fp: a consumer calls it once its processing of the
// request succeeded.
func (w *Window) Record(fp Fingerprint) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire()
	if !w.seen(fp) {
		w.add(fp)
	}
}

// Accept is Seen and Record at once, for a consumer whose processing of
// a request cannot fail: it reports whether fp is new, and remembers it.
// Recording before processing also makes a try that arrives while the
// first is still being processed a repeat.
func (w *Window) Accept(fp Fingerprint) (isNew bool) {
	if w == nil {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire()
	if w.seen(fp) {
		w.repeats.Add(1)
		return false
	}
	w.add(fp)
	return true
}

// Consume is how a consumer that can fail (an exporter whose queue is
// full) takes a request of fingerprint fp (identified false: it has
// none): unless the window holds fp, it calls consume, and records fp
// only if consume succeeded, so that a request the consumer refused is
// taken when it comes again. It reports whether the request was a
// repeat, which consume did not see.
func (w *Window) Consume(fp Fingerprint, identified bool, consume func() error) (repeat bool, err error) {
	if !identified || w == nil {
		return false, consume()
	}
	if w.Seen(fp) {
		return true, nil
	}
	if err := consume(); err != nil {
		return false, err
	}
	w.Record(fp)
	return false, nil
}

// Repeats is how many requests Seen and Accept found remembered.
func (w *Window) Repeats() int64 {
	if w == nil {
		return 0
	}
	return w.repeats.Load()
}

// Len is how many fingerprints w holds.
func (w *Window) Len() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.cur) + len(w.prev)
}

// seen looks fp up in both generations and moves a hit in the previous
// one to the current one. w.mu is held.
func (w *Window) seen(fp Fingerprint) bool {
	if _, ok := w.cur[fp]; ok {
		return true
	}
	if _, ok := w.prev[fp]; !ok {
		return false
	}
	delete(w.prev, fp)
	w.add(fp)
	return true
}

// add records fp in the current generation, starting a new one first
// when it is full. w.mu is held.
func (w *Window) add(fp Fingerprint) {
	if len(w.cur) >= w.half {
		w.rotate(w.now())
	}
	w.cur[fp] = struct{}{}
}

// expire starts a new generation when the current one is a window old,
// and forgets both when the previous one is too. w.mu is held.
func (w *Window) expire() {
	now := w.now()
	age := now.Sub(w.started)
	switch {
	case age >= 2*w.window:
		clear(w.prev)
		clear(w.cur)
		w.started = now
	case age >= w.window:
		w.rotate(now)
	}
}

// rotate makes the current generation the previous one and reuses the
// previous one's storage for a new current one.
func (w *Window) rotate(now time.Time) {
	clear(w.prev)
	w.prev, w.cur = w.cur, w.prev
	w.started = now
}
