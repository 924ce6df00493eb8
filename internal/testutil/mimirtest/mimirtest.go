// Package mimirtest runs a real Grafana Mimir in tests: the binary
// scripts/mimir/install.sh builds, as one monolithic process (target all)
// on free loopback ports, storing blocks, rules and everything else in the
// test's temporary directory, with in-memory rings. Its ruler takes rule
// groups through the ruler API and its distributor takes Prometheus remote
// write; multi-tenancy is off, so every request is tenant "anonymous".
package mimirtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/serverproc"
)

// Version is the Mimir module version scripts/mimir/install.sh builds (a
// pseudo-version of main after release 3.0.6); keep the two in step.
const Version = "v1.3.1-0.20260423142704-aced80d74930"

// Binary returns the Mimir binary scripts/mimir/install.sh caches under
// $VIGIL_CACHE_DIR/mimir, failing the test with that script when it is
// missing.
func Binary(t testing.TB) string {
	t.Helper()
	return serverproc.CachedBinary(t, filepath.Join("mimir", "mimir-"+Version), "scripts/mimir/install.sh")
}

// Server is a running monolithic Mimir.
type Server struct {
	// URL is Mimir's HTTP base URL, http://127.0.0.1:port.
	URL string
	// GRPCAddr is its gRPC listen address, 127.0.0.1:port.
	GRPCAddr string

	proc   *serverproc.Process
	client *http.Client
}

// config is Mimir's configuration. Every address any component announces
// (ring entries, the query-frontend's address that the scheduler hands to
// queriers, memberlist) is loopback: left empty, Mimir takes the address
// of the machine's first network interface, and its querier then dials
// that address and hangs where nothing is reachable but loopback.
var config = template.Must(template.New("mimir.yaml").Parse(`
target: all
multitenancy_enabled: false
usage_stats:
  enabled: false
activity_tracker:
  filepath: {{.Dir}}/activity.log

server:
  http_listen_address: 127.0.0.1
  http_listen_port: {{.HTTPPort}}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: {{.GRPCPort}}
  log_level: warn

memberlist:
  bind_addr: [127.0.0.1]
  bind_port: {{.MemberlistPort}}
  advertise_addr: 127.0.0.1

distributor:
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
ingester:
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
    replication_factor: 1
    min_ready_duration: 0s
    final_sleep: 0s
querier:
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
store_gateway:
  sharding_ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
    replication_factor: 1
compactor:
  data_dir: {{.Dir}}/compactor
  sharding_ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
query_scheduler:
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
frontend:
  address: 127.0.0.1
overrides_exporter:
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
ruler:
  rule_path: {{.Dir}}/ruler
  # Pick up rule groups set through the API within a second or two.
  poll_interval: 1s
  ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}
alertmanager:
  data_dir: {{.Dir}}/alertmanager
  sharding_ring:
    instance_addr: 127.0.0.1
    kvstore: {store: inmemory}

blocks_storage:
  backend: filesystem
  filesystem:
    dir: {{.Dir}}/blocks
  tsdb:
    dir: {{.Dir}}/tsdb
  bucket_store:
    sync_dir: {{.Dir}}/tsdb-sync
# A writable rule store, so the ruler API can set rule groups ("local" is
# read-only).
ruler_storage:
  backend: filesystem
  filesystem:
    dir: {{.Dir}}/rules
alertmanager_storage:
  backend: filesystem
  filesystem:
    dir: {{.Dir}}/alertmanager-configs

limits:
  # Rules see samples as soon as they are written (the default evaluates a
  # minute in the past, for remote writers that lag).
  ruler_evaluation_delay_duration: 0s
  # No cap on rules per group or groups (defaults 20 and 70): a service's
  # SLO rule groups can be larger.
  ruler_max_rules_per_rule_group: 0
  ruler_max_rule_groups_per_tenant: 0
`))

// Start runs Mimir and waits until /ready answers 200; args are further
// command-line flags, which override the configuration above (e.g.
// "-ruler.evaluation-interval=5s"). The process is killed when the test
// ends; its output is logged if the test failed.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	proc, ports := serverproc.StartOnFreePorts(t, "mimir", 3, 180*time.Second,
		func(ports []int) *exec.Cmd {
			// Each start (a retry on new ports included) gets fresh directories.
			data := filepath.Join(dir, fmt.Sprintf("run-%d", ports[0]))
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			var cfg bytes.Buffer
			if err := config.Execute(&cfg, map[string]any{
				"Dir": data, "HTTPPort": ports[0], "GRPCPort": ports[1], "MemberlistPort": ports[2],
			}); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, fmt.Sprintf("mimir-%d.yaml", ports[0]))
			if err := os.WriteFile(file, cfg.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append([]string{"-config.file=" + file}, args...)...)
			cmd.Dir = dir // anything still relative lands in the temporary directory
			return cmd
		},
		func(ports []int) error {
			resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/ready")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/ready: %d %s", resp.StatusCode, bytes.TrimSpace(body))
			}
			return nil
		})
	return &Server{
		URL:      "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		GRPCAddr: "127.0.0.1:" + strconv.Itoa(ports[1]),
		proc:     proc,
		client:   client,
	}
}

// PushURL is the Prometheus remote-write endpoint.
func (s *Server) PushURL() string { return s.URL + "/api/v1/push" }

// PrometheusURL is the base of the Prometheus HTTP API (…/api/v1/query)
// and of the ruler API (…/config/v1/rules).
func (s *Server) PrometheusURL() string { return s.URL + "/prometheus" }

// Output returns what Mimir has logged.
func (s *Server) Output() string { return s.proc.Output() }

// SetRuleGroup creates or replaces one rule group in namespace through the
// ruler API; group is the group's YAML (name, interval, rules), as in a
// Prometheus rule file's groups list.
func (s *Server) SetRuleGroup(namespace string, group []byte) error {
	_, err := s.do(http.MethodPost, "/config/v1/rules/"+url.PathEscape(namespace), "application/yaml", group, http.StatusAccepted)
	return err
}

// DeleteNamespace deletes every rule group of namespace.
func (s *Server) DeleteNamespace(namespace string) error {
	_, err := s.do(http.MethodDelete, "/config/v1/rules/"+url.PathEscape(namespace), "", nil, http.StatusAccepted)
	return err
}

// RuleGroups returns the rule groups the rule store holds, as the ruler
// API's YAML: a map from namespace to its list of groups.
func (s *Server) RuleGroups() ([]byte, error) {
	return s.do(http.MethodGet, "/config/v1/rules", "", nil, http.StatusOK)
}

// Get calls GET on the Prometheus HTTP API (path under PrometheusURL, e.g.
// "/api/v1/query") and returns the body of a 200 answer.
func (s *Server) Get(path string, params url.Values) ([]byte, error) {
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	return s.do(http.MethodGet, path, "", nil, http.StatusOK)
}

func (s *Server) do(method, path, contentType string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, s.PrometheusURL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return out, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return out, nil
}
