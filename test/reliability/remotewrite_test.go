package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// The load of TestRemoteWriteToPrometheusLosesNothing: producers service
// instances, each with a resource as an SDK has it (service.name,
// service.instance.id, host.name) that its spans and its metrics share,
// sending a gauge of series series every period, collected latency
// before it is sent.
const (
	orderMetric    = "reliability_order"
	orderProducers = 4
	orderSeries    = 100
	orderPeriod    = 250 * time.Millisecond
	orderLatency   = 300 * time.Millisecond
	// Every orderDoubleEvery rounds, producer 0 sends two points of each
	// series in one request (the round's and one halfway since the
	// previous round), as an agent that batched two collections does.
	orderDoubleEvery = 4
	// Every spanPeriod each producer sends spanBatch server spans.
	spanPeriod = 200 * time.Millisecond
	spanBatch  = 5
	// throttleFor is how long the receiver answers 429; maxThrottled the
	// requests the exporter may send meanwhile (it waits about
	// retry_on_failure::initial_interval, 1s, between tries).
	throttleFor  = 5 * time.Second
	maxThrottled = 20
	// oooWindow is the test Prometheus's out_of_order_time_window, as the
	// README asks of a receiver: a request Prometheus stored but whose
	// answer Vigil did not see (killed, stopped, timed out) is sent again,
	// and with two samples of one series it is otherwise refused for good.
	oooWindow = 10 * time.Minute
)

// TestRemoteWriteToPrometheusLosesNothing runs the shipped full.yaml,
// remote write settings as shipped, against a real Prometheus (the Debian
// package, --web.enable-remote-write-receiver, an out-of-order window as
// the README asks) through a proxy that checks the order Vigil writes
// each series in (rwProxy), under the load of 4 service instances (400
// series written four times a second, collected 300 ms before they are
// sent, one request in 16 with two samples of each of its series, spans
// from the same resources whose RED metrics the slo connector writes), and
// puts it through: a rate limit (429 for 5 s), Prometheus down with Vigil
// killed (SIGKILL) during the outage and restarted before Prometheus is
// back (its write-ahead log replayed), Vigil killed right after Prometheus
// stored a request with two samples of a series (sent again after the
// restart), Vigil stopped (SIGTERM) and restarted. Every sample of a
// request Vigil answered 200 must be stored in Prometheus, up to the last
// one; Prometheus must have refused nothing (no out-of-order, out-of-bounds
// or too-old sample, no request answered 4xx; a 5xx while it starts or
// stops is retried); Vigil must have
// written every series in time order (no sample older than its series'
// newest but those sent again, which a Prometheus without the window
// would refuse); the rate limit must be waited out, not hammered; and while
// Prometheus is down Vigil's telemetry must show the samples waiting
// (otelcol_exporter_prometheusremotewrite_wal_lag above 0).
func TestRemoteWriteToPrometheusLosesNothing(t *testing.T) {
	if _, err := os.Stat(pagingtest.PrometheusBin); err != nil {
		t.Fatalf("%s: %v (install the Debian package prometheus; the test command does)", pagingtest.PrometheusBin, err)
	}
	began := time.Now()
	dir := t.TempDir()
	prom := startPrometheus(t, dir, oooWindow)
	proxy, writeURL := newRWProxy(t, prom.url)

	standIn, _ := otlpSink(t)
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	full := filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml")
	opts := vigiltest.Options{
		Args: []string{"--config", full, "--config", standInOverlay(t, full, standIn.URL, dir)},
		Env: map[string]string{
			"PROMETHEUS_REMOTE_WRITE_URL": writeURL,
			"LOKI_ENDPOINT":               "http://" + down(),
			"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
			"VIGIL_PPROF_ENDPOINT":        down(),
		},
	}
	inst := vigiltest.Start(t, opts)
	// The load finds every restarted process at the same address.
	opts.Ports, opts.StorageDir = inst.Ports, inst.StorageDir

	l := &seriesLoad{endpoint: inst.OTLPHTTPEndpoint()}
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { l.run(ctx); close(loadDone) }()

	// Two flushes of the RED metrics (every 15 s), stamped when flushed,
	// between gauges of the same resources collected before a flush and
	// sent after it.
	time.Sleep(35 * time.Second)
	t.Logf("steady: %d rounds acknowledged", l.rounds())

	// A rate limit.
	before := proxy.throttle(true)
	time.Sleep(throttleFor)
	throttled := proxy.throttle(false) - before
	t.Logf("429 for %s: %d requests", throttleFor, throttled)
	if throttled > maxThrottled {
		t.Errorf("429 for %s: the exporter sent %d requests (at most %d expected with exporter.prometheusremotewritexporter.RetryOn429, about one per retry_on_failure::initial_interval)",
			throttleFor, throttled, maxThrottled)
	}

	// Prometheus down until Vigil's telemetry shows samples waiting (the
	// lag is recorded every wal::lag_record_frequency), then Vigil killed
	// and restarted while Prometheus is still down.
	prom.stop(t)
	outage := time.Now()
	lagCtx, cancelLag := context.WithTimeout(context.Background(), 2*time.Minute)
	var lag float64
	err := vigiltest.Eventually(lagCtx, func() error {
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		if lag = vigiltest.Sum(families, "otelcol_exporter_prometheusremotewrite_wal_lag", nil); lag <= 0 {
			return fmt.Errorf("otelcol_exporter_prometheusremotewrite_wal_lag is %v", lag)
		}
		return nil
	})
	cancelLag()
	if err != nil {
		t.Errorf("Prometheus down: Vigil's telemetry does not show the samples waiting: %v", err)
	}
	inst.Kill()
	t.Logf("SIGKILL with Prometheus down (wal_lag %v) after %d rounds acknowledged", lag, l.rounds())
	inst = vigiltest.Start(t, opts)
	time.Sleep(max(5*time.Second, time.Until(outage.Add(25*time.Second))))
	prom.start(t)
	t.Logf("Prometheus down for %s", time.Since(outage).Round(time.Second))
	time.Sleep(15 * time.Second)

	// SIGKILL between Prometheus storing a request with two samples of a
	// series and Vigil hearing so.
	killed := inst
	crashed := proxy.crashAfterTwoSamples(killed.Kill)
	select {
	case <-crashed:
	case <-time.After(30 * time.Second):
		if proxy.disarm() {
			t.Errorf("no request with two samples of a series reached Prometheus within 30s")
		} else {
			<-crashed
		}
	}
	if killed.Exited() {
		t.Logf("SIGKILL after Prometheus stored a request with two samples of a series, %d rounds acknowledged", l.rounds())
		inst = vigiltest.Start(t, opts)
	}
	time.Sleep(10 * time.Second)

	if _, err := inst.Stop(syscall.SIGTERM, time.Minute); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	t.Logf("SIGTERM after %d rounds acknowledged", l.rounds())
	inst = vigiltest.Start(t, opts)
	time.Sleep(10 * time.Second)
	stopLoad()
	<-loadDone

	// Wait for the log to drain, then count.
	var res storedResult
	deadline := time.Now().Add(3 * time.Minute)
	for {
		res, err = l.stored(prom.url)
		if err == nil && res.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	if err != nil {
		t.Fatalf("reading the samples back from Prometheus: %v", err)
	}
	counters := prom.counters(t)
	seen := proxy.counts()
	t.Logf("%d series, %d rounds acknowledged (%d with two samples per series, %d retried requests), %d spans sent: "+
		"%d samples acknowledged, %d stored, %d lost; last acknowledged %s, last stored %s; after %s",
		orderProducers*orderSeries, l.rounds(), l.doubles(), l.retried(), l.spansSent(), res.acked, res.stored, res.lost,
		time.UnixMilli(res.lastAcked).Format(time.TimeOnly), time.UnixMilli(res.lastStored).Format(time.TimeOnly),
		time.Since(began).Round(time.Second))
	t.Logf("Prometheus: %v", counters)
	t.Logf("remote write requests: %d stored, %d refused by Prometheus, %d while it was down or not ready, %d answered 429; "+
		"samples sent again %d, written out of order %d, at a time their series had with another value %d",
		seen.requests, seen.refused, seen.unreached, seen.throttled, seen.resent, seen.outOfOrder, seen.conflicts)
	if len(seen.firstBad) > 0 {
		t.Logf("first refusals and samples out of order: %s", strings.Join(seen.firstBad, "; "))
	}
	if res.lost > 0 {
		t.Errorf("%d of %d acknowledged samples are not in Prometheus (first: %s)", res.lost, res.acked, strings.Join(res.firstLost, "; "))
	}
	for _, name := range []string{"prometheus_tsdb_out_of_order_samples_total", "prometheus_tsdb_out_of_bound_samples_total",
		"prometheus_tsdb_too_old_samples_total", "remote write requests refused"} {
		if counters[name] != 0 {
			t.Errorf("Prometheus counted %v %s", counters[name], name)
		}
	}
	if seen.outOfOrder > 0 || seen.conflicts > 0 {
		t.Errorf("Vigil wrote %d samples older than their series' newest and %d at a time their series had with another value "+
			"(without an out-of-order window Prometheus refuses such a request, and the exporter sends it again and again)",
			seen.outOfOrder, seen.conflicts)
	}
	if killed.Exited() && seen.resent < 2*orderSeries {
		t.Errorf("%d samples sent again and stored: the request Prometheus stored as Vigil was killed (%d samples) was not sent again, or was refused", seen.resent, 2*orderSeries)
	}
}

// seriesLoad is the load of TestRemoteWriteToPrometheusLosesNothing. Each
// producer sends its gauge rounds over OTLP/HTTP in order, each until it
// is answered 200 (as an SDK retries), and remembers the samples
// acknowledged; alongside, its spans, without retries.
type seriesLoad struct {
	endpoint string

	mu      sync.Mutex
	acked   [orderProducers]map[int64]int64 // value → its timestamp (ms)
	nRounds int
	nDouble int
	retries int
	spans   int
}

// orderPoint is one point of every series of a round.
type orderPoint struct {
	value int64
	ts    int64 // ms
}

func (l *seriesLoad) run(ctx context.Context) {
	var wg sync.WaitGroup
	for p := range orderProducers {
		l.mu.Lock()
		l.acked[p] = map[int64]int64{}
		l.mu.Unlock()
		wg.Add(2)
		go func() {
			defer wg.Done()
			l.produce(ctx, p)
		}()
		go func() {
			defer wg.Done()
			l.sendSpans(ctx, p)
		}()
	}
	wg.Wait()
}

// produce sends producer p's rounds. Round r's point of each series is
// valued 2r; a round with two points has one valued 2r-1 halfway since
// the previous round.
func (l *seriesLoad) produce(ctx context.Context, p int) {
	tick := time.NewTicker(orderPeriod)
	defer tick.Stop()
	var last int64
	for round := int64(1); ; round++ {
		ts := max(time.Now().Add(-orderLatency).UnixMilli(), last+2)
		points := []orderPoint{{value: 2 * round, ts: ts}}
		if p == 0 && round%orderDoubleEvery == 0 && last > 0 {
			points = append([]orderPoint{{value: 2*round - 1, ts: last + (ts-last)/2}}, points...)
		}
		if !l.send(ctx, buildRound(p, points)) {
			return
		}
		l.mu.Lock()
		for _, pt := range points {
			l.acked[p][pt.value] = pt.ts
		}
		l.nRounds++
		if len(points) > 1 {
			l.nDouble++
		}
		l.mu.Unlock()
		last = ts
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sendSpans sends producer p's spans, each batch once.
func (l *seriesLoad) sendSpans(ctx context.Context, p int) {
	tick := time.NewTicker(spanPeriod)
	defer tick.Stop()
	for {
		body := buildSpans(p, time.Now())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+l.endpoint+"/v1/traces", bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				l.mu.Lock()
				l.spans += spanBatch
				l.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// send posts one request until it is answered 200 or ctx ends.
func (l *seriesLoad) send(ctx context.Context, body []byte) bool {
	return postUntilOK(ctx, "http://"+l.endpoint+"/v1/metrics", body, 100*time.Millisecond, func() {
		l.mu.Lock()
		l.retries++
		l.mu.Unlock()
	})
}

func (l *seriesLoad) rounds() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nRounds
}

func (l *seriesLoad) doubles() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nDouble
}

func (l *seriesLoad) retried() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retries
}

func (l *seriesLoad) spansSent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spans
}

// producerName is the service.name of a producer: job in Prometheus.
func producerName(p int) string { return "reliability-order-" + strconv.Itoa(p) }

// producerResource is producer p's resource, the same for its spans and
// its metrics, as an SDK has it.
func producerResource(res pcommon.Resource, p int) {
	a := res.Attributes()
	a.PutStr("service.name", producerName(p))
	a.PutStr("service.instance.id", fmt.Sprintf("7c0e5d2a-3b1f-4c8e-9a6d-%012d", p))
	a.PutStr("host.name", "node-"+strconv.Itoa(p))
}

// buildRound encodes one round of producer p: every series at each point.
func buildRound(p int, points []orderPoint) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	producerResource(rm.Resource(), p)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(orderMetric)
	g := m.SetEmptyGauge()
	for s := range orderSeries {
		for _, pt := range points {
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(time.UnixMilli(pt.ts)))
			dp.SetDoubleValue(float64(pt.value))
			dp.Attributes().PutStr("series", strconv.Itoa(s))
		}
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		panic(err)
	}
	return body
}

// buildSpans encodes spanBatch server spans of producer p ending at end.
func buildSpans(p int, end time.Time) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	producerResource(rs.Resource(), p)
	ss := rs.ScopeSpans().AppendEmpty()
	for range spanBatch {
		s := ss.Spans().AppendEmpty()
		s.SetName("GET /orders")
		s.SetKind(ptrace.SpanKindServer)
		var trace [16]byte
		var span [8]byte
		for i := range trace {
			trace[i] = byte(rand.IntN(256))
		}
		for i := range span {
			span[i] = byte(rand.IntN(256))
		}
		s.SetTraceID(trace)
		s.SetSpanID(span)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Duration(5+rand.IntN(40)) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		s.Attributes().PutInt("http.response.status_code", 200)
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return body
}

type storedResult struct {
	acked, stored, lost   int
	lastAcked, lastStored int64 // ms
	firstLost             []string
}

// stored reads every sample of the load back from Prometheus and compares
// them with the acknowledged ones.
func (l *seriesLoad) stored(promURL string) (storedResult, error) {
	q := url.Values{"query": {orderMetric + "[2h]"}, "time": {strconv.FormatInt(time.Now().Unix()+1, 10)}}
	resp, err := http.Get(promURL + "/api/v1/query?" + q.Encode())
	if err != nil {
		return storedResult{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return storedResult{}, err
	}
	if body.Status != "success" {
		return storedResult{}, fmt.Errorf("query: %s", body.Error)
	}
	// (job, series) → value → timestamp (ms)
	got := map[string]map[int64]int64{}
	var res storedResult
	for _, s := range body.Data.Result {
		key := s.Metric["job"] + "/" + s.Metric["series"]
		if got[key] == nil {
			got[key] = map[int64]int64{}
		}
		for _, v := range s.Values {
			sec, _ := v[0].(float64)
			str, _ := v[1].(string)
			val, err := strconv.ParseFloat(str, 64)
			if err != nil {
				continue
			}
			ms := int64(sec*1000 + 0.5)
			got[key][int64(val)] = ms
			res.stored++
			res.lastStored = max(res.lastStored, ms)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range orderProducers {
		for s := range orderSeries {
			key := producerName(p) + "/" + strconv.Itoa(s)
			for value, ts := range l.acked[p] {
				res.acked++
				res.lastAcked = max(res.lastAcked, ts)
				if got, ok := got[key][value]; ok && got == ts {
					continue
				}
				res.lost++
				if len(res.firstLost) < 3 {
					res.firstLost = append(res.firstLost, fmt.Sprintf("%s{job=%q, series=%q} value %d at %s", orderMetric, producerName(p), strconv.Itoa(s), value,
						time.UnixMilli(ts).Format("15:04:05.000")))
				}
			}
		}
	}
	return res, nil
}

// prometheus is a real Prometheus taking remote write, which the test
// stops and starts again on the same port and data.
type prometheus struct {
	url  string
	args []string

	cmd  *exec.Cmd
	out  *vigiltest.SyncBuffer
	done chan struct{}
	// totals adds up the counters of the runs before the current one.
	totals map[string]float64
}

// startPrometheus starts Prometheus with an out-of-order window (0: none,
// Prometheus's default).
func startPrometheus(t *testing.T, dir string, window time.Duration) *prometheus {
	t.Helper()
	port := vigiltest.FreePort(t)
	config := "global:\n  scrape_interval: 1h\n"
	if window > 0 {
		config += fmt.Sprintf("storage:\n  tsdb:\n    out_of_order_time_window: %s\n", model.Duration(window))
	}
	cfg := vigiltest.WriteFile(t, dir, "prometheus.yml", config)
	p := &prometheus{
		url: fmt.Sprintf("http://127.0.0.1:%d", port),
		args: []string{
			"--config.file=" + cfg,
			"--storage.tsdb.path=" + filepath.Join(dir, "prom-data"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
			"--web.enable-remote-write-receiver",
		},
		out:    &vigiltest.SyncBuffer{},
		totals: map[string]float64{},
	}
	t.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("prometheus output (last 40 lines):\n%s", lastLines(p.out.String(), 40))
		}
	})
	p.start(t)
	return p
}

func (p *prometheus) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(pagingtest.PrometheusBin, p.args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := vigiltest.Eventually(ctx, func() error {
		select {
		case <-done:
			return fmt.Errorf("prometheus exited")
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("prometheus not ready: %v", err)
	}
}

// stop ends Prometheus gracefully (SIGTERM: what it stored is on disk),
// first keeping its counters.
func (p *prometheus) stop(t *testing.T) {
	t.Helper()
	for k, v := range p.current(t) {
		p.totals[k] += v
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Fatal("prometheus did not stop within a minute of SIGTERM")
	}
	p.cmd = nil
}

// counters are the refusals Prometheus counted over all its runs.
func (p *prometheus) counters(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, v := range p.current(t) {
		out[k] = p.totals[k] + v
	}
	return out
}

func (p *prometheus) current(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := vigiltest.Scrape(p.url + "/metrics")
	if err != nil {
		t.Fatalf("scraping prometheus: %v", err)
	}
	out := map[string]float64{
		"prometheus_tsdb_out_of_order_samples_total": vigiltest.Sum(families, "prometheus_tsdb_out_of_order_samples_total", nil),
		"prometheus_tsdb_out_of_bound_samples_total": vigiltest.Sum(families, "prometheus_tsdb_out_of_bound_samples_total", nil),
		"prometheus_tsdb_too_old_samples_total":      vigiltest.Sum(families, "prometheus_tsdb_too_old_samples_total", nil),
		// Stored in the out-of-order window: resent samples too.
		"prometheus_tsdb_head_out_of_order_samples_appended_total": vigiltest.Sum(families, "prometheus_tsdb_head_out_of_order_samples_appended_total", nil),
	}
	for _, m := range families["prometheus_http_requests_total"].GetMetric() {
		var handler, code string
		for _, lp := range m.GetLabel() {
			switch lp.GetName() {
			case "handler":
				handler = lp.GetValue()
			case "code":
				code = lp.GetValue()
			}
		}
		if handler != "/api/v1/write" {
			continue
		}
		// 5xx (while Prometheus starts or stops) is retried; 4xx is not.
		switch code[:1] {
		case "2":
			out["remote write requests accepted"] += m.GetCounter().GetValue()
		case "5":
			out["remote write requests answered 5xx"] += m.GetCounter().GetValue()
		default:
			out["remote write requests refused"] += m.GetCounter().GetValue()
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
