package otlpguardextension

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// TestPendingRefusalsExpire: a refusal whose call ended before the guard's
// interceptor ran (an earlier interceptor refused it) is dropped once it
// is older than pendingTTL, so such calls cannot grow the map.
func TestPendingRefusalsExpire(t *testing.T) {
	var p pendingRefusals
	stale, fresh := new(int), new(int)
	p.put(stale, &scan.Refusal{Detail: "stale"})
	p.m[stale] = pendingRefusal{refusal: p.m[stale].refusal, at: time.Now().Add(-2 * pendingTTL)}
	p.lastSweep = time.Time{}
	p.put(fresh, &scan.Refusal{Detail: "fresh"})
	if r := p.take(stale); r != nil {
		t.Errorf("stale refusal still pending: %v", r)
	}
	if r := p.take(fresh); r == nil || r.Detail != "fresh" {
		t.Errorf("fresh refusal: %v", r)
	}
	if n := p.count.Load(); n != 0 {
		t.Errorf("%d left", n)
	}
	if r := p.take(fresh); r != nil {
		t.Errorf("taken twice: %v", r)
	}
}
