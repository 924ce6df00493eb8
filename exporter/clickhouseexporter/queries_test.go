package clickhouseexporter

import (
	"os"
	"strings"
	"testing"
)

// readmeQueries are the queries README.md documents (and the dashboards
// use), with their exact results on the fixtures. TestReadmeQueriesDocumented
// keeps README.md and this list identical.
func readmeQueries() []chdbQuery {
	return []chdbQuery{
		{
			name: "trace search by service, operation, duration and status",
			sql: `SELECT TraceId, SpanName, ServiceName, Duration, StatusCode
FROM {db}.otel_traces
WHERE ServiceName = 'checkout' AND SpanName = 'GET /cart'
  AND Duration >= 200000000 AND StatusCode = 'Error'
  AND Timestamp >= '2026-03-14 00:00:00' AND Timestamp < '2026-03-15 00:00:00'
ORDER BY Timestamp DESC
LIMIT 100`,
			want: `[{"TraceId":"` + traceAHex + `","SpanName":"GET /cart","ServiceName":"checkout","Duration":250000000,"StatusCode":"Error"}]`,
		},
		{
			name: "trace view by TraceId through the lookup table",
			sql: `WITH
  '` + traceAHex + `' AS trace_id,
  (SELECT min(Start) FROM {db}.otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_start,
  (SELECT max(End) + 1 FROM {db}.otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_end
SELECT SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, Duration
FROM {db}.otel_traces
WHERE TraceId = trace_id AND Timestamp >= trace_start AND Timestamp <= trace_end
ORDER BY Timestamp`,
			want: `[{"SpanId":"` + spanA1Hex + `","ParentSpanId":"","SpanName":"GET /cart","SpanKind":"Server","ServiceName":"checkout","Duration":250000000},
{"SpanId":"` + spanA2Hex + `","ParentSpanId":"` + spanA1Hex + `","SpanName":"SELECT cart","SpanKind":"Client","ServiceName":"checkout","Duration":1190000000}]`,
		},
		{
			name: "trace id lookup table",
			sql: `SELECT TraceId, Start, End
FROM {db}.otel_traces_trace_id_ts
ORDER BY TraceId`,
			want: `[{"TraceId":"` + traceAHex + `","Start":"2026-03-14 09:26:53","End":"2026-03-14 09:26:53"},
{"TraceId":"` + traceBHex + `","Start":"2026-03-14 09:26:55","End":"2026-03-14 09:26:55"}]`,
		},
		{
			name: "span details with every attribute type, events and links",
			sql: `SELECT Timestamp, TraceState, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, StatusMessage,
  Events.Timestamp, Events.Name, Events.Attributes,
  Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes
FROM {db}.otel_traces
WHERE SpanId = '` + spanA1Hex + `'`,
			want: `[{"Timestamp":"2026-03-14 09:26:53.589793238","TraceState":"vendor=a",
"ResourceAttributes":{"service.name":"checkout","deployment.environment":"prod"},
"ScopeName":"checkout-tracer","ScopeVersion":"1.2.3",
"SpanAttributes":` + allTypesJSON(`"http.status_code":"500"`) + `,
"StatusMessage":"boom",
"Events.Timestamp":["2026-03-14 09:26:53.789793238"],"Events.Name":["exception"],"Events.Attributes":[{"exception.message":"boom"}],
"Links.TraceId":["` + traceBHex + `"],"Links.SpanId":["` + spanB1Hex + `"],"Links.TraceState":["vendor=b"],"Links.Attributes":[{"follows":"true"}]}]`,
		},
		{
			name: "spans by attribute values",
			sql: `SELECT SpanName
FROM {db}.otel_traces
WHERE SpanAttributes['http.status_code'] = '500'
  AND SpanAttributes['bool'] = 'true'
  AND JSONExtractInt(SpanAttributes['map'], 'id') = 7`,
			want: `[{"SpanName":"GET /cart"}]`,
		},
		{
			name: "request rate, errors and worst duration per service",
			sql: `SELECT ServiceName, count() AS Spans, countIf(StatusCode = 'Error') AS Errors, max(Duration) AS MaxDuration
FROM {db}.otel_traces
GROUP BY ServiceName
ORDER BY ServiceName`,
			want: `[{"ServiceName":"checkout","Spans":2,"Errors":1,"MaxDuration":1190000000},
{"ServiceName":"payments","Spans":1,"Errors":0,"MaxDuration":50000000}]`,
		},
		{
			name: "logs by service, level and text",
			sql: `SELECT Timestamp, TraceId, SeverityText, Body
FROM {db}.otel_logs
WHERE ServiceName = 'checkout' AND SeverityNumber >= 17 AND hasToken(Body, 'declined')
  AND TimestampTime >= '2026-03-14 00:00:00'
ORDER BY Timestamp DESC`,
			want: `[{"Timestamp":"2026-03-14 09:26:53.689793238","TraceId":"` + traceAHex + `","SeverityText":"ERROR","Body":"payment failed: card declined"}]`,
		},
		{
			name: "log volume per service and level",
			sql: `SELECT ServiceName, SeverityText, count() AS Records
FROM {db}.otel_logs
GROUP BY ServiceName, SeverityText
ORDER BY ServiceName, SeverityText`,
			want: `[{"ServiceName":"checkout","SeverityText":"DEBUG","Records":1},
{"ServiceName":"checkout","SeverityText":"ERROR","Records":1},
{"ServiceName":"checkout","SeverityText":"INFO","Records":1},
{"ServiceName":"vigil","SeverityText":"WARN","Records":5}]`,
		},
		{
			name: "log record details with every attribute type",
			sql: `SELECT TimestampTime, SpanId, TraceFlags, SeverityNumber, ResourceSchemaUrl, ScopeSchemaUrl,
  ScopeName, ScopeVersion, ScopeAttributes, LogAttributes
FROM {db}.otel_logs
WHERE TraceId = '` + traceAHex + `'`,
			want: `[{"TimestampTime":"2026-03-14 09:26:53","SpanId":"` + spanA1Hex + `","TraceFlags":1,"SeverityNumber":17,
"ResourceSchemaUrl":"https://opentelemetry.io/schemas/1.26.0","ScopeSchemaUrl":"https://opentelemetry.io/schemas/1.25.0",
"ScopeName":"zap","ScopeVersion":"1.28.0","ScopeAttributes":{"logger":"cart"},
"LogAttributes":` + allTypesJSON("") + `}]`,
		},
		{
			name: "logs without event time, structured bodies and event names",
			sql: `SELECT Timestamp, SeverityText, Body, EventName
FROM {db}.otel_logs
WHERE ServiceName = 'checkout' AND SeverityText IN ('DEBUG', 'INFO')
ORDER BY Timestamp`,
			want: `[{"Timestamp":"2026-03-14 09:26:53.589793238","SeverityText":"INFO","Body":"cart loaded","EventName":"cart.loaded"},
{"Timestamp":"2026-03-14 09:26:56.589793238","SeverityText":"DEBUG","Body":"{\"msg\":\"structured body\"}","EventName":""}]`,
		},
		{
			name: "alert events per service per day",
			sql: `SELECT toDate(Timestamp) AS Day, ServiceName,
  countIf(State = 'firing') AS FiringEvents, countIf(State = 'resolved') AS Resolved
FROM {db}.vigil_alerts
GROUP BY Day, ServiceName
ORDER BY Day, ServiceName`,
			want: `[{"Day":"2026-03-14","ServiceName":"checkout","FiringEvents":2,"Resolved":2},
{"Day":"2026-03-15","ServiceName":"payments","FiringEvents":1,"Resolved":0}]`,
		},
		{
			name: "time to resolve per alert episode",
			sql: `SELECT f.Fingerprint AS Fingerprint, any(f.AlertName) AS AlertName, any(f.ServiceName) AS ServiceName,
  min(f.Timestamp) AS FiredAt, r.Timestamp AS ResolvedAt,
  dateDiff('second', min(f.Timestamp), r.Timestamp) AS SecondsToResolve
FROM (SELECT Fingerprint, AlertName, ServiceName, Timestamp FROM {db}.vigil_alerts WHERE State = 'firing') AS f
ASOF JOIN (SELECT Fingerprint, Timestamp FROM {db}.vigil_alerts WHERE State = 'resolved') AS r
  ON f.Fingerprint = r.Fingerprint AND f.Timestamp <= r.Timestamp
GROUP BY f.Fingerprint, r.Timestamp
ORDER BY FiredAt`,
			want: `[{"Fingerprint":"fp-checkout","AlertName":"checkout-availability","ServiceName":"checkout",
"FiredAt":"2026-03-14 09:26:53.589793238","ResolvedAt":"2026-03-14 09:31:53.589793238","SecondsToResolve":300},
{"Fingerprint":"fp-checkout","AlertName":"checkout-availability","ServiceName":"checkout",
"FiredAt":"2026-03-14 10:26:53.589793238","ResolvedAt":"2026-03-14 10:36:53.589793238","SecondsToResolve":600}]`,
		},
		{
			name: "mean time to resolve per service",
			sql: `SELECT ServiceName, count() AS Episodes, avg(SecondsToResolve) AS MTTRSeconds
FROM (
  SELECT any(f.ServiceName) AS ServiceName, dateDiff('second', min(f.Timestamp), r.Timestamp) AS SecondsToResolve
  FROM (SELECT Fingerprint, ServiceName, Timestamp FROM {db}.vigil_alerts WHERE State = 'firing') AS f
  ASOF JOIN (SELECT Fingerprint, Timestamp FROM {db}.vigil_alerts WHERE State = 'resolved') AS r
    ON f.Fingerprint = r.Fingerprint AND f.Timestamp <= r.Timestamp
  GROUP BY f.Fingerprint, r.Timestamp
)
GROUP BY ServiceName
ORDER BY ServiceName`,
			want: `[{"ServiceName":"checkout","Episodes":2,"MTTRSeconds":450}]`,
		},
		{
			name: "alerts firing now",
			sql: `SELECT Fingerprint, argMax(AlertName, Timestamp) AS AlertName, argMax(State, Timestamp) AS LastState
FROM {db}.vigil_alerts
GROUP BY Fingerprint
HAVING LastState = 'firing'
ORDER BY Fingerprint`,
			want: `[{"Fingerprint":"fp-payments","AlertName":"payments-latency","LastState":"firing"}]`,
		},
		{
			name: "alert event details",
			sql: `SELECT Severity, Source, SLOName, Attributes['slo.burn_rate.long'] AS BurnRateLong,
  ResourceAttributes['service.name'] AS Emitter, Body
FROM {db}.vigil_alerts
ORDER BY Timestamp
LIMIT 1`,
			want: `[{"Severity":"page","Source":"slo","SLOName":"checkout-availability","BurnRateLong":"14.4","Emitter":"vigil","Body":"checkout-availability firing for checkout"}]`,
		},
		{
			name: "gauge points with attributes and exemplars",
			sql: `SELECT MetricName, MetricDescription, MetricUnit, ServiceName, ScopeDroppedAttrCount, StartTimeUnix, TimeUnix, Value, Attributes,
  Exemplars.TimeUnix, Exemplars.Value, Exemplars.TraceId, Exemplars.SpanId, Exemplars.FilteredAttributes
FROM {db}.otel_metrics_gauge
ORDER BY TimeUnix`,
			want: `[{"MetricName":"process.memory.usage","MetricDescription":"resident memory","MetricUnit":"By","ServiceName":"checkout","ScopeDroppedAttrCount":2,
"StartTimeUnix":"1970-01-01 00:00:00.000000000","TimeUnix":"2026-03-14 09:26:53.589793238","Value":1099511627776,"Attributes":` + allTypesJSON("") + `,
"Exemplars.TimeUnix":["2026-03-14 09:26:52.589793238"],"Exemplars.Value":[3.5],"Exemplars.TraceId":["` + traceAHex + `"],"Exemplars.SpanId":["` + spanA1Hex + `"],"Exemplars.FilteredAttributes":[{"user":"u1"}]},
{"MetricName":"process.memory.usage","MetricDescription":"resident memory","MetricUnit":"By","ServiceName":"checkout","ScopeDroppedAttrCount":2,
"StartTimeUnix":"1970-01-01 00:00:00.000000000","TimeUnix":"2026-03-14 09:27:53.589793238","Value":0.5,"Attributes":{},
"Exemplars.TimeUnix":[],"Exemplars.Value":[],"Exemplars.TraceId":[],"Exemplars.SpanId":[],"Exemplars.FilteredAttributes":[]}]`,
		},
		{
			name: "sum points",
			sql: `SELECT MetricName, StartTimeUnix, Value, IsMonotonic, AggregationTemporality, Attributes
FROM {db}.otel_metrics_sum`,
			want: `[{"MetricName":"http.server.requests","StartTimeUnix":"2026-03-14 08:26:53.589793238","Value":1234,"IsMonotonic":true,"AggregationTemporality":2,"Attributes":{"http.status_code":"200"}}]`,
		},
		{
			name: "histogram points",
			sql: `SELECT MetricName, MetricUnit, Count, Sum, BucketCounts, ExplicitBounds, Min, Max, AggregationTemporality, Exemplars.Value
FROM {db}.otel_metrics_histogram`,
			want: `[{"MetricName":"http.server.duration","MetricUnit":"ms","Count":10,"Sum":1234.5,"BucketCounts":[3,4,2,1],"ExplicitBounds":[10,100,1000],
"Min":1,"Max":900,"AggregationTemporality":1,"Exemplars.Value":[900]}]`,
		},
		{
			name: "exponential histogram points",
			sql: `SELECT MetricName, Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, NegativeOffset, NegativeBucketCounts,
  Min, Max, AggregationTemporality
FROM {db}.otel_metrics_exponential_histogram`,
			want: `[{"MetricName":"rpc.duration","Count":7,"Sum":70,"Scale":3,"ZeroCount":1,"PositiveOffset":-2,"PositiveBucketCounts":[1,2,3],
"NegativeOffset":1,"NegativeBucketCounts":[0],"Min":0,"Max":20,"AggregationTemporality":2}]`,
		},
		{
			name: "summary points",
			sql: `SELECT MetricName, Count, Sum, ValueAtQuantiles.Quantile, ValueAtQuantiles.Value
FROM {db}.otel_metrics_summary`,
			want: `[{"MetricName":"gc.pause","Count":4,"Sum":2.5,"ValueAtQuantiles.Quantile":[0.5,0.99],"ValueAtQuantiles.Value":[0.5,1.25]}]`,
		},
		{
			name: "tables created by the migrations",
			sql: `SELECT name, engine, partition_key
FROM system.tables
WHERE database = '{db}'
ORDER BY name`,
			want: `[{"name":"otel_logs","engine":"MergeTree","partition_key":"toDate(TimestampTime)"},
{"name":"otel_metrics_exponential_histogram","engine":"MergeTree","partition_key":"toDate(TimeUnix)"},
{"name":"otel_metrics_gauge","engine":"MergeTree","partition_key":"toDate(TimeUnix)"},
{"name":"otel_metrics_histogram","engine":"MergeTree","partition_key":"toDate(TimeUnix)"},
{"name":"otel_metrics_sum","engine":"MergeTree","partition_key":"toDate(TimeUnix)"},
{"name":"otel_metrics_summary","engine":"MergeTree","partition_key":"toDate(TimeUnix)"},
{"name":"otel_traces","engine":"MergeTree","partition_key":"toDate(Timestamp)"},
{"name":"otel_traces_trace_id_ts","engine":"MergeTree","partition_key":"toDate(Start)"},
{"name":"otel_traces_trace_id_ts_mv","engine":"MaterializedView","partition_key":""},
{"name":"schema_migrations","engine":"ReplacingMergeTree","partition_key":""},
{"name":"vigil_alerts","engine":"MergeTree","partition_key":"toDate(Timestamp)"}]`,
		},
		{
			name: "TTL from the configuration",
			sql: `SELECT name, extract(engine_full, 'TTL [^S]+') AS ttl
FROM system.tables
WHERE database = '{db}' AND name IN ('otel_traces', 'otel_logs', 'vigil_alerts')
ORDER BY name`,
			want: `[{"name":"otel_logs","ttl":"TTL TimestampTime + toIntervalDay(3650) "},
{"name":"otel_traces","ttl":"TTL toDateTime(Timestamp) + toIntervalDay(3650) "},
{"name":"vigil_alerts","ttl":"TTL toDateTime(Timestamp) + toIntervalDay(3660) "}]`,
		},
		{
			name: "skip indexes",
			sql: `SELECT table, name, type_full
FROM system.data_skipping_indices
WHERE database = '{db}' AND name IN ('idx_body', 'idx_trace_id', 'idx_fingerprint')
ORDER BY table, name`,
			want: `[{"table":"otel_logs","name":"idx_body","type_full":"tokenbf_v1(32768, 3, 0)"},
{"table":"otel_logs","name":"idx_trace_id","type_full":"bloom_filter(0.001)"},
{"table":"otel_traces","name":"idx_trace_id","type_full":"bloom_filter(0.001)"},
{"table":"otel_traces_trace_id_ts","name":"idx_trace_id","type_full":"bloom_filter(0.01)"},
{"table":"vigil_alerts","name":"idx_body","type_full":"tokenbf_v1(8192, 3, 0)"},
{"table":"vigil_alerts","name":"idx_fingerprint","type_full":"bloom_filter(0.001)"}]`,
		},
	}
}

// allTypesJSON is the map putAllTypes stores, as ClickHouse prints it, with
// extra entries spliced in.
func allTypesJSON(extra string) string {
	s := `{"str":"GET /cart?x=<1>&y=\"q\"","int":"-42","double":"0.25","double_big":"1e+21","bool":"true","bytes":"AAEC/w==",` +
		`"array":"[\"a\",1,false,1.5]","map":"{\"id\":7,\"name\":\"x<y\",\"raw\":\"aGk=\"}","empty":""`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// TestReadmeQueriesDocumented keeps README.md's queries identical to the
// ones checked on chdb (with {db} as otel).
func TestReadmeQueriesDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range readmeQueries() {
		if strings.HasPrefix(q.sql, "SELECT name") || strings.HasPrefix(q.sql, "SELECT table") {
			continue // schema introspection, not a user query
		}
		sql := strings.ReplaceAll(q.sql, "{db}", "otel")
		if !strings.Contains(string(readme), sql) {
			t.Errorf("README.md does not show the query %q verbatim:\n%s", q.name, sql)
		}
	}
}
