package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestLoadReachesCollector runs a short rate-limited load against the built
// binary and checks that the collector accepted exactly what the client saw
// acknowledged, and that the process readings work.
func TestLoadReachesCollector(t *testing.T) {
	inst := vigiltest.Start(t, vigiltest.Options{})
	l := Load{Endpoint: inst.OTLPGRPCEndpoint(), Rate: 2000, Duration: time.Second, Batch: 50, Workers: 2, Services: 2, ErrorPct: 5}
	sent, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sent.Spans == 0 || sent.Failed != 0 {
		t.Fatalf("sent %+v", sent)
	}
	// The limiter allows one batch of burst above the rate.
	if max := int64(l.Rate*2 + l.Batch); sent.Spans > max {
		t.Errorf("rate limit not kept: %d spans in %v", sent.Spans, sent.Elapsed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = vigiltest.Eventually(ctx, func() error {
		if got := accepted(inst.TelemetryURL()); got != float64(sent.Spans) {
			return &countError{got, sent.Spans}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := cpuTime(inst.Pid())
	if err != nil || cpu <= 0 {
		t.Errorf("cpuTime = %v, %v", cpu, err)
	}
	rss, err := peakRSS(inst.Pid())
	if err != nil || rss < 1<<20 {
		t.Errorf("peakRSS = %d, %v", rss, err)
	}
}

type countError struct {
	got  float64
	want int64
}

func (e *countError) Error() string {
	return fmt.Sprintf("collector accepted %.0f spans, client sent %d", e.got, e.want)
}
