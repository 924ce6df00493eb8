// Command loadgen drives a running vigil (or any OTLP gRPC endpoint) with
// spans from a real OTLP client, at a given rate or flat out, and reports
// spans per second sustained, the collector's CPU seconds per million spans
// and its peak RSS (read from /proc for -pid).
//
//	go run ./bench/loadgen -endpoint 127.0.0.1:4317 -pid $(pidof vigil) -duration 30s
//
// bench/run.sh starts the binary on its embedded default and runs this.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func main() {
	var (
		l         Load
		pid       int
		telemetry string
	)
	flag.StringVar(&l.Endpoint, "endpoint", "127.0.0.1:4317", "OTLP gRPC endpoint")
	flag.IntVar(&l.Rate, "rate", 0, "spans per second (0: flat out)")
	flag.DurationVar(&l.Duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&l.Batch, "batch", 200, "spans per export request")
	flag.IntVar(&l.Workers, "workers", 4, "concurrent senders")
	flag.IntVar(&l.Services, "services", 5, "distinct service.name values")
	flag.Float64Var(&l.ErrorPct, "errors", 1, "percent of spans with status Error")
	flag.IntVar(&pid, "pid", 0, "collector process ID, for CPU and RSS")
	flag.StringVar(&telemetry, "telemetry", "http://127.0.0.1:8888/metrics", "collector self-telemetry URL (\"\" to skip)")
	flag.Parse()

	if err := run(l, pid, telemetry); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(l Load, pid int, telemetry string) error {
	var cpuBefore time.Duration
	if pid > 0 {
		var err error
		if cpuBefore, err = cpuTime(pid); err != nil {
			return err
		}
	}
	acceptedBefore := accepted(telemetry)
	sent, err := l.Run(context.Background())
	if err != nil {
		return err
	}
	rate := float64(sent.Spans) / sent.Elapsed.Seconds()
	fmt.Printf("target rate        %s\n", rateName(l.Rate))
	fmt.Printf("duration           %.1fs\n", sent.Elapsed.Seconds())
	fmt.Printf("spans acknowledged %d (%d requests, %d spans failed)\n", sent.Spans, sent.Requests, sent.Failed)
	if sent.FirstError != nil {
		fmt.Printf("first failure      %v\n", sent.FirstError)
	}
	fmt.Printf("spans/s sustained  %.0f\n", rate)
	if telemetry != "" {
		// The collector's own count, which must agree with the client's.
		time.Sleep(500 * time.Millisecond)
		fmt.Printf("collector accepted %.0f spans\n", accepted(telemetry)-acceptedBefore)
	}
	if pid > 0 {
		cpuAfter, err := cpuTime(pid)
		if err != nil {
			return err
		}
		rss, err := peakRSS(pid)
		if err != nil {
			return err
		}
		cpu := (cpuAfter - cpuBefore).Seconds()
		fmt.Printf("collector CPU      %.2fs (%.2f cores)\n", cpu, cpu/sent.Elapsed.Seconds())
		if sent.Spans > 0 {
			fmt.Printf("CPU s per 1M spans %.2f\n", cpu/float64(sent.Spans)*1e6)
		}
		if cpu > 0 {
			// The figure bench/compare.sh compares: work done per unit of
			// the collector's CPU, independent of how many cores it got.
			fmt.Printf("spans per CPU-s    %.0f\n", float64(sent.Spans)/cpu)
		}
		fmt.Printf("peak RSS           %.1f MiB\n", float64(rss)/(1<<20))
	}
	return nil
}

func accepted(url string) float64 {
	if url == "" {
		return 0
	}
	families, err := vigiltest.Scrape(url)
	if err != nil {
		return 0
	}
	return vigiltest.Sum(families, "otelcol_receiver_accepted_spans", map[string]string{"transport": "grpc"})
}

func rateName(r int) string {
	if r == 0 {
		return "flat out"
	}
	return fmt.Sprintf("%d spans/s", r)
}
