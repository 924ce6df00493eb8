package anomalyconnector

import (
	"testing"
	"time"
)

// FuzzDecodeChunk: a checkpoint chunk is read from storage at every start,
// whatever a crash, a disk or an older or newer version left there, so no
// bytes may make the decoder panic or hang; what it returns is a chunk or
// an error, never both garbage and silence. Seeded with a chunk written by
// this version (a firing, a quiet and a resolving series) and its cuts.
// scripts/fuzz.sh runs it for a fixed count.
func FuzzDecodeChunk(f *testing.F) {
	h := newHarness(f, nil, defaultSettings(), nil)
	defer h.shutdown()
	c := h.core
	started := t0.Add(42 * time.Minute)
	firing := c.newSeries(identity{metric: MetricRequestRate, service: "checkout", operation: "POST /pay"})
	firing.firing, firing.since, firing.lastSent = true, started, started.Add(time.Hour)
	quiet := c.newSeries(identity{metric: MetricErrorRatio, service: "checkout", operation: "POST /pay"})
	resolving := c.newSeries(identity{metric: "latency_p95", service: "cart", operation: "GET /cart"})
	resolving.since, resolving.announce = started, true
	c.mu.Lock()
	chunk, err := c.encodeChunkLocked(nil, []*series{firing, quiet, resolving})
	c.mu.Unlock()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(chunk)
	for _, cut := range []int{0, 3, 4, len(chunk) / 2, len(chunk) - 5, len(chunk) - 1} {
		f.Add(chunk[:cut])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := c.decodeChunk(b)
		for _, s := range ch.list {
			if s == nil {
				t.Fatal("a nil series among those decoded")
			}
		}
		if err == nil && len(b) < 4 {
			t.Fatalf("%d bytes decoded without an error", len(b))
		}
	})
}
