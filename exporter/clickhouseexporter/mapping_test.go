package clickhouseexporter

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/conventions"
)

func TestAttributeValue(t *testing.T) {
	m := pcommon.NewMap()
	want := putAllTypes(m)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("neg_inf", math.Inf(-1))
	m.PutDouble("tiny", 1e-7)
	m.PutInt("max_int", math.MaxInt64)
	m.PutEmptySlice("empty_array")
	m.PutEmptyMap("empty_map")
	m.PutStr("unicode", "héllo\n\"世界\"")
	want["nan"] = "NaN"
	want["neg_inf"] = "-Infinity"
	want["tiny"] = "1e-7"
	want["max_int"] = "9223372036854775807"
	want["empty_array"] = "[]"
	want["empty_map"] = "{}"
	want["unicode"] = "héllo\n\"世界\""
	got := AttributesOf(m).Map()
	if len(got) != len(want) {
		t.Errorf("AttributesOf has %d keys, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	if empty := AttributesOf(pcommon.NewMap()).Map(); empty == nil || len(empty) != 0 {
		t.Errorf("empty attributes = %#v, want an empty non-nil map", empty)
	}
}

func TestTracesToColumns(t *testing.T) {
	c := TracesToColumns(fixtureTraces())
	if c.Len() != 3 {
		t.Fatalf("rows = %d, want 3", c.Len())
	}
	tests := []struct {
		row                          int
		traceID, spanID, parent      string
		kind, status, service, scope string
		duration                     uint64
		events, links                int
	}{
		{0, traceAHex, spanA1Hex, "", "Server", "Error", "checkout", "checkout-tracer", 250_000_000, 1, 1},
		{1, traceAHex, spanA2Hex, spanA1Hex, "Client", "Unset", "checkout", "checkout-tracer", 1_190_000_000, 0, 0},
		{2, traceBHex, spanB1Hex, "", "Server", "Ok", "payments", "", 50_000_000, 0, 0},
	}
	for _, tt := range tests {
		r := tt.row
		if c.TraceID[r] != tt.traceID || c.SpanID[r] != tt.spanID || c.ParentSpanID[r] != tt.parent {
			t.Errorf("row %d ids = %s/%s/%s", r, c.TraceID[r], c.SpanID[r], c.ParentSpanID[r])
		}
		if c.SpanKind[r] != tt.kind || c.StatusCode[r] != tt.status || c.ServiceName[r] != tt.service || c.ScopeName[r] != tt.scope {
			t.Errorf("row %d kind/status/service/scope = %s/%s/%s/%s", r, c.SpanKind[r], c.StatusCode[r], c.ServiceName[r], c.ScopeName[r])
		}
		if c.Duration[r] != tt.duration {
			t.Errorf("row %d duration = %d, want %d", r, c.Duration[r], tt.duration)
		}
		if len(c.EventsName[r]) != tt.events || len(c.EventsTimestamp[r]) != tt.events || len(c.EventsAttributes[r]) != tt.events ||
			len(c.LinksTraceID[r]) != tt.links || len(c.LinksAttributes[r]) != tt.links {
			t.Errorf("row %d nested lengths differ from %d events / %d links", r, tt.events, tt.links)
		}
	}
	if !c.Timestamp[0].Equal(t0) || c.Timestamp[0].Location() != time.UTC {
		t.Errorf("timestamp = %v, want %v in UTC", c.Timestamp[0], t0)
	}
	// Every column has one value per row.
	for _, col := range c.Columns() {
		if n, err := columnLen(col.Values); err != nil || n != 3 {
			t.Errorf("column %s: %d rows (%v)", col.Name, n, err)
		}
	}
}

func TestSpanEndingBeforeStartHasZeroDuration(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetStartTimestamp(ts(time.Second))
	s.SetEndTimestamp(ts(0))
	if d := TracesToColumns(td).Duration[0]; d != 0 {
		t.Errorf("duration = %d, want 0 rather than a wrapped uint64", d)
	}
}

func TestLogsToColumnsSplitsAlertEvents(t *testing.T) {
	logs, alerts := LogsToColumns(fixtureLogs())
	if logs.Len() != 8 || alerts.Len() != 5 {
		t.Fatalf("logs=%d alerts=%d, want 8 and 5 (alert events are logs too)", logs.Len(), alerts.Len())
	}
	if got := logs.Timestamp[2]; !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("record without time stored at %v, want its observed time", got)
	}
	if logs.TimestampTime[1] != t0.Truncate(time.Second) {
		t.Errorf("TimestampTime = %v, want the second of Timestamp", logs.TimestampTime[1])
	}
	if logs.TraceFlags[1] != 1 || logs.SeverityNumber[1] != 17 || logs.EventName[0] != "cart.loaded" {
		t.Errorf("flags/severity/event = %d/%d/%q", logs.TraceFlags[1], logs.SeverityNumber[1], logs.EventName[0])
	}
	tests := []struct {
		row                                         int
		fingerprint, name, state, service, severity string
	}{
		{0, "fp-checkout", "checkout-availability", "firing", "checkout", "page"},
		{1, "fp-checkout", "checkout-availability", "resolved", "checkout", "page"},
		{4, "fp-payments", "payments-latency", "firing", "payments", "page"},
	}
	for _, tt := range tests {
		r := tt.row
		if alerts.Fingerprint[r] != tt.fingerprint || alerts.AlertName[r] != tt.name || alerts.State[r] != tt.state ||
			alerts.ServiceName[r] != tt.service || alerts.Severity[r] != tt.severity || alerts.Source[r] != "slo" {
			t.Errorf("alert row %d = %s %s %s %s %s %s", r, alerts.Fingerprint[r], alerts.AlertName[r], alerts.State[r],
				alerts.ServiceName[r], alerts.Severity[r], alerts.Source[r])
		}
	}
}

func TestAlertServiceFallsBackToResource(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(conventions.AttrServiceName, "orders")
	sl := rl.ScopeLogs().AppendEmpty()
	r := sl.LogRecords().AppendEmpty()
	r.Attributes().PutStr(conventions.AttrAlertName, "A")
	r.Attributes().PutStr(conventions.AttrAlertState, conventions.StateFiring)
	malformed := sl.LogRecords().AppendEmpty()
	malformed.Attributes().PutStr(conventions.AttrAlertName, "B")
	malformed.Attributes().PutStr(conventions.AttrAlertState, "pending")
	other := sl.LogRecords().AppendEmpty()
	other.Attributes().PutStr(conventions.AttrAlertFingerprint, "fp")
	_, alerts := LogsToColumns(ld)
	if alerts.Len() != 1 || alerts.ServiceName[0] != "orders" || alerts.Fingerprint[0] == "" {
		t.Fatalf("alerts = %d rows, service %v, fingerprint %v; want 1 row for orders with the codec's fingerprint "+
			"(a malformed event, or a record without alert.name, is no alert)", alerts.Len(), alerts.ServiceName, alerts.Fingerprint)
	}
}

func TestMetricsToColumns(t *testing.T) {
	c := MetricsToColumns(fixtureMetrics())
	if c.Gauge.Len() != 2 || c.Sum.Len() != 1 || c.Histogram.Len() != 1 || c.ExpHistogram.Len() != 1 || c.Summary.Len() != 1 || c.Len() != 6 {
		t.Fatalf("rows per kind = %d/%d/%d/%d/%d", c.Gauge.Len(), c.Sum.Len(), c.Histogram.Len(), c.ExpHistogram.Len(), c.Summary.Len())
	}
	if c.Gauge.Value[0] != float64(1<<40) || c.Sum.Value[0] != 1234 || !c.Sum.IsMonotonic[0] || c.Sum.AggregationTemporality[0] != 2 {
		t.Errorf("values: gauge %v sum %v", c.Gauge.Value, c.Sum.Value)
	}
	if c.Gauge.Exemplars.Value[0][0] != 3.5 || len(c.Gauge.Exemplars.Value[1]) != 0 || c.Histogram.Exemplars.Value[0][0] != 900 {
		t.Errorf("exemplars: %v %v", c.Gauge.Exemplars.Value, c.Histogram.Exemplars.Value)
	}
	if c.Gauge.ScopeDroppedAttrCount[0] != 2 || c.Gauge.ServiceName[0] != "checkout" {
		t.Errorf("head columns: %+v", c.Gauge.MetricHeadColumns)
	}
	for _, cols := range [][]Column{c.Gauge.Columns(), c.Sum.Columns(), c.Histogram.Columns(), c.ExpHistogram.Columns(), c.Summary.Columns()} {
		n, _ := columnLen(cols[0].Values)
		for _, col := range cols {
			if m, err := columnLen(col.Values); err != nil || m != n {
				t.Errorf("column %s: %d rows, want %d (%v)", col.Name, m, n, err)
			}
		}
	}
}

func TestEncodeJSONEachRow(t *testing.T) {
	tests := []struct {
		name    string
		cols    []Column
		want    string
		wantErr string
	}{
		{
			name: "every value type",
			cols: []Column{
				{"T", []time.Time{t0}},
				{"S", []string{"a\"b\n<c>"}},
				{"M", []map[string]string{{"b": "2", "a": "1"}}},
				{"U8", []uint8{255}},
				{"U32", []uint32{7}},
				{"U64", []uint64{math.MaxUint64}},
				{"I32", []int32{-3}},
				{"F", []float64{0.1}},
				{"B", []bool{true}},
				{"AT", [][]time.Time{{t0}}},
				{"AS", [][]string{{"x", "y"}}},
				{"AM", [][]map[string]string{{{"k": "v"}}}},
				{"AU", [][]uint64{{1, 2}}},
				{"AF", [][]float64{{math.NaN(), math.Inf(1), math.Inf(-1), 1e300}}},
			},
			want: `{"T":"2026-03-14 09:26:53.589793238","S":"a\"b\n\u003cc\u003e","M":{"a":"1","b":"2"},"U8":255,"U32":7,` +
				`"U64":18446744073709551615,"I32":-3,"F":0.1,"B":true,"AT":["2026-03-14 09:26:53.589793238"],"AS":["x","y"],` +
				`"AM":[{"k":"v"}],"AU":[1,2],"AF":["nan","inf","-inf",1e+300]}` + "\n",
		},
		{name: "no columns", cols: nil, want: ""},
		{name: "mismatched lengths", cols: []Column{{"A", []string{"x"}}, {"B", []string{}}}, wantErr: "has 0 rows"},
		{name: "unsupported type", cols: []Column{{"A", []int{1}}}, wantErr: "unsupported column type []int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := EncodeJSONEachRow(&buf, tt.cols)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("got  %s\nwant %s", buf.String(), tt.want)
			}
		})
	}
}
