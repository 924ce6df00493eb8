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
// (single-window: long and short alike) with its alertAfter as for:; a
// critical condition pages, others make tickets, and the condition's
// severity reaches the alert as the user's label. Quarter calendar
// windows keep their start and time zone; Timeslices keep their slice.
func TestOpenSLOAlertPolicies(t *testing.T) {
	specs, err := slo.LoadFiles("testdata/formats/openslo-policies.yaml")
	require.NoError(t, err)
	s := specs[0].SLOs[0]
	assert.Equal(t, []slo.AlertWindow{
		{Severity: "page", Long: time.Hour, Short: time.Hour, BurnRate: 10, For: 5 * time.Minute},
		{Severity: "ticket", Long: 24 * time.Hour, Short: 24 * time.Hour, BurnRate: 2},
	}, s.Windows)
	require.NotNil(t, s.Alerting.Page)
	assert.Equal(t, "checkout-burn", s.Alerting.Page.Name)
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
