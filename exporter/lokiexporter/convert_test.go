package lokiexporter

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// record describes one log record for newLogs.
type record struct {
	resource map[string]any
	attrs    map[string]any
	body     any
	sevNum   plog.SeverityNumber
	sevText  string
	ts       time.Time
	observed time.Time
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID
}

// newLogs builds plog.Logs, one ResourceLogs per record so resources may
// differ between records.
func newLogs(t testing.TB, recs ...record) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	for _, r := range recs {
		rl := ld.ResourceLogs().AppendEmpty()
		if err := rl.Resource().Attributes().FromRaw(r.resource); err != nil {
			t.Fatal(err)
		}
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		if err := lr.Attributes().FromRaw(r.attrs); err != nil {
			t.Fatal(err)
		}
		if r.body != nil {
			if err := lr.Body().FromRaw(r.body); err != nil {
				t.Fatal(err)
			}
		}
		lr.SetSeverityNumber(r.sevNum)
		lr.SetSeverityText(r.sevText)
		if !r.ts.IsZero() {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(r.ts))
		}
		if !r.observed.IsZero() {
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.observed))
		}
		lr.SetTraceID(r.traceID)
		lr.SetSpanID(r.spanID)
	}
	return ld
}

func mustConverter(t testing.TB, mutate func(*Config)) *converter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:3100"
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := newConverter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func metaMap(m []push.LabelAdapter) map[string]string {
	out := map[string]string{}
	for _, l := range m {
		out[l.Name] = l.Value
	}
	return out
}

func TestConvertLabelsAndMetadata(t *testing.T) {
	traceID := pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	spanID := pcommon.SpanID{0xa, 0xb, 0xc, 0xd, 1, 2, 3, 4}
	resource := map[string]any{
		"service.name":                "checkout",
		"service.namespace":           "shop",
		"deployment.environment.name": "prod",
		"service.instance.id":         "pod-7f9c",
		"k8s.namespace.name":          "payments",
		"host.name":                   "node-1",
	}
	tests := []struct {
		name       string
		mutate     func(*Config)
		rec        record
		wantLabels string
		wantMeta   map[string]string
		wantLine   string
	}{
		{
			name: "defaults: low-cardinality labels, the rest as metadata",
			rec: record{resource: resource, attrs: map[string]any{"user.id": "u-42", "http.route": "/pay"},
				body: "payment accepted", sevNum: plog.SeverityNumberInfo, sevText: "INFO", ts: t0, traceID: traceID, spanID: spanID},
			wantLabels: `{deployment_environment="prod", level="info", service_name="checkout", service_namespace="shop"}`,
			wantMeta: map[string]string{
				"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "0a0b0c0d01020304", "severity_text": "INFO",
				"user_id": "u-42", "http_route": "/pay", "service_instance_id": "pod-7f9c", "k8s_namespace_name": "payments", "host_name": "node-1",
			},
			wantLine: "payment accepted",
		},
		{
			name: "allowlist promotes resource and record attributes, sanitised",
			mutate: func(c *Config) {
				c.Labels.ResourceAttributes = []string{"k8s.namespace.name"}
				c.Labels.Attributes = []string{"http.route", "1st-try"}
			},
			rec: record{resource: resource, attrs: map[string]any{"http.route": "/pay", "1st-try": true, "user.id": "u-42"},
				body: "x", sevNum: plog.SeverityNumberError2, ts: t0},
			wantLabels: `{deployment_environment="prod", http_route="/pay", k8s_namespace_name="payments", key_1st_try="true", level="error", service_name="checkout", service_namespace="shop"}`,
			wantMeta:   map[string]string{"user_id": "u-42", "service_instance_id": "pod-7f9c", "host_name": "node-1"},
			wantLine:   "x",
		},
		{
			name:       "disable_defaults keeps only service_name; namespace and env become metadata",
			mutate:     func(c *Config) { c.Labels.DisableDefaults = true },
			rec:        record{resource: map[string]any{"service.name": "api", "service.namespace": "shop", "deployment.environment": "dev"}, body: "hi", sevNum: plog.SeverityNumberWarn, ts: t0},
			wantLabels: `{service_name="api"}`,
			wantMeta:   map[string]string{"service_namespace": "shop", "deployment_environment": "dev"},
			wantLine:   "hi",
		},
		{
			name:       "no service.name: unknown_service, deprecated deployment.environment, level from text",
			rec:        record{resource: map[string]any{"deployment.environment": "staging"}, body: "x", sevText: "Warning", ts: t0},
			wantLabels: `{deployment_environment="staging", level="warn", service_name="unknown_service"}`,
			wantMeta:   map[string]string{"severity_text": "Warning"},
			wantLine:   "x",
		},
		{
			name:       "record attribute shadows resource attribute of the same metadata name",
			rec:        record{resource: map[string]any{"service.name": "a", "host.name": "res"}, attrs: map[string]any{"host_name": "rec"}, body: "x", ts: t0},
			wantLabels: `{service_name="a"}`,
			wantMeta:   map[string]string{"host_name": "rec"},
			wantLine:   "x",
		},
		{
			name:       "json line carries body and attributes; metadata keeps ids and resource",
			mutate:     func(c *Config) { c.LineFormat = LineFormatJSON; c.Labels.Attributes = []string{"http.route"} },
			rec:        record{resource: map[string]any{"service.name": "a", "host.name": "h"}, attrs: map[string]any{"http.route": "/pay", "n": 3}, body: map[string]any{"msg": "hi \"you\""}, ts: t0, traceID: traceID},
			wantLabels: `{http_route="/pay", service_name="a"}`,
			wantMeta:   map[string]string{"trace_id": "0102030405060708090a0b0c0d0e0f10", "host_name": "h"},
			wantLine:   `{"body":{"msg":"hi \"you\""},"attributes":{"n":3}}`,
		},
		{
			name:       "logfmt line",
			mutate:     func(c *Config) { c.LineFormat = LineFormatLogfmt },
			rec:        record{resource: map[string]any{"service.name": "a"}, attrs: map[string]any{"user id": "u 1"}, body: "request failed", ts: t0},
			wantLabels: `{service_name="a"}`,
			wantMeta:   map[string]string{},
			wantLine:   `msg="request failed" user_id="u 1"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConverter(t, tt.mutate)
			b := c.convert(newLogs(t, tt.rec))
			if b.entries != 1 || len(b.req.Streams) != 1 || len(b.req.Streams[0].Entries) != 1 {
				t.Fatalf("got %d entries in %d streams, want 1 in 1", b.entries, len(b.req.Streams))
			}
			s := b.req.Streams[0]
			if s.Labels != tt.wantLabels {
				t.Errorf("labels\n got %s\nwant %s", s.Labels, tt.wantLabels)
			}
			e := s.Entries[0]
			if got := metaMap(e.StructuredMetadata); !reflect.DeepEqual(got, tt.wantMeta) {
				t.Errorf("metadata\n got %v\nwant %v", got, tt.wantMeta)
			}
			if e.Line != tt.wantLine {
				t.Errorf("line\n got %s\nwant %s", e.Line, tt.wantLine)
			}
			if !e.Timestamp.Equal(t0) {
				t.Errorf("timestamp = %v, want %v", e.Timestamp, t0)
			}
		})
	}
}

func TestConvertGroupsStreamsAndOrdersEntries(t *testing.T) {
	c := mustConverter(t, nil)
	a := map[string]any{"service.name": "a"}
	b := map[string]any{"service.name": "b"}
	info, errSev := plog.SeverityNumberInfo, plog.SeverityNumberError
	ld := newLogs(t,
		record{resource: b, body: "b2", sevNum: info, ts: t0.Add(2 * time.Second)},
		record{resource: a, body: "a3", sevNum: info, ts: t0.Add(3 * time.Second)},
		record{resource: a, body: "a1", sevNum: info, ts: t0.Add(1 * time.Second)},
		record{resource: a, body: "a-err", sevNum: errSev, ts: t0},
		record{resource: b, body: "b1", sevNum: info, ts: t0.Add(1 * time.Second)},
		record{resource: a, body: "a1-second", sevNum: info, ts: t0.Add(1 * time.Second)},
		record{resource: a, body: "observed", sevNum: info, observed: t0.Add(2 * time.Second)},
	)
	got := c.convert(ld)
	var summary []string
	for _, s := range got.req.Streams {
		var lines []string
		for _, e := range s.Entries {
			lines = append(lines, e.Line)
		}
		summary = append(summary, s.Labels+" "+strings.Join(lines, ","))
	}
	want := []string{
		`{level="error", service_name="a"} a-err`,
		`{level="info", service_name="a"} a1,a1-second,observed,a3`,
		`{level="info", service_name="b"} b1,b2`,
	}
	if !reflect.DeepEqual(summary, want) {
		t.Errorf("streams\n got %q\nwant %q", summary, want)
	}
	if got.entries != 7 {
		t.Errorf("entries = %d, want 7", got.entries)
	}
}

func TestConvertMissingTimestampUsesNow(t *testing.T) {
	c := mustConverter(t, nil)
	before := time.Now()
	b := c.convert(newLogs(t, record{body: "x"}))
	ts := b.req.Streams[0].Entries[0].Timestamp
	if ts.Before(before) || ts.After(time.Now()) {
		t.Errorf("timestamp %v not within the conversion", ts)
	}
}

func TestConvertTruncatesLongLines(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		marker    string
		body      string
		want      string
		truncated int
	}{
		{name: "under the limit", limit: 10, marker: "~", body: "0123456789", want: "0123456789"},
		{name: "over the limit", limit: 10, marker: "~cut", body: "0123456789abc", want: "012345~cut", truncated: 1},
		{name: "never splits a rune", limit: 8, marker: "~", body: "aaaaaé€x", want: "aaaaaé~", truncated: 1},
		{name: "unlimited", limit: 0, marker: "~", body: strings.Repeat("x", 300_000), want: strings.Repeat("x", 300_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConverter(t, func(c *Config) { c.MaxLineSize = tt.limit; c.TruncationMarker = tt.marker })
			b := c.convert(newLogs(t, record{body: tt.body, ts: t0}))
			line := b.req.Streams[0].Entries[0].Line
			if line != tt.want || b.truncated != tt.truncated {
				t.Errorf("line = %q (truncated %d), want %q (%d)", line, b.truncated, tt.want, tt.truncated)
			}
			if tt.limit > 0 && len(line) > tt.limit {
				t.Errorf("line is %d bytes, over the %d limit", len(line), tt.limit)
			}
			if !utf8.ValidString(line) {
				t.Errorf("line is not valid UTF-8: %q", line)
			}
		})
	}
	t.Run("default limit is Loki's 256KB", func(t *testing.T) {
		c := mustConverter(t, nil)
		b := c.convert(newLogs(t, record{body: strings.Repeat("x", 300_000), ts: t0}))
		line := b.req.Streams[0].Entries[0].Line
		if len(line) != 256_000 || !strings.HasSuffix(line, defaultTruncationMarker) {
			t.Errorf("line is %d bytes ending %q", len(line), line[len(line)-20:])
		}
	})
}

func TestConvertKeepsMetadataWithinLokiLimits(t *testing.T) {
	attrs := map[string]any{}
	for i := range 200 {
		attrs[fmt.Sprintf("a%03d", i)] = "v"
	}
	c := mustConverter(t, nil)
	b := c.convert(newLogs(t, record{attrs: attrs, body: "x", ts: t0}))
	meta := b.req.Streams[0].Entries[0].StructuredMetadata
	if len(meta) != lokiMaxStructuredMetadataEntries || b.droppedMetadata != 200-lokiMaxStructuredMetadataEntries {
		t.Errorf("kept %d, dropped %d; want %d kept", len(meta), b.droppedMetadata, lokiMaxStructuredMetadataEntries)
	}

	big := map[string]any{"a": strings.Repeat("x", 40_000), "b": strings.Repeat("y", 40_000), "c": "small"}
	b = c.convert(newLogs(t, record{attrs: big, body: "x", ts: t0}))
	size := 0
	for _, m := range b.req.Streams[0].Entries[0].StructuredMetadata {
		size += len(m.Name) + len(m.Value)
	}
	if size > lokiMaxStructuredMetadataSize || b.droppedMetadata != 1 {
		t.Errorf("metadata size %d, dropped %d; want <= %d and 1 dropped", size, b.droppedMetadata, lokiMaxStructuredMetadataSize)
	}
}

func TestLevelOf(t *testing.T) {
	tests := []struct {
		num  plog.SeverityNumber
		text string
		want string
	}{
		{plog.SeverityNumberTrace2, "", "trace"},
		{plog.SeverityNumberDebug, "", "debug"},
		{plog.SeverityNumberInfo4, "", "info"},
		{plog.SeverityNumberWarn, "ERROR", "warn"}, // the number wins
		{plog.SeverityNumberError3, "", "error"},
		{plog.SeverityNumberFatal, "", "fatal"},
		{0, "WARNING", "warn"},
		{0, "err", "error"},
		{0, "dpanic", "fatal"},
		{0, "notice", "info"},
		{0, "", ""},
		{0, "verbose", ""},
	}
	for _, tt := range tests {
		lr := plog.NewLogRecord()
		lr.SetSeverityNumber(tt.num)
		lr.SetSeverityText(tt.text)
		if got := levelOf(lr); got != tt.want {
			t.Errorf("levelOf(%v, %q) = %q, want %q", tt.num, tt.text, got, tt.want)
		}
	}
}

func TestLabelValueLimits(t *testing.T) {
	long := strings.Repeat("é", 2000) // 4000 bytes
	ls := labelSet{}.set("a", long).set("b", "bad\xffutf8").set("c", "x\uFFFDy")
	if len(ls[0].value) > lokiMaxLabelValueLength || !utf8.ValidString(ls[0].value) {
		t.Errorf("long value: %d bytes, valid %v", len(ls[0].value), utf8.ValidString(ls[0].value))
	}
	if ls[1].value != "bad?utf8" {
		t.Errorf("invalid UTF-8 value = %q, want bad?utf8", ls[1].value)
	}
	if ls[2].value != "x?y" {
		t.Errorf("value with U+FFFD = %q, want x?y (Loki refuses the character)", ls[2].value)
	}
	if got := (labelSet{}).set("b", "x\"y\n").set("a", "1").String(); got != `{a="1", b="x\"y\n"}` {
		t.Errorf("String() = %s", got)
	}
}

func TestJSONValues(t *testing.T) {
	v := pcommon.NewValueMap()
	m := v.Map()
	m.PutStr("s", "a\x01\t\"\\é\xff")
	m.PutInt("i", -3)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("inf", math.Inf(1))
	m.PutBool("b", false)
	m.PutEmptyBytes("bytes").FromRaw([]byte{1, 2, 3})
	m.PutEmptySlice("sl").AppendEmpty().SetInt(1)
	m.PutEmpty("nil")
	got := string(appendJSONValue(nil, v))
	want := `{"s":"a\u0001\t\"\\é\ufffd","i":-3,"nan":"NaN","inf":"+Inf","b":false,"bytes":"AQID","sl":[1],"nil":null}`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestLogfmtLine(t *testing.T) {
	attrs := pcommon.NewMap()
	attrs.PutInt("code", 500)
	attrs.PutStr("empty", "")
	attrs.PutStr("k=v", "a=b")
	attrs.PutStr("label", "hidden")
	attrs.PutStr("multi", "line\nbreak")
	skip := func(k string) bool { return k == "label" }
	body := pcommon.NewValueMap()
	body.Map().PutStr("msg", "done")
	body.Map().PutDouble("took", 0.25)
	tests := []struct {
		name string
		body pcommon.Value
		want string
	}{
		{"string body", pcommon.NewValueStr("hello world"), `msg="hello world" code=500 empty="" k_v="a=b" multi="line\nbreak"`},
		{"map body is flattened", body, `msg=done took=0.25 code=500 empty="" k_v="a=b" multi="line\nbreak"`},
		{"empty body", pcommon.NewValueEmpty(), `code=500 empty="" k_v="a=b" multi="line\nbreak"`},
	}
	for _, tt := range tests {
		if got := string(appendLogfmtLine(nil, tt.body, attrs, skip)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
