package lokiexporter

import (
	"fmt"
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

// TestFitKeepsWhatFits: a record cut to fit keeps as much as fits, in
// this order: every value up to max_line_size (a 3 MiB stack trace keeps
// its first 256 kB); the largest values cut to the marker only where that
// is not enough; attributes removed, the last first, only where even that
// is not enough (a hundred thousand small ones). Whatever it was, the
// record fits the batch afterwards.
func TestFitKeepsWhatFits(t *testing.T) {
	f := testFitter(t)
	record0 := func(ld plog.Logs) plog.LogRecord { return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0) }
	var sizer plog.ProtoMarshaler

	one := newLogs(t, record{body: "request failed", attrs: map[string]any{
		"exception.stacktrace": strings.Repeat("s", 3<<20), "http.route": "/api/orders", "user.id": "u-123",
	}, ts: t0})
	got, cut := f.fit(one)
	attrs := record0(got).Attributes()
	st, _ := attrs.Get("exception.stacktrace")
	route, _ := attrs.Get("http.route")
	if cut != 1 || len(st.Str()) != lokiMaxLineSize+len(defaultTruncationMarker) || route.Str() != "/api/orders" {
		t.Errorf("one large attribute: cut %d, stack trace kept %d bytes, route %q", cut, len(st.Str()), route.Str())
	}

	many := map[string]any{"svc": "orders"}
	for i := range 12 {
		many[fmt.Sprintf("big%02d", i)] = strings.Repeat("w", 400_000)
	}
	got, _ = f.fit(newLogs(t, record{body: "wide", attrs: many, ts: t0}))
	attrs = record0(got).Attributes()
	svc, _ := attrs.Get("svc")
	kept := 0
	for _, v := range attrs.All() {
		if len(v.Str()) > 1000 {
			kept++
		}
	}
	if svc.Str() != "orders" || kept == 0 || sizer.LogRecordSize(record0(got)) > f.limit {
		t.Errorf("large values: svc %q, %d large values kept, record %d bytes (limit %d)", svc.Str(), kept, sizer.LogRecordSize(record0(got)), f.limit)
	}

	// Map order is random, so where the label attribute lies among the
	// others too: it must stay wherever it is.
	small := map[string]any{"svc": "orders"}
	for i := range 110_000 {
		small[fmt.Sprintf("request.body.items.%06d.name", i)] = "abcdefghij"
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Labels.Attributes = []string{"svc"}
	got, _ = newFitter(cfg).fit(newLogs(t, record{body: "x", attrs: small, ts: t0}))
	lr := record0(got)
	if v, ok := lr.Attributes().Get("svc"); !ok || v.Str() != "orders" {
		t.Errorf("the label attribute was removed or changed: %v %v", v, ok)
	}
	if n := lr.Attributes().Len(); sizer.LogRecordSize(lr) > f.limit || n == 0 || n == len(small) {
		t.Errorf("110,000 small attributes: %d kept, record %d bytes (limit %d)", n, sizer.LogRecordSize(lr), f.limit)
	}
	for k, v := range lr.Attributes().All() {
		if k != "svc" && v.Str() != "abcdefghij" {
			t.Fatalf("a small value was changed to %q", v.Str())
		}
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
