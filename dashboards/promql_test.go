package dashboards

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	c "github.com/vigil-otel/vigil/conventions"
)

// grafanaDurations are Grafana's range variables, replaced by a duration so
// the expression parses as Prometheus receives it.
var grafanaDurations = map[string]string{
	"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__auto": "1m",
}

// promValue substitutes a Grafana variable in PromQL: range variables
// become durations, numeric thresholds numbers, anything else (always inside
// a label matcher's quotes) a regular expression.
func promValue(name, _ string) string {
	if d, ok := grafanaDurations[name]; ok {
		return d
	}
	switch name {
	case "min_score":
		return "0.7"
	case "__range_s", "__interval_ms":
		return "60"
	}
	return "checkout|payments"
}

// promqlParser parses with Prometheus's defaults (no experimental functions),
// as the Prometheus server in the stack does.
var promqlParser = parser.NewParser(parser.Options{})

// labelValuesQuery matches Grafana's label_values(metric{...}, label)
// variable query, whose first argument is a series selector.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

// parsePromQL parses a dashboard expression (or a label_values variable
// query) after substitution and returns the metric names it selects.
func parsePromQL(text string) ([]string, error) {
	sels, err := parseSelectors(text)
	names := make([]string, len(sels))
	for i, s := range sels {
		names[i] = s.metric
	}
	return names, err
}

// selector is one series selector of an expression: the metric and the
// labels it matches on.
type selector struct {
	metric string
	labels []string
}

// parseSelectors parses like parsePromQL and returns every selector.
func parseSelectors(text string) ([]selector, error) {
	expr := substitute(text, promValue)
	if m := labelValuesQuery.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	parsed, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("%w\n  expression after substitution: %s", err, expr)
	}
	var sels []selector
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		sel := selector{metric: vs.Name}
		for _, m := range vs.LabelMatchers {
			if m.Name == "__name__" {
				sel.metric = m.Value
				continue
			}
			sel.labels = append(sel.labels, m.Name)
		}
		if sel.metric == "" {
			err = fmt.Errorf("selector %s names no metric", vs)
		}
		sels = append(sels, sel)
		return nil
	})
	return sels, err
}

// spanMetricsNames are what the span_metrics connector exports with the
// default configuration (histogram in milliseconds).
var spanMetricsNames = []string{
	metricCalls,
	metricDurationBucket,
	"traces_span_metrics_duration_milliseconds_count",
	"traces_span_metrics_duration_milliseconds_sum",
}

// otelcolNames are the collector self-telemetry names the dashboards may
// use, expanded for each signal.
func otelcolNames() []string {
	names := []string{otelQueueSize, otelQueueCapacity, otelMemoryRSS, otelHeapAlloc, otelCPUSeconds, otelUptime,
		otelAnomalyActiveSeries, otelAnomalySeriesWarmingUp, otelRemoteWriteWALLag, otelPagerDutyEventsFailed}
	for _, prefix := range []string{otelReceiverAccepted, otelReceiverRefused, otelReceiverFailed, otelExporterSent, otelExporterFailed, otelExporterEnqueue} {
		for _, s := range signalSuffixes {
			names = append(names, prefix+s.suffix)
		}
	}
	return names
}

// conventionNames are Vigil's contract metrics (connectors) and the
// recording rules `vigil slo rules` generates.
var conventionNames = []string{
	c.MetricSLOEventsTotal, c.MetricSLOObjective, c.MetricSLOBurnRate, c.MetricSLOErrorBudgetRemaining, c.MetricSLOErrorBudgetData,
	c.MetricSLOAlertFiring, c.MetricAnomalyScore, c.MetricAnomalyExpected, c.MetricAnomalyLower, c.MetricAnomalyUpper,
	c.RuleSLOEventsIncrease, c.RuleSLOErrorRatio, c.RuleSLOBurnRate, c.RuleSLOObjective, c.RuleSLOErrorBudgetRemaining,
}

func metricAllowlist() map[string]bool {
	allow := map[string]bool{}
	for _, list := range [][]string{conventionNames, spanMetricsNames, otelcolNames()} {
		for _, n := range list {
			allow[n] = true
		}
	}
	return allow
}

// dashboardMetricNames returns every metric name the Prometheus queries
// select, with where each is used.
func dashboardMetricNames(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	for _, q := range queriesOfType(t, PrometheusType) {
		names, err := parsePromQL(q.text)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		for _, n := range names {
			used[n] = append(used[n], q.where)
		}
	}
	return used
}

func TestPromQLParsesAndNamesKnownMetrics(t *testing.T) {
	allow := metricAllowlist()
	used := dashboardMetricNames(t)
	if len(used) == 0 {
		t.Fatal("no metric names found")
	}
	for name, where := range used {
		if !allow[name] {
			t.Errorf("metric %s is not produced by Vigil (not in conventions, span_metrics or otelcol names); used in %s", name, strings.Join(where, "; "))
		}
	}
	// Every contract metric of the SLO and anomaly connectors is shown
	// somewhere: a metric nobody can see is a contract nobody checks.
	for _, name := range conventionNames {
		if strings.Contains(name, ":") && name != c.RuleSLOBurnRate {
			continue
		}
		if len(used[name]) == 0 {
			t.Errorf("contract metric %s appears on no dashboard", name)
		}
	}
}

// TestPromQLCheckerRejects proves the checks above can fail: broken syntax,
// an unknown metric and a selector without a name are all caught.
func TestPromQLCheckerRejects(t *testing.T) {
	allow := metricAllowlist()
	tests := []struct {
		name    string
		expr    string
		wantErr bool
		unknown string
	}{
		{"valid with variables", `sum by (service_name) (rate(traces_span_metrics_calls_total{service_name=~"$service"}[$__rate_interval]))`, false, ""},
		{"braced variable", `vigil_slo_burn_rate{slo=~"${slo}"}`, false, ""},
		{"label_values variable", `label_values(vigil_slo_objective_ratio{service=~"$service"}, slo)`, false, ""},
		{"unbalanced", `sum(rate(traces_span_metrics_calls_total[5m])`, true, ""},
		{"bad range", `rate(traces_span_metrics_calls_total[$service])`, true, ""},
		{"no metric name", `{service=~"$service"}`, true, ""},
		{"unknown metric", `rate(http_requests_total[5m])`, false, "http_requests_total"},
		{"_total added to otelcol counter", `rate(otelcol_receiver_accepted_spans_total[5m])`, false, "otelcol_receiver_accepted_spans_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := parsePromQL(tt.expr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var unknown []string
			for _, n := range names {
				if !allow[n] {
					unknown = append(unknown, n)
				}
			}
			sort.Strings(unknown)
			if got := strings.Join(unknown, ","); got != tt.unknown {
				t.Errorf("unknown metrics = %q, want %q", got, tt.unknown)
			}
		})
	}
}

// windowMatcher finds a matcher on the burn-rate window label.
var windowMatcher = regexp.MustCompile(`\b` + c.LabelWindow + `\s*(=~|!~|!=|=)\s*"([^"]*)"`)

// TestNoQueryNamesAWindow: the burn-rate windows scale with each SLO's
// period (slo.AlertWindows: a 30-day SLO's 1h is a 28-day one's 56m and a
// 7-day one's 14m) and a spec may bring its own table, so a query that
// names a window ("1h") shows nothing for most SLOs. Windows are shown as
// the series have them (the window label), never selected by value.
func TestNoQueryNamesAWindow(t *testing.T) {
	for _, q := range queriesOfType(t, PrometheusType) {
		for _, m := range windowMatcher.FindAllStringSubmatch(q.text, -1) {
			if !strings.HasPrefix(m[2], "$") {
				t.Errorf("%s: selects the window %s%s%q, which only SLOs of one period have: %s", q.where, c.LabelWindow, m[1], m[2], q.text)
			}
		}
	}
	// The checker sees what it is for.
	if windowMatcher.FindStringSubmatch(`vigil_slo_burn_rate{slo=~"$slo", window="1h"}`) == nil {
		t.Error("windowMatcher misses window=\"1h\"")
	}
}
