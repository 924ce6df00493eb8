package slo_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/examples"
)

var update = flag.Bool("update", false, "rewrite the golden files of bad specs")

const day = 24 * time.Hour

func TestLoadDocumentedExample(t *testing.T) {
	specs, err := slo.LoadFiles("examples/checkout.yaml")
	require.NoError(t, err)
	require.Len(t, specs, 1)
	want := slo.Spec{
		File:    "examples/checkout.yaml",
		Format:  slo.FormatVigil,
		Service: "checkout",
		SLOs: []slo.SLO{{
			Name:        "availability",
			Service:     "checkout",
			Description: "Checkout requests succeed.",
			Objective:   99.9,
			Window:      slo.Window{Rolling: 30 * day},
			SLI: slo.SLI{Spans: &slo.SpanSLI{
				Match: slo.SpanMatch{Service: "checkout", SpanKind: "server"},
				Bad:   slo.SpanBad{StatusError: true},
			}},
			Alerting: slo.Alerting{
				Page:       &slo.AlertPolicy{Name: "SLOBurnRate-checkout-availability-page"},
				Ticket:     &slo.AlertPolicy{Name: "SLOBurnRate-checkout-availability-ticket"},
				RunbookURL: "https://runbooks.example.com/checkout/availability",
			},
			Format: slo.FormatVigil,
			Pos:    slo.Position{File: "examples/checkout.yaml", Line: 4, Column: 5},
		}, {
			Name:      "latency",
			Service:   "checkout",
			Objective: 99,
			Window:    slo.Window{Rolling: 30 * day},
			SLI: slo.SLI{Spans: &slo.SpanSLI{
				Match: slo.SpanMatch{Service: "checkout", SpanKind: "server"},
				Bad:   slo.SpanBad{LatencyAbove: 300 * time.Millisecond},
			}},
			Format: slo.FormatVigil,
			Pos:    slo.Position{File: "examples/checkout.yaml", Line: 18, Column: 5},
		}},
	}
	assert.Equal(t, want, specs[0])
}

func TestLoadExamples(t *testing.T) {
	fromFS, err := slo.LoadFS(examples.FS, ".")
	require.NoError(t, err)
	fromDir, err := slo.LoadFiles("examples")
	require.NoError(t, err)
	require.Len(t, fromDir, len(fromFS))
	for i := range fromFS {
		assert.Equal(t, filepath.Join("examples", fromFS[i].File), fromDir[i].File)
		assert.Equal(t, len(fromFS[i].SLOs), len(fromDir[i].SLOs))
	}
	ids := map[string]slo.SLO{}
	for _, spec := range fromFS {
		for _, s := range spec.SLOs {
			ids[s.ID()] = s
		}
	}
	routes := ids["catalog/route-latency"]
	assert.Equal(t, []string{"http.route"}, routes.GroupBy)
	assert.Equal(t, 200, routes.MaxGroups)
	assert.Equal(t, map[string]string{"team": "storefront"}, routes.Labels)
	assert.Equal(t, []slo.AttributeMatcher{
		{Key: "http.route", Op: slo.MatchRegexp, Value: "/api/.*"},
		{Key: "http.request.method", Op: slo.MatchNotEqual, Value: "OPTIONS"},
	}, routes.SLI.Spans.Match.Attributes)
	assert.Equal(t, 50, routes.Alerting.Page.MinEvents)
	assert.Equal(t, slo.Window{Calendar: slo.CalendarMonth}, ids["catalog/availability"].Window)
	assert.Equal(t, 500, ids["catalog/availability"].SLI.Spans.Bad.HTTPStatusAtLeast)

	grpc := ids["payments/grpc-availability"]
	assert.Equal(t, []int{14, 13, 4, 2, 15}, grpc.SLI.Spans.Bad.GRPCCodes)
	assert.Equal(t, []slo.AttributeMatcher{{Key: "rpc.system", Op: slo.MatchEqual, Value: "grpc"}}, grpc.SLI.Spans.Match.Attributes)
	card := ids["payments/card-authorization"].SLI.Metrics
	require.NotNil(t, card)
	assert.Equal(t, "payments.authorizations", card.Total.Metric)
	assert.Nil(t, card.Good)
	assert.Equal(t, slo.MatchRegexp, card.Bad.Attributes[0].Op)
	hist := ids["payments/charge-latency"].SLI.Metrics.Histogram
	require.NotNil(t, hist)
	assert.Equal(t, 500*time.Millisecond, hist.LatencyAbove)
}

// TestBadSpecs checks every problem of each testdata/*.bad.yaml against
// its golden list of messages.
func TestBadSpecs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			spec, err := slo.Parse(file, data)
			assert.Nil(t, spec)
			var verrs slo.ValidationErrors
			require.True(t, errors.As(err, &verrs), "want ValidationErrors, got %v", err)
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				assert.True(t, strings.HasPrefix(line, file+":"), "problem without position: %s", line)
			}
		})
	}
}

func TestDuplicatesAcrossFiles(t *testing.T) {
	spec := "version: vigil/v1\nservice: checkout\nslos:\n  - name: availability\n    objective: 99.9\n    window: 30d\n    sli: {spans: {bad: {status: error}}}\n"
	fsys := fstest.MapFS{
		"a.yaml":     {Data: []byte(spec)},
		"b.yml":      {Data: []byte(spec)},
		"notes.txt":  {Data: []byte("not a spec")},
		"sub/c.yaml": {Data: []byte("not: loaded")},
	}
	_, err := slo.LoadFS(fsys, ".")
	var verrs slo.ValidationErrors
	require.True(t, errors.As(err, &verrs), "want ValidationErrors, got %v", err)
	assert.Equal(t, `b.yml:4:5: duplicate SLO "availability" of service "checkout" (first defined at a.yaml:4:5)`, err.Error())

	other := strings.Replace(spec, "checkout", "payments", 1)
	fsys["b.yml"] = &fstest.MapFile{Data: []byte(other)}
	specs, err := slo.LoadFS(fsys, ".")
	require.NoError(t, err)
	assert.Len(t, specs, 2)
}

func TestLoadFilesMissing(t *testing.T) {
	_, err := slo.LoadFiles("testdata/does-not-exist.yaml")
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestSloth(t *testing.T) {
	specs, err := slo.LoadFiles("testdata/sloth.yaml")
	require.NoError(t, err)
	require.Len(t, specs, 1)
	s := specs[0].SLOs
	require.Len(t, s, 2)
	assert.Equal(t, "myservice", s[0].Service)
	assert.Equal(t, 99.9, s[0].Objective)
	assert.Equal(t, slo.Window{Rolling: 30 * day}, s[0].Window)
	assert.Equal(t, map[string]string{"owner": "myteam"}, s[0].Labels)
	require.NotNil(t, s[0].SLI.PromQL)
	assert.Contains(t, s[0].SLI.PromQL.ErrorQuery, `code=~"(5..|429)"`)
	require.NotNil(t, s[0].Alerting.Page)
	assert.Nil(t, s[0].Alerting.Ticket)
	assert.Equal(t, "MyServiceHighErrorRate", s[0].Alerting.Page.Name)
	assert.Equal(t, map[string]string{"category": "availability", "routing_key": "myteam"}, s[0].Alerting.Page.Labels)
	assert.Equal(t, "1", s[1].SLI.PromQL.TotalQuery)
	// Without an alerting block Sloth's alerts are enabled, as there.
	require.NotNil(t, s[1].Alerting.Page)
	assert.Equal(t, "SLOBurnRate-myservice-raw-ratio-page", s[1].Alerting.Page.Name)

	notes := slo.Notes(specs)
	require.Len(t, notes, 2)
	assert.Equal(t, "testdata/sloth.yaml:6:5: note: SLO myservice/requests-availability runs in the stream and in the rules: ratio of counters http_request_duration_seconds_count and http_request_duration_seconds_count", notes[0].String())
	assert.Contains(t, notes[1].String(), "runs in the Prometheus rules only: the SLI is an error ratio already")
}

func TestOpenSLO(t *testing.T) {
	specs, err := slo.LoadFiles("testdata/openslo.yaml")
	require.NoError(t, err)
	require.Len(t, specs, 1)
	assert.Equal(t, "web", specs[0].Service)
	s := specs[0].SLOs
	require.Len(t, s, 2)

	assert.Equal(t, "web-availability", s[0].Name)
	assert.Equal(t, 99.9, s[0].Objective)
	assert.Equal(t, slo.Window{Rolling: 28 * day}, s[0].Window)
	assert.Equal(t, map[string]string{"team": "frontend"}, s[0].Labels)
	assert.Equal(t, &slo.PromQLSLI{
		ErrorQuery: `http_requests_total{service="web",code=~"5.."}`,
		TotalQuery: `http_requests_total{service="web"}`,
	}, s[0].SLI.PromQL)
	assert.NotNil(t, s[0].Alerting.Page)
	assert.NotNil(t, s[0].Alerting.Ticket)

	assert.Equal(t, 95.0, s[1].Objective)
	assert.Equal(t, slo.Window{Calendar: slo.CalendarMonth, Anchor: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Location: time.UTC}, s[1].Window)
	assert.Equal(t, &slo.PromQLSLI{
		ErrorQuery: `avg_over_time((histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="web"}[5m]))) > bool 0.3)[{{.window}}:1m])`,
		TotalQuery: "1",
	}, s[1].SLI.PromQL)
}

func TestPromQLForWindow(t *testing.T) {
	tests := []struct {
		name, query, want string
	}{
		{"placeholder", `sum(rate(errors_total[{{.window}}])) / sum(rate(requests_total[5m]))`, `sum(rate(errors_total[2h])) / sum(rate(requests_total[5m]))`},
		{"placeholder with spaces", `sum(rate(errors_total[{{ .window }}]))`, `sum(rate(errors_total[2h]))`},
		{"subquery placeholder", `avg_over_time((up == bool 0)[{{.window}}:1m])`, `avg_over_time((up == bool 0)[2h:1m])`},
		{"fixed ranges", `sum(rate(errors_total[5m]))`, `sum(rate(errors_total[2h]))`},
		{"counter selector", `errors_total{code=~"5.."}`, `sum(increase(errors_total{code=~"5.."}[2h]))`},
		{"aggregated counters", `sum by (job) (errors_total) + on (job) sum by (job) (timeouts_total)`, `sum by (job) (increase(errors_total[2h])) + on (job) sum by (job) (increase(timeouts_total[2h]))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := slo.PromQLForWindow(tt.query, 2*time.Hour)
			require.NoError(t, err)
			assert.Equal(t, tt.want, expr.String())
		})
	}
	_, err := slo.PromQLForWindow(`sum(rate(x[{{.window}}])`, time.Hour)
	assert.Error(t, err)
	_, err = slo.PromQLForWindow(`rate(x[{{.range}}])`, time.Hour)
	assert.Error(t, err)
}

func TestNotesCalendar(t *testing.T) {
	specs, err := slo.LoadFS(examples.FS, ".")
	require.NoError(t, err)
	notes := slo.Notes(specs)
	require.Len(t, notes, 1)
	assert.Equal(t, "catalog.yaml:28:5: note: SLO catalog/availability has a calendar window: the collector resets its budget each month, the Prometheus rules approximate it with a rolling 30d window", notes[0].String())
}

func TestParseWindowsAndSLIKinds(t *testing.T) {
	const head = "version: vigil/v1\nservice: s\nslos:\n  - name: x\n    objective: 99\n"
	const spans = "    sli: {spans: {bad: {status: error}}}\n"
	tests := []struct {
		name, yaml string
		window     slo.Window
		sli        slo.SLI
	}{
		{"rolling", "    window: 28d\n" + spans, slo.Window{Rolling: 28 * day}, slo.SLI{}},
		{"rolling in weeks", "    window: 2w\n" + spans, slo.Window{Rolling: 14 * day}, slo.SLI{}},
		{"rolling long form", "    window: {rolling: 30d}\n" + spans, slo.Window{Rolling: 30 * day}, slo.SLI{}},
		{"calendar word", "    window: month\n" + spans, slo.Window{Calendar: slo.CalendarMonth}, slo.SLI{}},
		{"calendar long form", "    window: {calendar: week}\n" + spans, slo.Window{Calendar: slo.CalendarWeek}, slo.SLI{}},
		{
			"native promql", "    window: 7d\n    sli:\n      promql:\n        good_query: sum(rate(ok_total[{{.window}}]))\n        total_query: sum(rate(all_total[{{.window}}]))\n",
			slo.Window{Rolling: 7 * day},
			slo.SLI{PromQL: &slo.PromQLSLI{GoodQuery: "sum(rate(ok_total[{{.window}}]))", TotalQuery: "sum(rate(all_total[{{.window}}]))"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := slo.Parse("w.yaml", []byte(head+tt.yaml))
			require.NoError(t, err)
			got := spec.SLOs[0]
			assert.Equal(t, tt.window, got.Window)
			if tt.sli.PromQL != nil {
				assert.Equal(t, tt.sli, got.SLI)
				assert.False(t, got.SLI.Streamable())
			} else {
				assert.True(t, got.SLI.Streamable())
			}
		})
	}
}
