package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFlush measures one flush tick with 1000 firing alerts (500 SLOs
// with a page and a ticket each, so every ticket is checked for
// inhibition), all groups due and already notified.
func BenchmarkFlush(b *testing.B) {
	cfg := DefaultConfig()
	cfg.ResolveTimeout = 1000 * time.Hour
	e := NewEngine(cfg, nil)
	for i := range 500 {
		for _, sev := range []string{"page", "ticket"} {
			e.Ingest(alertOf("Burn", "severity", sev, "slo", fmt.Sprintf("slo-%d", i), "service_name", "svc"), t0)
		}
	}
	for _, n := range e.Flush(t0.Add(time.Minute)) {
		if err := e.MarkSent(context.Background(), n, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		now := t0.Add(time.Minute + time.Duration(i+1)*DefaultGroupInterval)
		e.Flush(now)
	}
}
