// Package telemetry checks the names of the collector's own telemetry
// that Vigil's documentation promises against what the built binary
// exports.
package telemetry

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/rawotlp"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func TestMain(m *testing.M) {
	// The test's own requests (health checks, scrapes, posts to the zaplog
	// receiver) keep no idle keep-alive connection, whose parked
	// goroutines goleak would report.
	http.DefaultClient.Transport = &http.Transport{DisableKeepAlives: true}
	goleak.VerifyTestMain(m)
}

// telemetryName is a name of the collector's own telemetry in a document:
// otelcol_ and at least one more word, optionally followed by a label
// selector. Wildcards (`otelcol_*`) and bare prefixes (`otelcol_`) are no
// names.
var telemetryName = regexp.MustCompile("`(otelcol_[a-z0-9_]*[a-z0-9])(?:\\{[^`]*\\})?`")

// documentedName is a metric heading of mdatagen's documentation.md.
var documentedName = regexp.MustCompile(`(?m)^### (otelcol_[a-z0-9_]+)$`)

// TestREADMETelemetryNamesAreExported runs the built binary with every
// Vigil component that has telemetry of its own in its pipelines, drives
// each through the outcomes its metrics count (a 429 and a 400 from
// PagerDuty and from Loki, a line too long, a record that is no alert, a
// full anomaly series budget, a request the otlp_guard refuses, ...), and checks that every otelcol_ name
// the top README and the component READMEs mention, and every metric of a
// component's generated documentation.md, is exported on the collector's
// telemetry endpoint under exactly that name: at collector v0.159 the
// Prometheus endpoint adds no _total suffix and no unit to a counter.
// Every metric of a component's documentation.md must be named in its
// README too.
func TestREADMETelemetryNamesAreExported(t *testing.T) {
	root := vigiltest.RepoRoot()
	want, missingFromREADME := documentedNames(t, root)
	for _, m := range missingFromREADME {
		t.Error(m)
	}
	if len(want) == 0 {
		t.Fatal("no telemetry names found in the READMEs")
	}

	inst, drive, spans := startExercisedBinary(t)
	drive()

	var missing []string
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		// Keep the anomaly connector's series alive: it feeds its
		// detectors at interval boundaries of series that see traffic.
		spans()
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		missing = missing[:0]
		for name := range want {
			if _, ok := families[name]; !ok {
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
		families, _ := vigiltest.Scrape(inst.TelemetryURL())
		for _, name := range missing {
			hint := ""
			if _, ok := families[name+"_total"]; ok {
				hint = " (exported as " + name + "_total)"
			} else if base, ok := strings.CutSuffix(name, "_total"); ok {
				if _, ok := families[base]; ok {
					hint = " (exported as " + base + ": counters carry no _total suffix on the telemetry endpoint)"
				}
			}
			t.Errorf("%s, named in %s, is not exported by the binary%s; if it belongs to a component this test does not exercise yet, add the component to its configuration",
				name, strings.Join(want[name], ", "), hint)
		}
	}
}

// documentedNames returns every otelcol_ name of the top README, of each
// component README and of each component's documentation.md, with the
// files naming it, and a problem for each documentation.md metric its
// README does not name.
func documentedNames(t *testing.T, root string) (map[string][]string, []string) {
	t.Helper()
	names := map[string][]string{}
	add := func(name, file string) {
		for _, f := range names[name] {
			if f == file {
				return
			}
		}
		names[name] = append(names[name], file)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, m := range telemetryName.FindAllStringSubmatch(read(filepath.Join(root, "README.md")), -1) {
		add(m[1], "README.md")
	}
	var problems []string
	var components []string
	for _, kind := range []string{"receiver", "processor", "connector", "exporter", "extension"} {
		dirs, _ := filepath.Glob(filepath.Join(root, kind, "*", "metadata.yaml"))
		for _, d := range dirs {
			components = append(components, filepath.Dir(d))
		}
	}
	if len(components) == 0 {
		t.Fatal("no component (receiver/*/metadata.yaml, ...) found")
	}
	for _, dir := range components {
		rel, _ := filepath.Rel(root, dir)
		readmePath := filepath.Join(dir, "README.md")
		readme := ""
		if _, err := os.Stat(readmePath); err == nil {
			readme = read(readmePath)
		}
		inREADME := map[string]bool{}
		for _, m := range telemetryName.FindAllStringSubmatch(readme, -1) {
			add(m[1], rel+"/README.md")
			inREADME[m[1]] = true
		}
		docPath := filepath.Join(dir, "documentation.md")
		if _, err := os.Stat(docPath); err != nil {
			continue // no telemetry of its own
		}
		for _, m := range documentedName.FindAllStringSubmatch(read(docPath), -1) {
			add(m[1], rel+"/documentation.md")
			if !inREADME[m[1]] {
				problems = append(problems, fmt.Sprintf("%s/README.md does not name %s, which the component emits (documentation.md)", rel, m[1]))
			}
		}
	}
	return names, problems
}

// startExercisedBinary starts the binary on a configuration with every
// Vigil component that has telemetry of its own, and returns a function
// that drives each through the outcomes its metrics count, and one that
// sends a second's worth of spans.
func startExercisedBinary(t *testing.T) (inst *vigiltest.Instance, drive, spans func()) {
	t.Helper()
	dir := t.TempDir()

	// PagerDuty behind the alert router: the first attempt is throttled
	// (429, retried), the retry refused for good (400); the exporter that
	// takes the OTLP logs directly accepts what is an alert and ignores
	// the rest.
	routed := fakepagerduty.New(t)
	routed.RespondNext(1, fakepagerduty.Reply{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	routed.RespondNext(1, fakepagerduty.Reply{Status: http.StatusBadRequest})
	direct := fakepagerduty.New(t)

	// Loki: one push endpoint throttles the first push and then accepts
	// everything, the other refuses everything for good.
	lokiRetry := scriptedLoki(t, http.StatusTooManyRequests)
	lokiReject := scriptedLoki(t, http.StatusBadRequest)

	// A remote write endpoint that takes everything.
	rw := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	remoteWrite := rw.URL + "/api/v1/write"

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
  otlp_guard: {}
  # Owns nothing here: its lease telemetry is exported from the start.
  redis_storage:
    endpoint: %s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
        middlewares: [{id: otlp_guard}]
  zaplog:
    http:
      endpoint: 127.0.0.1:%d
    max_log_size: 300
connectors:
  span_metrics:
    metrics_flush_interval: 1s
  slo:
    specs: [embedded]
  anomaly:
    interval: 1s
    max_series: 4
  alertrouter:
    routing: %s
    storage: file_storage
    receivers:
      oncall: [logs/pagerduty]
exporters:
  prometheus:
    endpoint: ${env:VIGIL_PROMETHEUS_ENDPOINT}
  debug:
    verbosity: basic
  pagerduty:
    routing_key: %s
    endpoint: %s
    retry_on_failure:
      initial_interval: 100ms
    sending_queue:
      storage: file_storage
  pagerduty/direct:
    routing_key: %s
    endpoint: %s
    sending_queue:
      storage: file_storage
  loki/retry:
    endpoint: %s
    line_format: body
    max_line_size: 100
    retry_on_failure:
      initial_interval: 100ms
  loki/reject:
    endpoint: %s
    # Batches of 64 KiB: the record of 90 KB of attributes is cut before
    # the queue (otelcol_loki_log_records_cut).
    sending_queue:
      batch:
        min_size: 1024
        max_size: 65536
  # Unreachable, and sent nothing (no OTLP metrics come in): its
  # otelcol_clickhouse_repeated_requests is exported from the start.
  clickhouse:
    endpoint: tcp://127.0.0.1:%d
  # README names the write-ahead log's lag, recorded here every second.
  prometheus_remote_write:
    endpoint: %s
    wal:
      directory: ${env:VIGIL_STORAGE_DIR}/prometheus_remote_write
      lag_record_frequency: 1s
    remote_write_queue:
      enabled: false
service:
  extensions: [health_check, file_storage, otlp_guard, redis_storage]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [span_metrics, slo]
    metrics/red:
      receivers: [span_metrics]
      exporters: [anomaly]
    metrics/out:
      receivers: [slo, anomaly]
      exporters: [prometheus, prometheus_remote_write]
    logs/alerts:
      receivers: [slo, anomaly]
      exporters: [debug]
    logs:
      receivers: [otlp]
      exporters: [alertrouter, pagerduty/direct, loki/retry, loki/reject]
    logs/pagerduty:
      receivers: [alertrouter]
      exporters: [pagerduty]
    logs/zaplog:
      receivers: [zaplog]
      exporters: [debug]
    metrics/clickhouse:
      receivers: [otlp]
      exporters: [clickhouse]
`, redis.Addr, zaplogPort, routing, pagingtest.RoutingKey, routed.EnqueueURL(), pagingtest.RoutingKey, direct.EnqueueURL(), lokiRetry, lokiReject, vigiltest.FreePort(t), remoteWrite))

	inst = vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})
	// Spans of two operations, good and failing: each has 4 RED series
	// (rate, error ratio, p95, p99), and max_series (4) has room for one.
	tracing := vigiltest.TracerProvider(t, inst.OTLPGRPCEndpoint(), resource.NewSchemaless(attribute.String("service.name", "checkout")))
	tracer := tracing.Tracer("telemetry-test")
	var lastSpans time.Time
	spans = func() {
		if time.Since(lastSpans) < time.Second {
			return
		}
		lastSpans = time.Now()
		ctx := context.Background()
		for _, op := range []string{"POST /checkout", "GET /cart"} {
			for i := 0; i < 25; i++ {
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
	}
	drive = func() {
		ctx := context.Background()

		// zaplog: a zap record, a line that is none, a line too long.
		lines := `{"level":"info","ts":1700000000.5,"msg":"order placed","order_id":42}` + "\n" +
			"not a zap record\n" +
			`{"level":"warn","ts":1700000001.5,"msg":"` + strings.Repeat("x", 400) + `"}` + "\n"
		resp, err := http.Post("http://127.0.0.1:"+strconv.Itoa(zaplogPort), "application/x-ndjson", strings.NewReader(lines))
		if err != nil {
			t.Fatalf("posting to the zaplog receiver: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("zaplog receiver answered %s", resp.Status)
		}

		// An alert event through the router (429, then 400) and straight
		// to pagerduty/direct (accepted), then a record that is no alert:
		// long (truncated for loki/retry) and with attributes larger than
		// Loki takes as an entry's structured metadata (64KB).
		pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint()).Send(t, "telemetry-readme-check", "firing")
		res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
		logs := vigiltest.LoggerProvider(t, inst.OTLPGRPCEndpoint(), res)
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetSeverity(otellog.SeverityInfo)
		r.SetBody(attribute.StringValue("order placed " + strings.Repeat("y", 300)))
		for i := 0; i < 3; i++ {
			r.AddAttributes(attribute.String("attr_"+strconv.Itoa(i), strings.Repeat("z", 30_000)))
		}
		logs.Logger("telemetry-test").Emit(ctx, r)
		if err := logs.ForceFlush(ctx); err != nil {
			t.Fatalf("exporting the log record: %v", err)
		}

		// otlp_guard: a log body nested deeper than it allows.
		deep := deepotlp.Build(deepotlp.GRPC, deepotlp.LogBody, deepotlp.KVList, 100)
		if a, err := rawotlp.Send(ctx, deepotlp.GRPC, inst.OTLPGRPCEndpoint(), deepotlp.LogBody, deep); err != nil || a.Status != "InvalidArgument" {
			t.Fatalf("a request nested 100 deep: %+v, %v; want InvalidArgument", a, err)
		}

		spans()
	}
	return inst, drive, spans
}

// scriptedLoki is a Loki push endpoint that answers the first push with
// status and, when status is retryable (429), every later push with 204.
// It returns the endpoint's base URL.
func scriptedLoki(t *testing.T, status int) string {
	t.Helper()
	var pushes atomic.Int64
	srv := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, bufio.NewReader(r.Body))
		if r.URL.Path != "/loki/api/v1/push" || r.Method != http.MethodPost {
			http.Error(w, "not a push", http.StatusNotFound)
			return
		}
		n := pushes.Add(1)
		switch {
		case status == http.StatusTooManyRequests && n == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Ingestion rate limit exceeded", status)
		case status == http.StatusTooManyRequests:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "entry for stream has timestamp too old", status)
		}
	}))
	return srv.URL
}
