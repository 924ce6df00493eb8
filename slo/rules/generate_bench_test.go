package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/rules"
)

// BenchmarkRender1000SLOs measures `vigil slo rules` for 1,000 SLOs with
// page and ticket alerts, once the specs are loaded.
func BenchmarkRender1000SLOs(b *testing.B) {
	var y strings.Builder
	y.WriteString("version: vigil/v1\nservice: bench\nslos:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&y, "  - name: slo-%d\n    objective: 99.9\n    window: 30d\n    group_by: [http.route]\n    sli: {spans: {bad: {status: error}}}\n    alerting: {page: {}, ticket: {}}\n", i)
	}
	spec, err := slo.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	specs := []slo.Spec{*spec}
	b.ReportAllocs()
	for b.Loop() {
		out, err := rules.Render(specs, rules.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/render")
}
