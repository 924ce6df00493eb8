package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/fakewebhook"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

const (
	// objective of every test SLO (99.9%): its error budget is 0.1%.
	objective = 99.9
	// leaseTTL is the evaluators' lease TTL: a SIGKILLed evaluator's
	// services move after it.
	leaseTTL = 3 * time.Second
	// notifyWait bounds the time from a condition to its notification at
	// the fake: evaluation (1s), group_wait (5s), a flush, a handover.
	notifyWait = 30 * time.Second
)

// serviceName is the i-th test service.
func serviceName(i int) string { return fmt.Sprintf("svc-%02d", i) }

// writeSpecs writes one availability SLO (99.9%, bad: status error) per
// service into a fresh folder, for VIGIL_SLO_DIR, and after it the SLOs of
// more (YAML list items, the same for every service).
func writeSpecs(t *testing.T, services []string, more ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range services {
		vigiltest.WriteFile(t, dir, s+".yaml", fmt.Sprintf(`version: vigil/v1
service: %s
slos:
  - name: availability
    objective: %g
    window: 30d
    sli:
      spans:
        match:
          span_kind: server
        bad:
          status: error
    alerting:
      page: {}
      ticket: {}
`, s, objective)+strings.Join(more, ""))
	}
	return dir
}

// fleet is a shared store, evaluators and gateways.
type fleet struct {
	t          *testing.T
	store      string // Redis host:port
	specs      string
	routing    string
	fake       *fakepagerduty.Server
	hook       *fakewebhook.Server // every evaluator's webhook receiver
	evaluators []*vigiltest.Instance
	// extraArgs and extraEnv are added to every evaluator's.
	extraArgs []string
	extraEnv  map[string]string
}

func newFleet(t *testing.T, store string, services []string) *fleet {
	fake := fakepagerduty.New(t)
	return &fleet{
		t: t, store: store, specs: writeSpecs(t, services), fake: fake, hook: fakewebhook.New(t),
		routing: vigiltest.WriteFile(t, t.TempDir(), "routing.yml", `
receivers:
  - name: default
route:
  receiver: default
  group_interval: 10s
`),
	}
}

// prefix keeps each test's keys apart in Redis.
func (f *fleet) prefix() string { return strings.ReplaceAll(f.t.Name(), "/", "_") }

func configPath(name string) string {
	return filepath.Join(vigiltest.RepoRoot(), "collector", "config", name)
}

// startEvaluator starts an evaluator from the shipped evaluator.yaml,
// with intervals shortened for the test.
func (f *fleet) startEvaluator() *vigiltest.Instance {
	f.t.Helper()
	return f.startEvaluatorEnv(nil)
}

// startEvaluatorEnv is startEvaluator with env added to this evaluator's
// environment.
func (f *fleet) startEvaluatorEnv(extra map[string]string) *vigiltest.Instance {
	f.t.Helper()
	return f.startEvaluatorOn(extra, "")
}

// startEvaluatorOn is startEvaluatorEnv on the storage folder of an
// evaluator that ran before (a fresh one when empty), as a StatefulSet's
// evaluator starts again on its volume.
func (f *fleet) startEvaluatorOn(extra map[string]string, storageDir string) *vigiltest.Instance {
	f.t.Helper()
	env := pagingtest.PagerDutyEnv(f.fake)
	env["VIGIL_STORE_ENDPOINT"] = f.store
	env["VIGIL_SLO_DIR"] = f.specs
	env["VIGIL_WEBHOOK_URL"] = f.hook.URL
	for k, v := range f.extraEnv {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	inst := vigiltest.Start(f.t, vigiltest.Options{
		Args: append([]string{
			"--config", configPath("evaluator.yaml"),
			"--set=connectors::slo::evaluation_interval=1s",
			"--set=connectors::slo::checkpoint_interval=1s",
			"--set=connectors::alertrouter::routing=" + f.routing,
			fmt.Sprintf("--set=extensions::redis_storage::ownership::lease_ttl=%s", leaseTTL),
			"--set=extensions::redis_storage::ownership::handover_quiet=1s",
			"--set=extensions::redis_storage::prefix=" + f.prefix(),
		}, f.extraArgs...),
		Env:        env,
		StorageDir: storageDir,
	})
	f.evaluators = append(f.evaluators, inst)
	return inst
}

// gatewayEnv is VIGIL_EVALUATORS for the evaluators, a YAML flow list.
func gatewayEnv(evaluators []*vigiltest.Instance) map[string]string {
	var addrs []string
	for _, e := range evaluators {
		addrs = append(addrs, e.OTLPGRPCEndpoint())
	}
	return map[string]string{"VIGIL_EVALUATORS": "[" + strings.Join(addrs, ", ") + "]"}
}

// startGateway starts a gateway from the shipped gateway.yaml routing to
// the evaluators; ports and storage of a previous gateway are reused when
// given, as a restart with a new static list does.
func startGateway(t *testing.T, evaluators []*vigiltest.Instance, previous *vigiltest.Instance) *vigiltest.Instance {
	t.Helper()
	opts := vigiltest.Options{Args: []string{"--config", configPath("gateway.yaml")}, Env: gatewayEnv(evaluators)}
	if previous != nil {
		opts.Ports, opts.StorageDir = previous.Ports, previous.StorageDir
	}
	return vigiltest.Start(t, opts)
}

// restartGateway stops a gateway (SIGTERM: its queue stays on disk) and
// starts it again routing to evaluators.
func restartGateway(t *testing.T, gw *vigiltest.Instance, evaluators []*vigiltest.Instance) *vigiltest.Instance {
	t.Helper()
	if _, err := gw.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stopping the gateway: %v", err)
	}
	return startGateway(t, evaluators, gw)
}

// client sends spans over OTLP gRPC (the collector's own client).
type client struct {
	conn *grpc.ClientConn
	otlp ptraceotlp.GRPCClient
}

func newClient(t *testing.T, endpoint string) *client {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &client{conn: conn, otlp: ptraceotlp.NewGRPCClient(conn)}
}

// spans builds n server spans of service ending now, all failing or not.
func spans(service string, n int, failing bool) ptrace.Traces {
	// Each request its own trace IDs, as an SDK's are: requests alike but
	// for their IDs would be one request to the evaluators' dedup windows.
	req := requests.Add(1)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	end := time.Now()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /")
		sp.SetKind(ptrace.SpanKindServer)
		var id [8]byte
		copy(id[:], fmt.Sprintf("%08d", i))
		sp.SetSpanID(pcommon.SpanID(id))
		sp.SetTraceID(pcommon.TraceID([16]byte{1, byte(i >> 8), byte(i), 0, byte(req >> 56), byte(req >> 48), byte(req >> 40), byte(req >> 32), byte(req >> 24), byte(req >> 16), byte(req >> 8), byte(req)}))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-10 * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		if failing {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// requests numbers the requests spans builds.
var requests atomic.Uint64

// send exports n spans of service; an error means not accepted.
func (c *client) send(ctx context.Context, service string, n int, failing bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.otlp.Export(ctx, ptraceotlp.NewExportRequestFromTraces(spans(service, n, failing)))
	return err
}

// mustSend sends, retrying for up to 30s while the gateway pushes back
// (a full queue answers Unavailable, as an OTLP client retries), and fails
// the test if it never accepts.
func (c *client) mustSend(t *testing.T, service string, n int, failing bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.send(context.Background(), service, n, failing)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sending %d spans of %s: %v", n, service, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tally counts what was accepted per service.
type tally struct {
	mu        sync.Mutex
	good, bad map[string]int
}

func newTally() *tally { return &tally{good: map[string]int{}, bad: map[string]int{}} }

func (y *tally) add(service string, n int, failing bool) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if failing {
		y.bad[service] += n
	} else {
		y.good[service] += n
	}
}

func (y *tally) get(service string) (good, bad int) {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.good[service], y.bad[service]
}

// sloEvents is what an evaluator reports of a service's SLI counts:
// vigil_slo_events_total by outcome; found is false when it exports no
// series of the service.
func sloEvents(inst *vigiltest.Instance, service string) (good, bad float64, found bool, err error) {
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	if err != nil {
		return 0, 0, false, err
	}
	mf := fams["vigil_slo_events_total"]
	if mf == nil {
		return 0, 0, false, nil
	}
	for _, m := range mf.GetMetric() {
		var svc, outcome string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "service_name":
				svc = l.GetValue()
			case "outcome":
				outcome = l.GetValue()
			}
		}
		if svc != service {
			continue
		}
		found = true
		if outcome == "good" {
			good += m.GetCounter().GetValue()
		} else {
			bad += m.GetCounter().GetValue()
		}
	}
	return good, bad, found, nil
}

// budget is an evaluator's vigil_slo_error_budget_remaining_ratio of the
// service's availability SLO.
func budget(inst *vigiltest.Instance, service string) (float64, bool) {
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	if err != nil {
		return 0, false
	}
	mf := fams["vigil_slo_error_budget_remaining_ratio"]
	if mf == nil {
		return 0, false
	}
	want := map[string]string{"service_name": service, "slo": "availability"}
	for _, m := range mf.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// exactBudget is the error budget remaining after good and bad events.
func exactBudget(good, bad int) float64 {
	return 1 - (float64(bad)/float64(good+bad))/(1-objective/100)
}

// owner waits until exactly one of the running evaluators exports the
// service's SLO series with at least minEvents events, and returns it.
func (f *fleet) owner(service string, minEvents float64, running []*vigiltest.Instance, within time.Duration) *vigiltest.Instance {
	f.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		var owners []*vigiltest.Instance
		for _, e := range running {
			g, b, found, err := sloEvents(e, service)
			if err == nil && found && g+b >= minEvents {
				owners = append(owners, e)
			}
		}
		if len(owners) == 1 {
			return owners[0]
		}
		last = fmt.Sprintf("%d evaluators export %s", len(owners), service)
		time.Sleep(300 * time.Millisecond)
	}
	f.t.Fatalf("no single owner of %s within %s: %s", service, within, last)
	return nil
}

// pages counts the critical triggers (pages) of a service's
// availability SLO, and its resolves, at the fake.
func pages(fake *fakepagerduty.Server, service string) (dedup string, triggers, resolves int) {
	for _, ev := range fake.Events() {
		// Resolves carry no payload; the trigger names the service.
		if ev.EventAction == "trigger" && ev.Payload != nil && ev.Payload.Source == service && ev.Payload.Severity == "critical" {
			dedup = ev.DedupKey
			break
		}
	}
	if dedup == "" {
		return "", 0, 0
	}
	return dedup, fake.Count(dedup, "trigger"), fake.Count(dedup, "resolve")
}

// webhookNotices returns, in order of arrival, the status ("firing" or
// "resolved") of every webhook payload naming service's critical
// (page) alert, and fails the test on a payload the receiver refused.
func webhookNotices(t *testing.T, hook *fakewebhook.Server, service string) []string {
	t.Helper()
	if err := hook.Err(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range hook.Accepted() {
		for _, a := range p.Alerts {
			if a.Labels["service_name"] == service && a.Labels["severity"] == "page" {
				out = append(out, *a.Status)
			}
		}
	}
	return out
}

// burstUntilPaged sends failing spans of service until it is paged.
func burstUntilPaged(t *testing.T, f *fleet, c *client, y *tally, service string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if dedup, n, _ := pages(f.fake, service); n > 0 {
			return dedup
		}
		if time.Now().After(deadline) {
			g, b := y.get(service)
			t.Fatalf("%s not paged within 90s of its burst (%d good, %d bad spans accepted)", service, g, b)
		}
		c.mustSend(t, service, 20, true)
		y.add(service, 20, true)
		time.Sleep(100 * time.Millisecond)
	}
}

// recover sends good spans of service until its error ratio is 0.45%: a
// burn rate of 4.5, below both page conditions (14.4 and 6), so the page
// resolves without waiting for the burst to leave its windows.
func recoverService(t *testing.T, c *client, y *tally, service string) {
	t.Helper()
	good, bad := y.get(service)
	target := int(float64(bad)/0.0045) - bad - good
	for sent := 0; sent < target; sent += 2000 {
		n := min(2000, target-sent)
		c.mustSend(t, service, n, false)
		y.add(service, n, false)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
