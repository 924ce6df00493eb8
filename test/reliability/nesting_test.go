package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
	"github.com/vigil-otel/vigil/internal/testutil/rawotlp"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// attack is one deeply nested request.
type attack struct {
	place     deepotlp.Place
	nesting   deepotlp.Nesting
	transport deepotlp.Transport
	depth     int
}

func (a attack) String() string {
	return fmt.Sprintf("%s %s nested %d deep over %s", a.place, a.nesting, a.depth, a.transport)
}

// attacks are the requests that took the process down or were accepted
// with 200 before the guard, each as deep as the transport's size limit
// lets it be: 20 MiB for OTLP/HTTP (a million levels of key-value lists
// is 17.5 MB of protobuf), 4 MiB for gRPC.
func attacks() []attack {
	var out []attack
	for _, p := range []deepotlp.Place{deepotlp.LogBody, deepotlp.GaugeAttribute, deepotlp.SpanAttribute} {
		for _, n := range []deepotlp.Nesting{deepotlp.KVList, deepotlp.Array} {
			out = append(out,
				attack{p, n, deepotlp.HTTPProtobuf, 1_000_000},
				attack{p, n, deepotlp.HTTPJSON, map[deepotlp.Nesting]int{deepotlp.KVList: 300_000, deepotlp.Array: 600_000}[n]},
				attack{p, n, deepotlp.GRPC, 200_000},
			)
		}
	}
	return out
}

// TestDeepNestingIsRefused sends each attack to the embedded default and
// checks that it is refused as invalid (HTTP 400, gRPC InvalidArgument),
// that the process stays up and keeps accepting ordinary requests through
// the same pipeline (the Prometheus exporter renders the gauge's
// attributes on scrape), and that every refusal is counted. A request
// nested as deep as the guard allows (64 levels) is accepted.
func TestDeepNestingIsRefused(t *testing.T) {
	inst := vigiltest.Start(t, vigiltest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	refused := 0
	for _, a := range attacks() {
		answer, err := send(ctx, inst, a.transport, a.place, deepotlp.Build(a.transport, a.place, a.nesting, a.depth))
		switch {
		case err != nil:
			t.Errorf("%v: %v", a, err)
		case answer.Status != refusedStatus[a.transport]:
			t.Errorf("%v: answered %+v, want %s", a, answer, refusedStatus[a.transport])
		default:
			refused++
			t.Logf("%v: %s: %s", a, answer.Status, answer.Message)
		}
		// The process must outlive the request and whatever the pipeline
		// does with it afterwards.
		for _, ordinary := range []int{3, 64} {
			answer, err := send(ctx, inst, a.transport, a.place, deepotlp.Build(a.transport, a.place, a.nesting, ordinary))
			if err == nil && answer.Status != okStatus[a.transport] {
				err = fmt.Errorf("answered %+v", answer)
			}
			if err != nil {
				t.Errorf("after %v, a request nested %d deep: %v", a, ordinary, err)
			}
		}
		if _, err := vigiltest.Scrape(inst.PrometheusURL()); err != nil {
			t.Errorf("after %v, scraping the prometheus exporter: %v", a, err)
		}
		if inst.Exited() || inst.WaitHealthy(5*time.Second) != nil {
			t.Errorf("after %v the process died:\n%s", a, tail(inst.Log(), 40))
			inst = vigiltest.Start(t, vigiltest.Options{})
			refused = -1000 // the count starts over with the process
		}
	}
	if refused < 0 {
		return
	}
	err := vigiltest.Eventually(ctx, func() error {
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		if got := vigiltest.Sum(families, "otelcol_otlp_guard_requests_refused", map[string]string{"reason": "too_deep"}); got != float64(refused) {
			return fmt.Errorf("otelcol_otlp_guard_requests_refused{reason=too_deep} = %v, want %d", got, refused)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// Answers' statuses by transport.
var (
	refusedStatus = map[deepotlp.Transport]string{
		deepotlp.HTTPProtobuf: http.StatusText(http.StatusBadRequest),
		deepotlp.HTTPJSON:     http.StatusText(http.StatusBadRequest),
		deepotlp.GRPC:         codes.InvalidArgument.String(),
	}
	okStatus = map[deepotlp.Transport]string{
		deepotlp.HTTPProtobuf: http.StatusText(http.StatusOK),
		deepotlp.HTTPJSON:     http.StatusText(http.StatusOK),
		deepotlp.GRPC:         codes.OK.String(),
	}
)

// send posts one raw request to the instance's listener for the transport.
func send(ctx context.Context, inst *vigiltest.Instance, tr deepotlp.Transport, p deepotlp.Place, body []byte) (rawotlp.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	endpoint := inst.OTLPHTTPEndpoint()
	if tr == deepotlp.GRPC {
		endpoint = inst.OTLPGRPCEndpoint()
	}
	return rawotlp.Send(ctx, tr, endpoint, p, body)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
