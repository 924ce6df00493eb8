package clickhouseexporter

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/extension/otlpguardextension"
	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// TestHostileValuesBecomeRows converts a span, a log record and a gauge
// point whose attributes (and the log's body) hold every hostile value a
// request may carry past the otlp_guard: each becomes one row with every
// column the same length, and nested values become the JSON ClickHouse
// stores in the attribute maps.
func TestHostileValuesBecomeRows(t *testing.T) {
	const depth = otlpguardextension.DefaultMaxDepth
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	deepotlp.PutHostile(rs.Resource().Attributes(), depth)
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(deepotlp.HostileString())
	deepotlp.PutHostile(span.Attributes(), depth)
	deepotlp.PutHostile(span.Events().AppendEmpty().Attributes(), depth)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	deepotlp.PutHostile(rl.Resource().Attributes(), depth)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	deepotlp.PutHostile(lr.Attributes(), depth)
	deepotlp.PutHostile(lr.Body().SetEmptyMap(), depth)

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	deepotlp.PutHostile(rm.Resource().Attributes(), depth)
	dp := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	deepotlp.PutHostile(dp.Attributes(), depth)

	logs, _ := LogsToColumns(ld)
	tables := map[string]interface {
		Columns() []Column
		Len() int
	}{
		"traces":  TracesToColumns(td),
		"logs":    logs,
		"metrics": &MetricsToColumns(md).Gauge,
	}
	for name, cols := range tables {
		if cols.Len() != 1 {
			t.Errorf("%s: %d rows, want 1", name, cols.Len())
		}
		for _, c := range cols.Columns() {
			if n, err := columnLen(c.Values); err != nil || n != cols.Len() {
				t.Errorf("%s.%s: %d values (%v), want %d", name, c.Name, n, err, cols.Len())
			}
		}
	}
	attrs := AttributesOf(lr.Attributes())
	nested := 0
	for i, key := range attrs.Keys {
		switch key {
		case "hostile.deep_kvlist", "hostile.deep_array", "hostile.wide_map":
			nested++
			if !json.Valid([]byte(attrs.Values[i])) {
				t.Errorf("%s is stored as %.80q, not JSON", key, attrs.Values[i])
			}
		}
	}
	if nested != 3 {
		t.Errorf("%d of the 3 nested attributes are in the map", nested)
	}
}
