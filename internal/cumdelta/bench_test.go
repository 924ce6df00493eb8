package cumdelta

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkSum prints the cost of one cumulative sum point, key included,
// over 1000 streams: go test -bench . -benchmem ./internal/cumdelta
func BenchmarkSum(b *testing.B) {
	tr := New(Settings{Started: watched, MaxIdle: time.Hour})
	res := pcommon.NewMap()
	res.PutStr("service.name", "checkout")
	resID := ResourceOf(res)
	const streams = 1000
	attrs := make([]pcommon.Map, streams)
	for i := range attrs {
		attrs[i] = pcommon.NewMap()
		attrs[i].PutStr("http.route", fmt.Sprintf("/r%d", i))
		attrs[i].PutStr("status.code", "STATUS_CODE_UNSET")
	}
	dp := pmetric.NewNumberDataPoint()
	dp.SetStartTimestamp(at(-3600))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		dp.SetTimestamp(at(i/streams + 1))
		dp.SetIntValue(int64(i))
		tr.Sum(StreamKey(resID, "calls", attrs[i%streams]), cum, dp, watched)
	}
}

// BenchmarkHistogram prints the cost of one cumulative explicit-bucket
// histogram point of span_metrics' 16 buckets, key included.
func BenchmarkHistogram(b *testing.B) {
	tr := New(Settings{Started: watched, MaxIdle: time.Hour})
	attrs := pcommon.NewMap()
	attrs.PutStr("span.name", "POST /checkout")
	key := StreamKey(ResourceID{}, "duration", attrs)
	dp := pmetric.NewHistogramDataPoint()
	dp.SetStartTimestamp(at(-3600))
	dp.ExplicitBounds().FromRaw([]float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000})
	counts := make([]uint64, 17)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		counts[i%17]++
		dp.BucketCounts().FromRaw(counts)
		dp.SetCount(uint64(i + 1))
		dp.SetTimestamp(at(i + 1))
		tr.Histogram(key, cum, dp, watched)
	}
}
