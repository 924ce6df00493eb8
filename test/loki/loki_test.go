package loki

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/vigil-otel/vigil/exporter/lokiexporter"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// lokiEntry is one entry as query_range returns it, its stream's labels
// formatted as the exporter formats them.
type lokiEntry struct {
	labels string // {a="b", ...} sorted
	ts     time.Time
	line   string
	meta   map[string]string
}

// queryRange returns every entry matching query in [start, end], oldest
// first.
func queryRange(loki *lokitest.Server, tenant, query string, start, end time.Time) ([]lokiEntry, error) {
	entries, err := loki.QueryRange(tenant, query, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]lokiEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, lokiEntry{labels: formatLabels(e.Stream), ts: e.TS, line: e.Line, meta: e.Meta})
	}
	return out, nil
}

// formatLabels formats a stream's labels sorted by name, as the exporter
// writes them to Loki's push API (and Prometheus prints them).
func formatLabels(stream map[string]string) string {
	return labels.FromMap(stream).String()
}

// sentRecord is a log record the test emits through the OpenTelemetry SDK,
// with what Loki must return for it.
type sentRecord struct {
	body       string
	severity   otellog.Severity
	sevText    string
	attrs      []attribute.KeyValue
	withTrace  bool
	wantLabels string
	wantLine   string
	wantMeta   map[string]string
}

// TestLokiEndToEnd sends OTLP logs with the OpenTelemetry Go SDK to the
// built vigil binary, which exports them with this exporter to a real Loki;
// it then reads them back over Loki's HTTP API and checks lines, labels,
// structured metadata and counts exactly.
func TestLokiEndToEnd(t *testing.T) {
	tests := []struct {
		name       string
		auth       bool
		tenant     string
		lineFormat lokiexporter.LineFormat
	}{
		{name: "single tenant, body lines", lineFormat: lokiexporter.LineFormatBody},
		{name: "multi-tenant, json lines", auth: true, tenant: "team-a", lineFormat: lokiexporter.LineFormatJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runEndToEnd(t, tt.auth, tt.tenant, tt.lineFormat)
		})
	}
}

func runEndToEnd(t *testing.T, auth bool, tenant string, format lokiexporter.LineFormat) {
	loki := lokitest.Start(t, auth)
	dir := t.TempDir()
	cfgPath := vigiltest.WriteFile(t, dir, "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
exporters:
  loki:
    endpoint: %s
    tenant_id: %q
    line_format: %s
    labels:
      resource_attributes: [k8s.namespace.name]
      attributes: [http.route]
    sending_queue:
      batch:
        flush_timeout: 200ms
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: normal
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [loki]
`, loki.URL, tenant, format))
	vigil := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfgPath}})

	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	resMeta := map[string]string{"host_name": "node-1", "service_instance_id": "pod-7f9c"}
	// streamLabels is the label set every record shares plus extra, sorted
	// as Loki returns it.
	streamLabels := func(extra ...string) string {
		ls := map[string]string{"deployment_environment": "prod", "k8s_namespace_name": "payments",
			"service_name": "checkout", "service_namespace": "shop"}
		for i := 0; i+1 < len(extra); i += 2 {
			ls[extra[i]] = extra[i+1]
		}
		return formatLabels(ls)
	}
	withMeta := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range resMeta {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	line := func(body string, attrs string) string {
		if format == lokiexporter.LineFormatJSON {
			if attrs == "" {
				return fmt.Sprintf(`{"body":%q}`, body)
			}
			return fmt.Sprintf(`{"body":%q,"attributes":{%s}}`, body, attrs)
		}
		return body
	}
	attrMeta := func(m map[string]string) map[string]string {
		if format == lokiexporter.LineFormatJSON {
			return nil // attributes travel in the line
		}
		return m
	}
	long := strings.Repeat("0123456789", 30_000) // 300 kB: over Loki's 256 kB limit
	var records []sentRecord
	for i := range 40 {
		body := fmt.Sprintf("order %d paid", i)
		r := sentRecord{
			body: body, severity: otellog.SeverityInfo, sevText: "INFO",
			attrs:      []attribute.KeyValue{attribute.String("http.route", "/pay"), attribute.Int("order.id", i)},
			wantLabels: streamLabels("http_route", "/pay", "level", "info"),
			wantLine:   line(body, fmt.Sprintf(`"order.id":%d`, i)),
			wantMeta:   withMeta(merge(map[string]string{"severity_text": "INFO"}, attrMeta(map[string]string{"order_id": strconv.Itoa(i)}))),
		}
		if i%10 == 9 {
			r.body = fmt.Sprintf("order %d failed", i)
			r.severity, r.sevText = otellog.SeverityError, "ERROR"
			r.attrs = []attribute.KeyValue{attribute.String("error.type", "card_declined")}
			r.withTrace = true
			r.wantLabels = streamLabels("level", "error")
			r.wantLine = line(r.body, `"error.type":"card_declined"`)
			r.wantMeta = withMeta(merge(map[string]string{
				"severity_text": "ERROR", "trace_id": traceID.String(), "span_id": spanID.String(),
			}, attrMeta(map[string]string{"error_type": "card_declined"})))
		}
		records = append(records, r)
	}
	// A line over Loki's limit arrives truncated with the marker, not lost.
	// With the json format the JSON wrapper counts toward the limit too.
	defaults := lokiexporter.NewFactory().CreateDefaultConfig().(*lokiexporter.Config)
	wantLong := line(long, "")
	wantLong = wantLong[:defaults.MaxLineSize-len(defaults.TruncationMarker)] + defaults.TruncationMarker
	records = append(records, sentRecord{
		body: long, severity: otellog.SeverityWarn, sevText: "WARN",
		wantLabels: streamLabels("level", "warn"),
		wantLine:   wantLong,
		wantMeta:   withMeta(map[string]string{"severity_text": "WARN"}),
	})

	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	emit(t, vigil.OTLPGRPCEndpoint(), start, traceID, spanID, records)

	// Loki must hold exactly the records, in order, with the exact line,
	// labels and structured metadata of each.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []lokiEntry
	err := vigiltest.Eventually(ctx, func() error {
		var err error
		got, err = queryRange(loki, tenant, `{service_name="checkout"}`, start.Add(-time.Second), time.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		if len(got) < len(records) {
			return fmt.Errorf("%d of %d entries in Loki", len(got), len(records))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("querying Loki: %v\nvigil output:\n%s", err, vigil.Log())
	}
	if len(got) != len(records) {
		t.Fatalf("Loki holds %d entries, sent %d", len(got), len(records))
	}
	for i, r := range records {
		g := got[i]
		wantTS := start.Add(time.Duration(i) * time.Millisecond).UTC()
		if !g.ts.Equal(wantTS) {
			t.Errorf("entry %d: timestamp %v, want %v", i, g.ts, wantTS)
		}
		if g.labels != r.wantLabels {
			t.Errorf("entry %d: labels\n got %s\nwant %s", i, g.labels, r.wantLabels)
		}
		if g.line != r.wantLine {
			t.Errorf("entry %d: line (%d bytes) %.120q, want (%d bytes) %.120q", i, len(g.line), g.line, len(r.wantLine), r.wantLine)
		}
		if !reflect.DeepEqual(g.meta, r.wantMeta) {
			t.Errorf("entry %d: structured metadata\n got %v\nwant %v", i, g.meta, r.wantMeta)
		}
	}

	// Label names: the defaults and the allowlist, nothing of high
	// cardinality (no trace_id, order_id, instance id).
	var names []string
	now := time.Now()
	window := url.Values{"start": {strconv.FormatInt(start.Add(-time.Hour).UnixNano(), 10)}, "end": {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)}}
	if err := loki.Get(tenant, "/loki/api/v1/labels", window, &names); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if want := []string{"deployment_environment", "http_route", "k8s_namespace_name", "level", "service_name", "service_namespace"}; !reflect.DeepEqual(names, want) {
		t.Errorf("label names = %v, want %v", names, want)
	}

	// Series: one per level (the info records carry http.route).
	var series []map[string]string
	params := url.Values{"match[]": {`{service_name="checkout"}`}}
	for k, v := range window {
		params[k] = v
	}
	if err := loki.Get(tenant, "/loki/api/v1/series", params, &series); err != nil {
		t.Fatal(err)
	}
	var seriesText []string
	for _, s := range series {
		seriesText = append(seriesText, formatLabels(s))
	}
	slices.Sort(seriesText)
	wantSeries := []string{
		streamLabels("http_route", "/pay", "level", "info"),
		streamLabels("level", "error"),
		streamLabels("level", "warn"),
	}
	if !reflect.DeepEqual(seriesText, wantSeries) {
		t.Errorf("series\n got %q\nwant %q", seriesText, wantSeries)
	}

	// Counts with LogQL, by level, and a structured-metadata filter.
	for _, q := range []struct {
		query string
		want  int
	}{
		{`sum(count_over_time({service_name="checkout"}[1h]))`, len(records)},
		{`sum(count_over_time({service_name="checkout", level="error"}[1h]))`, 4},
		{`sum(count_over_time({service_name="checkout"} | trace_id="` + traceID.String() + `" [1h]))`, 4},
	} {
		var data struct {
			Result []struct {
				Value []json.RawMessage `json:"value"`
			} `json:"result"`
		}
		p := url.Values{"query": {q.query}, "time": {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)}}
		if err := loki.Get(tenant, "/loki/api/v1/query", p, &data); err != nil {
			t.Fatal(err)
		}
		var n string
		if len(data.Result) != 1 || len(data.Result[0].Value) != 2 || json.Unmarshal(data.Result[0].Value[1], &n) != nil || n != strconv.Itoa(q.want) {
			t.Errorf("%s = %+v, want %d", q.query, data.Result, q.want)
		}
	}

	if auth {
		// Another tenant sees nothing: the exporter's X-Scope-OrgID decided
		// where the logs went.
		other, err := queryRange(loki, "someone-else", `{service_name="checkout"}`, start.Add(-time.Second), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(other) != 0 {
			t.Errorf("tenant someone-else sees %d entries, want 0", len(other))
		}
	}

	// The collector's own telemetry counts the delivery and the truncation.
	families, err := vigiltest.Scrape(vigil.TelemetryURL())
	if err != nil {
		t.Fatal(err)
	}
	if n := vigiltest.Sum(families, "otelcol_exporter_sent_log_records", map[string]string{"exporter": "loki"}); n != float64(len(records)) {
		t.Errorf("otelcol_exporter_sent_log_records{exporter=loki} = %v, want %d", n, len(records))
	}
	if n := vigiltest.Sum(families, "otelcol_loki_lines_truncated", nil); n != 1 {
		t.Errorf("otelcol_loki_lines_truncated = %v, want 1", n)
	}
	if t.Failed() {
		var names []string
		for n := range families {
			if strings.Contains(n, "log_records") || strings.Contains(n, "loki") {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		t.Logf("telemetry families: %v", names)
	}
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// emit sends records through the OpenTelemetry Go SDK's OTLP gRPC exporter,
// record i stamped start+i ms, and flushes.
func emit(t *testing.T, endpoint string, start time.Time, traceID trace.TraceID, spanID trace.SpanID, records []sentRecord) {
	t.Helper()
	ctx := context.Background()
	lp := vigiltest.LoggerProvider(t, endpoint, resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.String("service.namespace", "shop"),
		attribute.String("deployment.environment.name", "prod"),
		attribute.String("k8s.namespace.name", "payments"),
		attribute.String("service.instance.id", "pod-7f9c"),
		attribute.String("host.name", "node-1"),
	))
	logger := lp.Logger("e2e")
	spanCtx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	for i, r := range records {
		var rec otellog.Record
		rec.SetTimestamp(start.Add(time.Duration(i) * time.Millisecond))
		rec.SetBody(attribute.StringValue(r.body))
		rec.SetSeverity(r.severity)
		rec.SetSeverityText(r.sevText)
		rec.AddAttributes(r.attrs...)
		c := ctx
		if r.withTrace {
			c = spanCtx
		}
		logger.Emit(c, rec)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("flushing the OTLP exporter: %v", err)
	}
}
