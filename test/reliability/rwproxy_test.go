package reliability

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// rwProxy stands between Vigil's remote write exporter and Prometheus. It
// forwards every request and reads every one Prometheus accepts, so the
// test can tell Vigil's writing order apart from what Prometheus let
// through:
//   - a sample older than the newest its series had, that is not one
//     Prometheus already holds (same series, time and value), is out of
//     order: a Prometheus without an out-of-order window refuses the
//     whole request (400), and the exporter then sends it again and again
//     and nothing after it gets through;
//   - a sample at a time its series already has with another value is a
//     conflict, which Prometheus and Mimir refuse (duplicate sample for
//     timestamp) or, within a window, may drop;
//   - a sample Prometheus already holds is resent: harmless alone, but
//     in a request with an older sample of the same series it is refused
//     as out of order without a window.
//
// It can also answer 429 for a while (a receiver's rate limit) and kill
// Vigil right after Prometheus accepted a request holding two samples of
// one series, before Vigil hears the answer: the request stays at the
// head of its write-ahead log and is sent again after the restart.
type rwProxy struct {
	target string // Prometheus's /api/v1/write
	client *http.Client

	mu         sync.Mutex
	series     map[string]*proxySeries
	requests   int // answered 2xx by Prometheus
	refused    int // answered 4xx by Prometheus: not retried
	unreached  int // Prometheus down (answered 503 here) or not ready (its 5xx): retried
	throttling bool
	throttled  int // answered 429 by the proxy
	crash      func()
	crashed    chan struct{}
	resent     int
	outOfOrder int
	conflicts  int
	firstBad   []string
}

type proxySeries struct {
	newest int64
	held   map[int64]uint64 // timestamp → value bits
}

func newRWProxy(t *testing.T, promURL string) (*rwProxy, string) {
	t.Helper()
	p := &rwProxy{
		target: promURL + "/api/v1/write",
		client: &http.Client{Timeout: 30 * time.Second},
		series: map[string]*proxySeries{},
	}
	srv := vigiltest.NewServer(t, http.HandlerFunc(p.serve))
	return p, srv.URL + "/api/v1/write"
}

func (p *rwProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	if p.throttling {
		p.throttled++
		p.mu.Unlock()
		http.Error(w, "rate limited (test proxy)", http.StatusTooManyRequests)
		return
	}
	p.mu.Unlock()

	var req prompb.WriteRequest
	raw, err := snappy.Decode(nil, body)
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, "test proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	fwd, err := http.NewRequest(http.MethodPost, p.target, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	for _, h := range []string{"Content-Encoding", "Content-Type", "User-Agent", "X-Prometheus-Remote-Write-Version"} {
		fwd.Header.Set(h, r.Header.Get(h))
	}
	resp, err := p.client.Do(fwd)
	if err != nil {
		p.mu.Lock()
		p.unreached++
		p.mu.Unlock()
		http.Error(w, "test proxy: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	p.mu.Lock()
	var crash func()
	switch resp.StatusCode / 100 {
	case 2:
		p.requests++
		p.record(&req)
		if p.crash != nil && holdsTwoSamplesOfASeries(&req) {
			crash, p.crash = p.crash, nil
		}
	case 5:
		p.unreached++
	default:
		p.refused++
		if len(p.firstBad) < 5 {
			p.firstBad = append(p.firstBad, fmt.Sprintf("refused by Prometheus: %s %s", resp.Status, bytes.TrimSpace(answer)))
		}
	}
	crashed := p.crashed
	p.mu.Unlock()
	if crash != nil {
		crash()
		close(crashed)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// record checks the samples of a request Prometheus accepted against those
// it accepted before; p.mu held.
func (p *rwProxy) record(req *prompb.WriteRequest) {
	for _, ts := range req.Timeseries {
		key := labelsKey(ts.Labels)
		s := p.series[key]
		if s == nil {
			s = &proxySeries{newest: math.MinInt64, held: map[int64]uint64{}}
			p.series[key] = s
		}
		for _, sm := range ts.Samples {
			bits := math.Float64bits(sm.Value)
			if old, ok := s.held[sm.Timestamp]; ok {
				if old == bits {
					p.resent++
				} else {
					p.conflicts++
					p.noteBad("conflict", key, sm.Timestamp, s.newest)
				}
				continue
			}
			if sm.Timestamp < s.newest {
				p.outOfOrder++
				p.noteBad("out of order", key, sm.Timestamp, s.newest)
			}
			s.held[sm.Timestamp] = bits
			s.newest = max(s.newest, sm.Timestamp)
		}
	}
}

func (p *rwProxy) noteBad(what, key string, ts, newest int64) {
	if len(p.firstBad) < 5 {
		p.firstBad = append(p.firstBad, fmt.Sprintf("%s: %s at %s, its newest %s", what, key,
			time.UnixMilli(ts).Format("15:04:05.000"), time.UnixMilli(newest).Format("15:04:05.000")))
	}
}

// holdsTwoSamplesOfASeries: the request has a series of the load's gauge
// with more than one sample.
func holdsTwoSamplesOfASeries(req *prompb.WriteRequest) bool {
	for _, ts := range req.Timeseries {
		if len(ts.Samples) < 2 {
			continue
		}
		for _, l := range ts.Labels {
			if l.Name == "__name__" && l.Value == orderMetric {
				return true
			}
		}
	}
	return false
}

func labelsKey(labels []prompb.Label) string {
	var b strings.Builder
	b.WriteString("{")
	for i, l := range labels {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	b.WriteString("}")
	return b.String()
}

// throttle turns the 429 answers on or off and returns how many requests
// were answered 429 so far.
func (p *rwProxy) throttle(on bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttling = on
	return p.throttled
}

// crashAfterTwoSamples arms kill for the next request Prometheus accepts
// that holds two samples of one series of the load's gauge; the channel
// closes once kill returned.
func (p *rwProxy) crashAfterTwoSamples(kill func()) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.crash, p.crashed = kill, make(chan struct{})
	return p.crashed
}

// proxyCounts is what the proxy saw.
type proxyCounts struct {
	requests, refused, unreached, throttled, resent, outOfOrder, conflicts int
	firstBad                                                               []string
}

func (p *rwProxy) counts() proxyCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return proxyCounts{p.requests, p.refused, p.unreached, p.throttled, p.resent, p.outOfOrder, p.conflicts, append([]string(nil), p.firstBad...)}
}

// disarm undoes crashAfterTwoSamples; false when the kill already began.
func (p *rwProxy) disarm() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	armed := p.crash != nil
	p.crash = nil
	return armed
}
