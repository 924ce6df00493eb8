package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/vigiltest"
)

// lokiVersion is the Loki release scripts/loki/install.sh builds by default.
const lokiVersion = "v3.7.8"

// lokiBinary finds the Loki binary: $LOKI_BINARY, else the one
// scripts/loki/install.sh caches. The test command installs it, so a
// missing binary fails the test.
func lokiBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("LOKI_BINARY")
	if path == "" {
		cache := os.Getenv("VIGIL_CACHE_DIR")
		if cache == "" {
			cache = filepath.Join(repoRootDir(t), ".cache")
		}
		path = filepath.Join(cache, "loki", "loki-"+lokiVersion)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Loki binary not found (%v): build it with scripts/loki/install.sh (or set LOKI_BINARY)", err)
	}
	return path
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLoki runs the real Loki with the tests' configuration
// (scripts/loki/loki.yaml) on free loopback ports and returns its URL.
func startLoki(t *testing.T) string {
	t.Helper()
	bin := lokiBinary(t)
	httpPort, grpcPort := vigiltest.FreePort(t), vigiltest.FreePort(t)
	cmd := exec.Command(bin, "-config.file="+filepath.Join(repoRootDir(t), "scripts", "loki", "loki.yaml"), "-config.expand-env=true")
	cmd.Env = append(os.Environ(),
		"LOKI_DATA_DIR="+t.TempDir(),
		"LOKI_HTTP_PORT="+strconv.Itoa(httpPort),
		"LOKI_GRPC_PORT="+strconv.Itoa(grpcPort),
		"LOKI_AUTH_ENABLED=false")
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Loki: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("Loki output:\n%s", out.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("Loki exited: %v", err)
		default:
		}
		resp, err := http.Get(base + "/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/ready: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Loki did not become ready: %v\n%s", err, out.String())
	}
	return base
}

// pushLines writes lines the way the loki exporter does: the stream labels
// the dashboards select on, trace_id as structured metadata.
func pushLines(t *testing.T, base string, now time.Time) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	line := func(at time.Time, text string) []any {
		return []any{strconv.FormatInt(at.UnixNano(), 10), text, map[string]string{"trace_id": fixtureTraceID}}
	}
	body, err := json.Marshal(map[string][]stream{"streams": {
		{Stream: map[string]string{"service_name": "checkout", "level": "error", "deployment_environment": "test"},
			Values: [][]any{line(now.Add(-2*time.Minute), "payment declined: card expired")}},
		{Stream: map[string]string{"service_name": "checkout", "level": "info", "deployment_environment": "test"},
			Values: [][]any{line(now.Add(-time.Minute), "request completed")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %s %s", resp.Status, msg)
	}
}

type lokiResult struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

func lokiGet(base, path string, params url.Values) (int, []byte, error) {
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// TestLogQLRunsOnLoki runs every LogQL query of the dashboards on the real
// Loki, over lines shaped like the loki exporter's, twice: with every
// variable on "All" and with a service, level and search chosen; each must
// be accepted and find the lines it should.
func TestLogQLRunsOnLoki(t *testing.T) {
	base := startLoki(t)
	now := time.Now()
	pushLines(t, base, now)

	chosen := func(name, format string) string {
		switch name {
		case "service":
			return "checkout"
		case "level":
			return "error"
		case "search":
			return "declined"
		}
		return lokiValue(name, format)
	}
	queries := queriesOfType(t, LokiType)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range queries {
		if m := lokiVariableQuery.FindStringSubmatch(q.text); m != nil {
			// The ingester makes lines queryable at once, but label
			// values can lag a moment.
			err := vigiltest.Eventually(ctx, func() error {
				code, body, err := lokiGet(base, "/loki/api/v1/label/"+m[1]+"/values", url.Values{
					"start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
					"end":   {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)},
				})
				if err != nil || code != http.StatusOK {
					return fmt.Errorf("%d %s %v", code, body, err)
				}
				if !strings.Contains(string(body), `"error"`) && !strings.Contains(string(body), `"checkout"`) {
					return fmt.Errorf("values %s", body)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
			}
			continue
		}
		for _, variant := range []struct {
			name  string
			value func(string, string) string
		}{{"all", lokiValue}, {"chosen", chosen}} {
			expr := substitute(q.text, variant.value)
			err := vigiltest.Eventually(ctx, func() error {
				code, body, err := lokiGet(base, "/loki/api/v1/query_range", url.Values{
					"query": {expr},
					"start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
					"end":   {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)},
					"step":  {"60"},
				})
				if err != nil {
					return err
				}
				if code != http.StatusOK {
					return fmt.Errorf("HTTP %d: %s", code, body)
				}
				var r lokiResult
				if err := json.Unmarshal(body, &r); err != nil {
					return err
				}
				if r.Status != "success" || len(r.Data.Result) == 0 {
					return fmt.Errorf("status %q, %d results", r.Status, len(r.Data.Result))
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s (%s variables): %v\n  query: %s", q.where, variant.name, err, expr)
			}
		}
	}
}
