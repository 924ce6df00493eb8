package alerts_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-otel/vigil/alerts"
)

// Example shows the loop of the alertrouter connector: alerts in,
// notifications out, each handover recorded before and confirmed after.
func Example() {
	ctx := context.Background()
	store := alerts.NewMemStore() // the connector passes its storage extension client
	engine := alerts.NewEngine(alerts.DefaultConfig(), store)
	start := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	if err := engine.Restore(ctx, start); err != nil {
		panic(err)
	}

	labels := map[string]string{
		"alertname": "SLOBurnRate-checkout-availability-page", "severity": "page",
		"source": "slo", "service_name": "checkout", "slo": "availability",
	}
	engine.Ingest(alerts.Alert{
		Labels:      labels,
		Annotations: map[string]string{"slo.burn_rate.long": "14.9"},
		State:       alerts.StateFiring,
		StartsAt:    start,
		Fingerprint: alerts.Fingerprint(labels),
	}, start)

	// On every tick: flush, record, hand over, confirm.
	for tick := start; tick.Before(start.Add(10 * time.Second)); tick = tick.Add(time.Second) {
		for _, n := range engine.Flush(tick) {
			fmt.Println(tick.Sub(start), n.Action, n.Receiver, n.DedupKey(), n.Alert.Annotations["slo.burn_rate.long"])
			if err := engine.MarkSending(ctx, n); err != nil {
				fmt.Println("persist:", err)
			}
			var sendErr error // the handover to the receiver's pipeline
			if err := engine.MarkSent(ctx, n, sendErr); err != nil {
				fmt.Println("persist:", err)
			}
		}
	}
	// Output:
	// 5s trigger default c8e569d15948fbad 14.9
}
