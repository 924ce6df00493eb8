// Package lokitest runs the real single-binary Loki in tests: it finds the
// binary scripts/loki/install.sh caches, starts it with
// scripts/loki/loki.yaml on free loopback ports, and reads Loki's HTTP API.
package lokitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Version is the Loki release scripts/loki/install.sh builds by default;
// keep the two in step.
const Version = "v3.7.8"

// Binary finds the Loki binary: $LOKI_BINARY, else the one
// scripts/loki/install.sh caches under testutil.CacheDir. A missing binary fails the test: the test command installs it,
// so its absence is a broken setup, not a reason to skip.
func Binary(t testing.TB) string {
	t.Helper()
	path := os.Getenv("LOKI_BINARY")
	if path == "" {
		path = filepath.Join(testutil.CacheDir(), "loki", "loki-"+Version)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Loki binary not found (%v): build it with scripts/loki/install.sh (or set LOKI_BINARY)", err)
	}
	return path
}

// Server is a running single-binary Loki on loopback.
type Server struct {
	// URL is Loki's HTTP base URL, http://127.0.0.1:port.
	URL string
	out *vigiltest.SyncBuffer
}

// Start runs Loki with scripts/loki/loki.yaml on free ports, multi-tenant
// when authEnabled, and waits until /ready answers. The process is killed
// when the test ends; its output is logged if the test failed.
func Start(t testing.TB, authEnabled bool) *Server {
	t.Helper()
	bin := Binary(t)
	httpPort, grpcPort := vigiltest.FreePort(t), vigiltest.FreePort(t)
	cmd := exec.Command(bin,
		"-config.file="+filepath.Join(vigiltest.RepoRoot(), "scripts", "loki", "loki.yaml"),
		"-config.expand-env=true")
	cmd.Env = append(os.Environ(),
		"LOKI_DATA_DIR="+t.TempDir(),
		"LOKI_HTTP_PORT="+strconv.Itoa(httpPort),
		"LOKI_GRPC_PORT="+strconv.Itoa(grpcPort),
		"LOKI_AUTH_ENABLED="+strconv.FormatBool(authEnabled),
	)
	out := &vigiltest.SyncBuffer{}
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
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), out: out}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("Loki exited: %v", err)
		default:
		}
		resp, err := http.Get(s.URL + "/ready")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/ready: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Loki did not become ready: %v\n%s", err, out.String())
	}
	return s
}

// Get calls Loki's HTTP API as tenant (none when empty) and decodes the
// JSON answer's data field into data. Structured metadata comes apart from
// the stream labels.
func (s *Server) Get(tenant, path string, params url.Values, data any) error {
	req, err := http.NewRequest(http.MethodGet, s.URL+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	// Return structured metadata apart from stream labels.
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var envelope struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("GET %s: %v in %s", path, err, body)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("GET %s: status %q: %s", path, envelope.Status, body)
	}
	return json.Unmarshal(envelope.Data, data)
}

// Entry is one log entry as query_range returns it.
type Entry struct {
	Stream map[string]string // the stream's labels
	TS     time.Time
	Line   string
	Meta   map[string]string // structured metadata
}

// QueryRange returns every entry matching the LogQL query in [start, end]
// for tenant, oldest first.
func (s *Server) QueryRange(tenant, query string, start, end time.Time) ([]Entry, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"result"`
	}
	params := url.Values{
		"query":     {query},
		"start":     {strconv.FormatInt(start.UnixNano(), 10)},
		"end":       {strconv.FormatInt(end.UnixNano(), 10)},
		"limit":     {"5000"},
		"direction": {"forward"},
	}
	if err := s.Get(tenant, "/loki/api/v1/query_range", params, &data); err != nil {
		return nil, err
	}
	var out []Entry
	for _, r := range data.Result {
		for _, v := range r.Values {
			var tsText, line string
			if len(v) < 2 || json.Unmarshal(v[0], &tsText) != nil || json.Unmarshal(v[1], &line) != nil {
				return nil, fmt.Errorf("unexpected value %s", v)
			}
			ns, err := strconv.ParseInt(tsText, 10, 64)
			if err != nil {
				return nil, err
			}
			e := Entry{Stream: r.Stream, TS: time.Unix(0, ns).UTC(), Line: line, Meta: map[string]string{}}
			if len(v) > 2 {
				var cat struct {
					StructuredMetadata map[string]string `json:"structuredMetadata"`
				}
				if err := json.Unmarshal(v[2], &cat); err != nil {
					return nil, err
				}
				for k, val := range cat.StructuredMetadata {
					e.Meta[k] = val
				}
			}
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.TS.Compare(b.TS) })
	return out, nil
}
