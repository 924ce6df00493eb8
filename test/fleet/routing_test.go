package fleet

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// metricSLO is the name of the test services' SLO on their own metric
// requests (bad: outcome="error").
const metricSLO = "requests"

// writeSpecsWithMetricSLO writes, per service, writeSpecs' availability SLO
// on spans and a second SLO on the service's delta counter requests.
func writeSpecsWithMetricSLO(t *testing.T, services []string) string {
	t.Helper()
	return writeSpecs(t, services, fmt.Sprintf(`  - name: %s
    objective: %g
    window: 30d
    sli:
      metrics:
        total:
          metric: requests
        bad:
          metric: requests
          attributes:
            - {key: outcome, op: "=", value: error}
    alerting:
      page: {}
      ticket: {}
`, metricSLO, objective))
}

// metricsRequest is the delta counter requests of service in one
// request: good points of outcome="ok" and bad of outcome="error" (two
// data points).
func metricsRequest(service string, good, bad int) pmetricotlp.ExportRequest {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	now := time.Now()
	for _, p := range []struct {
		outcome string
		n       int
	}{{"ok", good}, {"error", bad}} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
		dp.SetIntValue(int64(p.n))
		dp.Attributes().PutStr("outcome", p.outcome)
	}
	return pmetricotlp.NewExportRequestFromMetrics(md)
}

// mustSendMetrics sends metricsRequest, retrying for up to 30s while the
// gateway pushes back.
func (c *client) mustSendMetrics(t *testing.T, service string, good, bad int) {
	t.Helper()
	otlp := pmetricotlp.NewGRPCClient(c.conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := otlp.Export(ctx, metricsRequest(service, good, bad))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sending the metrics of %s: %v", service, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// accepted is how many items of a signal an evaluator's OTLP receiver
// took, by its counter (otelcol_receiver_accepted_spans, ...).
func accepted(t *testing.T, inst *vigiltest.Instance, counter string) float64 {
	t.Helper()
	fams, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil {
		t.Fatal(err)
	}
	return vigiltest.Sum(fams, counter, map[string]string{"receiver": "otlp"})
}

// landing sends n items of one signal (send), waits until the evaluators'
// counter has grown by n in all, and returns the index of the evaluator
// that took them: -1 when they were split between evaluators.
func landing(t *testing.T, evs []*vigiltest.Instance, counter string, n float64, what string, send func()) int {
	t.Helper()
	before := make([]float64, len(evs))
	for i, e := range evs {
		before[i] = accepted(t, e, counter)
	}
	send()
	got := make([]float64, len(evs))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var total float64
		for i, e := range evs {
			got[i] = accepted(t, e, counter) - before[i]
			total += got[i]
		}
		if total >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v of %v items reached the evaluators within 30s", what, total, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	to := -1
	for i := range evs {
		if got[i] == n {
			to = i
		}
	}
	return to
}

// sloSeries is an evaluator's vigil_slo_events_total of one SLO of a
// service, by outcome; found is false when it exports none.
func sloSeries(inst *vigiltest.Instance, service, slo string) (good, bad float64, found bool) {
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	if err != nil {
		return 0, 0, false
	}
	mf := fams["vigil_slo_events_total"]
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["service_name"] != service || labels["slo"] != slo {
			continue
		}
		found = true
		if labels["outcome"] == "good" {
			good += m.GetCounter().GetValue()
		} else {
			bad += m.GetCounter().GetValue()
		}
	}
	return good, bad, found
}

// pageFiring is an evaluator's vigil_slo_alert_firing of an SLO's page.
func pageFiring(inst *vigiltest.Instance, service, slo string) float64 {
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	if err != nil {
		return 0
	}
	return vigiltest.Sum(fams, "vigil_slo_alert_firing", map[string]string{"service_name": service, "slo": slo, "severity": "page"})
}

// metricPaged is whether the fake holds a critical trigger of the
// service's metric SLO (the payload's group is the SLO).
func metricPaged(f *fleet, service string) bool {
	for _, ev := range f.fake.Events() {
		if ev.EventAction == "trigger" && ev.Payload != nil && ev.Payload.Source == service &&
			ev.Payload.Severity == "critical" && ev.Payload.Group == metricSLO {
			return true
		}
	}
	return false
}

// sloCounts is what one evaluator exports of both SLOs of a service.
type sloCounts struct {
	found           bool    // series of either SLO
	spans           float64 // availability's events
	mGood, mBad     float64 // the metric SLO's events
	metricSLOPaging bool    // its page firing
}

// countsAt reads them.
func countsAt(inst *vigiltest.Instance, service string) sloCounts {
	var c sloCounts
	g, b, found := sloSeries(inst, service, "availability")
	c.spans = g + b
	mg, mb, mfound := sloSeries(inst, service, metricSLO)
	c.mGood, c.mBad = mg, mb
	c.found = found || mfound
	c.metricSLOPaging = mfound && pageFiring(inst, service, metricSLO) == 1
	return c
}

// sentCounts is what the clients had accepted of each service.
type sentCounts struct {
	mu                 sync.Mutex
	spans, mGood, mBad map[string]int
}

func (y *sentCounts) add(service string, spans, good, bad int) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.spans[service] += spans
	y.mGood[service] += good
	y.mBad[service] += bad
}

func (y *sentCounts) get(service string) (spans, good, bad int) {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.spans[service], y.mGood[service], y.mBad[service]
}

// TestFleetRoutesEverySignalOfAServiceToOneEvaluator: a gateway and two
// evaluators; ten services, each with an SLO on its spans (availability)
// and one on its metric requests. contrib's load_balancing exporter
// with routing_key: service hashes "service.name=<name>|" for spans and
// "<name>" for logs and metrics, so a service's spans and its other
// signals may reach different evaluators; gateway.yaml routes by
// routing_key: attributes on service.name, one key for the three.
//
// First, of each service, one span, one log record and one metrics
// request, each sent alone, reach the same evaluator. Then, while every
// service sends spans and metrics steadily (as services do: the
// evaluator holding a service's lease never falls quiet, so it keeps
// it; here all services in one request per signal, which the gateway
// splits per service), the evaluator that receives a service exports
// both SLOs' series with every event sent (an evaluator accounts a
// service it does not own but emits nothing of it), no other evaluator
// exports any, and it pages for the metric SLO. (Checked during the
// traffic: with the signals split, once it stops the evaluator holding
// the lease falls quiet, hands the service over to the other, and the
// counts come together.) When the traffic stops, the counts are exact.
func TestFleetRoutesEverySignalOfAServiceToOneEvaluator(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 10 {
		services = append(services, serviceName(i))
	}
	f := newFleet(t, redis.Addr, services)
	f.specs = writeSpecsWithMetricSLO(t, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := &sentCounts{spans: map[string]int{}, mGood: map[string]int{}, mBad: map[string]int{}}

	// Where each signal of each service goes, one request at a time.
	spansTo, logsTo, metricsTo := map[string]int{}, map[string]int{}, map[string]int{}
	for _, s := range services {
		spansTo[s] = landing(t, evs, "otelcol_receiver_accepted_spans", 1, s+"'s span", func() { c.mustSend(t, s, 1, false) })
		y.add(s, 1, 0, 0)
		logsTo[s] = landing(t, evs, "otelcol_receiver_accepted_log_records", 1, s+"'s log record", func() { sendLogs(t, c, s, 0, 1) })
		metricsTo[s] = landing(t, evs, "otelcol_receiver_accepted_metric_points", 2, s+"'s metric points", func() { c.mustSendMetrics(t, s, 1, 1) })
		y.add(s, 0, 1, 1)
	}
	perEvaluator := make([]int, len(evs))
	for _, s := range services {
		to := spansTo[s]
		if to < 0 || logsTo[s] != to || metricsTo[s] != to {
			t.Errorf("%s: its span went to evaluator %d, its log record to %d, its metric points to %d (-1: split); want one evaluator", s, to, logsTo[s], metricsTo[s])
			continue
		}
		perEvaluator[to]++
	}
	t.Logf("services per evaluator: %v", perEvaluator)

	// Steady traffic: every 250ms, 5 spans and 5 good and 5 bad events of
	// the metric (a burn rate of 500: the metric SLO pages) of every
	// service, all services in one request of each signal, which the
	// gateway splits per service.
	send := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		td := ptrace.NewTraces()
		md := pmetric.NewMetrics()
		for _, s := range services {
			spans(s, 5, false).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			metricsRequest(s, 5, 5).Metrics().ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
		}
		if _, err := c.otlp.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err == nil {
			for _, s := range services {
				y.add(s, 5, 0, 0)
			}
		}
		if _, err := pmetricotlp.NewGRPCClient(c.conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md)); err == nil {
			for _, s := range services {
				y.add(s, 0, 5, 5)
			}
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			send()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	stopTraffic := sync.OnceFunc(func() { close(stop); <-done })
	t.Cleanup(stopTraffic)

	// Past a handover's quiet time and a few evaluations, while the
	// traffic goes on, every service's owner reports what was sent by
	// then of both signals: the metric SLO's series never stall on an
	// evaluator that does not own the service.
	time.Sleep(3 * time.Second)
	type target struct{ spans, good, bad int }
	targets := map[string]target{}
	for _, s := range services {
		sp, g, b := y.get(s)
		targets[s] = target{sp, g, b}
	}
	check := func(s string, exact bool) string {
		want := targets[s]
		if exact {
			sp, g, b := y.get(s)
			want = target{sp, g, b}
		}
		var exporting []int
		var at sloCounts
		for i, e := range evs {
			if got := countsAt(e, s); got.found {
				exporting, at = append(exporting, i), got
			}
		}
		switch {
		case len(exporting) != 1:
			return fmt.Sprintf("evaluators %v export its SLO series, want one", exporting)
		case spansTo[s] >= 0 && exporting[0] != spansTo[s]:
			return fmt.Sprintf("evaluator %d exports its SLO series (%v span events, %v good and %v bad metric events), its spans go to %d",
				exporting[0], at.spans, at.mGood, at.mBad, spansTo[s])
		case exact && (at.spans != float64(want.spans) || at.mGood != float64(want.good) || at.mBad != float64(want.bad)),
			!exact && (at.spans < float64(want.spans) || at.mGood < float64(want.good) || at.mBad < float64(want.bad)):
			return fmt.Sprintf("evaluator %d counts %v span events, %v good and %v bad metric events; want %s %d, %d and %d",
				exporting[0], at.spans, at.mGood, at.mBad, map[bool]string{true: "exactly", false: "at least"}[exact], want.spans, want.good, want.bad)
		case !at.metricSLOPaging:
			return fmt.Sprintf("evaluator %d does not report the page of %s firing", exporting[0], metricSLO)
		case !metricPaged(f, s):
			return "no page of " + metricSLO + " at PagerDuty"
		}
		return ""
	}
	waitAll := func(exact bool, within time.Duration, when string) {
		t.Helper()
		missing := map[string]string{}
		deadline := time.Now().Add(within)
		for {
			clear(missing)
			for _, s := range services {
				if why := check(s, exact); why != "" {
					missing[s] = why
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		for _, s := range services {
			if why, ok := missing[s]; ok {
				t.Errorf("%s, %s: %s", s, when, why)
			}
		}
	}
	waitAll(false, notifyWait, "during steady traffic")
	stopTraffic()
	waitAll(true, 15*time.Second, "after the traffic stopped")
}
