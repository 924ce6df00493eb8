package reliability

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// retrySpecs: one SLO for the service whose requests are retried, one for
// the marker sent after them.
const retrySpecs = `version: vigil/v1
service: %s
slos:
  - name: availability
    objective: 99
    window: 7d
    sli:
      spans:
        match: {span_kind: server}
        bad: {status: error}
`

// TestRetriedRequestsCountedOnce is the defect "nothing is lost or
// duplicated" did not hold for, end to end: full.yaml with ClickHouse
// unreachable and a 50-row ClickHouse queue, so that once the queue is
// full the collector refuses every traces request (the fan-out returns
// the ClickHouse exporter's error) and the client sends it again, as an
// SDK or a gateway does. The SLO connector counted every try (in a trial
// with a gateway retrying without end, 200 spans became 4,840 SLO
// events in 30 s); it now counts each request once: the SLO events equal
// the spans sent, and every try after the first shows in
// otelcol_slo_repeated_requests.
func TestRetriedRequestsCountedOnce(t *testing.T) {
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	dir := t.TempDir()
	specs := filepath.Join(dir, "specs")
	if err := os.Mkdir(specs, 0o755); err != nil {
		t.Fatal(err)
	}
	vigiltest.WriteFile(t, specs, "retried.yaml", fmt.Sprintf(retrySpecs, "retried"))
	vigiltest.WriteFile(t, specs, "marker.yaml", fmt.Sprintf(retrySpecs, "marker"))
	inst := vigiltest.Start(t, vigiltest.Options{
		Args: []string{
			"--config", filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml"),
			"--set=connectors::slo::evaluation_interval=1s",
			"--set=exporters::clickhouse::sending_queue::queue_size=50",
			"--set=exporters::clickhouse::sending_queue::batch::min_size=50",
			// No pprof: one port fewer to find free in VIGIL_TEST_PORTS.
			"--set=service::extensions=[health_check, file_storage, otlp_guard]",
		},
		Env: map[string]string{
			"VIGIL_SLO_DIR":               specs,
			"CLICKHOUSE_ENDPOINT":         "tcp://" + down(),
			"LOKI_ENDPOINT":               "http://" + down(),
			"PROMETHEUS_REMOTE_WRITE_URL": "http://" + down() + "/api/v1/write",
			"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
		},
	})
	conn, err := grpc.NewClient(inst.OTLPGRPCEndpoint(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 20 requests of 10 spans, each sent until the collector takes it,
	// at most 5 times: a client's bounded retries.
	const requests, perRequest, tries = 20, 10, 5
	sent, refusedTries, given := 0, 0, 0
	for r := range requests {
		req := ptraceotlp.NewExportRequestFromTraces(retrySpans("retried", r*perRequest, perRequest))
		for try := 1; ; try++ {
			sent++
			_, err := client.Export(ctx, req)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			refusedTries++
			if try == tries {
				given++ // the client gives up; the SLO counted it once
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("%d requests of %d spans, %d tries, %d refused, %d given up", requests, perRequest, sent, refusedTries, given)
	if refusedTries < requests {
		t.Fatalf("only %d of %d tries refused: the ClickHouse queue did not fill, the test exercised no retry", refusedTries, sent)
	}

	// A marker request after them: an evaluation that shows its event
	// counted everything sent before it.
	_, _ = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(retrySpans("marker", 100_000, 1)))
	var events float64
	err = vigiltest.Eventually(ctx, func() error {
		fams, err := vigiltest.Scrape(inst.PrometheusURL())
		if err != nil {
			return err
		}
		marker := vigiltest.Sum(fams, "vigil_slo_events_total", map[string]string{"service_name": "marker"})
		events = vigiltest.Sum(fams, "vigil_slo_events_total", map[string]string{"service_name": "retried"})
		if marker < 1 || events < requests*perRequest {
			return fmt.Errorf("marker events %v, retried events %v", marker, events)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if events != requests*perRequest {
		t.Errorf("vigil_slo_events_total of the retried service = %v, want %d: the spans sent, each once (%d tries)", events, requests*perRequest, sent)
	}

	fams, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vigiltest.Sum(fams, "otelcol_slo_repeated_requests", map[string]string{"signal": "traces"}), float64(sent-requests); got != want {
		t.Errorf("otelcol_slo_repeated_requests{signal=\"traces\"} = %v, want %v (every try after a request's first)", got, want)
	}
}

// retrySpans is a request of n server spans of service, numbered from
// first: IDs of their own, ended a second ago, every fifth failed.
func retrySpans(service string, first, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	end := time.Now().Add(-time.Second)
	for i := first; i < first+n; i++ {
		s := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		binary.BigEndian.PutUint64(tid[:8], uint64(time.Now().UnixNano()))
		binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName("POST /checkout")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-20 * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		if i%5 == 4 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}
