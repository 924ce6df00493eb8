package fleet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestFleetGatewayRetriesCountedOnce is the trial that found the defect:
// an evaluator with storage.yaml whose ClickHouse queue is full refuses
// every traces request, and the gateway retries each without end
// (retry_on_failure::max_elapsed_time: 0). Every retry was counted again
// by the SLO connector (200 spans became 4,840 SLO events in 30 s); the
// evaluator now counts each request once, and the retries it absorbed
// show in otelcol_slo_repeated_requests.
func TestFleetGatewayRetriesCountedOnce(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	const retried, marker = "svc-retried", "svc-marker"
	f := newFleet(t, redis.Addr, []string{retried, marker})
	// Room for two requests of 10 rows: the queue is full from the third.
	f.extraArgs = append(storageArgs(),
		"--set=exporters::clickhouse::sending_queue::queue_size=20",
		"--set=exporters::clickhouse::sending_queue::batch::min_size=20")
	f.extraEnv = map[string]string{
		"CLICKHOUSE_ENDPOINT": unreachableClickHouse(t),
		"LOKI_ENDPOINT":       "http://127.0.0.1:" + fmt.Sprint(vigiltest.FreePort(t)),
	}
	ev := f.startEvaluator()
	gw := startGateway(t, []*vigiltest.Instance{ev}, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())

	// Six requests, fewer than the gateway's queue consumers (8), so that
	// each reaches the evaluator however many retry: the gateway takes
	// them into its disk queue and answers at once.
	const requests, perRequest = 6, 10
	for range requests {
		c.mustSend(t, retried, perRequest, false)
	}
	telemetry := func(name string, labels map[string]string) float64 {
		fams, err := vigiltest.Scrape(ev.TelemetryURL())
		if err != nil {
			t.Fatal(err)
		}
		return vigiltest.Sum(fams, name, labels)
	}
	// Four requests refused, each retried every 5 s at most: wait for
	// three refusals of each.
	waitFor(t, 90*time.Second, "the gateway's retries of the refused requests", func() bool {
		return telemetry("otelcol_receiver_refused_spans", map[string]string{"receiver": "otlp"}) >= 12*perRequest
	})
	refused := telemetry("otelcol_receiver_refused_spans", map[string]string{"receiver": "otlp"}) / perRequest

	// A marker straight to the evaluator (the gateway's consumers are all
	// busy retrying): the evaluation that shows it counted everything
	// the evaluator received before it.
	direct := newClient(t, ev.OTLPGRPCEndpoint())
	_, _ = direct.otlp.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(spans(marker, 1, false)))
	var good, bad float64
	waitFor(t, 30*time.Second, "the marker's and the retried service's SLO events", func() bool {
		mg, mb, _, _ := sloEvents(ev, marker)
		good, bad, _, _ = sloEvents(ev, retried)
		return mg+mb >= 1 && good+bad >= requests*perRequest
	})
	if good+bad != requests*perRequest {
		t.Errorf("%s: %v SLO events, want %d: the spans sent, each once", retried, good+bad, requests*perRequest)
	}
	// Every refused try but the first of each request was a retry, which
	// the connector counted as a repeat before the fan-out refused it.
	repeats := telemetry("otelcol_slo_repeated_requests", map[string]string{"signal": "traces"})
	if repeats < refused-requests {
		t.Errorf("otelcol_slo_repeated_requests{signal=\"traces\"} = %v after %v refused tries of %d requests, want every retry", repeats, refused, requests)
	}
	t.Logf("%v SLO events of %d spans; %v tries refused, %v retries absorbed", good+bad, requests*perRequest, refused, repeats)
}
