package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestSIGTERMWithQueuedDataDropsNothing runs full.yaml with Loki down,
// sends logs (acknowledged: they are in the disk queue), stops the
// collector with SIGTERM while the queue waits to retry, then starts Loki
// and the collector again: every record reaches Loki, and the shutdown
// log says the queued requests were kept, never that data was dropped.
func TestSIGTERMWithQueuedDataDropsNothing(t *testing.T) {
	dir := t.TempDir()
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	env := map[string]string{
		"CLICKHOUSE_ENDPOINT":         "tcp://" + down(),
		"LOKI_ENDPOINT":               "http://" + down(),
		"PROMETHEUS_REMOTE_WRITE_URL": "http://" + down() + "/api/v1/write",
		"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
		"VIGIL_PPROF_ENDPOINT":        down(),
	}
	opts := vigiltest.Options{
		Args: []string{"--config", filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml")},
		Env:  env,
	}
	inst := vigiltest.Start(t, opts)
	opts.Ports, opts.StorageDir = inst.Ports, inst.StorageDir

	l := newLoad(inst.OTLPHTTPEndpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const requests = 20
	for i := range requests {
		ids := make([]int64, perRequest)
		for j := range ids {
			ids[j] = int64(i*perRequest + j)
		}
		if !l.send(ctx, "logs", ids) {
			t.Fatal("the collector did not take the logs")
		}
		for _, id := range ids {
			l.acked["logs"][id] = true
		}
	}
	// Let the loki exporter fail once and wait to retry.
	err := vigiltest.Eventually(ctx, func() error {
		for _, line := range strings.Split(inst.Log(), "\n") {
			if strings.Contains(line, "Will retry the request") && strings.Contains(line, `"otelcol.component.id": "loki"`) {
				return nil
			}
		}
		return fmt.Errorf("loki has not failed yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Stop(syscall.SIGTERM, time.Minute); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	shutdownLog := inst.Log()
	if n := strings.Count(shutdownLog, "Dropping data"); n > 0 {
		t.Errorf("the shutdown logged %q %d times, though the disk queue keeps every request:\n%s",
			"Dropping data", n, grepLines(shutdownLog, "Dropping data", 3))
	}
	// A clean shutdown prints no Go stack trace under its info lines.
	lines := strings.Split(shutdownLog, "\n")
	for i, line := range lines {
		if strings.Contains(line, "stays in the persistent queue") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "go.opentelemetry.io/") {
			t.Errorf("the shutdown's info line is followed by a stack trace:\n%s\n%s", line, lines[i+1])
			break
		}
	}

	// Loki appears; the queue drains after the restart.
	loki := lokitest.Start(t, false)
	opts.Env["LOKI_ENDPOINT"] = loki.URL
	inst = vigiltest.Start(t, opts)
	var lost []int64
	err = vigiltest.Eventually(ctx, func() error {
		lost, _ = lokiTally(t, loki).count("logs", l.ackedIDs("logs"))
		if len(lost) > 0 {
			return fmt.Errorf("%d of %d records not in Loki", len(lost), requests*perRequest)
		}
		return nil
	})
	if err != nil {
		t.Errorf("after the restart: %v", err)
	}
	t.Logf("%d records queued during the outage, SIGTERM, restart: %d lost; the shutdown logged %d lines about queued requests",
		requests*perRequest, len(lost), strings.Count(shutdownLog, "stays in the persistent queue"))
}

// grepLines returns the first n lines of s containing sub.
func grepLines(s, sub string, n int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
