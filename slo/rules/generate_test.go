package rules_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

// goldenCases are the specs whose rules are kept as golden files; the
// promtool unit tests (testdata/*_test.yml) load these same files.
var goldenCases = []struct {
	name  string
	specs []string
	opts  rules.Options
}{
	{"checkout", []string{"../examples/checkout.yaml"}, rules.Options{}},
	{"catalog", []string{"../examples/catalog.yaml"}, rules.Options{DashboardURL: "https://grafana.example.com/d/slo?var-service={{.Service}}&var-slo={{.SLO}}"}},
	{"payments", []string{"../examples/payments.yaml"}, rules.Options{RunbookURL: "https://runbooks.example.com/{{.Service}}/{{.SLO}}#{{.Severity}}", For: 2 * time.Minute}},
	{"sloth", []string{"../testdata/sloth.yaml"}, rules.Options{}},
	{"openslo", []string{"../testdata/openslo.yaml"}, rules.Options{}},
	{"promql", []string{"testdata/promql.yaml"}, rules.Options{}},
	// Formats of other tools, with what they bring: Sloth's user labels
	// (severity) and denominator correction, Pyrra's table with for: per
	// row, OpenSLO's alert policies and time slices, ratio time slices.
	{"sloth-getting-started", []string{"../testdata/upstream/sloth/getting-started.yml"}, rules.Options{}},
	{"sloth-denominator-corrected", []string{"../testdata/upstream/sloth/contrib-denominator-corrected.yaml"}, rules.Options{}},
	{"pyrra-latency", []string{"../testdata/upstream/pyrra/kubernetes-slos-apiserver-request-latency.yaml"}, rules.Options{}},
	{"openslo-policies", []string{"../testdata/formats/openslo-policies.yaml"}, rules.Options{}},
	{"openslo-conditions", []string{"testdata/openslo-conditions.yaml"}, rules.Options{}},
	{"ratio-timeslices", []string{"../testdata/formats/vigil-ratio-timeslices.yaml"}, rules.Options{}},
}

func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool is required: install the Debian package prometheus (apt-get install -y prometheus)")
	return path
}

func TestGolden(t *testing.T) {
	pt := promtool(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := slo.LoadFiles(tc.specs...)
			require.NoError(t, err)
			got, err := rules.Render(specs, tc.opts)
			require.NoError(t, err)

			golden := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))

			// Prometheus's own loader and promtool accept the output.
			_, errs := rulefmt.Parse(got, false, model.UTF8Validation, parser.NewParser(parser.Options{}), nil)
			assert.Empty(t, errs)
			out, err := exec.Command(pt, "check", "rules", golden).CombinedOutput()
			assert.NoError(t, err, "promtool check rules %s:\n%s", golden, out)
		})
	}
}

// TestPromtoolUnitTests runs the promtool rule unit tests that prove the
// alerts fire and resolve when they should.
func TestPromtoolUnitTests(t *testing.T) {
	pt := promtool(t)
	files, err := filepath.Glob("testdata/*_test.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(pt, "test", "rules", f).CombinedOutput()
			assert.NoError(t, err, "promtool test rules %s:\n%s", f, out)
		})
	}
}

func load(t *testing.T, spec string) []slo.Spec {
	t.Helper()
	s, err := slo.Parse("test.yaml", []byte(spec))
	require.NoError(t, err)
	return []slo.Spec{*s}
}

const sevenDaySpec = `
version: vigil/v1
service: api
slos:
  - name: errors
    objective: 99.5
    window: 7d
    group_by: [http.route]
    labels: {team: core}
    sli: {spans: {bad: {status: error}}}
    alerting:
      page: {min_events: 25, labels: {pager: core}}
`

func TestGenerateStructure(t *testing.T) {
	groups, err := rules.Generate(load(t, sevenDaySpec), rules.Options{})
	require.NoError(t, err)
	require.Len(t, groups.Groups, 1)
	g := groups.Groups[0]
	assert.Equal(t, "vigil-slo:api/errors", g.Name)
	// The shortest window of a 7-day SLO is 70s; 35s divides it.
	assert.Equal(t, model.Duration(35*time.Second), g.Interval)

	windows := map[string]bool{}
	var page *rulefmt.Rule
	for i, r := range g.Rules {
		if r.Record == conventions.RuleSLOEventsIncrease {
			windows[r.Labels[conventions.LabelWindow]] = true
			if strings.Contains(r.Expr, conventions.MetricSLOEventsTotal) {
				assert.Contains(t, r.Expr, "sum by (slo, service_name, outcome, http_route)")
			}
		}
		if r.Alert != "" {
			page = &g.Rules[i]
		}
	}
	for _, w := range slo.BurnRateWindows(7 * 24 * time.Hour) {
		assert.True(t, windows[slo.FormatDuration(w)], "no events recording for window %s", slo.FormatDuration(w))
	}
	assert.True(t, windows["1w"], "no events recording for the period")
	require.NotNil(t, page)
	assert.Equal(t, map[string]string{"severity": "page", "vigil_severity": "page", "slo": "errors", "service_name": "api", "team": "core", "pager": "core"}, page.Labels)
	assert.Contains(t, page.Expr, ">= 25")
	assert.Contains(t, page.Expr, `window="14m"`)
	assert.Contains(t, page.Expr, `window="1m10s"`)
}

func TestChainedWindowsTileExactly(t *testing.T) {
	groups, err := rules.Generate(load(t, sevenDaySpec), rules.Options{})
	require.NoError(t, err)
	p := parser.NewParser(parser.Options{})
	for _, r := range groups.Groups[0].Rules {
		if r.Record != conventions.RuleSLOEventsIncrease {
			continue
		}
		window, err := model.ParseDuration(r.Labels[conventions.LabelWindow])
		require.NoError(t, err)
		expr, err := p.ParseExpr(r.Expr)
		require.NoError(t, err)
		// The tiles of a chained window, or the raw range, must cover
		// exactly the window: offsets 0, S, 2S, ... of a source window S.
		var sources []string
		var offsets []time.Duration
		var raw time.Duration
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.MatrixSelector:
				raw = n.Range
			case *parser.VectorSelector:
				if n.Name == conventions.RuleSLOEventsIncrease {
					for _, m := range n.LabelMatchers {
						if m.Name == conventions.LabelWindow {
							sources = append(sources, m.Value)
						}
					}
					offsets = append(offsets, n.OriginalOffset)
				}
			}
			return nil
		})
		if raw > 0 {
			assert.Equal(t, time.Duration(window), raw)
			continue
		}
		src, err := model.ParseDuration(sources[0])
		require.NoError(t, err)
		covered := map[time.Duration]bool{}
		for _, o := range offsets {
			covered[o] = true
		}
		k := int(time.Duration(window) / time.Duration(src))
		assert.Equal(t, time.Duration(window), time.Duration(k)*time.Duration(src), "window %s is not a multiple of %s", window, src)
		for i := 0; i < k; i++ {
			assert.True(t, covered[time.Duration(i)*time.Duration(src)], "window %s misses the tile at offset %s", window, time.Duration(i)*time.Duration(src))
		}
		assert.Len(t, covered, k, "window %s has tiles beyond it", window)
	}
}

func TestGenerateBurnRateFactors(t *testing.T) {
	groups, err := rules.Generate(load(t, strings.Replace(sevenDaySpec, "page: {min_events: 25, labels: {pager: core}}", "page: {}\n      ticket: {}", 1)), rules.Options{})
	require.NoError(t, err)
	var exprs []string
	for _, r := range groups.Groups[0].Rules {
		if r.Alert != "" {
			exprs = append(exprs, r.Expr)
			assert.Contains(t, r.Expr, ">= 10", "default min-events guard")
		}
	}
	require.Len(t, exprs, 2)
	for _, w := range slo.AlertWindows(7 * 24 * time.Hour) {
		i := 0
		if w.Severity == conventions.SeverityTicket {
			i = 1
		}
		assert.Contains(t, exprs[i], `window="`+slo.FormatDuration(w.Long)+`"} > `+formatFloat(w.BurnRate))
	}
}

func formatFloat(f float64) string {
	return (&parser.NumberLiteral{Val: f}).String()
}

func TestEvalInterval(t *testing.T) {
	tests := []struct {
		window time.Duration
		max    time.Duration
		want   time.Duration
	}{
		{30 * 24 * time.Hour, 0, time.Minute},
		{28 * 24 * time.Hour, 0, 56 * time.Second},
		{7 * 24 * time.Hour, 0, 35 * time.Second},
		{30 * 24 * time.Hour, 30 * time.Second, 30 * time.Second},
		{366 * 24 * time.Hour, 0, time.Minute},
		{10 * 24 * time.Hour, 0, 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(slo.FormatDuration(tt.window), func(t *testing.T) {
			spec := strings.Replace(sevenDaySpec, "window: 7d", "window: "+slo.FormatDuration(tt.window), 1)
			groups, err := rules.Generate(load(t, spec), rules.Options{MaxInterval: tt.max})
			require.NoError(t, err)
			got := time.Duration(groups.Groups[0].Interval)
			base := slo.BurnRateWindows(tt.window)[0]
			assert.Zero(t, base%got, "interval %s does not divide %s", got, base)
			assert.Equal(t, tt.want, got)
		})
	}
}
