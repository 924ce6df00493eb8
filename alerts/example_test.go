package alerts_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-otel/vigil/alerts"
)

// Example shows the loop of the pagerduty exporter: alert events in,
// notifications out, each delivery reported back.
func Example() {
	ctx := context.Background()
	store := alerts.NewMemStore() // the exporter passes its storage extension client
	engine := alerts.NewEngine(alerts.DefaultConfig(), store)
	start := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	if err := engine.Restore(ctx, start); err != nil {
		panic(err)
	}

	event := map[string]string{
		"alert.name": "SLOBurnRate-checkout-availability-page", "alert.state": "firing",
		"alert.severity": "page", "alert.source": "slo", "service.name": "checkout", "slo.name": "availability",
		"slo.burn_rate.long": "14.9",
	}
	a, err := alerts.FromEvent("checkout availability: budget burning 14.9x", event, start)
	if err != nil {
		panic(err)
	}
	engine.Ingest(a, start)

	// On every tick: flush, send, report.
	for tick := start; tick.Before(start.Add(10 * time.Second)); tick = tick.Add(time.Second) {
		for _, n := range engine.Flush(tick) {
			fmt.Println(tick.Sub(start), n.Action, n.Receiver, n.DedupKey(), n.Alert.Annotations["slo.burn_rate.long"])
			var sendErr error // the Events API v2 call
			if err := engine.MarkSent(ctx, n, sendErr); err != nil {
				fmt.Println("persist:", err)
			}
		}
	}
	// Output:
	// 5s trigger default 3da51f0b61ceafb2 14.9
}
