package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Load describes one load run.
type Load struct {
	Endpoint string        // OTLP gRPC host:port
	Rate     int           // spans per second; 0 sends flat out
	Duration time.Duration // how long to send
	Batch    int           // spans per Export request
	Workers  int           // concurrent senders
	Services int           // distinct service.name values
	ErrorPct float64       // share of spans with status Error, in percent
}

// Sent is what a run delivered, as the client saw it.
type Sent struct {
	Spans    int64 // spans in requests the collector acknowledged
	Failed   int64 // spans in requests that failed
	Requests int64
	Elapsed  time.Duration
	// FirstError is the first failed request's error, to say why.
	FirstError error
}

// Run sends spans until the duration is over, then returns the counts.
func (l Load) Run(ctx context.Context) (Sent, error) {
	conn, err := grpc.NewClient(l.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Sent{}, err
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	var limiter *rate.Limiter
	if l.Rate > 0 {
		// Tokens are spans; a burst of one batch lets each request through
		// as soon as its spans are due.
		limiter = rate.NewLimiter(rate.Limit(l.Rate), l.Batch)
	}
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()

	var sent, failed, requests atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < l.Workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			gen := newGenerator(l, seed)
			for ctx.Err() == nil {
				if limiter != nil {
					if err := limiter.WaitN(ctx, l.Batch); err != nil {
						return
					}
				}
				req := ptraceotlp.NewExportRequestFromTraces(gen.next(time.Now()))
				_, err := client.Export(ctx, req)
				requests.Add(1)
				if err != nil {
					// The run ended mid-request: not a failure. gRPC's
					// own deadline timer may fire a moment before the
					// context reports it.
					if dl, _ := ctx.Deadline(); ctx.Err() != nil || !time.Now().Before(dl) {
						return
					}
					failed.Add(int64(l.Batch))
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				sent.Add(int64(l.Batch))
			}
		}(uint64(w + 1))
	}
	wg.Wait()
	out := Sent{Spans: sent.Load(), Failed: failed.Load(), Requests: requests.Load(), Elapsed: time.Since(start)}
	if e := firstErr.Load(); e != nil {
		out.FirstError = *e
	}
	return out, nil
}

// generator makes requests shaped like a Go HTTP service's server spans:
// a few routes, realistic attributes, a share of errors.
type generator struct {
	load   Load
	rnd    *rand.Rand
	routes []string
}

func newGenerator(l Load, seed uint64) *generator {
	return &generator{
		load:   l,
		rnd:    rand.New(rand.NewPCG(seed, 0x5eed)),
		routes: []string{"GET /products", "GET /products/{id}", "POST /cart", "POST /checkout", "GET /healthz"},
	}
}

func (g *generator) next(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	perService := g.load.Batch / max(1, g.load.Services)
	for s := 0; s < max(1, g.load.Services); s++ {
		n := perService
		if s == 0 {
			n += g.load.Batch - perService*max(1, g.load.Services)
		}
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("loadgen-%d", s))
		rs.Resource().Attributes().PutStr("service.version", "1.4.2")
		rs.Resource().Attributes().PutStr("deployment.environment.name", "bench")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("net/http")
		spans := ss.Spans()
		spans.EnsureCapacity(n)
		for i := 0; i < n; i++ {
			g.span(spans.AppendEmpty(), now)
		}
	}
	return td
}

func (g *generator) span(sp ptrace.Span, now time.Time) {
	var tid [16]byte
	var sid [8]byte
	binary.LittleEndian.PutUint64(tid[:8], g.rnd.Uint64())
	binary.LittleEndian.PutUint64(tid[8:], g.rnd.Uint64())
	binary.LittleEndian.PutUint64(sid[:], g.rnd.Uint64())
	sp.SetTraceID(tid)
	sp.SetSpanID(sid)
	route := g.routes[g.rnd.IntN(len(g.routes))]
	sp.SetName(route)
	sp.SetKind(ptrace.SpanKindServer)
	// Log-normal-ish latency around 40ms.
	d := time.Duration(float64(40*time.Millisecond) * (0.3 + g.rnd.ExpFloat64()))
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-d)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	status := int64(200)
	if g.rnd.Float64()*100 < g.load.ErrorPct {
		status = 503
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
	attrs := sp.Attributes()
	attrs.PutStr("http.request.method", route[:4])
	attrs.PutStr("http.route", route[5:])
	attrs.PutInt("http.response.status_code", status)
	attrs.PutStr("server.address", "shop.internal")
	attrs.PutStr("network.protocol.version", "1.1")
}
