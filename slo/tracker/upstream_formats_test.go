package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

// TestSlothSLOInTheStreamKeepsTheMinEventsGuard: a Sloth SLO evaluated in
// the stream keeps Vigil's deliberate difference from Sloth's rules: a
// lone failure on a quiet night (one bad request a minute) burns at 1000x,
// which Sloth's rule pages on at once (its error ratio over 5m and 1h is
// 1), but Vigil waits for DefaultMinEvents events in the long window. And
// an SLO with its own table (Pyrra's) is evaluated on that table's
// windows: the 4d ticket window of a 28d Pyrra SLO.
func TestSlothSLOInTheStreamKeepsTheMinEventsGuard(t *testing.T) {
	spec, err := slo.Parse("sloth.yaml", []byte(`version: prometheus/v1
service: myservice
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting: {name: HighErrorRate, page_alert: {labels: {severity: pageteam}}, ticket_alert: {disable: true}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := spec.SLOs[0]
	if !s.Evaluation().InStream {
		t.Fatalf("the SLI should run in the stream: %s", s.Evaluation().Reason)
	}
	tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	steps, err := RunReplay(tr, clock, Replay{
		Start: t0, End: t0.Add(time.Hour), Tick: time.Minute,
		Traffic:       steady(s.ID(), 1, func(time.Time) bool { return true }),
		EvaluateEvery: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []transitionKey{{page, firing, t0.Add(slo.DefaultMinEvents * time.Minute)}}
	if got := transitionKeys(steps); !slices.Equal(got, want) {
		t.Errorf("transitions %v, want %v: the page waits for %d events where Sloth's rule fires at the first minute", got, want, slo.DefaultMinEvents)
	}

	pyrra, err := slo.Parse("pyrra.yaml", []byte(`apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api, namespace: shop}
spec:
  target: "99"
  window: 4w
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{code=~"5.."}'}
      total: {metric: 'http_requests_total'}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := New(pyrra.SLOs, Options{}).slos[pyrra.SLOs[0].ID()]
	var windows []time.Duration
	for _, w := range st.layout.burn {
		windows = append(windows, w.window)
	}
	if want := pyrra.SLOs[0].BurnRateWindows(); !slices.Equal(windows, want) || windows[len(windows)-1] != 4*24*time.Hour {
		t.Errorf("tracked windows %v, want Pyrra's %v", windows, want)
	}
}

// TestOpenSLOGteHoldsAtTheThreshold: an OpenSLO condition's op reaches
// the collector's alert as it reaches the rules: op gte holds at a burn
// rate equal to the threshold, gt only above it. One failed request in
// every thousand burns a 99.9% SLO's budget at exactly 1.
func TestOpenSLOGteHoldsAtTheThreshold(t *testing.T) {
	for _, tt := range []struct {
		op    string
		fires bool
	}{{"gte", true}, {"gt", false}} {
		spec, err := slo.Parse("openslo.yaml", []byte(`apiVersion: openslo/v1
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
  objectives: [{target: 0.999}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: budget-pace}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: pace}
            spec: {severity: page, condition: {kind: burnrate, op: `+tt.op+`, threshold: 1, lookbackWindow: 1h}}
`))
		if err != nil {
			t.Fatal(err)
		}
		s := spec.SLOs[0]
		if !s.Evaluation().InStream {
			t.Fatalf("the SLI should run in the stream: %s", s.Evaluation().Reason)
		}
		tr, clock := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
		steps, err := RunReplay(tr, clock, Replay{
			Start: t0, End: t0.Add(30 * time.Minute), Tick: time.Minute,
			Traffic:       func(time.Time) []ReplayEvent { return []ReplayEvent{{SLOID: s.ID(), Good: 999, Bad: 1}} },
			EvaluateEvery: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []transitionKey
		if tt.fires {
			want = []transitionKey{{page, firing, t0.Add(time.Minute)}}
		}
		if got := transitionKeys(steps); !slices.Equal(got, want) {
			t.Errorf("op %s: transitions %v, want %v", tt.op, got, want)
		}
		// The op does not change what the counts mean: a checkpoint
		// written before it was read restores.
		plain := s
		plain.Windows = slices.Clone(s.Windows)
		for i := range plain.Windows {
			plain.Windows[i].Inclusive = false
		}
		if accountingFingerprint(s) != accountingFingerprint(plain) {
			t.Errorf("op %s changes the accounting fingerprint", tt.op)
		}
	}
}
