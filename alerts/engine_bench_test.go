package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFlush measures one flush tick with 1000 firing alerts (500 SLOs
// with a page and a ticket each, so every ticket is checked for
// inhibition), all groups due and already notified.
func BenchmarkFlush(b *testing.B) {
	benchmarkFlush(b, nil)
}

// BenchmarkFlushTwoIntegrations is BenchmarkFlush with the receiver's
// two integrations (full.yaml's PagerDuty and webhook pipelines), each
// with its own log entries to check.
func BenchmarkFlushTwoIntegrations(b *testing.B) {
	benchmarkFlush(b, map[string][]string{DefaultReceiverName: {"logs/pagerduty", "logs/webhook"}})
}

func benchmarkFlush(b *testing.B, integrations map[string][]string) {
	cfg := DefaultConfig()
	cfg.ResolveTimeout = 1000 * time.Hour
	e := NewEngine(cfg, nil)
	if integrations != nil {
		e.SetIntegrations(integrations, nil)
	}
	for i := range 500 {
		for _, sev := range []string{"page", "ticket"} {
			e.Ingest(alertOf("Burn", "severity", sev, "slo", fmt.Sprintf("slo-%d", i), "service_name", "svc"), t0)
		}
	}
	for _, n := range e.Flush(t0.Add(time.Minute)) {
		if err := e.MarkSent(context.Background(), n, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		now := t0.Add(time.Minute + time.Duration(i+1)*DefaultGroupInterval)
		e.Flush(now)
	}
}

// BenchmarkFleetView measures what the alerts of one evaluator of a fleet
// cost each flush_interval and each console request, with 1000 firing
// alerts (500 SLOs of 50 services, a page and a ticket each) on it and
// 1000 on another evaluator: a console's list of the fleet's alerts,
// publishing an unchanged view (the usual case: computed and compared,
// not written) and publishing one whose alert was re-reported (written).
func BenchmarkFleetView(b *testing.B) {
	store := NewMemStore()
	var views []*FleetView
	for ev := range 2 {
		cfg := DefaultConfig()
		cfg.ResolveTimeout = 1000 * time.Hour
		e := NewEngine(cfg, store)
		e.ShardByService()
		for i := range 500 {
			for _, sev := range []string{"page", "ticket"} {
				e.Ingest(alertOf("Burn", "severity", sev, "slo", fmt.Sprintf("slo-%d", i), "service_name", fmt.Sprintf("svc-%d-%d", ev, i%50)), t0)
			}
		}
		v := NewFleetView(e, store, fmt.Sprint("ev", ev), time.Second)
		if err := v.Publish(context.Background(), t0, nil); err != nil {
			b.Fatal(err)
		}
		views = append(views, v)
	}
	b.Run("list the fleet", func(b *testing.B) {
		for range b.N {
			got, err := views[0].Alerts(context.Background(), t0.Add(time.Second))
			if err != nil || len(got) != 2000 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("publish unchanged", func(b *testing.B) {
		for i := range b.N {
			// Within ViewRefresh of the last write.
			if err := views[0].Publish(context.Background(), t0.Add(time.Duration(i%4)*time.Second/4), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("publish re-reported", func(b *testing.B) {
		// An alert re-reported at every publish, 31s apart: the view
		// is written each time.
		a := alertOf("Burn", "severity", "page", "slo", "slo-0", "service_name", "svc-0-0")
		for i := range b.N {
			at := t0.Add(time.Duration(i+1) * 31 * time.Second)
			views[0].engine.Ingest(a, at)
			if err := views[0].Publish(context.Background(), at, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
