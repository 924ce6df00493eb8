package sloconnector

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
)

// BenchmarkConsumeTraces measures what the collector calls, the counting
// instance's ConsumeTraces, for requests of 1,000 spans with IDs, 10 SLOs
// and the RED metrics, every request a new one (a span ID changes), with
// dedup on (the default: a fingerprint and a window insert per request)
// and off (as before dedup).
//
//	go test -run '^$' -bench BenchmarkConsumeTraces -benchmem ./connector/sloconnector/
func BenchmarkConsumeTraces(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("dedup=%v", on), func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Specs = []string{writeSpecTB(b, b.TempDir(), "bench.yaml", benchSpec(10))}
			cfg.RED.Enabled = true
			if !on {
				cfg.Dedup.Window = 0
			}
			set := connectortest.NewNopSettings(metadata.Type)
			set.ID = component.MustNewIDWithName("slo", fmt.Sprintf("bench-consume-%v", on))
			ctx := context.Background()
			// The replay factory's connector runs no evaluation loop, which
			// would compete with the benchmark for the CPU.
			tm, err := NewReplayFactory(time.Now).CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if err := tm.Start(ctx, componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = tm.Shutdown(ctx) }()
			const batch = 1000
			td := benchTraces(batch)
			spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for i := 0; i < spans.Len(); i++ {
				var tid [16]byte
				var sid [8]byte
				binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
				binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
				spans.At(i).SetTraceID(tid)
				spans.At(i).SetSpanID(sid)
			}
			first := spans.At(0)
			var n uint64
			b.ReportAllocs()
			for b.Loop() {
				n++
				var sid [8]byte
				binary.BigEndian.PutUint64(sid[:], n<<20)
				first.SetSpanID(pcommon.SpanID(sid))
				if err := tm.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
		})
	}
}
