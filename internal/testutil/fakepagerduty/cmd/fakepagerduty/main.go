// Command fakepagerduty runs the strict local PagerDuty Events API v2 server
// for end-to-end tests through the built collector or Alertmanager. It
// writes every accepted event as a JSON line to -out (stdout by default),
// prints "listening on URL" to stderr once it accepts connections, and runs
// until it is killed. It handles no signal: SIGINT and SIGTERM end it at
// once, and as each event is written when it is accepted, nothing is lost
// (only the collector handles signals in this repository). Tests script answers and read what arrived
// through the /_fake/ control endpoints (see fakepagerduty.Server.Handler).
//
//	fakepagerduty -addr 127.0.0.1:8787 -out events.jsonl -rate-limit 120
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fakepagerduty:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakepagerduty", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on (port 0 picks a free one)")
	out := fs.String("out", "-", "file accepted events are appended to as JSON lines; - for stdout")
	rateLimit := fs.Int("rate-limit", 0, "answer 429 above this many events per -rate-window per routing key (0: off)")
	rateWindow := fs.Duration("rate-window", time.Minute, "window of -rate-limit")
	retryAfter := fs.Duration("retry-after", 5*time.Second, "Retry-After sent with rate-limit 429s")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var sink io.Writer = stdout
	if *out != "-" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		sink = f
	}

	srv, err := fakepagerduty.Start(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.WriteAcceptedTo(sink)
	if *rateLimit > 0 {
		srv.SetRateLimit(*rateLimit, *rateWindow, *retryAfter)
	}
	fmt.Fprintf(stderr, "listening on %s (events: %s)\n", srv.URL, srv.EnqueueURL())

	<-ctx.Done()
	return nil
}
