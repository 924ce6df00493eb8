package reliability

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// attrID is the attribute (label test_id in Prometheus) that numbers every
// record the load generator sends.
const attrID = "test.id"

// tally counts deliveries of each numbered record, per signal.
type tally struct {
	mu   sync.Mutex
	seen map[string]map[int64]int // signal → id → deliveries
}

func newTally() *tally { return &tally{seen: map[string]map[int64]int{}} }

func (c *tally) add(signal string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[signal] == nil {
		c.seen[signal] = map[int64]int{}
	}
	c.seen[signal][id]++
}

// count compares the deliveries of a signal with the ids that were
// acknowledged: lost are acknowledged ids never delivered, duplicates the
// deliveries beyond the first of any id.
func (c *tally) count(signal string, acked map[int64]bool) (lost []int64, duplicates int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range acked {
		if c.seen[signal][id] == 0 {
			lost = append(lost, id)
		}
	}
	for _, n := range c.seen[signal] {
		duplicates += n - 1
	}
	return lost, duplicates
}

// otlpSink is an OTLP/HTTP server that stands in for a backend (ClickHouse,
// which does not run here) and tallies the numbered records it receives.
func otlpSink(t *testing.T) (*httptest.Server, *tally) {
	t.Helper()
	c := newTally()
	srv := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/v1/logs":
			req := plogotlp.NewExportRequest()
			if err = req.UnmarshalProto(body); err == nil {
				for _, rl := range req.Logs().ResourceLogs().All() {
					for _, sl := range rl.ScopeLogs().All() {
						for _, lr := range sl.LogRecords().All() {
							tallyAttr(c, "logs", lr.Attributes())
						}
					}
				}
			}
		case "/v1/traces":
			req := ptraceotlp.NewExportRequest()
			if err = req.UnmarshalProto(body); err == nil {
				for _, rs := range req.Traces().ResourceSpans().All() {
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							tallyAttr(c, "traces", s.Attributes())
						}
					}
				}
			}
		case "/v1/metrics":
			req := pmetricotlp.NewExportRequest()
			if err = req.UnmarshalProto(body); err == nil {
				for _, rm := range req.Metrics().ResourceMetrics().All() {
					for _, sm := range rm.ScopeMetrics().All() {
						for _, m := range sm.Metrics().All() {
							if m.Name() != loadMetric {
								continue
							}
							for _, dp := range m.Gauge().DataPoints().All() {
								tallyAttr(c, "metrics", dp.Attributes())
							}
						}
					}
				}
			}
		default:
			err = fmt.Errorf("no such path %s", r.URL.Path)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	return srv, c
}

func tallyAttr(c *tally, signal string, attrs pcommon.Map) {
	if v, ok := attrs.Get(attrID); ok {
		c.add(signal, v.Int())
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = zr
	}
	return io.ReadAll(rd)
}

// remoteWriteSink is a Prometheus remote write endpoint that tallies the
// samples of the load generator's gauge by their test_id label.
func remoteWriteSink(t *testing.T) (*httptest.Server, *tally) {
	t.Helper()
	c := newTally()
	srv := vigiltest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		compressed, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raw, err := snappy.Decode(nil, compressed)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, ts := range req.Timeseries {
			var name, id string
			for _, l := range ts.Labels {
				switch l.Name {
				case "__name__":
					name = l.Value
				case "test_id":
					id = l.Value
				}
			}
			if name != loadMetric || id == "" {
				continue
			}
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for range ts.Samples {
				c.add("metrics", n)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return srv, c
}
