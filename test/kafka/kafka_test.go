// Package kafka tests the gateway→Kafka→evaluator topology of
// deploy/kafka with the built binary: gateways key every record by
// service, so a service's records share one partition, and evaluators
// consume them in one consumer group.
//
// The Kafka here is franz-go's kfake, run in the test process: a
// protocol-level test double that speaks Kafka's wire protocol (produce,
// fetch, metadata, consumer groups, offsets) with three brokers on
// loopback. It is not Apache Kafka: replication, storage and timing are
// not Kafka's, so this shows the configuration and the keying, not
// behaviour under a real broker's failures. Debian's kcat, a librdkafka
// client, reads the topics as an independent client.
package kafka

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

var services = []string{"checkout", "payments", "cart", "search"}

func TestGatewayKafkaEvaluator(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: apt-get install kcat (scripts/install-test-deps.sh installs it)")
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(3),
		kfake.SeedTopics(3, "otlp_spans", "otlp_metrics", "otlp_logs"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	brokers := "[" + strings.Join(addrs, ", ") + "]"
	t.Logf("kfake (a protocol-level Kafka test double) brokers: %s", brokers)

	root := vigiltest.RepoRoot()
	gateway := vigiltest.Start(t, vigiltest.Options{
		Args: []string{"--config", filepath.Join(root, "deploy", "kafka", "gateway.yaml")},
		Env:  map[string]string{"VIGIL_KAFKA_BROKERS": brokers},
	})

	// Requests that mix services, as a gateway in front of many SDKs and
	// agents gets them.
	for i := 0; i < 8; i++ {
		postTraces(t, "http://"+gateway.OTLPHTTPEndpoint()+"/v1/traces",
			services[i%4], services[(i+1)%4], services[(i+2)%4])
	}

	// kcat reads the spans topic: every record is keyed by its service and
	// every service's records are on one partition.
	out := kcatUntil(t, kcat, addrs[0], 8*3)
	partitions := map[string]map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		p, key, ok := strings.Cut(line, "\t")
		if !ok || key == "" {
			t.Fatalf("kcat: a record without a key: %q", line)
		}
		if partitions[key] == nil {
			partitions[key] = map[string]bool{}
		}
		partitions[key][p] = true
	}
	var keys []string
	for key, ps := range partitions {
		keys = append(keys, key)
		if len(ps) != 1 {
			t.Errorf("service %s is on partitions %v, want one", key, ps)
		}
	}
	sort.Strings(keys)
	want := append([]string(nil), services...)
	sort.Strings(want)
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("record keys %v, want the services %v", keys, want)
	}
	t.Logf("partition of each service: %v", partitions)

	meta, err := exec.Command(kcat, "-b", addrs[0], "-L", "-t", "otlp_spans").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, meta)
	}
	for _, want := range []string{"3 brokers:", `topic "otlp_spans" with 3 partitions`} {
		if !strings.Contains(string(meta), want) {
			t.Errorf("kcat -L lacks %q:\n%s", want, meta)
		}
	}

	// An evaluator on the embedded default's configuration plus the kafka
	// receiver consumes the topics: RED metrics appear for every service.
	evaluator := vigiltest.Start(t, vigiltest.Options{
		Args: []string{
			"--config", filepath.Join(root, "collector", "config", "default.yaml"),
			"--config", filepath.Join(root, "deploy", "kafka", "evaluator.yaml"),
			// RED series within the test's wait, not after 15 s.
			"--set=connectors::slo::red::flush_interval=1s",
		},
		Env: map[string]string{"VIGIL_KAFKA_BROKERS": brokers},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err = vigiltest.Eventually(ctx, func() error {
		families, err := vigiltest.Scrape(evaluator.PrometheusURL())
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, m := range families["traces_span_metrics_calls_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service_name" {
					seen[l.GetValue()] = true
				}
			}
		}
		for _, s := range services {
			if !seen[s] {
				return fmt.Errorf("no traces_span_metrics_calls_total for %s yet (seen %v)", s, seen)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the evaluator did not consume every service: %v\nevaluator log:\n%s", err, evaluator.Log())
	}
}

// postTraces sends one OTLP/HTTP request with a resource (and a span) per
// service.
func postTraces(t *testing.T, url string, services ...string) {
	t.Helper()
	td := ptrace.NewTraces()
	now := time.Now()
	for i, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		rs.Resource().Attributes().PutStr("k8s.pod.name", fmt.Sprintf("%s-%d", s, i))
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName("GET /" + s)
		span.SetKind(ptrace.SpanKindServer)
		span.SetTraceID([16]byte{byte(i + 1), 1})
		span.SetSpanID([8]byte{byte(i + 1), 2})
		span.SetStartTimestamp(pcommonTime(now.Add(-50 * time.Millisecond)))
		span.SetEndTimestamp(pcommonTime(now))
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}

// kcatUntil consumes the spans topic from the start with kcat until it
// holds at least n records (the gateway's queue sends asynchronously),
// printing "partition<TAB>key" per record.
func kcatUntil(t *testing.T, kcat, broker string, n int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(kcat, "-b", broker, "-C", "-t", "otlp_spans", "-o", "beginning", "-e", "-q",
			"-f", `%p\t%k\n`).CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -C: %v\n%s", err, out)
		}
		if got := strings.Count(string(out), "\n"); got >= n || time.Now().After(deadline) {
			if got < n {
				t.Fatalf("kcat read %d records of %d:\n%s", got, n, out)
			}
			return string(out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }
