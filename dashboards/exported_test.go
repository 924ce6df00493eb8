package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestDashboardMetricsAreExported runs the built binary on its embedded
// default configuration, paging a PagerDuty fake that refuses every event,
// plus pipelines to an unreachable OTLP endpoint
// that never answers, with a one-request queue, so the exporter failure,
// queue and enqueue-failure metrics exist, and a prometheus_remote_write
// exporter with its write-ahead log to the same endpoint (the WAL backlog
// the collector dashboard shows),
// sends traffic with an error burst, and checks that every vigil_*,
// otelcol_* and traces_span_metrics_* name the dashboards query is exported
// by the binary. Names of components not yet in the binary (the slo and
// anomaly connectors while they are being built) are reported and only
// required once the component is registered.
func TestDashboardMetricsAreExported(t *testing.T) {
	used := dashboardMetricNames(t)
	components := registeredComponents(t)

	stall := stallingListener(t)
	sets := []string{
		"exporters::otlp_grpc/unreachable::endpoint=" + stall,
		"exporters::otlp_grpc/unreachable::tls::insecure=true",
		"exporters::otlp_grpc/unreachable::timeout=2s",
		"exporters::otlp_grpc/unreachable::retry_on_failure::enabled=false",
		"exporters::otlp_grpc/unreachable::sending_queue::queue_size=1",
		"exporters::otlp_grpc/unreachable::sending_queue::num_consumers=1",
		"exporters::otlp_grpc/unreachable::sending_queue::block_on_overflow=false",
	}
	sets = append(sets,
		"exporters::prometheus_remote_write/unreachable::endpoint=http://"+stall+"/api/v1/write",
		"exporters::prometheus_remote_write/unreachable::timeout=2s",
		"exporters::prometheus_remote_write/unreachable::wal::directory="+t.TempDir(),
		"exporters::prometheus_remote_write/unreachable::wal::lag_record_frequency=1s",
		"exporters::prometheus_remote_write/unreachable::remote_write_queue::enabled=false",
	)
	for _, signal := range []string{"traces", "metrics", "logs"} {
		exporters := "[otlp_grpc/unreachable]"
		if signal == "metrics" {
			exporters = "[otlp_grpc/unreachable, prometheus_remote_write/unreachable]"
		}
		sets = append(sets,
			"service::pipelines::"+signal+"/unreachable::receivers=[otlp]",
			"service::pipelines::"+signal+"/unreachable::exporters="+exporters)
	}
	if components["connectors/anomaly"] {
		// The detector aggregates per interval (a minute by default);
		// a short one makes its series appear within the test's wait.
		sets = append(sets, "connectors::anomaly::interval=2s")
	}
	var args []string
	for _, s := range sets {
		args = append(args, "--set="+s)
	}
	// PagerDuty refuses every event, as it does with a wrong routing
	// key: the error burst's page is counted in the pagerduty exporter's
	// otelcol_pagerduty_events_failed, which the collector dashboard
	// shows as a delivery failure.
	pd := fakepagerduty.New(t)
	pd.RespondNext(1_000_000, fakepagerduty.Reply{Status: http.StatusBadRequest, Message: "Event object is invalid", Errors: []string{"Invalid routing key"}})
	inst := vigiltest.Start(t, vigiltest.Options{Args: args, Env: pagingtest.PagerDutyEnv(pd)})

	base := "http://" + inst.OTLPHTTPEndpoint()
	// Healthy traffic, then an error burst, then one log record and one
	// metric point; several requests each so the one-request queue
	// overflows.
	send := func() {
		now := time.Now()
		for i := 0; i < 6; i++ {
			postOTLP(t, base+"/v1/traces", otlpTraces(now, 20, i%2 == 1))
			postOTLP(t, base+"/v1/logs", otlpLogs(now))
			postOTLP(t, base+"/v1/metrics", otlpMetrics(now))
		}
	}
	send()

	required := map[string]bool{}
	pending := map[string]string{}
	for name := range used {
		switch {
		case strings.Contains(name, ":"):
			// Recording rules of `vigil slo rules`, evaluated by
			// Prometheus; promtool tests cover them.
		case strings.HasPrefix(name, "vigil_slo_") && !components["connectors/slo"]:
			pending[name] = "the slo connector is not in `vigil components` yet"
		case strings.HasPrefix(name, "vigil_anomaly_") && !components["connectors/anomaly"]:
			pending[name] = "the anomaly connector is not in `vigil components` yet"
		default:
			required[name] = true
		}
	}

	var missing []string
	exportedLabels := map[string]map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lastSend := time.Now()
	err := vigiltest.Eventually(ctx, func() error {
		// Keep the series alive: the detectors and span_metrics see traffic
		// in every interval, as in production.
		if time.Since(lastSend) > time.Second {
			send()
			lastSend = time.Now()
		}
		exported := map[string]bool{}
		for _, url := range []string{inst.TelemetryURL(), inst.PrometheusURL()} {
			families, err := vigiltest.Scrape(url)
			if err != nil {
				return err
			}
			for name, mf := range families {
				for _, n := range seriesNames(name, mf) {
					exported[n] = true
					if exportedLabels[n] == nil {
						exportedLabels[n] = map[string]bool{}
					}
					for _, m := range mf.GetMetric() {
						for _, l := range m.GetLabel() {
							exportedLabels[n][l.GetName()] = true
						}
					}
				}
			}
		}
		missing = missing[:0]
		for name := range required {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return fmt.Errorf("not exported yet: %s", strings.Join(missing, ", "))
		}
		return nil
	})
	if err != nil {
		for _, name := range missing {
			t.Errorf("dashboards query %s, which the binary does not export; used in %s", name, strings.Join(used[name], "; "))
		}
	}
	if err == nil {
		checkSelectorLabels(t, required, exportedLabels)
		if len(pending) == 0 {
			checkQueriesOnPrometheus(t, inst, send)
		}
	}
	names := make([]string, 0, len(pending))
	for n := range pending {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("not checked against the binary: %s (%s)", n, pending[n])
	}
	if len(required) == 0 {
		t.Fatal("no metric names to check")
	}
}

// emptyAllowed lists the panels whose queries may rightly return nothing
// on a short test run, and why. Every other Prometheus query of the
// dashboards must return data.
var emptyAllowed = map[string]string{
	"slos.json: Burn rate from `vigil slo rules` (A)":     "recording rules (vigil_slo:*) are evaluated by Prometheus with the rules loaded; promtool tests cover them",
	"anomalies.json: Anomalous now (score)":               "needs a score above the threshold, i.e. a real anomaly",
	"anomalies.json: Anomalous now (expected)":            "needs a score above the threshold, i.e. a real anomaly",
	"anomalies.json: Anomalous now (lower)":               "needs a score above the threshold, i.e. a real anomaly",
	"anomalies.json: Anomalous now (upper)":               "needs a score above the threshold, i.e. a real anomaly",
	"vigil.json: Alert events delivered to PagerDuty (B)": "needs a pagerduty exporter whose retries ran out (they never do: max_elapsed_time 0); the refused page is (C)",
}

// checkQueriesOnPrometheus starts the real Prometheus (Debian package),
// scraping the running binary's two endpoints every second, and runs every
// Prometheus query of the dashboards with its variables on "All": each must
// be accepted and, apart from emptyAllowed, return data. This is what an
// engineer sees: a panel whose query selects nothing is an empty panel.
func checkQueriesOnPrometheus(t *testing.T, inst *vigiltest.Instance, send func()) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run scripts/install-test-deps.sh (Debian package prometheus)")
	}
	dir := t.TempDir()
	port := vigiltest.FreePort(t)
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: vigil-metrics
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, inst.Ports.Telemetry, inst.Ports.Prometheus)
	cfgPath := vigiltest.WriteFile(t, dir, "prometheus.yml", config)
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	out := &vigiltest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query", port)
	readyCtx, readyCancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer readyCancel()
	if err := vigiltest.Eventually(readyCtx, func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/-/ready", port))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	}); err != nil {
		t.Fatalf("prometheus did not become ready: %v\n%s", err, out.String())
	}

	// All variables on "All", the way a dashboard opens; ranges long
	// enough for several 1s scrapes.
	value := func(name, format string) string {
		switch name {
		case "__rate_interval", "__interval", "__auto":
			return "20s"
		case "__range":
			return "1m"
		case "min_score":
			return "0.7"
		case "span_kind":
			return "SPAN_KIND_SERVER"
		}
		return ".*"
	}
	type result struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	// query returns the number of series, a rejection by Prometheus
	// (rejected), or a transport error.
	query := func(expr string) (n int, rejected, err error) {
		resp, err := http.PostForm(api, url.Values{"query": {expr}})
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var r result
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return 0, nil, err
		}
		if r.Status != "success" {
			return 0, fmt.Errorf("%s", r.Error), nil
		}
		return len(r.Data.Result), nil, nil
	}
	rejected := map[string]bool{}
	allowedEmpty := map[string]bool{}

	queries := queriesOfType(t, PrometheusType)
	pendingEmpty := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lastSend := time.Now()
	err = vigiltest.Eventually(ctx, func() error {
		if time.Since(lastSend) > time.Second {
			send()
			lastSend = time.Now()
		}
		clear(pendingEmpty)
		for _, q := range queries {
			if lv := labelValuesQuery.FindStringSubmatch(q.text); lv != nil {
				// A variable: its series must exist.
				n, bad, err := query("count by (" + lv[2] + ") (" + substitute(lv[1], value) + ")")
				if err != nil {
					return err
				}
				if bad != nil && !rejected[q.where] {
					rejected[q.where] = true
					t.Errorf("%s: Prometheus rejects it: %v", q.where, bad)
				}
				if n == 0 {
					pendingEmpty[q.where] = q.text
				}
				continue
			}
			expr := substitute(q.text, value)
			n, bad, err := query(expr)
			if err != nil {
				return err
			}
			if bad != nil {
				// A query Prometheus rejects never gets better.
				if !rejected[q.where] {
					rejected[q.where] = true
					t.Errorf("%s: Prometheus rejects it: %v\n  %s", q.where, bad, expr)
				}
				continue
			}
			if n == 0 {
				if _, ok := emptyAllowed[q.where]; !ok {
					pendingEmpty[q.where] = expr
				} else {
					allowedEmpty[q.where] = true
				}
			} else {
				delete(allowedEmpty, q.where)
			}
		}
		if len(pendingEmpty) > 0 {
			return fmt.Errorf("%d queries without data yet", len(pendingEmpty))
		}
		return nil
	})
	for w := range allowedEmpty {
		t.Logf("%s: empty, allowed: %s", w, emptyAllowed[w])
	}
	t.Logf("ran %d Prometheus queries of the dashboards on Prometheus scraping the binary; %d may be empty (emptyAllowed)", len(queries), len(emptyAllowed))
	if err != nil {
		wheres := make([]string, 0, len(pendingEmpty))
		for w := range pendingEmpty {
			wheres = append(wheres, w)
		}
		sort.Strings(wheres)
		for _, w := range wheres {
			t.Errorf("%s: no data from the binary's metrics: %s", w, pendingEmpty[w])
		}
	}
}

// prometheusLabels are added by Prometheus when it scrapes or receives
// the series, so the binary's endpoints do not show them.
var prometheusLabels = map[string]bool{"job": true, "instance": true}

// checkSelectorLabels requires every label a dashboard selector matches on
// to exist on the exported series of that metric: a misspelt or renamed
// label selects nothing and shows an empty panel.
func checkSelectorLabels(t *testing.T, required map[string]bool, exported map[string]map[string]bool) {
	t.Helper()
	for _, q := range queriesOfType(t, PrometheusType) {
		sels, err := parseSelectors(q.text)
		if err != nil {
			continue // reported by TestPromQLParsesAndNamesKnownMetrics
		}
		for _, s := range sels {
			if !required[s.metric] {
				continue
			}
			for _, l := range s.labels {
				if !prometheusLabels[l] && !exported[s.metric][l] {
					t.Errorf("%s: %s has no label %q in the binary's output", q.where, s.metric, l)
				}
			}
		}
	}
}

// stallingListener accepts TCP connections and never answers, so an
// exporter's request hangs until its timeout and its queue fills up. It
// returns host:port.
func stallingListener(t *testing.T) string {
	t.Helper()
	ln := vigiltest.FreeListener(t)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// seriesNames are the sample names a family exposes in the text format.
func seriesNames(family string, mf *dto.MetricFamily) []string {
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{family, family + "_bucket", family + "_sum", family + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{family, family + "_sum", family + "_count"}
	}
	return []string{family}
}

// registeredComponents returns "kind/type" for every component of the
// binary, from `vigil components`.
func registeredComponents(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command(vigiltest.Binary(t), "components").Output()
	if err != nil {
		t.Fatalf("vigil components: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("vigil components output: %v", err)
	}
	got := map[string]bool{}
	for kind, v := range doc {
		list, _ := v.([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			if name, ok := m["name"].(string); ok {
				got[kind+"/"+name] = true
			}
		}
	}
	if !got["connectors/span_metrics"] {
		t.Fatalf("vigil components lists no span_metrics connector:\n%s", out)
	}
	return got
}

func postOTLP(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	// 503 is the receiver refusing under back-pressure, which the refused
	// counters record; anything else is a broken request.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

// otlpTraces is an OTLP/JSON request with n server spans of service
// checkout; with errors every span fails (the error burst).
func otlpTraces(now time.Time, n int, errors bool) string {
	status := 1
	if errors {
		status = 2
	}
	var spans []string
	for i := 0; i < n; i++ {
		start := now.Add(-time.Duration(i) * time.Second)
		spans = append(spans, fmt.Sprintf(
			`{"traceId":"%032x","spanId":"%016x","name":"GET /cart","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","status":{"code":%d},`+
				`"attributes":[{"key":"http.route","value":{"stringValue":"/cart"}},{"key":"http.response.status_code","value":{"intValue":"%d"}}]}`,
			now.UnixNano()+int64(i), i+1, start.UnixNano(), start.Add(120*time.Millisecond).UnixNano(), status, map[bool]int{false: 200, true: 500}[errors]))
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[` +
		strings.Join(spans, ",") + `]}]}]}`
}

func otlpLogs(now time.Time) string {
	return fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},`+
		`"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment declined"}}]}]}]}`, now.UnixNano())
}

func otlpMetrics(now time.Time) string {
	return fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},`+
		`"scopeMetrics":[{"metrics":[{"name":"queue.depth","gauge":{"dataPoints":[{"timeUnixNano":"%d","asDouble":3}]}}]}]}]}`, now.UnixNano())
}
