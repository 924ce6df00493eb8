package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// kills is how many times the collector is killed under load.
const kills = 3

// TestSIGKILLLosesNoAcknowledgedRecord runs the shipped full.yaml under a
// steady load of numbered logs, spans and gauge points over OTLP/HTTP,
// kills it with SIGKILL three times (restarting it on the same storage
// after each), and then counts every record at the backends: a real Loki,
// a Prometheus remote write endpoint, and an OTLP sink standing in for
// ClickHouse (which cannot run here) with ClickHouse's queue settings.
// Every record acknowledged with 200 must arrive; duplicates (a request
// delivered, then killed before it was marked done, is sent again) are
// counted and reported, not failed.
func TestSIGKILLLosesNoAcknowledgedRecord(t *testing.T) {
	loki := lokitest.Start(t, false)
	standIn, clickhouse := otlpSink(t)
	rw, remoteWrite := remoteWriteSink(t)
	dir := t.TempDir()
	full := filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml")
	opts := vigiltest.Options{
		Args: []string{"--config", full, "--config", standInOverlay(t, full, standIn.URL, dir)},
		Env: map[string]string{
			"LOKI_ENDPOINT":               loki.URL,
			"PROMETHEUS_REMOTE_WRITE_URL": rw.URL + "/api/v1/write",
			"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
			"VIGIL_PPROF_ENDPOINT":        "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)),
		},
	}
	inst := vigiltest.Start(t, opts)
	opts.Ports, opts.StorageDir = inst.Ports, inst.StorageDir

	l := newLoad(inst.OTLPHTTPEndpoint())
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { l.run(ctx, 2); close(loadDone) }()
	for k := 1; k <= kills; k++ {
		time.Sleep(3 * time.Second)
		inst.Kill()
		t.Logf("SIGKILL %d after %d acknowledged requests", k, l.acknowledgedRequests())
		inst = vigiltest.Start(t, opts)
	}
	time.Sleep(3 * time.Second)
	stopLoad()
	<-loadDone

	type count struct {
		sink, signal string
		tally        func() *tally
	}
	counts := []count{
		{"clickhouse (OTLP stand-in)", "logs", func() *tally { return clickhouse }},
		{"clickhouse (OTLP stand-in)", "traces", func() *tally { return clickhouse }},
		{"clickhouse (OTLP stand-in)", "metrics", func() *tally { return clickhouse }},
		{"prometheus remote write", "metrics", func() *tally { return remoteWrite }},
		{"loki", "logs", func() *tally { return lokiTally(t, loki) }},
	}
	// The queues drain after the last restart; give them time, then count.
	var report []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		report = report[:0]
		missing := 0
		for _, c := range counts {
			acked := l.ackedIDs(c.signal)
			lost, dups := c.tally().count(c.signal, acked)
			missing += len(lost)
			line := fmt.Sprintf("%-27s %-7s acknowledged %6d  lost %5d  duplicates %5d", c.sink, c.signal, len(acked), len(lost), dups)
			if c.sink == "loki" {
				line += " (Loki drops exact duplicates itself)"
			}
			if len(lost) > 0 {
				slices.Sort(lost)
				line += fmt.Sprintf("  first lost: %v", lost[:min(5, len(lost))])
			}
			report = append(report, line)
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("%d SIGKILLs under load; %d requests acknowledged, %d retried:\n%s",
		kills, l.acknowledgedRequests(), l.retriedRequests(), strings.Join(report, "\n"))
	for _, line := range report {
		if !strings.Contains(line, "lost     0") {
			t.Errorf("records acknowledged with 200 were lost: %s", line)
		}
	}
}

func (l *load) acknowledgedRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

func (l *load) retriedRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retries
}

// standInOverlay writes a configuration to layer over full.yaml: the
// pipelines that export to clickhouse export to an OTLP/HTTP sink instead,
// through an otlp_http exporter with clickhouse's sending_queue settings
// as full.yaml has them, so the queueing path under test is the shipped
// one.
func standInOverlay(t *testing.T, full, sinkURL, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]map[string][]string `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	const standIn = "otlp_http/clickhouse_stand_in"
	ch, ok := cfg.Exporters["clickhouse"]
	if !ok {
		t.Fatal("full.yaml has no clickhouse exporter")
	}
	exporter := map[string]any{"endpoint": sinkURL}
	for _, k := range []string{"sending_queue", "retry_on_failure", "timeout"} {
		if v, ok := ch[k]; ok {
			exporter[k] = v
		}
	}
	pipelines := map[string]any{}
	for name, p := range cfg.Service.Pipelines {
		i := slices.Index(p["exporters"], "clickhouse")
		if i < 0 {
			continue
		}
		exporters := slices.Clone(p["exporters"])
		exporters[i] = standIn
		pipelines[name] = map[string]any{"receivers": p["receivers"], "processors": p["processors"], "exporters": exporters}
	}
	overlay := map[string]any{
		"exporters": map[string]any{standIn: exporter},
		"service":   map[string]any{"pipelines": pipelines},
	}
	out, err := yaml.Marshal(overlay)
	if err != nil {
		t.Fatal(err)
	}
	return vigiltest.WriteFile(t, dir, "stand-ins.yaml", string(out))
}

// lokiTally reads every record of the load generator back from Loki, page
// by page.
func lokiTally(t *testing.T, loki *lokitest.Server) *tally {
	t.Helper()
	c := newTally()
	start, end := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
	for {
		entries, err := loki.QueryRange("", `{service_name="`+loadService+`"}`, start, end)
		if err != nil {
			t.Logf("querying Loki: %v", err)
			return c
		}
		for _, e := range entries {
			id, err := strconv.ParseInt(strings.TrimPrefix(e.Line, "record "), 10, 64)
			if err == nil {
				c.add("logs", id)
			}
		}
		if len(entries) < 5000 {
			return c
		}
		start = entries[len(entries)-1].TS.Add(time.Nanosecond)
	}
}
