package sloconnector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recorded is one Record call.
type recorded struct {
	id        string
	group     string
	good, bad uint64
	end       time.Time
}

type fakeRecorder struct {
	calls   []recorded
	refused map[string]uint64
}

func (f *fakeRecorder) Record(id string, group []string, end time.Time, good, bad uint64) error {
	f.calls = append(f.calls, recorded{id: id, group: strings.Join(group, ","), good: good, bad: bad, end: end})
	return nil
}

func (f *fakeRecorder) refuse(reason string, n uint64) {
	if f.refused == nil {
		f.refused = map[string]uint64{}
	}
	f.refused[reason] += n
}

// specWith wraps an SLO's match and bad sections into a spec of service
// checkout.
func specWith(match, bad string, extra ...string) string {
	return `version: vigil/v1
service: checkout
slos:
  - name: s
    objective: 99.9
    window: 30d
` + strings.Join(extra, "") + `    sli:
      spans:
        match:
` + match + `
        bad:
` + bad + "\n"
}

func TestSpanClassification(t *testing.T) {
	const server = ptrace.SpanKindServer
	tests := []struct {
		name  string
		match string
		bad   string
		extra string
		span  spanOpts
		// want is "" when the span is not an event, else "good" or "bad".
		want  string
		group string
	}{
		{name: "status error is bad", match: "          span_kind: server", bad: "          status: error",
			span: spanOpts{service: "checkout", kind: server, status: ptrace.StatusCodeError}, want: "bad"},
		{name: "status ok is good", match: "          span_kind: server", bad: "          status: error",
			span: spanOpts{service: "checkout", kind: server, status: ptrace.StatusCodeOk}, want: "good"},
		{name: "other span kind is no event", match: "          span_kind: server", bad: "          status: error",
			span: spanOpts{service: "checkout", kind: ptrace.SpanKindClient, status: ptrace.StatusCodeError}},
		{name: "other service is no event", match: "          span_kind: server", bad: "          status: error",
			span: spanOpts{service: "payments", kind: server}},
		{name: "wildcard service matches any", match: "          service: \"*\"", bad: "          status: error",
			span: spanOpts{service: "payments", kind: server, status: ptrace.StatusCodeError}, want: "bad"},
		{name: "http status at threshold is bad", match: "          span_kind: server", bad: "          http_status_min: 500",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"http.response.status_code": int64(500)}}, want: "bad"},
		{name: "http status below threshold is good", match: "          span_kind: server", bad: "          http_status_min: 500",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"http.response.status_code": int64(404)}}, want: "good"},
		{name: "old http.status_code is read", match: "          span_kind: server", bad: "          http_status_min: 500",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"http.status_code": int64(503)}}, want: "bad"},
		{name: "http status as a string is read", match: "          span_kind: server", bad: "          http_status_min: 500",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"http.response.status_code": "502"}}, want: "bad"},
		{name: "grpc code in set is bad", match: "          span_kind: server", bad: "          grpc_codes: [UNAVAILABLE, 13]",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"rpc.grpc.status_code": int64(14)}}, want: "bad"},
		{name: "grpc code by number is bad", match: "          span_kind: server", bad: "          grpc_codes: [UNAVAILABLE, 13]",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"rpc.grpc.status_code": int64(13)}}, want: "bad"},
		{name: "grpc code outside set is good", match: "          span_kind: server", bad: "          grpc_codes: [UNAVAILABLE]",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"rpc.grpc.status_code": int64(5)}}, want: "good"},
		{name: "slower than threshold is bad", match: "          span_kind: server", bad: "          latency_above: 300ms",
			span: spanOpts{service: "checkout", kind: server, duration: 301 * time.Millisecond}, want: "bad"},
		{name: "at threshold is good", match: "          span_kind: server", bad: "          latency_above: 300ms",
			span: spanOpts{service: "checkout", kind: server, duration: 300 * time.Millisecond}, want: "good"},
		{name: "span name listed", match: "          span_names: [POST /pay, GET /cart]", bad: "          status: error",
			span: spanOpts{service: "checkout", kind: server, name: "GET /cart"}, want: "good"},
		{name: "span name not listed", match: "          span_names: [POST /pay]", bad: "          status: error",
			span: spanOpts{service: "checkout", kind: server, name: "GET /cart"}},
		{name: "equality matcher", match: "          attributes: {http.route: /pay}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.route": "/pay"}}, want: "good"},
		{name: "equality matcher mismatch", match: "          attributes: {http.route: /pay}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.route": "/cart"}}},
		{name: "not-equal matcher matches a missing attribute", match: "          attributes:\n            - {key: http.request.method, op: \"!=\", value: OPTIONS}", bad: "          status: error",
			span: spanOpts{service: "checkout"}, want: "good"},
		{name: "not-equal matcher excludes", match: "          attributes:\n            - {key: http.request.method, op: \"!=\", value: OPTIONS}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.request.method": "OPTIONS"}}},
		{name: "regexp matcher is anchored", match: "          attributes:\n            - {key: http.route, op: \"=~\", value: \"/api/.*\"}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.route": "/v2/api/x"}}},
		{name: "regexp matcher matches", match: "          attributes:\n            - {key: http.route, op: \"=~\", value: \"/api/.*\"}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.route": "/api/x"}}, want: "good"},
		{name: "negative regexp matcher excludes", match: "          attributes:\n            - {key: http.route, op: \"!~\", value: \"/health|/ready\"}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"http.route": "/health"}}},
		{name: "matcher falls back to resource attributes", match: "          attributes: {deployment.environment: prod}", bad: "          status: error",
			span: spanOpts{service: "checkout", resource: map[string]any{"deployment.environment": "prod"}}, want: "good"},
		{name: "span attribute wins over resource", match: "          attributes: {deployment.environment: prod}", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"deployment.environment": "test"}, resource: map[string]any{"deployment.environment": "prod"}}},
		{name: "OTTL condition selects", match: "          condition: 'attributes[\"tenant\"] != \"test\"'", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"tenant": "acme"}}, want: "good"},
		{name: "OTTL condition rejects", match: "          condition: 'attributes[\"tenant\"] != \"test\"'", bad: "          status: error",
			span: spanOpts{service: "checkout", attrs: map[string]any{"tenant": "test"}}},
		{name: "OTTL condition on resource and span name", match: "          condition: 'resource.attributes[\"region\"] == \"eu\" and IsMatch(name, \"^POST\")'", bad: "          status: error",
			span: spanOpts{service: "checkout", name: "POST /pay", resource: map[string]any{"region": "eu"}, status: ptrace.StatusCodeError}, want: "bad"},
		{name: "group_by from span then resource", match: "          span_kind: server", bad: "          status: error", extra: "    group_by: [http.route, region]\n",
			span: spanOpts{service: "checkout", kind: server, attrs: map[string]any{"http.route": "/pay"}, resource: map[string]any{"region": "eu"}}, want: "good", group: "/pay,eu"},
		{name: "group_by value missing is empty", match: "          span_kind: server", bad: "          status: error", extra: "    group_by: [http.route]\n",
			span: spanOpts{service: "checkout", kind: server}, want: "good", group: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compile(parseSLOs(t, specWith(tt.match, tt.bad, tt.extra)), componenttest.NewNopTelemetrySettings())
			require.NoError(t, err)
			rec := &fakeRecorder{}
			rs.recordSpans(context.Background(), newTraces(tt.span), rec, rec)
			if tt.want == "" {
				assert.Empty(t, rec.calls)
				return
			}
			require.Len(t, rec.calls, 1)
			rec.calls[0].end = time.Time{}
			want := recorded{id: "checkout/s", group: tt.group, good: 1}
			if tt.want == "bad" {
				want.good, want.bad = 0, 1
			}
			assert.Equal(t, want, rec.calls[0])
		})
	}
}

func TestSpanClassificationSeveralSLOs(t *testing.T) {
	spec := `version: vigil/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli: {spans: {match: {span_kind: server}, bad: {status: error}}}
  - name: latency
    objective: 99
    window: 30d
    sli: {spans: {match: {span_kind: server}, bad: {latency_above: 300ms}}}
`
	rs, err := compile(parseSLOs(t, spec), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	// Spans of one SLO that end within the same second are recorded as
	// one sum; another second is another sum.
	sec := time.Now().Truncate(time.Second)
	rec := &fakeRecorder{}
	rs.recordSpans(context.Background(), newTraces(
		spanOpts{service: "checkout", kind: ptrace.SpanKindServer, status: ptrace.StatusCodeError, duration: time.Second, end: sec.Add(100 * time.Millisecond)},
		spanOpts{service: "checkout", kind: ptrace.SpanKindServer, duration: time.Millisecond, end: sec.Add(900 * time.Millisecond)},
		spanOpts{service: "checkout", kind: ptrace.SpanKindServer, duration: time.Millisecond, end: sec.Add(1100 * time.Millisecond)},
	), rec, rec)
	assert.Equal(t, []recorded{
		{id: "checkout/availability", good: 1, bad: 1, end: sec.Add(time.Second)},
		{id: "checkout/availability", good: 1, end: sec.Add(2 * time.Second)},
		{id: "checkout/latency", good: 1, bad: 1, end: sec.Add(time.Second)},
		{id: "checkout/latency", good: 1, end: sec.Add(2 * time.Second)},
	}, rec.calls)
}

func TestCompileRejectsBadOTTLWithPosition(t *testing.T) {
	spec := specWith("          condition: 'attributes[\"x\"] ==== 1'", "          status: error")
	_, err := compile(parseSLOs(t, spec), componenttest.NewNopTelemetrySettings())
	require.Error(t, err)
	assert.Regexp(t, `^test\.yaml:4:5: SLO checkout/s: condition`, err.Error())
}

func TestClassificationAllocations(t *testing.T) {
	rs, err := compile(parseSLOs(t, specWith("          span_kind: server\n          attributes:\n            - {key: http.route, op: \"=~\", value: \"/api/.*\"}", "          status: error\n          latency_above: 300ms", "    group_by: [http.route]\n")), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	opts := make([]spanOpts, 100)
	for i := range opts {
		opts[i] = spanOpts{service: "checkout", kind: ptrace.SpanKindServer, attrs: map[string]any{"http.route": "/api/x"}}
	}
	td := newTraces(opts...)
	rec := nopRecorder{}
	allocs := testing.AllocsPerRun(100, func() { rs.recordSpans(context.Background(), td, rec, rec) })
	// One allocation per batch (the group_by buffer), none per span. The
	// race detector's instrumentation allocates on its own, so under it
	// the bound is "less than one per span".
	limit := 1.0
	if raceEnabled {
		limit = float64(len(opts)) - 1
	}
	assert.LessOrEqual(t, allocs, limit, "classifying spans must not allocate per span")
}

type nopRecorder struct{}

func (nopRecorder) Record(string, []string, time.Time, uint64, uint64) error { return nil }
func (nopRecorder) refuse(string, uint64)                                    {}

// TestBatchSumsBySeries: events are summed per group and second, and a
// batch with more series than the per-SLO slots still counts every event.
func TestBatchSumsBySeries(t *testing.T) {
	rs, err := compile(parseSLOs(t, specWith("          span_kind: server", "          status: error", "    group_by: [http.route]\n")), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	sec := time.Now().Truncate(time.Second)
	span := func(route string, status ptrace.StatusCode) spanOpts {
		return spanOpts{service: "checkout", kind: ptrace.SpanKindServer, status: status, end: sec.Add(time.Millisecond), attrs: map[string]any{"http.route": route}}
	}
	rec := &fakeRecorder{}
	rs.recordSpans(context.Background(), newTraces(span("/a", ptrace.StatusCodeOk), span("/b", ptrace.StatusCodeError), span("/a", ptrace.StatusCodeError)), rec, rec)
	assert.Equal(t, []recorded{
		{id: "checkout/s", group: "/a", good: 1, bad: 1, end: sec.Add(time.Second)},
		{id: "checkout/s", group: "/b", bad: 1, end: sec.Add(time.Second)},
	}, rec.calls)

	var many []spanOpts
	for i := range 3 * sumsPerGroupedRule {
		many = append(many, span(fmt.Sprintf("/r%d", i%(2*sumsPerGroupedRule)), ptrace.StatusCodeOk))
	}
	rec = &fakeRecorder{}
	rs.recordSpans(context.Background(), newTraces(many...), rec, rec)
	perRoute := map[string]uint64{}
	for _, c := range rec.calls {
		perRoute[c.group] += c.good
	}
	require.Len(t, perRoute, 2*sumsPerGroupedRule)
	for route, n := range perRoute {
		want := uint64(1)
		var i int
		_, _ = fmt.Sscanf(route, "/r%d", &i)
		if i < sumsPerGroupedRule {
			want = 2
		}
		assert.Equal(t, want, n, route)
	}
}

// TestSharedMatcherResultsArePerSpan: SLOs sharing a matcher share its
// result within a span, never across spans.
func TestSharedMatcherResultsArePerSpan(t *testing.T) {
	spec := `version: vigil/v1
service: checkout
slos:
  - name: a
    objective: 99.9
    window: 30d
    sli: {spans: {match: {attributes: [{key: http.route, op: "=~", value: "/api/.*"}]}, bad: {status: error}}}
  - name: b
    objective: 99.9
    window: 30d
    sli: {spans: {match: {attributes: [{key: http.route, op: "=~", value: "/api/.*"}, {key: tenant, op: "!=", value: test}]}, bad: {status: error}}}
`
	rs, err := compile(parseSLOs(t, spec), componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	require.Len(t, rs.matchers, 2, "the regexp matcher is compiled once")
	end := time.Now().Truncate(time.Second).Add(time.Millisecond)
	rec := &fakeRecorder{}
	rs.recordSpans(context.Background(), newTraces(
		spanOpts{service: "checkout", end: end, attrs: map[string]any{"http.route": "/api/x"}},
		spanOpts{service: "checkout", end: end, attrs: map[string]any{"http.route": "/health"}},
		spanOpts{service: "checkout", end: end, attrs: map[string]any{"http.route": "/api/y", "tenant": "test"}},
	), rec, rec)
	assert.Equal(t, map[string][2]uint64{"checkout/a|": {2, 0}, "checkout/b|": {1, 0}}, totals(rec))
}
