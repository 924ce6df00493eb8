package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

const (
	loadService = "reliability-load"
	loadMetric  = "reliability_load"
	// perRequest is how many records each request carries.
	perRequest = 25
)

// load sends numbered logs, spans and gauge points over OTLP/HTTP as an
// SDK would: a request that gets no 200 (the collector is down, or
// refused it) is sent again until one comes. Only records of a request
// answered 200 count as acknowledged.
type load struct {
	endpoint string // host:port of the OTLP/HTTP receiver

	mu       sync.Mutex
	acked    map[string]map[int64]bool // signal → ids
	requests int
	retries  int
}

func newLoad(endpoint string) *load {
	return &load{endpoint: endpoint, acked: map[string]map[int64]bool{"logs": {}, "traces": {}, "metrics": {}}}
}

// run sends until ctx ends, from workers goroutines; it returns when they
// stop. Each worker numbers its records from its own range.
func (l *load) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := int64(w) * 100_000_000
			for ctx.Err() == nil {
				for _, signal := range []string{"logs", "traces", "metrics"} {
					ids := make([]int64, perRequest)
					for i := range ids {
						ids[i] = next
						next++
					}
					if l.send(ctx, signal, ids) {
						l.mu.Lock()
						for _, id := range ids {
							l.acked[signal][id] = true
						}
						l.requests++
						l.mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
}

// send posts one request until it is answered 200 or ctx ends.
func (l *load) send(ctx context.Context, signal string, ids []int64) bool {
	body, err := build(signal, ids)
	if err != nil {
		panic(err)
	}
	return postUntilOK(ctx, "http://"+l.endpoint+"/v1/"+signal, body, 50*time.Millisecond, func() {
		l.mu.Lock()
		l.retries++
		l.mu.Unlock()
	})
}

// postUntilOK posts an OTLP protobuf body to url until it is answered 200
// (true) or ctx ends (false), calling retried after each failure and
// waiting pause before the next try.
func postUntilOK(ctx context.Context, url string, body []byte, pause time.Duration, retried func()) bool {
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		retried()
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return false
}

// ackedIDs returns a copy of the acknowledged ids of a signal.
func (l *load) ackedIDs(signal string) map[int64]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int64]bool, len(l.acked[signal]))
	for id := range l.acked[signal] {
		out[id] = true
	}
	return out
}

// build encodes one request of the signal carrying the numbered records.
func build(signal string, ids []int64) ([]byte, error) {
	now := time.Now()
	switch signal {
	case "logs":
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", loadService)
		sl := rl.ScopeLogs().AppendEmpty()
		for i, id := range ids {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Microsecond)))
			lr.Body().SetStr(fmt.Sprintf("record %d", id))
			lr.Attributes().PutInt(attrID, id)
		}
		return plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	case "traces":
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", loadService)
		ss := rs.ScopeSpans().AppendEmpty()
		for _, id := range ids {
			s := ss.Spans().AppendEmpty()
			var tid [16]byte
			var sid [8]byte
			for b := range 8 {
				tid[b] = byte(id >> (8 * b))
				sid[b] = byte(id >> (8 * b))
			}
			tid[15], sid[0] = 1, sid[0]|1
			s.SetTraceID(tid)
			s.SetSpanID(sid)
			s.SetName("GET /load")
			s.SetKind(ptrace.SpanKindServer)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Millisecond)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			s.Attributes().PutInt(attrID, id)
		}
		return ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	case "metrics":
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", loadService)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(loadMetric)
		g := m.SetEmptyGauge()
		for _, id := range ids {
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
			dp.SetDoubleValue(1)
			dp.Attributes().PutInt(attrID, id)
		}
		return pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	}
	return nil, fmt.Errorf("unknown signal %q", signal)
}
