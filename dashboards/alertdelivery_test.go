package dashboards

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql"
)

// TestRefusedPagesAreDeliveryFailures: PagerDuty refusing every event
// (400, "Invalid routing key") shows on the collector dashboard as failed
// deliveries. The pagerduty exporter counts such an event in
// otelcol_pagerduty_events_failed and returns no error, so exporterhelper
// counts it as sent and otelcol_exporter_send_failed_log_records never
// appears: panels built on that alone showed 0 failures while every page
// was refused (ops-trial-REPORT B1). A webhook exporter dropping
// notifications shows in the stat panel too.
func TestRefusedPagesAreDeliveryFailures(t *testing.T) {
	self := []string{"job", "vigil", "instance", "vigil:8888"}
	with := func(kv ...string) []string { return append(append([]string{}, self...), kv...) }
	cases := []struct {
		name   string
		series []simSeries
	}{
		{"PagerDuty refuses every event", []simSeries{
			{simLabels(with("__name__", otelExporterSent+"log_records", "exporter", "pagerduty")...), counter(0.01)},
			{simLabels(with("__name__", otelPagerDutyEventsFailed, "action", "trigger", "receiver", "default", "reason", "invalid_event")...), counter(0.01)},
		}},
		{"the webhook receiver refuses every message", []simSeries{
			{simLabels(with("__name__", otelExporterFailed+"log_records", "exporter", "webhook/chat")...), counter(0.01)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := &simulator{engine: newSimulator().engine, store: &simStorage{series: tc.series}}
			if got := sumOfPanel(t, sim, "vigil.json: Alert delivery failures (1h)", nil); got <= 0 {
				t.Errorf(`"Alert delivery failures (1h)" shows %v`, got)
			}
			if strings.HasPrefix(tc.name, "PagerDuty") {
				// Every query but the one of what was sent.
				failed := sumOfPanel(t, sim, "vigil.json: Alert events delivered to PagerDuty", func(text string) bool {
					return !strings.Contains(text, otelExporterSent)
				})
				if failed <= 0 {
					t.Errorf(`"Alert events delivered to PagerDuty" shows no failed event (%v)`, failed)
				}
			}
		})
	}
}

// sumOfPanel runs, at simEnd, the queries of the panel whose where starts
// with prefix (those keep accepts, when given) on sim and sums every value.
func sumOfPanel(t *testing.T, sim *simulator, prefix string, keep func(string) bool) float64 {
	t.Helper()
	value := func(name, _ string) string {
		if d, ok := grafanaDurations[name]; ok {
			return d
		}
		return ".*"
	}
	n, total := 0, 0.0
	for _, q := range queriesOfType(t, PrometheusType) {
		if !strings.HasPrefix(q.where, prefix+" (") || keep != nil && !keep(q.text) {
			continue
		}
		n++
		expr := substitute(q.text, value)
		pq, err := sim.engine.NewInstantQuery(context.Background(), sim.store, nil, expr, simEnd)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		res := pq.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s: %v", q.where, res.Err)
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			for _, s := range v {
				total += s.F
			}
		case promql.Scalar:
			total += v.V
		}
		pq.Close()
	}
	if n == 0 {
		t.Fatalf("no query of %q", prefix)
	}
	return total
}
