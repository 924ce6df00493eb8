package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const installHint = "run scripts/install-test-deps.sh (Debian package prometheus)"

// lookTool finds a server binary the test needs; a missing one fails the
// test, as the test command installs it.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: %s", name, installHint)
	}
	return p
}

// promServer is a real Prometheus on a loopback port, over a TSDB
// directory the test fills with promtool.
type promServer struct {
	t                   *testing.T
	bin, promtool       string
	dataDir, configFile string
	logFile             string
	addr                string
	cmd                 *exec.Cmd
	exited              chan struct{}
	client              *http.Client
	blockDuration       time.Duration
	backfills, blocks   int
}

func newPromServer(t *testing.T, dir string, ruleFile string, evalInterval time.Duration) *promServer {
	t.Helper()
	p := &promServer{
		t:             t,
		bin:           lookTool(t, "prometheus"),
		promtool:      lookTool(t, "promtool"),
		dataDir:       filepath.Join(dir, "tsdb"),
		configFile:    filepath.Join(dir, "prometheus.yml"),
		logFile:       filepath.Join(dir, "prometheus.log"),
		client:        &http.Client{Timeout: time.Minute},
		blockDuration: 4 * 24 * time.Hour,
	}
	// No scrape configuration: every sample comes from backfilled blocks.
	// The rule file is loaded so that the test also proves Prometheus
	// accepts the generated rules as they are.
	config := fmt.Sprintf("global:\n  evaluation_interval: %s\nrule_files:\n  - %s\n", evalInterval, ruleFile)
	if err := os.WriteFile(p.configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// backfill turns OpenMetrics text into TSDB blocks with promtool and moves
// them into the server's data directory. A running server does not see
// new blocks until it restarts (restart does that).
func (p *promServer) backfill(openMetrics []byte) {
	p.t.Helper()
	p.backfills++
	dir := filepath.Join(filepath.Dir(p.dataDir), fmt.Sprintf("backfill-%d", p.backfills))
	input := dir + ".om"
	if err := os.WriteFile(input, openMetrics, 0o644); err != nil {
		p.t.Fatal(err)
	}
	// Blocks as long as the replay keep the block count, and so query
	// and start-up time, low; promtool's default is 2h.
	out, err := exec.Command(p.promtool, "tsdb", "create-blocks-from", "openmetrics",
		"--max-block-duration="+strconv.Itoa(int(p.blockDuration.Hours()))+"h", input, dir).CombinedOutput()
	if err != nil {
		p.t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		p.t.Fatal(err)
	}
	moved := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(p.dataDir, e.Name())); err != nil {
			p.t.Fatal(err)
		}
		moved++
	}
	if moved == 0 {
		p.t.Fatalf("promtool wrote no block from %s:\n%s", input, out)
	}
	p.blocks += moved
}

// restart stops the server if it runs and starts it again on a new port,
// so that it opens every block now in its data directory.
func (p *promServer) restart() {
	p.t.Helper()
	p.stop()
	p.addr = freeAddr(p.t)
	logs, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(p.bin,
		"--config.file="+p.configFile,
		"--storage.tsdb.path="+p.dataDir,
		// Time-based retention counts back from the newest block; the
		// live rule evaluations write samples at the wall-clock time,
		// months after the replay, which must not expire it.
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+p.addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start prometheus: %v", err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.exited)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-p.exited:
			p.t.Fatalf("prometheus exited at start-up:\n%s", p.logs())
		default:
		}
		resp, err := p.client.Get("http://" + p.addr + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("prometheus not ready after 2m:\n%s", p.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server this test started, by its own process, and waits
// for it so that the next start finds the TSDB free.
func (p *promServer) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

func (p *promServer) logs() string {
	b, _ := os.ReadFile(p.logFile)
	return string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// series is one series of a range query: its labels and its samples by
// Unix second.
type series struct {
	labels map[string]string
	values map[int64]float64
}

type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Data      json.RawMessage `json:"data"`
}

type apiData struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
		Value  [2]any            `json:"value"`
	} `json:"result"`
}

func (p *promServer) api(path string, form url.Values) (apiData, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.addr+path, strings.NewReader(form.Encode()))
	if err != nil {
		return apiData{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return apiData{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiData{}, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return apiData{}, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return apiData{}, fmt.Errorf("%s %s: %s: %s", path, form.Get("query"), r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return apiData{}, fmt.Errorf("%s %s: warnings %v", path, form.Get("query"), r.Warnings)
	}
	var d apiData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return apiData{}, err
	}
	return d, nil
}

// queryRange evaluates expr at start, start+step, ... end, as Prometheus's
// rule manager would at each of those times (a range query is an instant
// query per step, sharing the data it reads).
func (p *promServer) queryRange(expr string, start, end time.Time, step time.Duration) []series {
	p.t.Helper()
	d, err := p.api("/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	if d.ResultType != "matrix" {
		p.t.Fatalf("query_range %s: result type %q", expr, d.ResultType)
	}
	out := make([]series, 0, len(d.Result))
	for _, r := range d.Result {
		s := series{labels: r.Metric, values: make(map[int64]float64, len(r.Values))}
		for _, v := range r.Values {
			ts, val, err := parseSample(v)
			if err != nil {
				p.t.Fatalf("query_range %s: %v", expr, err)
			}
			s.values[ts] = val
		}
		out = append(out, s)
	}
	return out
}

// query evaluates expr at one time and returns the result's labels.
func (p *promServer) query(expr string, at time.Time) []map[string]string {
	p.t.Helper()
	d, err := p.api("/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}})
	if err != nil {
		p.t.Fatal(err)
	}
	if d.ResultType != "vector" {
		p.t.Fatalf("query %s: result type %q", expr, d.ResultType)
	}
	var out []map[string]string
	for _, r := range d.Result {
		out = append(out, r.Metric)
	}
	return out
}

func parseSample(v [2]any) (int64, float64, error) {
	ts, ok := v[0].(float64)
	if !ok || ts != math.Trunc(ts) {
		return 0, 0, fmt.Errorf("sample time %v is not whole seconds", v[0])
	}
	s, ok := v[1].(string)
	if !ok {
		return 0, 0, fmt.Errorf("sample value %v is not a string", v[1])
	}
	// Prometheus writes values with the shortest exact representation,
	// so they survive the round trip bit for bit.
	f, err := strconv.ParseFloat(s, 64)
	return int64(ts), f, err
}

// openMetrics writes samples as the OpenMetrics text promtool 2.42
// imports: one block per metric family, timestamps in seconds, "# EOF".
type openMetrics struct {
	families map[string]*family
}

type family struct {
	typ   string
	lines bytes.Buffer
}

func newOpenMetrics() *openMetrics { return &openMetrics{families: map[string]*family{}} }

// add appends the samples of one series, in time order. name is the
// family (without _total for a counter) and sample the series name.
func (o *openMetrics) add(name, typ, sample string, labels map[string]string, ts []int64, values []float64) error {
	f := o.families[name]
	if f == nil {
		f = &family{typ: typ}
		o.families[name] = f
	} else if f.typ != typ {
		return fmt.Errorf("family %s: type %s, then %s", name, f.typ, typ)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lb strings.Builder
	for i, k := range keys {
		if i > 0 {
			lb.WriteByte(',')
		}
		lb.WriteString(k + `="` + escapeLabel(labels[k]) + `"`)
	}
	for i := range ts {
		fmt.Fprintf(&f.lines, "%s{%s} %s %d\n", sample, lb.String(), strconv.FormatFloat(values[i], 'g', -1, 64), ts[i])
	}
	return nil
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func (o *openMetrics) bytes() ([]byte, error) {
	if len(o.families) == 0 {
		return nil, errors.New("no sample to backfill")
	}
	names := make([]string, 0, len(o.families))
	for n := range o.families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "# TYPE %s %s\n", n, o.families[n].typ)
		b.Write(o.families[n].lines.Bytes())
	}
	b.WriteString("# EOF\n")
	return b.Bytes(), nil
}

type rulesData struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Name      string `json:"name"`
			Health    string `json:"health"`
			LastError string `json:"lastError"`
		} `json:"rules"`
	} `json:"groups"`
}

// rulesAPI reads GET /api/v1/rules: the groups the server loaded.
func (p *promServer) rulesAPI() (rulesData, error) {
	resp, err := p.client.Get("http://" + p.addr + "/api/v1/rules")
	if err != nil {
		return rulesData{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rulesData{}, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return rulesData{}, fmt.Errorf("/api/v1/rules: HTTP %d: %s", resp.StatusCode, body)
	}
	var d rulesData
	err = json.Unmarshal(r.Data, &d)
	return d, err
}

// promRule is one rule as /api/v1/rules reports it.
type promRule struct {
	group, name, health, lastError string
}

func (p *promServer) rules() []promRule {
	p.t.Helper()
	var out []promRule
	d, err := p.rulesAPI()
	if err != nil {
		p.t.Fatal(err)
	}
	for _, g := range d.Groups {
		for _, r := range g.Rules {
			out = append(out, promRule{group: g.Name, name: r.Name, health: r.Health, lastError: r.LastError})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].group+out[i].name < out[j].group+out[j].name })
	return out
}
