package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"time"
)

// Column is one column of an insert: its name in the table and its values
// as a typed slice with one element per row. The slice types are the ones
// clickhouse-go appends to the column's ClickHouse type without conversion:
//
//	[]time.Time            DateTime64(9), DateTime
//	[]string               String, LowCardinality(String)
//	[]Attributes           Map(LowCardinality(String), String)
//	[]uint8, []uint32, []uint64, []int32, []float64, []bool
//	[][]T                  Array(T), and the arrays of a flattened Nested column
//
// The native insert hands some of them to the driver reshaped (see
// nativeShaper); EncodeJSONEachRow also takes []map[string]string for Map.
type Column struct {
	Name   string
	Values any
}

// Attributes is one Map(LowCardinality(String), String) value: attribute
// keys and their values rendered by AttributeValue, in pdata's order
// (pdata keeps keys unique). Pairs rather than a Go map: the mapping fills
// them from slabs shared by the whole batch, with no hashing, and the
// insert walks them in order.
type Attributes struct {
	Keys   []string
	Values []string
}

// Len is the number of pairs.
func (a Attributes) Len() int { return len(a.Keys) }

// Get returns the value of key, and whether it is there.
func (a Attributes) Get(key string) (string, bool) {
	for i, k := range a.Keys {
		if k == key {
			return a.Values[i], true
		}
	}
	return "", false
}

// Value returns the value of key, or "" when it is not there.
func (a Attributes) Value(key string) string {
	v, _ := a.Get(key)
	return v
}

// Map returns the pairs as a Go map (never nil).
func (a Attributes) Map() map[string]string {
	m := make(map[string]string, len(a.Keys))
	for i, k := range a.Keys {
		m[k] = a.Values[i]
	}
	return m
}

// SpanColumns are the otel_traces columns of a batch of spans.
type SpanColumns struct {
	Timestamp          []time.Time
	TraceID            []string
	SpanID             []string
	ParentSpanID       []string
	TraceState         []string
	SpanName           []string
	SpanKind           []string
	ServiceName        []string
	ResourceAttributes []Attributes
	ScopeName          []string
	ScopeVersion       []string
	SpanAttributes     []Attributes
	Duration           []uint64
	StatusCode         []string
	StatusMessage      []string
	EventsTimestamp    [][]time.Time
	EventsName         [][]string
	EventsAttributes   [][]Attributes
	LinksTraceID       [][]string
	LinksSpanID        [][]string
	LinksTraceState    [][]string
	LinksAttributes    [][]Attributes
}

// Len is the number of rows.
func (c *SpanColumns) Len() int { return len(c.Timestamp) }

// Columns lists the columns in insert order.
func (c *SpanColumns) Columns() []Column {
	return []Column{
		{"Timestamp", c.Timestamp},
		{"TraceId", c.TraceID},
		{"SpanId", c.SpanID},
		{"ParentSpanId", c.ParentSpanID},
		{"TraceState", c.TraceState},
		{"SpanName", c.SpanName},
		{"SpanKind", c.SpanKind},
		{"ServiceName", c.ServiceName},
		{"ResourceAttributes", c.ResourceAttributes},
		{"ScopeName", c.ScopeName},
		{"ScopeVersion", c.ScopeVersion},
		{"SpanAttributes", c.SpanAttributes},
		{"Duration", c.Duration},
		{"StatusCode", c.StatusCode},
		{"StatusMessage", c.StatusMessage},
		{"Events.Timestamp", c.EventsTimestamp},
		{"Events.Name", c.EventsName},
		{"Events.Attributes", c.EventsAttributes},
		{"Links.TraceId", c.LinksTraceID},
		{"Links.SpanId", c.LinksSpanID},
		{"Links.TraceState", c.LinksTraceState},
		{"Links.Attributes", c.LinksAttributes},
	}
}

// LogColumns are the otel_logs columns of a batch of log records.
type LogColumns struct {
	Timestamp          []time.Time
	TimestampTime      []time.Time
	TraceID            []string
	SpanID             []string
	TraceFlags         []uint8
	SeverityText       []string
	SeverityNumber     []uint8
	ServiceName        []string
	Body               []string
	ResourceSchemaURL  []string
	ResourceAttributes []Attributes
	ScopeSchemaURL     []string
	ScopeName          []string
	ScopeVersion       []string
	ScopeAttributes    []Attributes
	LogAttributes      []Attributes
	EventName          []string
}

// Len is the number of rows.
func (c *LogColumns) Len() int { return len(c.Timestamp) }

// Columns lists the columns in insert order.
func (c *LogColumns) Columns() []Column {
	return []Column{
		{"Timestamp", c.Timestamp},
		{"TimestampTime", c.TimestampTime},
		{"TraceId", c.TraceID},
		{"SpanId", c.SpanID},
		{"TraceFlags", c.TraceFlags},
		{"SeverityText", c.SeverityText},
		{"SeverityNumber", c.SeverityNumber},
		{"ServiceName", c.ServiceName},
		{"Body", c.Body},
		{"ResourceSchemaUrl", c.ResourceSchemaURL},
		{"ResourceAttributes", c.ResourceAttributes},
		{"ScopeSchemaUrl", c.ScopeSchemaURL},
		{"ScopeName", c.ScopeName},
		{"ScopeVersion", c.ScopeVersion},
		{"ScopeAttributes", c.ScopeAttributes},
		{"LogAttributes", c.LogAttributes},
		{"EventName", c.EventName},
	}
}

// AlertColumns are the vigil_alerts columns of a batch of alert events.
type AlertColumns struct {
	Timestamp          []time.Time
	Fingerprint        []string
	AlertName          []string
	State              []string
	Severity           []string
	Source             []string
	ServiceName        []string
	SLOName            []string
	TraceID            []string
	Attributes         []Attributes
	ResourceAttributes []Attributes
	Body               []string
}

// Len is the number of rows.
func (c *AlertColumns) Len() int { return len(c.Timestamp) }

// Columns lists the columns in insert order.
func (c *AlertColumns) Columns() []Column {
	return []Column{
		{"Timestamp", c.Timestamp},
		{"Fingerprint", c.Fingerprint},
		{"AlertName", c.AlertName},
		{"State", c.State},
		{"Severity", c.Severity},
		{"Source", c.Source},
		{"ServiceName", c.ServiceName},
		{"SLOName", c.SLOName},
		{"TraceId", c.TraceID},
		{"Attributes", c.Attributes},
		{"ResourceAttributes", c.ResourceAttributes},
		{"Body", c.Body},
	}
}

// MetricHeadColumns are the columns every metric table starts with.
type MetricHeadColumns struct {
	ResourceAttributes    []Attributes
	ResourceSchemaURL     []string
	ScopeName             []string
	ScopeVersion          []string
	ScopeAttributes       []Attributes
	ScopeDroppedAttrCount []uint32
	ScopeSchemaURL        []string
	ServiceName           []string
	MetricName            []string
	MetricDescription     []string
	MetricUnit            []string
	Attributes            []Attributes
	StartTimeUnix         []time.Time
	TimeUnix              []time.Time
	Flags                 []uint32
}

// Len is the number of rows.
func (c *MetricHeadColumns) Len() int { return len(c.TimeUnix) }

func (c *MetricHeadColumns) columns() []Column {
	return []Column{
		{"ResourceAttributes", c.ResourceAttributes},
		{"ResourceSchemaUrl", c.ResourceSchemaURL},
		{"ScopeName", c.ScopeName},
		{"ScopeVersion", c.ScopeVersion},
		{"ScopeAttributes", c.ScopeAttributes},
		{"ScopeDroppedAttrCount", c.ScopeDroppedAttrCount},
		{"ScopeSchemaUrl", c.ScopeSchemaURL},
		{"ServiceName", c.ServiceName},
		{"MetricName", c.MetricName},
		{"MetricDescription", c.MetricDescription},
		{"MetricUnit", c.MetricUnit},
		{"Attributes", c.Attributes},
		{"StartTimeUnix", c.StartTimeUnix},
		{"TimeUnix", c.TimeUnix},
		{"Flags", c.Flags},
	}
}

// ExemplarColumns are the Exemplars.* arrays of a metric table.
type ExemplarColumns struct {
	FilteredAttributes [][]Attributes
	TimeUnix           [][]time.Time
	Value              [][]float64
	SpanID             [][]string
	TraceID            [][]string
}

func (c *ExemplarColumns) columns() []Column {
	return []Column{
		{"Exemplars.FilteredAttributes", c.FilteredAttributes},
		{"Exemplars.TimeUnix", c.TimeUnix},
		{"Exemplars.Value", c.Value},
		{"Exemplars.SpanId", c.SpanID},
		{"Exemplars.TraceId", c.TraceID},
	}
}

// GaugeColumns are the otel_metrics_gauge columns.
type GaugeColumns struct {
	MetricHeadColumns
	Value     []float64
	Exemplars ExemplarColumns
}

// Columns lists the columns in insert order.
func (c *GaugeColumns) Columns() []Column {
	cols := c.MetricHeadColumns.columns()
	cols = append(cols, Column{"Value", c.Value})
	return append(cols, c.Exemplars.columns()...)
}

// SumColumns are the otel_metrics_sum columns.
type SumColumns struct {
	MetricHeadColumns
	Value                  []float64
	Exemplars              ExemplarColumns
	AggregationTemporality []int32
	IsMonotonic            []bool
}

// Columns lists the columns in insert order.
func (c *SumColumns) Columns() []Column {
	cols := c.MetricHeadColumns.columns()
	cols = append(cols, Column{"Value", c.Value})
	cols = append(cols, c.Exemplars.columns()...)
	return append(cols,
		Column{"AggregationTemporality", c.AggregationTemporality},
		Column{"IsMonotonic", c.IsMonotonic})
}

// HistogramColumns are the otel_metrics_histogram columns.
type HistogramColumns struct {
	MetricHeadColumns
	Count                  []uint64
	Sum                    []float64
	BucketCounts           [][]uint64
	ExplicitBounds         [][]float64
	Exemplars              ExemplarColumns
	Min                    []float64
	Max                    []float64
	AggregationTemporality []int32
}

// Columns lists the columns in insert order.
func (c *HistogramColumns) Columns() []Column {
	cols := c.MetricHeadColumns.columns()
	cols = append(cols,
		Column{"Count", c.Count},
		Column{"Sum", c.Sum},
		Column{"BucketCounts", c.BucketCounts},
		Column{"ExplicitBounds", c.ExplicitBounds})
	cols = append(cols, c.Exemplars.columns()...)
	return append(cols,
		Column{"Min", c.Min},
		Column{"Max", c.Max},
		Column{"AggregationTemporality", c.AggregationTemporality})
}

// ExpHistogramColumns are the otel_metrics_exponential_histogram columns.
type ExpHistogramColumns struct {
	MetricHeadColumns
	Count                  []uint64
	Sum                    []float64
	Scale                  []int32
	ZeroCount              []uint64
	PositiveOffset         []int32
	PositiveBucketCounts   [][]uint64
	NegativeOffset         []int32
	NegativeBucketCounts   [][]uint64
	Exemplars              ExemplarColumns
	Min                    []float64
	Max                    []float64
	AggregationTemporality []int32
}

// Columns lists the columns in insert order.
func (c *ExpHistogramColumns) Columns() []Column {
	cols := c.MetricHeadColumns.columns()
	cols = append(cols,
		Column{"Count", c.Count},
		Column{"Sum", c.Sum},
		Column{"Scale", c.Scale},
		Column{"ZeroCount", c.ZeroCount},
		Column{"PositiveOffset", c.PositiveOffset},
		Column{"PositiveBucketCounts", c.PositiveBucketCounts},
		Column{"NegativeOffset", c.NegativeOffset},
		Column{"NegativeBucketCounts", c.NegativeBucketCounts})
	cols = append(cols, c.Exemplars.columns()...)
	return append(cols,
		Column{"Min", c.Min},
		Column{"Max", c.Max},
		Column{"AggregationTemporality", c.AggregationTemporality})
}

// SummaryColumns are the otel_metrics_summary columns.
type SummaryColumns struct {
	MetricHeadColumns
	Count     []uint64
	Sum       []float64
	Quantiles [][]float64
	Values    [][]float64
}

// Columns lists the columns in insert order.
func (c *SummaryColumns) Columns() []Column {
	cols := c.MetricHeadColumns.columns()
	return append(cols,
		Column{"Count", c.Count},
		Column{"Sum", c.Sum},
		Column{"ValueAtQuantiles.Quantile", c.Quantiles},
		Column{"ValueAtQuantiles.Value", c.Values})
}

// MetricColumns are the columns of every metric table for a batch of
// metrics, one set per point kind.
type MetricColumns struct {
	Gauge        GaugeColumns
	Sum          SumColumns
	Histogram    HistogramColumns
	ExpHistogram ExpHistogramColumns
	Summary      SummaryColumns
}

// Len is the number of rows over all metric tables.
func (c *MetricColumns) Len() int {
	return c.Gauge.Len() + c.Sum.Len() + c.Histogram.Len() + c.ExpHistogram.Len() + c.Summary.Len()
}
