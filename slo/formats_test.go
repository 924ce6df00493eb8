package slo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/slo"
)

// TestOpenSLOAlertPolicies: each burnrate condition is one alert window
// (single-window: long and short alike) with its alertAfter as for: and
// its op (gte: a burn rate at the threshold holds); a critical condition
// pages, others make tickets, each alert is named after its policy, and
// the condition's severity reaches the alert as the user's label.
// Quarter calendar windows keep their start and time zone; Timeslices
// keep their slice.
func TestOpenSLOAlertPolicies(t *testing.T) {
	specs, err := slo.LoadFiles("testdata/formats/openslo-policies.yaml")
	require.NoError(t, err)
	s := specs[0].SLOs[0]
	assert.Equal(t, []slo.AlertWindow{
		{Severity: "page", Long: time.Hour, Short: time.Hour, BurnRate: 10, Inclusive: true, For: 5 * time.Minute},
		{Severity: "ticket", Long: 24 * time.Hour, Short: 24 * time.Hour, BurnRate: 2},
	}, s.Windows)
	assert.True(t, s.Windows[0].Holds(10), "gte 10 holds at 10")
	assert.False(t, s.Windows[1].Holds(2), "gt 2 does not hold at 2")
	require.NotNil(t, s.Alerting.Page)
	assert.Equal(t, "checkout-burn", s.Alerting.Page.Name)
	assert.Equal(t, "checkout-slow-burn", s.Alerting.Ticket.Name)
	assert.Equal(t, map[string]string{"severity": "critical"}, s.Alerting.Page.Labels)
	assert.Equal(t, map[string]string{"severity": "low"}, s.Alerting.Ticket.Labels)

	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	assert.Equal(t, slo.CalendarQuarter, s.Window.Calendar)
	assert.Equal(t, 90*24*time.Hour, s.Window.Period())
	assert.True(t, s.Window.Anchor.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, paris)))
	assert.Equal(t, slo.Budgeting{Method: slo.Timeslices, TimeSlice: 5 * time.Minute, TimeSliceTarget: 0.95}, s.Budgeting)
	ev := s.Evaluation()
	assert.False(t, ev.InStream)
	assert.Contains(t, ev.Reason, "Timeslices")
}

// TestCalendarWindowStart: periods start at the anchor's clock time in
// the window's time zone, every Count units.
func TestCalendarWindowStart(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	tests := []struct {
		name string
		w    slo.Window
		at   time.Time
		want time.Time
	}{
		{"week: Monday UTC", slo.Window{Calendar: slo.CalendarWeek}, time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"month", slo.Window{Calendar: slo.CalendarMonth}, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"quarter", slo.Window{Calendar: slo.CalendarQuarter}, time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"year", slo.Window{Calendar: slo.CalendarYear}, time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"every other week from an anchor", slo.Window{Calendar: slo.CalendarWeek, Count: 2, Anchor: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)},
			time.Date(2026, 1, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)},
		{"quarter from a mid-month anchor in Paris, before the anchor's day", slo.Window{Calendar: slo.CalendarQuarter, Anchor: time.Date(2026, 1, 15, 9, 0, 0, 0, paris), Location: paris},
			time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 15, 9, 0, 0, 0, paris)},
		{"30 days from 1970", slo.Window{Calendar: slo.CalendarDay, Count: 30}, time.Date(1970, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(1970, 3, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.w.Start(tt.at)
			assert.True(t, got.Equal(tt.want), "start %s, want %s", got, tt.want)
			assert.False(t, got.After(tt.at))
		})
	}
}

// TestSlothPluginsAndLabels: Sloth's alert labels are the user's
// (severity included); plugins are honoured or refused saying what to do.
func TestSlothPluginsAndLabels(t *testing.T) {
	specs, err := slo.LoadFiles("testdata/upstream/sloth/getting-started.yml")
	require.NoError(t, err)
	s := specs[0].SLOs[0]
	assert.Equal(t, map[string]string{"category": "availability", "severity": "pageteam", "routing_key": "myteam"}, s.Alerting.Page.Labels)
	assert.Equal(t, map[string]string{"category": "availability", "severity": "slack", "slack_channel": "#alerts-myteam"}, s.Alerting.Ticket.Labels)

	specs, err = slo.LoadFiles("testdata/upstream/sloth/contrib-denominator-corrected.yaml")
	require.NoError(t, err)
	assert.True(t, specs[0].SLOs[0].SLI.PromQL.PeriodDenominator)

	const chain = `version: prometheus/v1
service: s
slo_plugins:
  overridePrevious: true
  chain:
    - id: sloth.dev/core/sli_rules/v1
    - id: sloth.dev/contrib/rule_intervals/v1
      config: {interval: {default: 2m}}
slos:
  - name: a
    objective: 99
    plugins:
      chain:
        - id: github.com/acme/sloth-plugins/weird/v1
    sli: {events: {error_query: 'sum(rate(e_total[{{.window}}]))', total_query: 'sum(rate(t_total[{{.window}}]))'}}
    alerting: {name: A}
`
	_, err = slo.Parse("chain.yaml", []byte(chain))
	require.Error(t, err)
	assert.Equal(t, `chain.yaml:14:11: plugin "github.com/acme/sloth-plugins/weird/v1" is Go code that Vigil does not run: remove it, or write what it generates as the SLO's queries and labels`, err.Error())

	spec, err := slo.Parse("chain.yaml", []byte(strings.Replace(chain, "        - id: github.com/acme/sloth-plugins/weird/v1\n", "        - id: sloth.dev/core/debug/v1\n", 1)))
	require.NoError(t, err)
	s = spec.SLOs[0]
	assert.Equal(t, 2*time.Minute, s.Interval)
	assert.Nil(t, s.Alerting.Page, "the overriding chain has no alert_rules plugin: Sloth writes no alerts")
	require.Len(t, spec.Notes, 1)
	assert.Contains(t, spec.Notes[0].Msg, "no sloth.dev/core/alert_rules/v1")
}

// TestPyrraSpec: Pyrra's table, service, labels and severities.
func TestPyrraSpec(t *testing.T) {
	spec, err := slo.Parse("p.yaml", []byte(`apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-latency
  namespace: shop
  labels: {pyrra.dev/team: checkout, role: alert-rules}
  annotations: {pyrra.dev/runbook: https://rb.example.com}
spec:
  target: "99.5"
  window: 4w
  extraField: ignored
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{job="api",le="0.3"}'}
      total: {metric: 'http_request_duration_seconds_count{job="api"}'}
      grouping: [handler]
  alerting: {name: ApiLatency}
`))
	require.NoError(t, err)
	s := spec.SLOs[0]
	assert.Equal(t, "shop/api-latency", s.ID())
	assert.Equal(t, map[string]string{"team": "checkout", "job": "api"}, s.Labels)
	assert.Equal(t, []string{"handler"}, s.GroupBy)
	assert.Equal(t, "ApiLatency", s.Alerting.Page.Name)
	assert.Equal(t, map[string]string{"severity": "critical"}, s.Alerting.Page.Labels)
	assert.Equal(t, map[string]string{"runbook": "https://rb.example.com"}, s.Alerting.Ticket.Annotations)
	assert.Equal(t, []slo.AlertWindow{
		{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, BurnRate: 14, For: 2 * time.Minute},
		{Severity: "page", Long: 6 * time.Hour, Short: 30 * time.Minute, BurnRate: 7, For: 15 * time.Minute},
		{Severity: "ticket", Long: 24 * time.Hour, Short: 2 * time.Hour, BurnRate: 2, For: time.Hour},
		{Severity: "ticket", Long: 4 * 24 * time.Hour, Short: 6 * time.Hour, BurnRate: 1, For: 3 * time.Hour},
	}, s.Windows)
	assert.Equal(t, `sum by (handler) (rate(http_request_duration_seconds_count{job="api"}[{{.window}}])) - sum by (handler) (rate(http_request_duration_seconds_bucket{job="api",le="0.3"}[{{.window}}]))`, s.SLI.PromQL.ErrorQuery)
	require.Len(t, spec.Notes, 1)
	assert.Contains(t, spec.Notes[0].String(), `p.yaml:11:3: note: unknown field "extraField" in spec`)
	ev := s.Evaluation()
	assert.True(t, ev.InStream)
	assert.Equal(t, []string{"handler"}, ev.GroupBy)
}

// TestPrunedFieldOfARefusedSpec: a field a Kubernetes API server would
// prune is a note in a valid Pyrra spec, and a problem, with its "did you
// mean", in one refused anyway (here for the target it misspells).
func TestPrunedFieldOfARefusedSpec(t *testing.T) {
	const doc = `apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api-errors, namespace: shop}
spec:
  tagret: "99.5"
  window: 4w
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="api",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="api"}'}
`
	_, err := slo.Parse("p.yaml", []byte(doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `p.yaml:5:3: unknown field "tagret" in spec`)
	assert.Contains(t, err.Error(), `did you mean "target"?`)

	spec, err := slo.Parse("p.yaml", []byte(strings.Replace(doc, "  window: 4w\n", "  target: \"99.5\"\n  window: 4w\n", 1)))
	require.NoError(t, err)
	require.Len(t, spec.Notes, 1)
	assert.Contains(t, spec.Notes[0].Msg, `unknown field "tagret"`)
}

// TestSlothFixedRange: a Sloth query with a fixed range and no
// {{.window}} is what Sloth accepts silently and computes every window
// over; Vigil takes each window over its own range (the rules and the
// stream alike) and says so in a note at the range itself. A fixed range
// beside {{.window}} stays fixed in the rules, as in Sloth, so the stream
// leaves the SLO to them; inside a subquery over the window a fixed range
// is the subquery's resolution and no note is due.
func TestSlothFixedRange(t *testing.T) {
	spec, err := slo.Parse("sloth.yml", []byte(`version: prometheus/v1
service: myservice
slos:
  - name: fixed
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[5m]))
        total_query: "sum(rate(http_requests_total[5m]))"
    alerting: {name: Fixed}
  - name: raw
    objective: 99.9
    sli:
      raw:
        error_ratio_query: |
          sum(rate(http_requests_total{code=~"5.."}[10m]))
          / sum(rate(http_requests_total[10m]))
    alerting: {name: Raw}
  - name: mixed
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{le="0.3"}[5m]))
        total_query: sum(rate(http_request_duration_seconds_count[{{.window}}]))
    alerting: {name: Mixed}
  - name: subquery
    objective: 99
    sli:
      raw:
        error_ratio_query: avg_over_time((sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > bool 0.01)[{{.window}}:1m])
    alerting: {name: Sub}
`))
	require.NoError(t, err)
	var notes []string
	for _, n := range spec.Notes {
		notes = append(notes, n.String())
	}
	assert.Equal(t, []string{
		"sloth.yml:8:63: note: error_query has the fixed range [5m] and no {{.window}}: Sloth computes every alert window (5m to 3d) over that 5m, so its alerts fire on 5m spikes; Vigil computes each window over its own length, as if written [{{.window}}]; write [{{.window}}] so that both read the spec alike",
		"sloth.yml:9:51: note: total_query has the fixed range [5m] and no {{.window}}: Sloth computes every alert window (5m to 3d) over that 5m, so its alerts fire on 5m spikes; Vigil computes each window over its own length, as if written [{{.window}}]; write [{{.window}}] so that both read the spec alike",
		"sloth.yml:16:52: note: error_ratio_query has the fixed range [10m] and no {{.window}}: Sloth computes every alert window (5m to 3d) over that 10m, so its alerts fire on 10m spikes; Vigil computes each window over its own length, as if written [{{.window}}]; write [{{.window}}] so that both read the spec alike",
		"sloth.yml:23:139: note: error_query uses {{.window}} but also the fixed range [5m], outside any subquery: that part covers 5m whatever the window, in Vigil's rules as in Sloth's; write [{{.window}}] if it should follow the window",
	}, notes)

	// Vigil's rules read the fixed-range query over each window, and the
	// stream counts the same events.
	fixed := spec.SLOs[0]
	expr, err := slo.PromQLForWindow(fixed.SLI.PromQL.ErrorQuery, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, `sum(rate(http_requests_total{code=~"5.."}[1h]))`, expr.String())
	assert.True(t, fixed.Evaluation().InStream)

	// The mixed query's 5m bucket term is 5m in every window of the rules:
	// the stream, which can only count the window, leaves it to them.
	ev := spec.SLOs[2].Evaluation()
	assert.False(t, ev.InStream, ev.Reason)
	assert.Contains(t, ev.Reason, `has the fixed range 5m where the rest of the query follows the window`)
	expr, err = slo.PromQLForWindow(spec.SLOs[2].SLI.PromQL.ErrorQuery, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, `sum(rate(http_request_duration_seconds_count[1h])) - sum(rate(http_request_duration_seconds_bucket{le="0.3"}[5m]))`, expr.String())
}

// TestOpenSLOAlertConditions: what OpenSLO v1 says of alert conditions
// and policies, read as its README and its Go SDK's validation read it,
// every problem where it was written: kind defaults to burnrate; op,
// threshold and lookbackWindow are required; alertAfter may be 0m; a
// policy holds one condition; a condition has one lookbackWindow, so its
// alert is single-window, which a note says; two policies of one tier
// become one alert, which a note says too.
func TestOpenSLOAlertConditions(t *testing.T) {
	const slo1 = `apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: orders
  indicator:
    metadata: {name: errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code=~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast}
      spec:
        conditions:
`
	// condition renders one inline condition at line 21.
	condition := func(body string) string {
		return slo1 + "          - kind: AlertCondition\n            metadata: {name: c}\n            spec:\n              severity: page\n              condition: " + body + "\n"
	}
	tests := []struct {
		name, spec string
		want       string // the error; empty: valid
	}{
		{"no kind: burnrate", condition("{op: gte, threshold: 14.4, lookbackWindow: 1h}"), ""},
		{"alertAfter 0m, OpenSLO's default", condition("{kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h, alertAfter: 0m}"), ""},
		{"no op", condition("{kind: burnrate, threshold: 14.4, lookbackWindow: 1h}"),
			"a.yaml:25:26: burnrate condition needs op: gt (burn rate above the threshold) or gte (at it or above)"},
		{"op lt", condition("{kind: burnrate, op: lt, threshold: 1, lookbackWindow: 1h}"),
			"a.yaml:25:47: burnrate condition op lt would alert while the budget burns slowly: Vigil alerts on a burn rate above a threshold only (gt or gte)"},
		{"no threshold", condition("{kind: burnrate, op: gt, lookbackWindow: 1h}"),
			"a.yaml:25:26: burnrate condition needs a threshold, a burn rate like 14.4"},
		{"negative threshold", condition("{op: gt, threshold: -1, lookbackWindow: 1h}"),
			"a.yaml:25:46: threshold -1 must not be negative"},
		{"gte 0", condition("{op: gte, threshold: 0, lookbackWindow: 1h}"),
			"a.yaml:25:47: threshold 0 with op gte holds whenever there is traffic: use op gt to alert on any error"},
		{"no lookbackWindow", condition("{op: gt, threshold: 14.4}"),
			"a.yaml:25:26: burnrate condition needs a lookbackWindow, the window its burn rate is read over, like 1h"},
		{"two lookbackWindows", condition("{op: gt, threshold: 14.4, lookbackWindow: [1h, 5m]}"),
			"a.yaml:25:68: lookbackWindow is one duration: an OpenSLO condition has one window, and Vigil's alert from it is single-window (see README, SLOs); for a long and a short window, write the SLO in Vigil's format (alerting.windows)"},
		{"lookbackWindow longer than the SLO's window", condition("{op: gt, threshold: 1, lookbackWindow: 60d}"),
			"a.yaml:25:65: lookbackWindow 60d is longer than the SLO's 4w window, whose budget its burn rate is read against"},
		{"kind other than burnrate", condition("{kind: budget, op: gt, threshold: 1, lookbackWindow: 1h}"),
			`a.yaml:25:33: condition kind "budget" is not supported (known: burnrate)`},
		{"no condition", slo1 + "          - kind: AlertCondition\n            metadata: {name: c}\n            spec: {severity: page}\n",
			"a.yaml:23:19: AlertCondition needs a condition: {kind: burnrate, op: gt or gte, threshold, lookbackWindow}"},
		{"two conditions in a policy", slo1 +
			"          - kind: AlertCondition\n            metadata: {name: long}\n            spec: {severity: page, condition: {op: gte, threshold: 14.4, lookbackWindow: 1h}}\n" +
			"          - kind: AlertCondition\n            metadata: {name: short}\n            spec: {severity: page, condition: {op: gte, threshold: 14.4, lookbackWindow: 5m}}\n",
			`a.yaml:24:13: alert policy "fast" has 2 conditions: OpenSLO v1 allows one per policy, and tools read several differently (Nobl9 when all hold, others when any does); write one AlertPolicy per condition, each of which alerts on its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := slo.Parse("a.yaml", []byte(tt.spec))
			if tt.want != "" {
				require.Error(t, err)
				assert.Equal(t, tt.want, err.Error())
				return
			}
			require.NoError(t, err)
			require.Len(t, spec.SLOs[0].Windows, 1)
			assert.Equal(t, time.Hour, spec.SLOs[0].Windows[0].Long)
		})
	}

	// One window per condition, said where it is written; two policies
	// that page are one page alert, named after the first.
	spec, err := slo.Parse("a.yaml", []byte(slo1+
		"          - kind: AlertCondition\n            metadata: {name: long}\n            spec: {severity: page, condition: {op: gte, threshold: 14.4, lookbackWindow: 1h}}\n"+
		"    - kind: AlertPolicy\n      metadata: {name: slow}\n      spec:\n        conditions:\n"+
		"          - kind: AlertCondition\n            metadata: {name: slower}\n            spec: {severity: critical, condition: {op: gt, threshold: 6, lookbackWindow: 6h}}\n"))
	require.NoError(t, err)
	s := spec.SLOs[0]
	assert.Equal(t, []slo.AlertWindow{
		{Severity: "page", Long: time.Hour, Short: time.Hour, BurnRate: 14.4, Inclusive: true},
		{Severity: "page", Long: 6 * time.Hour, Short: 6 * time.Hour, BurnRate: 6},
	}, s.Windows)
	assert.Equal(t, "fast", s.Alerting.Page.Name)
	assert.Equal(t, map[string]string{"severity": "page"}, s.Alerting.Page.Labels, "the first policy's severity")
	assert.Nil(t, s.Alerting.Ticket)
	var notes []string
	for _, n := range slo.Notes([]slo.Spec{*spec}) {
		notes = append(notes, n.String())
	}
	assert.Equal(t, []string{
		"a.yaml:1:1: note: SLO orders/availability runs in the stream and in the rules: ratio of counters http_requests_total and http_requests_total",
		`a.yaml:23:90: note: condition "long" has one window, as OpenSLO conditions do: its page fires while the burn rate over 1h is at or above 14.4 and resolves once it is not, up to 1h after the errors stop (Vigil's own alerts add a short window that clears sooner; see README, SLOs)`,
		`a.yaml:28:13: note: alert policies "fast" and "slow" both make a page: Vigil raises one page alert for the SLO, named "fast", while either condition holds`,
		`a.yaml:30:90: note: condition "slower" has one window, as OpenSLO conditions do: its page fires while the burn rate over 6h is above 6 and resolves once it is not, up to 6h after the errors stop (Vigil's own alerts add a short window that clears sooner; see README, SLOs)`,
	}, notes)
}
