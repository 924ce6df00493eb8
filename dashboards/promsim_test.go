package dashboards

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	c "github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/labelname"
	"github.com/vigil-otel/vigil/slo"
)

// The Prometheus panels are run here, in-process with Prometheus's own
// PromQL engine, on synthetic telemetry shaped like Vigil's: every series
// the dashboards read, with the metric and label names of the conventions
// package, the slo connector's labels (service_name, slo, window, severity,
// outcome, an SLO's group_by attributes and its own labels), the RED and
// anomaly series' and the collector's own. The SLOs have the periods that
// make their windows differ (30, 28 and 7 days, windows from slo's own
// table) and one is grouped by http.route. Then every panel is checked
// for what an engineer would see on it, the way Grafana would show it:
//
//   - every query returns data (a query that selects nothing is an empty
//     panel, or a blank column);
//   - every label a legend names ({{label}}) is a label of every series the
//     query returns (else Grafana prints nothing in its place);
//   - no two series of a panel get the same name (custom legends rendered,
//     Grafana's "Auto" legend emulated);
//   - every label a data link reads (${__field.labels.X}) is on every series
//     of the panel, and every field a table's link reads
//     (${__data.fields.X}) is a column of the table;
//   - the queries of a merged table return the same rows, so no cell is
//     blank;
//   - the anomaly connector's expected band is drawn in its metric's unit.
//
// TestDashboardMetricsAreExported runs the same queries on the real binary
// and Prometheus, with the telemetry a short run produces.

// simEnd is "now" of the simulation; data starts simSpan before it.
var simEnd = time.Unix(1_800_000_000, 0).UTC()

const (
	simSpan   = 3 * time.Hour
	simScrape = 15 * time.Second
	simRange  = time.Hour // of range queries, ending at simEnd
	simStep   = time.Minute
)

// simSeries is one synthetic series: its labels and its value t seconds
// after the start of the data.
type simSeries struct {
	lset  labels.Labels
	value func(t float64) float64
}

func constant(v float64) func(float64) float64 { return func(float64) float64 { return v } }

// counter grows by perSecond.
func counter(perSecond float64) func(float64) float64 {
	return func(t float64) float64 { return perSecond * t }
}

// simSLO is an SLO of the synthetic telemetry.
type simSLO struct {
	service, name string
	period        time.Duration
	groupBy       string   // attribute key, "" for none
	groups        []string // values of the group_by attribute
	labels        map[string]string
	pages         bool // the page alert fires
}

var simSLOs = []simSLO{
	{service: "checkout", name: "availability", period: 30 * 24 * time.Hour, pages: true},
	{service: "catalog", name: "route-latency", period: 28 * 24 * time.Hour, groupBy: "http.route",
		groups: []string{"/api/products", "/api/products/{id}"}, labels: map[string]string{"team": "storefront"}},
	{service: "payments", name: "card-authorization", period: 7 * 24 * time.Hour, labels: map[string]string{"tier": "1"}},
}

// simRED are the RED series: service, operation, span kind, calls and
// errors per second. catalog never fails: its error ratio is 0, not
// missing. checkout's client span duplicates the payments call.
var simRED = []struct {
	service, span, kind string
	rate, errors        float64
}{
	{"checkout", "POST /checkout", "SPAN_KIND_SERVER", 5, 0.1},
	{"checkout", "payments.Payments/Charge", "SPAN_KIND_CLIENT", 5, 0.05},
	{"catalog", "GET /api/products", "SPAN_KIND_SERVER", 10, 0},
	{"payments", "payments.Payments/Charge", "SPAN_KIND_SERVER", 5, 0.05},
}

// simAnomalyMetrics are the anomaly connector's metric label values.
var simAnomalyMetrics = []string{c.AnomalyMetricRequestRate, c.AnomalyMetricErrorRatio, c.AnomalyMetricLatencyP95, c.AnomalyMetricLatencyP99}

// wantAnomalyUnit is the unit each watched metric is drawn in.
var wantAnomalyUnit = map[string]string{
	c.AnomalyMetricRequestRate: "reqps",
	c.AnomalyMetricErrorRatio:  "percentunit",
	c.AnomalyMetricLatencyP95:  "ms",
	c.AnomalyMetricLatencyP99:  "ms",
}

func simLabels(kv ...string) labels.Labels { return labels.FromStrings(kv...) }

// withLabels adds a map's labels.
func withLabels(l labels.Labels, m map[string]string) labels.Labels {
	b := labels.NewBuilder(l)
	for k, v := range m {
		b.Set(k, v)
	}
	return b.Labels()
}

// simTelemetry is the synthetic data: what Prometheus holds after
// scraping a Vigil (and evaluating `vigil slo rules`).
func simTelemetry() []simSeries {
	var out []simSeries
	add := func(v func(float64) float64, kv ...string) {
		out = append(out, simSeries{simLabels(kv...), v})
	}
	// The connectors' series come from the prometheus exporter (:8889),
	// which adds the instrumentation scope; the collector's own from :8888.
	conn := []string{"job", "vigil-metrics", "instance", "127.0.0.1:8889", "otel_scope_name", "github.com/vigil-otel/vigil"}
	self := []string{"job", "vigil", "instance", "127.0.0.1:8888"}

	for _, s := range simSLOs {
		id := append(slices.Clone(conn), c.LabelServiceName, s.service, c.LabelSLO, s.name)
		objective := append(slices.Clone(id), "__name__", c.MetricSLOObjective)
		out = append(out, simSeries{withLabels(simLabels(objective...), s.labels), constant(0.99)})
		groups := s.groups
		if s.groupBy == "" {
			groups = []string{""}
		}
		for gi, g := range groups {
			series := func(name string, kv ...string) labels.Labels {
				l := append(slices.Clone(id), "__name__", name)
				if s.groupBy != "" {
					l = append(l, labelname.Sanitize(s.groupBy), g)
				}
				return withLabels(simLabels(append(l, kv...)...), s.labels)
			}
			out = append(out,
				simSeries{series(c.MetricSLOEventsTotal, c.LabelOutcome, c.OutcomeGood), counter(10)},
				simSeries{series(c.MetricSLOEventsTotal, c.LabelOutcome, c.OutcomeBad), counter(0.2 * float64(gi+1))},
				simSeries{series(c.MetricSLOErrorBudgetRemaining), constant(0.5 - 0.1*float64(gi))},
				simSeries{series(c.MetricSLOErrorBudgetData), constant(float64(gi+1) * 3600)},
			)
			for wi, w := range slo.BurnRateWindows(s.period) {
				window := slo.FormatDuration(w)
				out = append(out,
					simSeries{series(c.MetricSLOBurnRate, c.LabelWindow, window), constant(float64(wi+1) + float64(gi))},
					simSeries{series(c.RuleSLOBurnRate, c.LabelWindow, window), constant(float64(wi+1) + float64(gi))},
				)
			}
			page := 0.0
			if s.pages {
				page = 1
			}
			out = append(out,
				simSeries{series(c.MetricSLOAlertFiring, c.LabelSeverity, c.SeverityPage), constant(page)},
				simSeries{series(c.MetricSLOAlertFiring, c.LabelSeverity, c.SeverityTicket), constant(0)},
			)
		}
	}

	buckets := []float64{5, 10, 25, 50, 100, 250, 500, 1000, math.Inf(1)}
	watched := map[[2]string]bool{}
	for _, r := range simRED {
		red := append(slices.Clone(conn), labelServiceName, r.service, labelSpanName, r.span, labelSpanKind, r.kind)
		add(counter(r.rate-r.errors), append(slices.Clone(red), "__name__", metricCalls, labelStatusCode, "STATUS_CODE_UNSET")...)
		if r.errors > 0 {
			add(counter(r.errors), append(slices.Clone(red), "__name__", metricCalls, labelStatusCode, statusError)...)
		}
		for i, le := range buckets {
			share := math.Min(1, float64(i+1)/float64(len(buckets)-1))
			add(counter(r.rate*share), append(slices.Clone(red), "__name__", metricDurationBucket, labelStatusCode, "STATUS_CODE_UNSET",
				"le", strconv.FormatFloat(le, 'f', -1, 64))...)
		}
		// The anomaly connector watches each operation whatever its
		// spans' kind (one series for an operation with several kinds).
		if watched[[2]string{r.service, r.span}] {
			continue
		}
		watched[[2]string{r.service, r.span}] = true
		for _, m := range simAnomalyMetrics {
			id := append(slices.Clone(conn), c.LabelServiceName, r.service, anomalyLabelSpanName, r.span, c.LabelMetric, m)
			score := 0.1
			if r.service == "payments" && m == c.AnomalyMetricLatencyP95 {
				score = 0.95 // anomalous now
			}
			add(constant(score), append(slices.Clone(id), "__name__", c.MetricAnomalyScore)...)
			add(constant(10), append(slices.Clone(id), "__name__", c.MetricAnomalyExpected)...)
			add(constant(8), append(slices.Clone(id), "__name__", c.MetricAnomalyLower)...)
			add(constant(12), append(slices.Clone(id), "__name__", c.MetricAnomalyUpper)...)
		}
	}

	// The collector's own telemetry.
	for _, s := range signalSuffixes {
		for _, prefix := range []string{otelReceiverAccepted, otelReceiverRefused, otelReceiverFailed} {
			add(counter(1), append(slices.Clone(self), "__name__", prefix+s.suffix, "receiver", "otlp", "transport", "http")...)
		}
		for _, exporter := range []string{"otlp_grpc/unreachable", "pagerduty"} {
			for _, prefix := range []string{otelExporterSent, otelExporterFailed, otelExporterEnqueue} {
				add(counter(1), append(slices.Clone(self), "__name__", prefix+s.suffix, "exporter", exporter)...)
			}
		}
	}
	for _, dataType := range []string{"traces", "metrics", "logs"} {
		add(constant(10), append(slices.Clone(self), "__name__", otelQueueSize, "exporter", "otlp_grpc/unreachable", "data_type", dataType)...)
		add(constant(1000), append(slices.Clone(self), "__name__", otelQueueCapacity, "exporter", "otlp_grpc/unreachable", "data_type", dataType)...)
	}
	add(constant(3), append(slices.Clone(self), "__name__", otelRemoteWriteWALLag, "exporter", "prometheus_remote_write")...)
	// The pagerduty exporter's own counter carries no exporter label.
	add(counter(0.01), append(slices.Clone(self), "__name__", otelPagerDutyEventsFailed, "action", "trigger", "receiver", "default", "reason", "invalid_event")...)
	for _, name := range []string{otelMemoryRSS, otelHeapAlloc, otelUptime, otelAnomalyActiveSeries} {
		add(constant(1e6), append(slices.Clone(self), "__name__", name)...)
	}
	add(constant(4), append(slices.Clone(self), "__name__", otelAnomalySeriesWarmingUp)...)
	add(counter(0.3), append(slices.Clone(self), "__name__", otelCPUSeconds)...)
	return out
}

// simStorage serves the synthetic series to the PromQL engine.
type simStorage struct{ series []simSeries }

func (s *simStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	return &simQuerier{s: s, mint: mint, maxt: maxt}, nil
}

type simQuerier struct {
	s          *simStorage
	mint, maxt int64
}

func (*simQuerier) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (*simQuerier) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (*simQuerier) Close() error { return nil }

func (q *simQuerier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	start := simEnd.Add(-simSpan)
	var out []storage.Series
	for _, s := range q.s.series {
		if !matchAll(s.lset, ms) {
			continue
		}
		var samples []chunks.Sample
		for at := start; !at.After(simEnd); at = at.Add(simScrape) {
			if ms := at.UnixMilli(); ms >= q.mint && ms <= q.maxt {
				samples = append(samples, simSample{t: ms, f: s.value(at.Sub(start).Seconds())})
			}
		}
		out = append(out, storage.NewListSeries(s.lset, samples))
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Labels(), out[j].Labels()) < 0 })
	return &simSeriesSet{series: out, i: -1}
}

func matchAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

type simSeriesSet struct {
	series []storage.Series
	i      int
}

func (s *simSeriesSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *simSeriesSet) At() storage.Series              { return s.series[s.i] }
func (*simSeriesSet) Err() error                        { return nil }
func (*simSeriesSet) Warnings() annotations.Annotations { return nil }

// simSample is a float sample.
type simSample struct {
	t int64
	f float64
}

func (s simSample) T() int64                    { return s.t }
func (simSample) ST() int64                     { return 0 }
func (s simSample) F() float64                  { return s.f }
func (simSample) H() *histogram.Histogram       { return nil }
func (simSample) FH() *histogram.FloatHistogram { return nil }
func (simSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s simSample) Copy() chunks.Sample         { return s }

// simulator runs PromQL on the synthetic telemetry.
type simulator struct {
	engine *promql.Engine
	store  *simStorage
}

func newSimulator() *simulator {
	return &simulator{
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, Parser: promqlParser,
		}),
		store: &simStorage{series: simTelemetry()},
	}
}

// query runs expr as an instant query at simEnd or as a range query over
// the last simRange, and returns the label sets of the result.
func (s *simulator) query(expr string, instant bool) ([]labels.Labels, error) {
	ctx := context.Background()
	var q promql.Query
	var err error
	if instant {
		q, err = s.engine.NewInstantQuery(ctx, s.store, nil, expr, simEnd)
	} else {
		q, err = s.engine.NewRangeQuery(ctx, s.store, nil, expr, simEnd.Add(-simRange), simEnd, simStep)
	}
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	var out []labels.Labels
	switch v := res.Value.(type) {
	case promql.Vector:
		for _, s := range v {
			out = append(out, s.Metric)
		}
	case promql.Matrix:
		for _, s := range v {
			out = append(out, s.Metric)
		}
	case promql.Scalar:
		out = append(out, labels.EmptyLabels())
	default:
		return nil, fmt.Errorf("result of type %s", res.Value.Type())
	}
	return out, nil
}

// labelValues answers a label_values(selector, label) variable query.
func (s *simulator) labelValues(selector, label string) ([]string, error) {
	sets, err := s.query(fmt.Sprintf(`count by (%s) (%s)`, label, selector), true)
	if err != nil {
		return nil, err
	}
	var vals []string
	for _, l := range sets {
		if v := l.Get(label); v != "" {
			vals = append(vals, v)
		}
	}
	sort.Strings(vals)
	return vals, nil
}

// grafanaRanges are Grafana's interval variables for a one-hour range.
var grafanaRanges = map[string]string{
	"__rate_interval": "1m", "__interval": "1m", "__auto": "1m", "__range": "1h", "__range_s": "3600", "__interval_ms": "60000",
}

// dashboardVariable is one entry of a dashboard's templating list.
type dashboardVariable map[string]any

func (v dashboardVariable) str(key string) string { s, _ := v[key].(string); return s }
func (v dashboardVariable) flag(key string) bool  { b, _ := v[key].(bool); return b }

// options are a custom variable's values.
func (v dashboardVariable) options() []string {
	var out []string
	for _, o := range strings.Split(v.str("query"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// currentValues is the saved selection.
func (v dashboardVariable) currentValues() []string {
	cur, _ := v["current"].(map[string]any)
	switch val := cur["value"].(type) {
	case string:
		return []string{val}
	case []any:
		var out []string
		for _, x := range val {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// allSelected marks the "All" selection in a default.
const allSelected = "$__all"

// customDefault is what a custom variable selects when a dashboard opens,
// as Grafana decides it: the saved selection when every value of it is an
// option (honourCurrent), else "All" when the variable has it, else its
// first option. Grafana drops a saved selection it does not accept (a link
// that names none keeps it, but older versions and some paths do not), so
// a default that matters must hold either way.
func customDefault(v dashboardVariable, honourCurrent bool) []string {
	opts := v.options()
	if cur := v.currentValues(); honourCurrent && len(cur) > 0 {
		valid := true
		for _, x := range cur {
			valid = valid && (x == allSelected || slices.Contains(opts, x))
		}
		if valid {
			return cur
		}
	}
	if v.flag("includeAll") {
		return []string{allSelected}
	}
	if len(opts) == 0 {
		return nil
	}
	return opts[:1]
}

// formatPromValue is a selection as Grafana writes it into PromQL: "All"
// as the variable's allValue (else every option), several values as a
// regexp alternation, each escaped when the variable is multi-value or
// has "All" (as Grafana's Prometheus data source does).
func formatPromValue(v dashboardVariable, values, options []string) string {
	if len(values) == 1 && values[0] == allSelected {
		if a := v.str("allValue"); a != "" {
			return a
		}
		values = options
	}
	escape := v.flag("multi") || v.flag("includeAll")
	out := make([]string, len(values))
	for i, x := range values {
		if escape {
			x = regexp.QuoteMeta(x)
		}
		out[i] = x
	}
	if len(out) == 1 {
		return out[0]
	}
	return "(" + strings.Join(out, "|") + ")"
}

// variableBindings are the values a dashboard's variables take when it
// opens: each query variable with "All" on All, each single-value query
// variable on every one of its values in turn (so a detail dashboard is
// checked for every SLO), custom variables on their default, text boxes
// empty.
func (s *simulator) variableBindings(t *testing.T, d map[string]any) []map[string]string {
	t.Helper()
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	bindings := []map[string]string{{}}
	for _, raw := range list {
		v := dashboardVariable(raw.(map[string]any))
		name := v.str("name")
		var next []map[string]string
		for _, b := range bindings {
			bound := func(value string) {
				nb := map[string]string{}
				for k, x := range b {
					nb[k] = x
				}
				nb[name] = value
				next = append(next, nb)
			}
			switch v.str("type") {
			case "datasource":
				bound("${" + name + "}")
			case "custom":
				bound(formatPromValue(v, customDefault(v, true), v.options()))
			case "textbox":
				bound(v.str("query"))
			case "query":
				ds, _ := v["datasource"].(map[string]any)
				if ds["type"] != PrometheusType {
					bound("$" + name) // another data source's: not used in PromQL
					continue
				}
				m := labelValuesQuery.FindStringSubmatch(v.str("query"))
				if m == nil {
					t.Fatalf("variable %s: query %q is not label_values(selector, label)", name, v.str("query"))
				}
				sel := substitute(m[1], func(n, _ string) string { return b[n] })
				values, err := s.labelValues(sel, m[2])
				if err != nil {
					t.Fatalf("variable %s: %v", name, err)
				}
				if len(values) == 0 {
					t.Errorf("variable %s: label_values(%s, %s) finds no values", name, sel, m[2])
				}
				if v.flag("includeAll") {
					bound(formatPromValue(v, []string{allSelected}, values))
					continue
				}
				for _, x := range values {
					bound(formatPromValue(v, []string{x}, values))
				}
			default:
				t.Fatalf("variable %s: type %q not simulated", name, v.str("type"))
			}
		}
		bindings = next
	}
	return bindings
}

// simTarget is one Prometheus query of a panel and the series it returned.
type simTarget struct {
	ref, expr, legend string
	instant           bool
	series            []labels.Labels
	names             []string // display names, filled for non-table panels
}

var legendLabel = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

func renderLegend(format string, l labels.Labels) string {
	return legendLabel.ReplaceAllStringFunc(format, func(m string) string {
		return l.Get(legendLabel.FindStringSubmatch(m)[1])
	})
}

// displayNames names every series of a panel as Grafana does: a custom
// legend rendered; "Auto" by the labels whose values differ between the
// panel's series (all of them when only one label exists); no legend by
// the whole series (name and labels).
func displayNames(targets []*simTarget) {
	values := map[string]map[string]bool{}
	for _, tg := range targets {
		for _, l := range tg.series {
			l.Range(func(lb labels.Label) {
				if values[lb.Name] == nil {
					values[lb.Name] = map[string]bool{}
				}
				values[lb.Name][lb.Value] = true
			})
		}
	}
	for _, tg := range targets {
		tg.names = make([]string, len(tg.series))
		for i, l := range tg.series {
			switch tg.legend {
			case "":
				tg.names[i] = l.String()
			case autoLegend:
				if len(values) == 1 {
					for name := range values {
						tg.names[i] = l.Get(name)
					}
					continue
				}
				var parts []string
				l.Range(func(lb labels.Label) {
					if len(values[lb.Name]) > 1 {
						parts = append(parts, fmt.Sprintf("%s=%q", lb.Name, lb.Value))
					}
				})
				if len(parts) == 0 {
					tg.names[i] = "Value"
				} else {
					tg.names[i] = "{" + strings.Join(parts, ", ") + "}"
				}
			default:
				tg.names[i] = renderLegend(tg.legend, l)
			}
		}
	}
}

var (
	fieldLabelRef = regexp.MustCompile(`\$\{__field\.labels\.([A-Za-z_][A-Za-z0-9_]*)\}`)
	dataFieldRef  = regexp.MustCompile(`\$\{__data\.fields\.([^}]+)\}`)
)

// panelLinks are the texts of a panel's data links (title and URL).
func panelLinks(p map[string]any) []string {
	fc, _ := p["fieldConfig"].(map[string]any)
	defaults, _ := fc["defaults"].(map[string]any)
	links, _ := defaults["links"].([]any)
	var out []string
	for _, l := range links {
		lm, _ := l.(map[string]any)
		title, _ := lm["title"].(string)
		u, _ := lm["url"].(string)
		out = append(out, title+" "+u)
	}
	return out
}

// transformation returns the options of a panel's transformation by id.
func transformation(p map[string]any, id string) (map[string]any, bool) {
	ts, _ := p["transformations"].([]any)
	for _, t := range ts {
		tm, _ := t.(map[string]any)
		if tm["id"] == id {
			opts, _ := tm["options"].(map[string]any)
			return opts, true
		}
	}
	return nil, false
}

// seriesUnit is the unit Grafana gives a series: the panel's, or the last
// override that matches its display name.
func seriesUnit(p map[string]any, name string) string {
	fc, _ := p["fieldConfig"].(map[string]any)
	defaults, _ := fc["defaults"].(map[string]any)
	unit, _ := defaults["unit"].(string)
	overrides, _ := fc["overrides"].([]any)
	for _, o := range overrides {
		om, _ := o.(map[string]any)
		matcher, _ := om["matcher"].(map[string]any)
		opt, _ := matcher["options"].(string)
		var match bool
		switch matcher["id"] {
		case "byName":
			match = opt == name
		case "byRegexp":
			match = regexp.MustCompile(opt).MatchString(name)
		}
		if !match {
			continue
		}
		props, _ := om["properties"].([]any)
		for _, pr := range props {
			pm, _ := pr.(map[string]any)
			if pm["id"] == "unit" {
				unit, _ = pm["value"].(string)
			}
		}
	}
	return unit
}

// simulatePanels runs every Prometheus panel of every dashboard with each
// of its variable bindings and calls check with the results.
func simulatePanels(t *testing.T, check func(where string, p map[string]any, targets []*simTarget)) {
	t.Helper()
	sim := newSimulator()
	files := committedDashboards(t)
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, file := range names {
		d := files[file]
		for _, b := range sim.variableBindings(t, d) {
			value := func(name, _ string) string {
				if v, ok := grafanaRanges[name]; ok {
					return v
				}
				if v, ok := b[name]; ok {
					return v
				}
				t.Errorf("%s: variable $%s is not defined", file, name)
				return ""
			}
			binding := ""
			if v, ok := b["slo"]; ok && !strings.Contains(v, "*") {
				binding = fmt.Sprintf(" [service=%s slo=%s]", b["service"], v)
			}
			for _, p := range allPanels(d) {
				raw, _ := p["targets"].([]any)
				var targets []*simTarget
				for _, r := range raw {
					tm, _ := r.(map[string]any)
					if _, typ := dsOf(tm["datasource"]); typ != PrometheusType {
						continue
					}
					tg := &simTarget{}
					tg.ref, _ = tm["refId"].(string)
					tg.legend, _ = tm["legendFormat"].(string)
					instant, _ := tm["instant"].(bool)
					rng, _ := tm["range"].(bool)
					tg.instant = instant && !rng
					expr, _ := tm["expr"].(string)
					tg.expr = substitute(expr, value)
					series, err := sim.query(tg.expr, tg.instant)
					if err != nil {
						t.Errorf("%s: %q (%s)%s: %v\n  %s", file, p["title"], tg.ref, binding, err, tg.expr)
						continue
					}
					tg.series = series
					targets = append(targets, tg)
				}
				if len(targets) == 0 {
					continue
				}
				if p["type"] != "table" {
					displayNames(targets)
				}
				check(fmt.Sprintf("%s: %q%s", file, p["title"], binding), p, targets)
			}
		}
	}
}

func TestPanelsOnSyntheticTelemetry(t *testing.T) {
	panels := 0
	simulatePanels(t, func(where string, p map[string]any, targets []*simTarget) {
		panels++
		// Every query returns data.
		for _, tg := range targets {
			if len(tg.series) == 0 {
				t.Errorf("%s (%s): no data\n  %s", where, tg.ref, tg.expr)
			}
		}
		// Legends name labels the series have.
		for _, tg := range targets {
			if tg.legend == "" || tg.legend == autoLegend {
				continue
			}
			for _, m := range legendLabel.FindAllStringSubmatch(tg.legend, -1) {
				for _, l := range tg.series {
					if !l.Has(m[1]) {
						t.Errorf("%s (%s): legend %q names {{%s}}, which its series do not have: %s", where, tg.ref, tg.legend, m[1], l)
						break
					}
				}
			}
		}
		// No two series of a chart share a name.
		if p["type"] != "table" {
			seen := map[string]string{}
			for _, tg := range targets {
				for i, name := range tg.names {
					if other, dup := seen[name]; dup {
						t.Errorf("%s: two series named %q: %s and %s", where, name, other, tg.series[i])
					}
					seen[name] = tg.series[i].String()
				}
			}
		}
		// Data links read labels and fields that exist.
		for _, link := range panelLinks(p) {
			for _, m := range fieldLabelRef.FindAllStringSubmatch(link, -1) {
				for _, tg := range targets {
					for _, l := range tg.series {
						if !l.Has(m[1]) {
							t.Errorf("%s: link %q reads label %s, which series %s (%s) does not have", where, link, m[1], l, tg.ref)
							break
						}
					}
				}
			}
			if refs := dataFieldRef.FindAllStringSubmatch(link, -1); len(refs) > 0 {
				fields := tableFields(p, targets)
				for _, m := range refs {
					if !fields[m[1]] {
						t.Errorf("%s: link %q reads field %s, not a column of the table (columns: %v)", where, link, m[1], sortedKeys(fields))
					}
				}
			}
		}
		// A merged table's queries return the same rows: no blank cells.
		if _, merged := transformation(p, "merge"); merged && len(targets) > 1 {
			rows := func(tg *simTarget) []string {
				var out []string
				for _, l := range tg.series {
					out = append(out, l.String())
				}
				sort.Strings(out)
				return out
			}
			first := rows(targets[0])
			for _, tg := range targets[1:] {
				if got := rows(tg); !slices.Equal(got, first) {
					t.Errorf("%s: merged table: query %s has rows %v, query %s has %v (the cells of the missing rows are blank)",
						where, targets[0].ref, first, tg.ref, got)
				}
			}
		}
		// Every operation with a band has its actual line.
		var actual *simTarget
		for _, tg := range targets {
			if strings.Contains(tg.expr, metricCalls) || strings.Contains(tg.expr, metricDurationBucket) {
				actual = tg
			}
		}
		for _, tg := range targets {
			if actual == nil || !strings.Contains(tg.expr, c.MetricAnomalyExpected) {
				continue
			}
			drawn := map[[2]string]bool{}
			for _, l := range actual.series {
				drawn[[2]string{l.Get(labelServiceName), l.Get(labelSpanName)}] = true
			}
			for _, l := range tg.series {
				if op := [2]string{l.Get(c.LabelServiceName), l.Get(anomalyLabelSpanName)}; !drawn[op] {
					t.Errorf("%s: the band of %v has no actual line (%s)", where, op, actual.expr)
				}
			}
		}
		// The expected band is drawn in its metric's unit.
		for _, tg := range targets {
			for i, l := range tg.series {
				want, ok := wantAnomalyUnit[l.Get(c.LabelMetric)]
				name := l.Get("__name__")
				if !ok || tg.names == nil || (name != "" && name != c.MetricAnomalyExpected && name != c.MetricAnomalyLower && name != c.MetricAnomalyUpper) ||
					!strings.Contains(tg.expr, "vigil_anomaly_") || strings.Contains(tg.expr, c.MetricAnomalyScore) {
					continue
				}
				if got := seriesUnit(p, tg.names[i]); got != want {
					t.Errorf("%s: %q (%s) is drawn in %q, want %q (the unit of %s)", where, tg.names[i], tg.ref, got, want, l.Get(c.LabelMetric))
				}
			}
		}
	})
	if panels == 0 {
		t.Fatal("no Prometheus panels simulated")
	}
	t.Logf("%d panels simulated", panels)
}

// tableFields are the columns of a table panel: its queries' labels and
// values ("Value", or "Value #refId" with several queries), under their
// own or their renamed names, less those the organize transformation
// excludes.
func tableFields(p map[string]any, targets []*simTarget) map[string]bool {
	fields := map[string]bool{"Time": true}
	for _, tg := range targets {
		for _, l := range tg.series {
			l.Range(func(lb labels.Label) { fields[lb.Name] = true })
		}
		if len(targets) == 1 {
			fields["Value"] = true
		} else {
			fields["Value #"+tg.ref] = true
		}
	}
	if opts, ok := transformation(p, "organize"); ok {
		excluded, _ := opts["excludeByName"].(map[string]any)
		for name, ex := range excluded {
			if ex == true {
				delete(fields, name)
			}
		}
		renamed, _ := opts["renameByName"].(map[string]any)
		for from, to := range renamed {
			if fields[from] {
				fields[to.(string)] = true
			}
		}
	}
	return fields
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSimulationCoversTheData checks the synthetic telemetry has what the
// checks above rely on: SLOs whose windows differ, an SLO with groups, an
// operation without errors and client spans.
func TestSimulationCoversTheData(t *testing.T) {
	windows := map[string]bool{}
	grouped := false
	for _, s := range simSLOs {
		for _, w := range slo.BurnRateWindows(s.period) {
			windows[slo.FormatDuration(w)] = true
		}
		grouped = grouped || len(s.groups) > 1
	}
	// 30d's 5m, 28d's 4m40s and 7d's 1m10s are all there.
	for _, w := range []string{"5m", "4m40s", "1m10s"} {
		if !windows[w] {
			t.Errorf("no simulated SLO has the window %s", w)
		}
	}
	if !grouped {
		t.Error("no simulated SLO has several groups")
	}
	var clean, client bool
	for _, r := range simRED {
		clean = clean || r.errors == 0
		client = client || r.kind == "SPAN_KIND_CLIENT"
	}
	if !clean || !client {
		t.Errorf("the RED series need an operation without errors (%v) and client spans (%v)", clean, client)
	}
}

// TestSimulatorCatchesDefects proves the checks fail on the defects they
// are for: a legend label the series lack, a fixed window, a link to a
// field that does not exist, a merged table with blank cells.
func TestSimulatorCatchesDefects(t *testing.T) {
	sim := newSimulator()
	run := func(expr string, instant bool) []labels.Labels {
		t.Helper()
		s, err := sim.query(expr, instant)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// {{service}} is not a label of the anomaly series.
	for _, l := range run(c.MetricAnomalyExpected, false) {
		if l.Has("service") || !l.Has(c.LabelServiceName) {
			t.Fatalf("anomaly series labels: %s", l)
		}
	}
	// A 1h window exists for the 30-day SLO only.
	got := run(fmt.Sprintf(`max by (%s) (%s{%s="1h"})`, c.LabelSLO, c.MetricSLOBurnRate, c.LabelWindow), true)
	if len(got) != 1 || got[0].Get(c.LabelSLO) != "availability" {
		t.Errorf("window=\"1h\" selects %v, want the 30-day SLO only", got)
	}
	// Two groups of one SLO get one name from a legend without the group.
	tg := &simTarget{legend: "{{" + c.LabelServiceName + "}}/{{" + c.LabelSLO + "}}",
		series: run(fmt.Sprintf(`%s{%s="route-latency"}`, c.MetricSLOErrorBudgetRemaining, c.LabelSLO), false)}
	displayNames([]*simTarget{tg})
	if len(tg.names) != 2 || tg.names[0] != tg.names[1] {
		t.Errorf("names %v: want two equal names", tg.names)
	}
	tg.legend = autoLegend
	displayNames([]*simTarget{tg})
	if len(tg.names) != 2 || tg.names[0] == tg.names[1] {
		t.Errorf("auto names %v: want two different names", tg.names)
	}
	// A table's field is the label's name.
	fields := tableFields(map[string]any{}, []*simTarget{{ref: "A", series: run(`max by (service_name, slo) (vigil_slo_objective_ratio)`, true)}})
	if fields["service"] || !fields["service_name"] {
		t.Errorf("table fields %v", sortedKeys(fields))
	}
	// Errors over calls without "or 0 * calls" leaves out the operation
	// that never fails.
	plain := run(`sum by (service_name) (rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[5m])) / sum by (service_name) (rate(traces_span_metrics_calls_total[5m]))`, true)
	fixed := run(errorRatio(`sum by (service_name) (rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[5m]))`, `sum by (service_name) (rate(traces_span_metrics_calls_total[5m]))`), true)
	if len(plain) != 2 || len(fixed) != 3 {
		t.Errorf("error ratio rows: %d without the fallback, %d with it; want 2 and 3", len(plain), len(fixed))
	}
}

// TestBudgetDataOfTheRowsGroup: the SLOs table's Budget data is the data of
// the group whose budget the row shows (the least left), not the least
// data of any group: route-latency's second group has less budget left
// and more data (7200s) than its first (3600s).
func TestBudgetDataOfTheRowsGroup(t *testing.T) {
	var expr string
	for _, q := range allQueries(t) {
		if q.where == "slos.json: SLOs (data)" {
			expr = q.text
		}
	}
	if expr == "" {
		t.Fatal("the SLOs table has no data query")
	}
	expr = substitute(expr, func(string, string) string { return ".*" })
	sim := newSimulator()
	q, err := sim.engine.NewInstantQuery(context.Background(), sim.store, nil, expr, simEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := map[string]float64{}
	for _, s := range res.Value.(promql.Vector) {
		got[s.Metric.Get(c.LabelSLO)] = s.F
	}
	want := map[string]float64{"availability": 3600, "route-latency": 7200, "card-authorization": 3600}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("budget data per SLO %v, want %v", got, want)
	}
}
