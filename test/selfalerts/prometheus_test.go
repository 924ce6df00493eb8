package selfalerts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/serverproc"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// endToEndAlert is the alert proven end to end, and the `for` its copy
// gets so that it fires within the test.
const (
	endToEndAlert = "VigilExporterSendFailing"
	endToEndFor   = 5 * time.Second
)

// TestAlertFiresInPrometheus runs the built binary with an OTLP exporter
// whose endpoint closes every connection (a dead backend, retries off) next
// to a healthy one, and a real Prometheus (Debian's 2.42) that scrapes the
// binary's telemetry every second as job "vigil", evaluates every second,
// and loads the whole rules file with only VigilExporterSendFailing's `for`
// shortened. The alert must show as firing through Prometheus's API, for
// the dead exporter and its signal only, with the rule's severity; and
// every rule of the file must have evaluated without error against the
// binary's real series (an expression Prometheus loads but cannot
// evaluate, such as `or` of two vectors with one label set, shows there).
func TestAlertFiresInPrometheus(t *testing.T) {
	groups, _ := loadRules(t)
	found := false
	for gi := range groups.Groups {
		for ri := range groups.Groups[gi].Rules {
			if r := &groups.Groups[gi].Rules[ri]; r.Alert == endToEndAlert {
				r.For = model.Duration(endToEndFor)
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("the rules file has no %s", endToEndAlert)
	}
	dir := t.TempDir()
	rulesYAML, err := yaml.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	rules := vigiltest.WriteFile(t, dir, "vigil-self.rules.yaml", string(rulesYAML))

	dead := deadEndpoint(t)
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{
		"--config", vigiltest.WriteFile(t, dir, "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      http:
        endpoint: ${env:VIGIL_OTLP_HTTP_ENDPOINT}
exporters:
  debug:
    verbosity: basic
  otlp_grpc/dead:
    endpoint: %s
    tls:
      insecure: true
    retry_on_failure:
      enabled: false
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: normal
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug, otlp_grpc/dead]
`, dead)),
	}})

	prom := startPrometheus(t, dir, inst.Ports.Telemetry, rules)

	spans := "http://" + inst.OTLPHTTPEndpoint() + "/v1/traces"
	var firing []map[string]string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = vigiltest.Eventually(ctx, func() error {
		now := strconv.FormatInt(time.Now().UnixNano(), 10)
		post(t, spans, `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"POST /checkout","kind":2,"startTimeUnixNano":"`+now+`","endTimeUnixNano":"`+now+`"}]}]}]}`)
		var err error
		firing, err = prom.firingAlerts(endToEndAlert)
		if err != nil {
			return err
		}
		if len(firing) == 0 {
			return fmt.Errorf("%s is not firing yet", endToEndAlert)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\nPrometheus's rules: %s", err, prom.rulesSummary())
	}
	want := map[string]string{
		"alertname": endToEndAlert, "severity": "ticket", "job": "vigil",
		"instance": fmt.Sprintf("127.0.0.1:%d", inst.Ports.Telemetry),
		"exporter": "otlp_grpc/dead", "data_type": "traces",
	}
	// The series may carry more labels (the OTLP exporter's
	// server_address and server_port): they stay on the alert.
	if len(firing) != 1 || !hasLabels(firing[0], want) {
		t.Errorf("firing %s: %v, want one alert with the labels %v", endToEndAlert, firing, want)
	}

	// Every rule has been evaluated (at 1s, within the seconds the alert
	// took) without an error.
	unhealthy, err := prom.unhealthyRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unhealthy {
		t.Error(u)
	}
}

// prometheus is a real Prometheus server started for a test.
type prometheus struct {
	url string
}

// startPrometheus starts Prometheus scraping 127.0.0.1:telemetryPort as job
// "vigil" every second, evaluating rulesFile every second, and waits until
// it is ready.
func startPrometheus(t *testing.T, dir string, telemetryPort int, rulesFile string) *prometheus {
	t.Helper()
	bin := serverproc.Command(t, "prometheus", "prometheus")
	cfg := vigiltest.WriteFile(t, dir, "prometheus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ["127.0.0.1:%d"]
`, rulesFile, job, telemetryPort))
	_, ports := serverproc.StartOnFreePorts(t, "prometheus", 1, time.Minute,
		func(ports []int) *exec.Cmd {
			return exec.Command(bin,
				"--config.file="+cfg,
				"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data-"+strconv.Itoa(ports[0])),
				"--web.listen-address=127.0.0.1:"+strconv.Itoa(ports[0]))
		},
		func(ports []int) error {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/-/ready", ports[0]))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/-/ready: %s", resp.Status)
			}
			return nil
		})
	return &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
}

// get decodes the data of a Prometheus API answer into v.
func (p *prometheus) get(path string, v any) error {
	resp, err := http.Get(p.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if answer.Status != "success" {
		return fmt.Errorf("%s: %s", path, answer.Error)
	}
	return json.Unmarshal(answer.Data, v)
}

// firingAlerts returns the labels of every firing alert named name
// (/api/v1/alerts).
func (p *prometheus) firingAlerts(name string) ([]map[string]string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			out = append(out, a.Labels)
		}
	}
	return out, nil
}

// promRule is a rule as /api/v1/rules reports it.
type promRule struct {
	Name      string `json:"name"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
	State     string `json:"state"`
}

func (p *prometheus) rules() ([]promRule, error) {
	var data struct {
		Groups []struct {
			Rules []promRule `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get("/api/v1/rules", &data); err != nil {
		return nil, err
	}
	var out []promRule
	for _, g := range data.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

// unhealthyRules describes every rule Prometheus has not evaluated yet or
// whose last evaluation failed.
func (p *prometheus) unhealthyRules() ([]string, error) {
	rules, err := p.rules()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rules {
		if r.Health != "ok" || r.LastError != "" {
			out = append(out, fmt.Sprintf("%s: health %q, last error %q", r.Name, r.Health, r.LastError))
		}
	}
	return out, nil
}

// rulesSummary is each rule's name, health and state, for a failure.
func (p *prometheus) rulesSummary() string {
	rules, err := p.rules()
	if err != nil {
		return err.Error()
	}
	var s []string
	for _, r := range rules {
		s = append(s, fmt.Sprintf("%s (%s, %s%s)", r.Name, r.State, r.Health, r.LastError))
	}
	return strings.Join(s, "; ")
}

// hasLabels reports whether got has every label of want.
func hasLabels(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
