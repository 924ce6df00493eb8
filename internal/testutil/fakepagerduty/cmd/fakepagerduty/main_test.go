package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs the command until the test ends and returns its base URL.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, io.Discard, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() = %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", lines.Err())
	}
	first := lines.Text()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url, ok := strings.CutPrefix(first, "listening on ")
	if !ok {
		t.Fatalf("first line %q", first)
	}
	return strings.Fields(url)[0]
}

func post(t *testing.T, c *http.Client, url, body string) int {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunWritesAcceptedEvents(t *testing.T) {
	out := filepath.Join(t.TempDir(), "events.jsonl")
	base := start(t, "-addr", "127.0.0.1:0", "-out", out, "-rate-limit", "2", "-rate-window", "1m", "-retry-after", "3s")
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	const key = "e93facc04764012d7bfb002500d5d1a6"
	trigger := `{"routing_key":"` + key + `","event_action":"trigger","dedup_key":"a","payload":{"summary":"s","source":"svc","severity":"critical"}}`
	tests := []struct {
		name string
		body string
		want int
	}{
		{"valid trigger", trigger, 202},
		{"invalid event", `{"routing_key":"short","event_action":"trigger"}`, 400},
		{"valid resolve", `{"routing_key":"` + key + `","event_action":"resolve","dedup_key":"a"}`, 202},
		{"over the rate limit", trigger, 429},
	}
	for _, tt := range tests {
		if got := post(t, c, base+"/v2/enqueue", tt.body); got != tt.want {
			t.Fatalf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want the 2 accepted events: %q", len(lines), data)
	}
	var line struct {
		ReceivedAt time.Time `json:"received_at"`
		Event      struct {
			EventAction string `json:"event_action"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil || line.Event.EventAction != "trigger" || line.ReceivedAt.IsZero() {
		t.Fatalf("line %q: %v", lines[0], err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := [][]string{
		{"-addr"},
		{"-unknown"},
		{"-addr", "256.0.0.1:http"},
		{"-addr", "127.0.0.1:0", "-out", filepath.Join(t.TempDir(), "missing", "dir", "f")},
	}
	for _, args := range tests {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
