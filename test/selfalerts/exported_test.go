package selfalerts

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// prometheusSeries are the series Prometheus makes itself for every
// target, which no exporter exposes; TestAlertFiresInPrometheus has them.
var prometheusSeries = map[string]bool{"up": true}

// describedName is a metric name in a description; a name followed by *
// stands for several and is not checked.
var describedName = regexp.MustCompile(`otelcol_[a-z0-9_]*[a-z0-9_*]`)

// TestRulesSelectExportedTelemetry runs the built binary with the
// components whose telemetry the rules watch, provokes every condition
// whose counter appears only when it first happens (an exporter whose
// backend never answers, so its one-request queue is full and its sends
// time out; PagerDuty refusing an event for good; a PagerDuty that is down
// behind a notifier without a queue, so the alert router's handover fails;
// more RED series than the anomaly connector watches; a line that is no
// zap record; ...), and checks that every selector of every rule matches
// at least one exported series: its metric name, and every label matcher
// but the target labels Prometheus adds (job, instance). Every otelcol_
// name a description gives must be exported too. A metric or label Vigil
// renames, or a counter that gains a _total suffix, fails here.
func TestRulesSelectExportedTelemetry(t *testing.T) {
	_, rules := loadRules(t)
	type selector struct {
		alert    string
		name     string
		matchers []*labels.Matcher
	}
	var selectors []selector
	described := map[string][]string{}
	for _, r := range rules {
		for _, sel := range parser.ExtractSelectors(r.expr) {
			s := selector{alert: r.rule.Alert}
			for _, m := range sel {
				switch {
				case m.Name == labels.MetricName && m.Type == labels.MatchEqual:
					s.name = m.Value
				case m.Name == labels.MetricName:
					t.Errorf("%s: selector %s picks metric names by %s: name each metric, so this test can check it", r.rule.Alert, matchersString(sel), m)
				case targetLabels[m.Name]:
				default:
					s.matchers = append(s.matchers, m)
				}
			}
			if s.name == "" {
				t.Errorf("%s: selector %s has no metric name", r.rule.Alert, matchersString(sel))
				continue
			}
			if !prometheusSeries[s.name] {
				selectors = append(selectors, s)
			}
		}
		for _, text := range r.rule.Annotations {
			for _, name := range describedName.FindAllString(text, -1) {
				if !strings.HasSuffix(name, "*") {
					described[name] = append(described[name], r.rule.Alert)
				}
			}
		}
	}

	inst, provoke := startProvoked(t)
	var missing []string
	var families map[string]*dto.MetricFamily
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		provoke()
		var err error
		families, err = vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		missing = missing[:0]
		for _, s := range selectors {
			if !matchesSeries(families[s.name], s.matchers) {
				missing = append(missing, fmt.Sprintf("%s: %s%s", s.alert, s.name, matchersString(s.matchers)))
			}
		}
		for name, alerts := range described {
			if families[name] == nil {
				missing = append(missing, fmt.Sprintf("%s: %s (in the description)", strings.Join(alerts, ", "), name))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d selectors match nothing yet", len(missing))
		}
		return nil
	})
	if err == nil {
		t.Logf("%d selectors of %d alerts and %d names in descriptions match the binary's telemetry", len(selectors), len(rules), len(described))
		return
	}
	sort.Strings(missing)
	for _, m := range missing {
		name := strings.Fields(m)[1]
		name, _, _ = strings.Cut(name, "{")
		t.Errorf("%s matches no series the binary exports; exported: %s", m, exportedLike(families, name))
	}
}

// matchesSeries reports whether some series of mf satisfies every matcher
// (an absent label is the empty value, as in PromQL).
func matchesSeries(mf *dto.MetricFamily, ms []*labels.Matcher) bool {
	for _, m := range mf.GetMetric() {
		values := map[string]string{}
		for _, lp := range m.GetLabel() {
			values[lp.GetName()] = lp.GetValue()
		}
		ok := true
		for _, matcher := range ms {
			if !matcher.Matches(values[matcher.Name]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// exportedLike describes what the binary exports under name, or the names
// close to it, for a failure message.
func exportedLike(families map[string]*dto.MetricFamily, name string) string {
	if mf := families[name]; mf != nil {
		var series []string
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+strconv.Quote(lp.GetValue()))
			}
			series = append(series, name+"{"+strings.Join(ls, ", ")+"}")
		}
		return strings.Join(series, " ")
	}
	var near []string
	stem := strings.TrimSuffix(name, "_total")
	if i := strings.LastIndex(stem, "_"); i > 0 {
		stem = stem[:i]
	}
	for n := range families {
		if strings.HasPrefix(n, stem) {
			near = append(near, n)
		}
	}
	sort.Strings(near)
	return fmt.Sprintf("no %s; names starting %s: %v", name, stem, near)
}

// startProvoked starts the binary on a configuration with every component
// whose telemetry the rules watch, and returns a function that provokes,
// once more, each condition the rules alert on.
func startProvoked(t *testing.T) (*vigiltest.Instance, func()) {
	t.Helper()
	dir := t.TempDir()

	// PagerDuty as a notifier meets it: refusing an event for good (400),
	// or down (500 to every attempt).
	refusing := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`)
	}))
	down := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
	// Loki refusing every push for good.
	lokiRefusing := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "entry for stream has timestamp too old", http.StatusBadRequest)
	}))
	dead := deadEndpoint(t)
	stalled := stallingEndpoint(t)
	redis := redistest.Start(t, redistest.Options{})
	zaplogPort := vigiltest.FreePort(t)

	routing := vigiltest.WriteFile(t, dir, "routing.yml", `
receivers:
  - name: oncall
route:
  receiver: oncall
  group_wait: 0s
`)
	cfg := vigiltest.WriteFile(t, dir, "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
  file_storage:
    directory: ${env:VIGIL_STORAGE_DIR}
    create_directory: true
  # Owns nothing here: its lease telemetry is exported from the start.
  redis_storage:
    endpoint: %[1]s
receivers:
  # Spans and alert events from the SDK, whose pipelines never refuse.
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
  # Requests to the stalled exporter, which refuses them once its queue
  # is full.
  otlp/lossy:
    protocols:
      http:
        endpoint: ${env:VIGIL_OTLP_HTTP_ENDPOINT}
  zaplog:
    http:
      endpoint: 127.0.0.1:%[2]d
connectors:
  span_metrics:
    metrics_flush_interval: 1s
  slo:
    specs: [embedded]
  # Two operations make 8 RED series; 4 are watched.
  anomaly:
    interval: 1s
    max_series: 4
  alertrouter:
    routing: %[3]s
    storage: file_storage
    receivers:
      oncall: [logs/pagerduty-refusing, logs/pagerduty-down]
exporters:
  debug:
    verbosity: basic
  pagerduty/refusing:
    routing_key: %[4]s
    endpoint: %[5]s
  # No queue: the router's handover waits for the attempts, which fail.
  pagerduty/down:
    routing_key: %[4]s
    endpoint: %[6]s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 200ms
      max_elapsed_time: 1s
    sending_queue:
      enabled: false
  # Never answers: a one-request queue stays full, every send times out.
  otlp_grpc/stalled:
    endpoint: %[7]s
    tls:
      insecure: true
    timeout: 1s
    retry_on_failure:
      enabled: false
    sending_queue:
      queue_size: 1
      num_consumers: 1
      block_on_overflow: false
  loki/down:
    endpoint: http://%[8]s
    retry_on_failure:
      initial_interval: 100ms
  loki/refusing:
    endpoint: %[9]s
  prometheus_remote_write:
    endpoint: http://%[8]s/api/v1/write
    wal:
      directory: ${env:VIGIL_STORAGE_DIR}/prometheus_remote_write
      lag_record_frequency: 1s
    remote_write_queue:
      enabled: false
service:
  extensions: [health_check, file_storage, redis_storage]
  telemetry:
    metrics:
      level: normal
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [span_metrics, slo]
    metrics/red:
      receivers: [span_metrics]
      exporters: [anomaly]
    metrics/out:
      receivers: [slo, anomaly]
      exporters: [debug, prometheus_remote_write]
    logs/connectors:
      receivers: [slo, anomaly]
      exporters: [debug]
    logs/alerts:
      receivers: [otlp]
      exporters: [alertrouter]
    logs/pagerduty-refusing:
      receivers: [alertrouter]
      exporters: [pagerduty/refusing]
    logs/pagerduty-down:
      receivers: [alertrouter]
      exporters: [pagerduty/down]
    traces/lossy:
      receivers: [otlp/lossy]
      exporters: [otlp_grpc/stalled]
    metrics/lossy:
      receivers: [otlp/lossy]
      exporters: [otlp_grpc/stalled]
    logs/lossy:
      receivers: [otlp/lossy]
      exporters: [otlp_grpc/stalled, loki/down, loki/refusing]
    logs/zaplog:
      receivers: [zaplog]
      exporters: [debug]
`, redis.Addr, zaplogPort, routing, pagingtest.RoutingKey, refusing.URL, down.URL, stalled, dead, lokiRefusing.URL))

	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})

	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	tracing := vigiltest.TracerProvider(t, inst.OTLPGRPCEndpoint(), res)
	tracer := tracing.Tracer("selfalerts-test")
	alerts := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
	lossy := "http://" + inst.OTLPHTTPEndpoint()
	var last time.Time
	n := 0
	provoke := func() {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		n++
		ctx := context.Background()
		// Spans of two operations, some failing: 8 RED series.
		for _, op := range []string{"POST /checkout", "GET /cart"} {
			for i := 0; i < 10; i++ {
				_, span := tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindServer))
				if i%5 == 0 {
					span.SetStatus(codes.Error, "backend unavailable")
				}
				span.End()
			}
		}
		if err := tracing.ForceFlush(ctx); err != nil {
			t.Fatalf("exporting spans: %v", err)
		}
		// A new alert each time, so the router notifies again.
		if n%5 == 1 {
			alerts.SendNamed(t, "SelfAlertsProbe"+strconv.Itoa(n), "selfalerts-probe-"+strconv.Itoa(n), "firing")
		}
		// Requests for the stalled exporter: the second and later find
		// its queue full.
		now := strconv.FormatInt(time.Now().UnixNano(), 10)
		for i := 0; i < 3; i++ {
			post(t, lossy+"/v1/traces", `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"lossy"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"op","kind":2,"startTimeUnixNano":"`+now+`","endTimeUnixNano":"`+now+`"}]}]}]}`)
			post(t, lossy+"/v1/metrics", `{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"lossy"}}]},"scopeMetrics":[{"metrics":[{"name":"lossy_gauge","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"`+now+`"}]}}]}]}]}`)
			post(t, lossy+"/v1/logs", `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"lossy"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"`+now+`","body":{"stringValue":"lossy"}}]}]}]}`)
		}
		// A zap record and a line that is none.
		post(t, "http://127.0.0.1:"+strconv.Itoa(zaplogPort),
			`{"level":"info","ts":1700000000.5,"msg":"order placed"}`+"\nnot a zap record\n")
	}
	return inst, provoke
}

// post sends body as JSON (ndjson for the zaplog receiver) and drops the
// answer: a refusal is one of the conditions provoked.
func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// deadEndpoint returns host:port of a listener that closes every
// connection as it accepts it: an exporter's request fails at once, as
// against a closed port, and no other process can take the port meanwhile.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	return listen(t, func(c net.Conn) { c.Close() })
}

// stallingEndpoint returns host:port of a listener that accepts
// connections and never answers: a request hangs until its timeout.
func stallingEndpoint(t *testing.T) string {
	t.Helper()
	return listen(t, nil)
}

// listen accepts connections on a FreeListener and hands each to handle,
// or holds it until the test ends when handle is nil.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln := vigiltest.FreeListener(t)
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if handle != nil {
				handle(c)
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}
