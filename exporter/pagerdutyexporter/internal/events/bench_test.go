package events

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

// benchAlert is a realistic SLO page: a summary, a few details, two links.
func benchAlert(i int) Alert {
	return Alert{
		Action:      ActionTrigger,
		Fingerprint: "fp-" + strconv.Itoa(i),
		Summary:     "checkout: availability SLO burning 14.4x its error budget (1h/5m)",
		Service:     "checkout",
		Severity:    "page",
		Component:   "http",
		Class:       "slo",
		Time:        time.Now(),
		Details: map[string]any{
			"slo.name": "checkout-availability", "slo.objective": 0.999,
			"slo.burn_rate.long": 14.6, "slo.burn_rate.short": 15.2,
			"slo.error_budget.remaining": 0.71,
			"alert.trace_ids":            []string{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7a3ce929d0e0e4736"},
		},
		Links: []Link{
			{Href: "http://localhost:3000/d/vigil-slo?var-service=checkout", Text: "SLO dashboard"},
			{Href: "https://runbooks.example/checkout", Text: "Runbook"},
		},
	}
}

// BenchmarkBuildAndSend measures build + encode + HTTP send to the strict
// fake over loopback, one event at a time, as the exporter sends them.
func BenchmarkBuildAndSend(b *testing.B) {
	fake := fakepagerduty.New(b)
	c := newTestClient(b, ClientSettings{Endpoint: fake.EnqueueURL()})
	builder, err := NewBuilder(BuilderSettings{Client: "Vigil"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, err := builder.Build(testKey, benchAlert(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Send(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if n := len(fake.Events()); n != b.N {
		b.Fatalf("fake accepted %d of %d", n, b.N)
	}
}

// BenchmarkBuildAndEncode measures the CPU side alone.
func BenchmarkBuildAndEncode(b *testing.B) {
	builder, err := NewBuilder(BuilderSettings{Client: "Vigil"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ev, err := builder.Build(testKey, benchAlert(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
