package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Storage in a fleet: evaluators run collector/config/storage.yaml over
// evaluator.yaml, as the Helm chart runs them with config.base full.
// Loki is the real one (internal/testutil/lokitest) and Sentry the strict
// fake; no ClickHouse server runs here (DESIGN.md, "Real components"), so
// the evaluators' clickhouse exporter points at a port where nothing
// listens: its queue waits, and the tests check it holds up nothing else.

const sentryKey = "5e7e5e7e5e7e5e7e5e7e5e7e5e7e5e7e"

// storageArgs are the evaluators' extra arguments: the storage overlay.
func storageArgs() []string {
	return []string{"--config", configPath("storage.yaml")}
}

// unreachableClickHouse is a ClickHouse endpoint where nothing listens.
func unreachableClickHouse(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("tcp://127.0.0.1:%d", vigiltest.FreePort(t))
}

// acceptedLogs is how many log records an evaluator's OTLP receiver took.
func acceptedLogs(t *testing.T, inst *vigiltest.Instance) float64 {
	t.Helper()
	fams, err := vigiltest.Scrape(inst.TelemetryURL())
	if err != nil {
		t.Fatal(err)
	}
	return vigiltest.Sum(fams, "otelcol_receiver_accepted_log_records", map[string]string{"receiver": "otlp"})
}

// logServices sends record 0 of each candidate service, one at a time,
// sees which evaluator the gateway routes each to, and returns a service
// whose logs go to each of the two evaluators. Its spans and metrics go
// there too: gateway.yaml routes every signal by one key, the service's
// name (TestFleetRoutesEverySignalOfAServiceToOneEvaluator).
func logServices(t *testing.T, c *client, evs []*vigiltest.Instance, candidates []string) (first, second string) {
	t.Helper()
	for _, s := range candidates {
		before := []float64{acceptedLogs(t, evs[0]), acceptedLogs(t, evs[1])}
		sendLogs(t, c, s, 0, 1)
		var to int
		waitFor(t, 30*time.Second, s+"'s record 0 at an evaluator", func() bool {
			for i, e := range evs {
				if acceptedLogs(t, e) > before[i] {
					to = i
					return true
				}
			}
			return false
		})
		switch {
		case to == 0 && first == "":
			first = s
		case to == 1 && second == "":
			second = s
		}
		if first != "" && second != "" {
			return first, second
		}
	}
	t.Fatalf("the gateway routes the logs of all of %v to one evaluator", candidates)
	return "", ""
}

// logLine is the body of the i-th log record of a service.
func logLine(service string, i int) string { return fmt.Sprintf("%s record %04d", service, i) }

// isError: every fifth record is an ERROR, the others INFO.
func isError(i int) bool { return i%5 == 4 }

// sendLogs sends records [from, from+n) of service in one OTLP request,
// retrying for up to 30s while the gateway pushes back.
func sendLogs(t *testing.T, c *client, service string, from, n int) {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", service)
	sl := rl.ScopeLogs().AppendEmpty()
	now := time.Now()
	for i := from; i < from+n; i++ {
		r := sl.LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Microsecond)))
		r.Body().SetStr(logLine(service, i))
		r.SetSeverityNumber(plog.SeverityNumberInfo)
		r.SetSeverityText("INFO")
		if isError(i) {
			r.SetSeverityNumber(plog.SeverityNumberError)
			r.SetSeverityText("ERROR")
			r.Attributes().PutStr("exception.type", "payment failed")
			r.Attributes().PutStr("exception.message", fmt.Sprintf("order %d declined", i))
		}
	}
	otlp := plogotlp.NewGRPCClient(c.conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := otlp.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sending records %d to %d of %s: %v", from, from+n-1, service, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lokiLines returns how many times Loki holds each line of service since
// start.
func lokiLines(t *testing.T, loki *lokitest.Server, service string, start time.Time) map[string]int {
	t.Helper()
	entries, err := loki.QueryRange("", fmt.Sprintf(`{service_name=%q}`, service), start, time.Now().Add(time.Minute))
	if err != nil {
		t.Logf("querying Loki: %v", err)
		return nil
	}
	lines := map[string]int{}
	for _, e := range entries {
		lines[e.Line]++
	}
	return lines
}

// checkLinesOnce fails the test unless Loki holds exactly records [0, n)
// of service, each once.
func checkLinesOnce(t *testing.T, loki *lokitest.Server, service string, n int, start time.Time) {
	t.Helper()
	lines := lokiLines(t, loki, service, start)
	var missing, twice []string
	for i := range n {
		switch c := lines[logLine(service, i)]; {
		case c == 0:
			missing = append(missing, strconv.Itoa(i))
		case c > 1:
			twice = append(twice, fmt.Sprintf("%d (%d times)", i, c))
		}
		delete(lines, logLine(service, i))
	}
	if len(missing)+len(twice)+len(lines) > 0 {
		t.Errorf("%s in Loki: %d records missing %v, %d more than once %v, %d unexpected", service, len(missing), missing, len(twice), twice, len(lines))
	}
}

// waitLines waits until Loki holds at least records [from, to) of service.
func waitLines(t *testing.T, loki *lokitest.Server, service string, from, to int, start time.Time, within time.Duration) {
	t.Helper()
	waitFor(t, within, fmt.Sprintf("records %d to %d of %s in Loki", from, to-1, service), func() bool {
		lines := lokiLines(t, loki, service, start)
		for i := from; i < to; i++ {
			if lines[logLine(service, i)] == 0 {
				return false
			}
		}
		return true
	})
}

// componentStatus is an evaluator's health check status of a component
// in a pipeline (GET /?verbose), e.g. "StatusRecoverableError"; "" when
// the health check does not list it.
func componentStatus(t *testing.T, inst *vigiltest.Instance, pipeline, id string) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/?verbose", inst.Ports.Health))
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health check answered %d: %s", resp.StatusCode, body)
	}
	type status struct {
		Status     string            `json:"status"`
		Components map[string]status `json:"components"`
	}
	var doc status
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("health check: %v in %s", err, body)
	}
	return doc.Components[pipeline].Components[id].Status
}

// TestFleetStoresLogsAndErrors: a gateway and two evaluators with
// storage.yaml. The logs of two services, which the gateway routes to
// different evaluators, reach the real Loki exactly once, and their ERROR records the
// fake Sentry as one event each, none twice. ClickHouse is unreachable:
// its queue waits (the exporter StatusRecoverableError on the health
// check, which still answers 200), and holds up neither Loki, Sentry nor
// the SLO accounting of the same spans.
func TestFleetStoresLogsAndErrors(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	loki := lokitest.Start(t, false)
	sentry := fakesentry.New(t, fakesentry.Project{ID: "42", Key: sentryKey})
	var candidates []string
	for i := range 8 {
		candidates = append(candidates, serviceName(i))
	}
	f := newFleet(t, redis.Addr, candidates)
	f.extraArgs = storageArgs()
	f.extraEnv = map[string]string{
		"LOKI_ENDPOINT":       loki.URL,
		"SENTRY_DSN":          sentry.DSN("42"),
		"CLICKHOUSE_ENDPOINT": unreachableClickHouse(t),
	}
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	start := time.Now().Add(-time.Minute)
	a, b := logServices(t, c, evs, candidates)
	services := []string{a, b}
	t.Logf("the logs of %s go to evaluator 0, those of %s to evaluator 1", a, b)

	// Record 0 of each went with logServices.
	const rounds, perRound = 5, 20
	for round := range rounds {
		for _, s := range services {
			from := max(round*perRound, 1)
			sendLogs(t, c, s, from, (round+1)*perRound-from)
		}
	}
	const n = rounds * perRound
	errorsPerService := 0
	for i := range n {
		if isError(i) {
			errorsPerService++
		}
	}

	for _, s := range services {
		waitLines(t, loki, s, 0, n, start, 60*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := sentry.WaitEvents(ctx, len(services)*errorsPerService); err != nil {
		t.Fatalf("%v; requests: %+v", err, sentry.Requests())
	}
	// A record stored twice would be there by now.
	time.Sleep(5 * time.Second)
	for _, s := range services {
		checkLinesOnce(t, loki, s, n, start)
	}
	events := sentry.Events()
	perService, ids := map[string]int{}, map[string]bool{}
	for _, ev := range events {
		if ids[ev.EventID] {
			t.Errorf("Sentry event %s stored twice", ev.EventID)
		}
		ids[ev.EventID] = true
		perService[ev.Tags["service.name"]]++
	}
	for _, s := range services {
		if perService[s] != errorsPerService {
			t.Errorf("Sentry has %d events of %s, want %d (its ERROR records)", perService[s], s, errorsPerService)
		}
	}
	if len(events) != len(services)*errorsPerService {
		t.Errorf("Sentry has %d events, want %d", len(events), len(services)*errorsPerService)
	}
	for _, r := range sentry.Requests() {
		if r.Status != http.StatusOK {
			t.Errorf("Sentry refused a request: %+v", r)
		}
	}

	// ClickHouse's exporter waits on its queue; nothing else does.
	for i, e := range evs {
		if got := componentStatus(t, e, "pipeline:logs", "exporter:clickhouse"); got != "StatusRecoverableError" {
			t.Errorf("evaluator %d: the logs' exporter clickhouse is %q on the health check, want StatusRecoverableError (ClickHouse unreachable)", i, got)
		}
		for _, id := range []string{"exporter:loki", "exporter:sentry"} {
			if got := componentStatus(t, e, "pipeline:logs", id); got != "StatusOK" {
				t.Errorf("evaluator %d: the logs' %s is %q, want StatusOK", i, id, got)
			}
		}
		fams, err := vigiltest.Scrape(e.TelemetryURL())
		if err != nil {
			t.Fatal(err)
		}
		if sent := vigiltest.Sum(fams, "otelcol_exporter_sent_log_records", map[string]string{"exporter": "clickhouse"}); sent != 0 {
			t.Errorf("evaluator %d: the clickhouse exporter sent %v log records to a port where nothing listens", i, sent)
		}
		if sent := vigiltest.Sum(fams, "otelcol_exporter_sent_log_records", map[string]string{"exporter": "loki"}); sent < n {
			t.Errorf("evaluator %d: the loki exporter sent %v log records, want at least %d (its service's)", i, sent, n)
		}
	}
	// Spans, which go to ClickHouse's queue too, are accounted in full by
	// the evaluator the service's logs went to, which owns it, and a burst
	// pages: its alert events go to the router and to ClickHouse's queue
	// (the alert history), which does not hold the page up.
	for _, s := range services {
		c.mustSend(t, s, 20, false)
	}
	for i, s := range services {
		waitFor(t, 10*time.Second, fmt.Sprintf("%s's SLO counts at evaluator %d, where its logs went, and none at the other", s, i), func() bool {
			g, bad, _, _ := sloEvents(evs[i], s)
			_, _, other, _ := sloEvents(evs[1-i], s)
			return g+bad == 20 && !other
		})
	}
	y := newTally()
	y.add(b, 20, false)
	burstUntilPaged(t, f, c, y, b)
	t.Logf("%s paged with ClickHouse unreachable", b)
}

// lokiSwitch is a reverse proxy to Loki that answers 503 while down.
type lokiSwitch struct {
	URL      string
	down     atomic.Bool
	requests atomic.Int64 // answered 503
}

func newLokiSwitch(t *testing.T, loki *lokitest.Server) *lokiSwitch {
	t.Helper()
	target, err := url.Parse(loki.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &lokiSwitch{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			s.requests.Add(1)
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	s.URL = srv.URL
	return s
}

// TestFleetStorageQueuesAcrossHandover: what an evaluator queued goes to
// storage from that evaluator, once, whoever owns the service by then.
// Loki is unreachable from evaluator 0 only: its service's records wait
// in its queue. The gateway then routes every service to evaluator 1 (a
// handover, as at scale in), which stores what it now receives at once;
// evaluator 0 is stopped (SIGTERM) with its records still queued, as a
// scaled-in StatefulSet pod is, and its queue waits on its disk. When it
// starts again on that disk (the ordinal returns) with Loki reachable, it
// sends them. Loki then holds every record of both services exactly once.
func TestFleetStorageQueuesAcrossHandover(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	loki := lokitest.Start(t, false)
	cut := newLokiSwitch(t, loki)
	cut.down.Store(true)
	var candidates []string
	for i := range 8 {
		candidates = append(candidates, serviceName(i))
	}
	f := newFleet(t, redis.Addr, candidates)
	f.extraArgs = storageArgs()
	f.extraEnv = map[string]string{"LOKI_ENDPOINT": loki.URL, "CLICKHOUSE_ENDPOINT": unreachableClickHouse(t)}
	evs := []*vigiltest.Instance{f.startEvaluatorEnv(map[string]string{"LOKI_ENDPOINT": cut.URL}), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	start := time.Now().Add(-time.Minute)
	// a's logs go to evaluator 0 (Loki cut off), b's to evaluator 1;
	// record 0 of each went with logServices.
	a, b := logServices(t, c, evs, candidates)
	t.Logf("the logs of %s go to evaluator 0, those of %s to evaluator 1", a, b)

	const perRound = 25
	sendLogs(t, c, a, 1, 2*perRound-1)
	sendLogs(t, c, b, 1, 2*perRound-1)
	waitLines(t, loki, b, 0, 2*perRound, start, 60*time.Second)
	waitFor(t, 30*time.Second, "evaluator 0 trying Loki", func() bool { return cut.requests.Load() > 0 })
	if got := len(lokiLines(t, loki, a, start)); got != 0 {
		t.Fatalf("Loki holds %d records of %s, which evaluator 0 cannot reach it with", got, a)
	}

	// Handover: every service to evaluator 1.
	gw = restartGateway(t, gw, evs[1:])
	c = newClient(t, gw.OTLPGRPCEndpoint())
	for round := 2; round < 4; round++ {
		sendLogs(t, c, a, round*perRound, perRound)
		sendLogs(t, c, b, round*perRound, perRound)
	}
	waitLines(t, loki, a, 2*perRound, 4*perRound, start, 60*time.Second)
	if lines := lokiLines(t, loki, a, start); lines[logLine(a, 0)] != 0 {
		t.Fatalf("%s's first record reached Loki, though evaluator 0 queued it and cannot reach Loki", a)
	}

	// Scale in with the queue full, then the ordinal returns.
	dir := evs[0].StorageDir
	if _, err := evs[0].Stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("stopping evaluator 0: %v", err)
	}
	time.Sleep(2 * time.Second)
	if lines := lokiLines(t, loki, a, start); lines[logLine(a, 0)] != 0 {
		t.Fatalf("%s's first record reached Loki while its evaluator was stopped", a)
	}
	cut.down.Store(false)
	f.startEvaluatorOn(map[string]string{"LOKI_ENDPOINT": cut.URL}, dir)
	waitLines(t, loki, a, 0, 2*perRound, start, 60*time.Second)
	t.Logf("evaluator 0 was refused %d pushes; its queue reached Loki once it started again", cut.requests.Load())

	time.Sleep(5 * time.Second)
	checkLinesOnce(t, loki, a, 4*perRound, start)
	checkLinesOnce(t, loki, b, 4*perRound, start)
}
