package lokiexporter

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

func testFitter(t testing.TB) *fitter {
	t.Helper()
	f := newFitter(createDefaultConfig().(*Config))
	if f == nil {
		t.Fatal("the default config batches by bytes; want a fitter")
	}
	return f
}

// TestFitLeavesWhatFits: a request whose records fit is queued as it is,
// not copied; one with an oversized record is copied and only that record
// cut, the caller's data untouched.
func TestFitLeavesWhatFits(t *testing.T) {
	f := testFitter(t)
	small := newLogs(t, record{body: "a", ts: t0}, record{body: "b", ts: t0})
	if got, cut := f.fit(small); cut != 0 || got != small {
		t.Errorf("a small request was copied or cut (%d)", cut)
	}
	// Many records, none too large: over the limit together, still as is.
	recs := make([]record, 40)
	for i := range recs {
		recs[i] = record{body: strings.Repeat("x", 100_000), ts: t0}
	}
	many := newLogs(t, recs...)
	if got, cut := f.fit(many); cut != 0 || got != many {
		t.Errorf("a large request of small records was copied or cut (%d)", cut)
	}
	big := newLogs(t, record{body: "keep", attrs: map[string]any{"k": "v"}, ts: t0}, record{body: strings.Repeat("y", 3<<20), ts: t0})
	got, cut := f.fit(big)
	if cut != 1 {
		t.Fatalf("cut %d records, want 1", cut)
	}
	body := func(ld plog.Logs, i int) string {
		return ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
	}
	if body(got, 0) != "keep" || len(body(got, 1)) != lokiMaxLineSize+len(defaultTruncationMarker) || !strings.HasSuffix(body(got, 1), defaultTruncationMarker) {
		t.Errorf("fitted bodies %q and %d bytes", body(got, 0), len(body(got, 1)))
	}
	if len(body(big, 1)) != 3<<20 {
		t.Error("the caller's request was changed")
	}
}

// BenchmarkFitSmall is the cost on a request that fits (nearly all): one
// size computation.
func BenchmarkFitSmall(b *testing.B) {
	f := testFitter(b)
	recs := make([]record, 1000)
	for i := range recs {
		recs[i] = record{body: "GET /api/orders 200 in 12ms", attrs: map[string]any{"http.route": "/api/orders", "user": "u-123"}, ts: t0}
	}
	ld := newLogs(b, recs...)
	b.ReportAllocs()
	for b.Loop() {
		f.fit(ld)
	}
}
