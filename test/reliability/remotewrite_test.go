package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// The series load of TestRemoteWriteToPrometheusLosesNothing: producers
// services, each sending a gauge of series series every period, the value
// of each point its round's number.
const (
	orderMetric    = "reliability_order"
	orderProducers = 4
	orderSeries    = 100
	orderPeriod    = 250 * time.Millisecond
)

// TestRemoteWriteToPrometheusLosesNothing runs the shipped full.yaml,
// remote write settings as shipped, against a real Prometheus (the
// Debian package, --web.enable-remote-write-receiver, out-of-order
// ingestion off as by default) under a steady load of 400 series written
// four times a second, then puts it through what the write-ahead log is
// there for: Prometheus down for a while (stopped and started again on
// its data), Vigil killed (SIGKILL) and restarted, Vigil stopped
// (SIGTERM) and restarted, each under load. Every sample of a request
// Vigil answered 200 must be stored in Prometheus, up to the last one, and
// Prometheus must have refused none: no out-of-order or out-of-bounds
// sample, no remote write request answered 4xx or 5xx. While Prometheus is
// down, Vigil's telemetry must show the samples waiting
// (otelcol_exporter_prometheusremotewrite_wal_lag above 0).
func TestRemoteWriteToPrometheusLosesNothing(t *testing.T) {
	if _, err := os.Stat(pagingtest.PrometheusBin); err != nil {
		t.Fatalf("%s: %v (install the Debian package prometheus; the test command does)", pagingtest.PrometheusBin, err)
	}
	dir := t.TempDir()
	prom := startPrometheus(t, dir)

	standIn, _ := otlpSink(t)
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	full := filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml")
	opts := vigiltest.Options{
		Args: []string{"--config", full, "--config", standInOverlay(t, full, standIn.URL, dir)},
		Env: map[string]string{
			"PROMETHEUS_REMOTE_WRITE_URL": prom.url + "/api/v1/write",
			"LOKI_ENDPOINT":               "http://" + down(),
			"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
			"VIGIL_PPROF_ENDPOINT":        down(),
		},
	}
	inst := vigiltest.Start(t, opts)
	opts.Ports, opts.StorageDir = inst.Ports, inst.StorageDir

	l := &seriesLoad{endpoint: inst.OTLPHTTPEndpoint()}
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { l.run(ctx); close(loadDone) }()

	// Past the first minute: the write-ahead log is read in batches of up
	// to wal::truncate_frequency (1m).
	time.Sleep(75 * time.Second)
	t.Logf("steady: %d rounds acknowledged", l.rounds())

	// Prometheus down until Vigil's telemetry shows samples waiting (the
	// lag is recorded every wal::lag_record_frequency), and 20s at least.
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
	time.Sleep(time.Until(outage.Add(20 * time.Second)))
	prom.start(t)
	t.Logf("Prometheus down for %s (wal_lag %v while down)", time.Since(outage).Round(time.Second), lag)
	time.Sleep(20 * time.Second)

	inst.Kill()
	t.Logf("SIGKILL after %d rounds acknowledged", l.rounds())
	inst = vigiltest.Start(t, opts)
	time.Sleep(20 * time.Second)

	if _, err := inst.Stop(syscall.SIGTERM, time.Minute); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	t.Logf("SIGTERM after %d rounds acknowledged", l.rounds())
	inst = vigiltest.Start(t, opts)
	time.Sleep(20 * time.Second)
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
	t.Logf("%d series, %d rounds acknowledged (%d retried requests): %d samples acknowledged, %d stored, %d lost; "+
		"last acknowledged %s, last stored %s; Prometheus: %v",
		orderProducers*orderSeries, l.rounds(), l.retried(), res.acked, res.stored, res.lost,
		time.UnixMilli(res.lastAcked).Format(time.TimeOnly), time.UnixMilli(res.lastStored).Format(time.TimeOnly), counters)
	if res.lost > 0 {
		t.Errorf("%d of %d acknowledged samples are not in Prometheus (first: %s)", res.lost, res.acked, strings.Join(res.firstLost, "; "))
	}
	for _, name := range []string{"prometheus_tsdb_out_of_order_samples_total", "prometheus_tsdb_out_of_bound_samples_total", "remote write requests refused"} {
		if counters[name] != 0 {
			t.Errorf("Prometheus counted %v %s", counters[name], name)
		}
	}
}

// seriesLoad sends the rounds of every producer over OTLP/HTTP, each
// producer's in order and each until it is answered 200 (as an SDK retries),
// and remembers the rounds acknowledged.
type seriesLoad struct {
	endpoint string

	mu      sync.Mutex
	acked   [orderProducers]map[int64]int64 // round → its timestamp (ms)
	retries int
}

func (l *seriesLoad) run(ctx context.Context) {
	var wg sync.WaitGroup
	for p := range orderProducers {
		l.mu.Lock()
		l.acked[p] = map[int64]int64{}
		l.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(orderPeriod)
			defer tick.Stop()
			for round := int64(1); ; round++ {
				ts := time.Now()
				if !l.send(ctx, buildRound(p, round, ts)) {
					return
				}
				l.mu.Lock()
				l.acked[p][round] = ts.UnixMilli()
				l.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
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
	n := 0
	for _, a := range l.acked {
		n += len(a)
	}
	return n
}

func (l *seriesLoad) retried() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retries
}

// producerName is the service.name of a producer: job in Prometheus.
func producerName(p int) string { return "reliability-order-" + strconv.Itoa(p) }

// buildRound encodes one round of producer p: every series at ts, valued
// round.
func buildRound(p int, round int64, ts time.Time) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", producerName(p))
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(orderMetric)
	g := m.SetEmptyGauge()
	for s := range orderSeries {
		dp := g.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(float64(round))
		dp.Attributes().PutStr("series", strconv.Itoa(s))
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
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
// them with the acknowledged rounds.
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
		rounds := make([]int64, 0, len(l.acked[p]))
		for r := range l.acked[p] {
			rounds = append(rounds, r)
		}
		slices.Sort(rounds)
		for s := range orderSeries {
			key := producerName(p) + "/" + strconv.Itoa(s)
			for _, r := range rounds {
				ts := l.acked[p][r]
				res.acked++
				res.lastAcked = max(res.lastAcked, ts)
				if got, ok := got[key][r]; ok && got == ts {
					continue
				}
				res.lost++
				if len(res.firstLost) < 3 {
					res.firstLost = append(res.firstLost, fmt.Sprintf("%s{series=%q} round %d at %s", orderMetric, strconv.Itoa(s), r,
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

func startPrometheus(t *testing.T, dir string) *prometheus {
	t.Helper()
	port := vigiltest.FreePort(t)
	cfg := vigiltest.WriteFile(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1h\n")
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
		if strings.HasPrefix(code, "2") {
			out["remote write requests accepted"] += m.GetCounter().GetValue()
		} else {
			out["remote write requests refused"] += m.GetCounter().GetValue()
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
