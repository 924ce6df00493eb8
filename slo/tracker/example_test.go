package tracker_test

import (
	"fmt"
	"time"

	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// A connector records classified events as they arrive and evaluates on a
// ticker; here a simulated clock stands in for both.
func Example() {
	availability := slo.SLO{
		Service:   "checkout",
		Name:      "availability",
		Objective: 99.9,
		Window:    slo.Window{Rolling: 30 * 24 * time.Hour},
		SLI:       slo.SLI{Spans: &slo.SpanSLI{Bad: slo.SpanBad{StatusError: true}}},
		Alerting:  slo.Alerting{Page: &slo.AlertPolicy{}},
	}
	start := time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC)
	clock := tracker.NewSimClock(start)
	tr := tracker.New([]slo.SLO{availability}, tracker.Options{Clock: clock.Now})

	// Ten minutes at 10 requests a second, 2% of them failing.
	for s := 1; s <= 600; s++ {
		now := start.Add(time.Duration(s) * time.Second)
		clock.Set(now)
		bad := uint64(0)
		if s%5 == 0 {
			bad = 1
		}
		if err := tr.Record(availability.ID(), nil, now, 10-bad, bad); err != nil {
			fmt.Println(err)
		}
	}

	statuses, transitions := tr.Evaluate(clock.Now())
	st := statuses[0]
	burn5m, _ := st.BurnRate(5 * time.Minute)
	fmt.Printf("%s: burn rate 5m %.1f, budget remaining %.1f\n", st.SLOID, burn5m, st.ErrorBudgetRemaining)
	for _, t := range transitions {
		fmt.Printf("%s %s on %v/%v\n", t.Severity, t.State, t.Window.Long, t.Window.Short)
	}
	// Output:
	// checkout/availability: burn rate 5m 20.0, budget remaining -19.0
	// page firing on 1h0m0s/5m0s
}
