package slo_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-otel/vigil/slo"
)

// thousandSLOs is 1,000 SLOs in 10 files of 100, mixing span availability
// with attribute matchers, span latency with group_by, and alerting.
func thousandSLOs() fstest.MapFS {
	fsys := fstest.MapFS{}
	for f := 0; f < 10; f++ {
		var b strings.Builder
		fmt.Fprintf(&b, "version: vigil/v1\nservice: svc-%d\nslos:\n", f)
		for i := 0; i < 100; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&b, `  - name: availability-%d
    objective: 99.9
    window: 30d
    sli:
      spans:
        match:
          span_kind: server
          attributes:
            - {key: http.route, op: "=~", value: "/api/v%d/.*"}
        bad: {status: error, http_status_min: 500, grpc_codes: [UNAVAILABLE, 13]}
    alerting: {page: {min_events: 20}, ticket: {}}
`, i, i)
			} else {
				fmt.Fprintf(&b, `  - name: latency-%d
    objective: 99
    window: 7d
    group_by: [http.route]
    sli: {spans: {match: {span_kind: server}, bad: {latency_above: 250ms}}}
`, i)
			}
		}
		fsys[fmt.Sprintf("svc-%d.yaml", f)] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys
}

// BenchmarkLoad1000SLOs measures parsing and validating 1,000 SLOs, the
// spec part of the collector's start-up.
func BenchmarkLoad1000SLOs(b *testing.B) {
	fsys := thousandSLOs()
	b.ReportAllocs()
	for b.Loop() {
		specs, err := slo.LoadFS(fsys, ".")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, s := range specs {
			n += len(s.SLOs)
		}
		if n != 1000 {
			b.Fatalf("loaded %d SLOs, want 1000", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/load")
}
