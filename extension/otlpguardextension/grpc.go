package otlpguardextension

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// GetGRPCServerOptions implements extensionmiddleware.GRPCServer.
//
// gRPC decodes a unary request before any interceptor sees it, so the
// guard must sit in the codec: the only code that gets the message's bytes
// (decompressed, within max_recv_msg_size) before pdata's decoder. But an
// error from a codec always reaches the client as codes.Internal ("error
// unmarshalling request"), and a refusal is the client's fault. So the
// codec leaves a refused message undecoded and notes it; the guard's unary
// interceptor, which gets that same message next, answers
// InvalidArgument instead of calling the receiver.
func (g *guard) GetGRPCServerOptions(context.Context) ([]grpc.ServerOption, error) {
	delegate := encoding.GetCodecV2(protoCodecName)
	if delegate == nil {
		return nil, errors.New("no gRPC codec registered for proto")
	}
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(&guardCodec{guard: g, delegate: delegate}),
		grpc.ChainUnaryInterceptor(g.answerRefused),
	}, nil
}

// protoCodecName is the codec gRPC uses for application/grpc (pdata
// registers its own, pooled, under this name).
const protoCodecName = "proto"

// guardCodec checks OTLP export requests before handing them to the proto
// codec; other messages go straight through.
type guardCodec struct {
	guard    *guard
	delegate encoding.CodecV2
}

func (c *guardCodec) Marshal(v any) (mem.BufferSlice, error) { return c.delegate.Marshal(v) }
func (c *guardCodec) Name() string                           { return protoCodecName }

func (c *guardCodec) Unmarshal(data mem.BufferSlice, v any) error {
	root := rootOf(v)
	if root == scan.None {
		return c.delegate.Unmarshal(data, v)
	}
	var body []byte
	if len(data) == 1 {
		body = data[0].ReadOnlyData()
	} else {
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer buf.Free()
		body = buf.ReadOnlyData()
	}
	if refusal := c.guard.check(body, root, false); refusal != nil {
		c.guard.telemetry.recordRefusal("grpc", root, refusal)
		c.guard.pending.put(v, refusal)
		return nil // v stays empty; answerRefused answers for it
	}
	return c.delegate.Unmarshal(data, v)
}

// answerRefused is a unary server interceptor: it answers InvalidArgument
// for a request the codec refused.
func (g *guard) answerRefused(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if refusal := g.pending.take(req); refusal != nil {
		return nil, status.Error(codes.InvalidArgument, refusal.Error())
	}
	return handler(ctx, req)
}

// pendingRefusals hands refusals from the codec to the interceptor, keyed
// by the request message (the same pointer reaches both). An interceptor
// earlier in the chain (authentication) may end a call before the guard's
// runs, so entries older than a minute are dropped when new ones come.
type pendingRefusals struct {
	count     atomic.Int64 // len(m), read without the lock on every request
	mu        sync.Mutex
	m         map[any]pendingRefusal
	lastSweep time.Time
}

type pendingRefusal struct {
	refusal *scan.Refusal
	at      time.Time
}

// pendingTTL is how long a refusal waits for its interceptor call.
const pendingTTL = time.Minute

func (p *pendingRefusals) put(req any, r *scan.Refusal) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[any]pendingRefusal{}
	}
	p.m[req] = pendingRefusal{refusal: r, at: now}
	if now.Sub(p.lastSweep) > pendingTTL/4 {
		p.lastSweep = now
		for k, e := range p.m {
			if now.Sub(e.at) > pendingTTL {
				delete(p.m, k)
			}
		}
	}
	p.count.Store(int64(len(p.m)))
}

func (p *pendingRefusals) take(req any) *scan.Refusal {
	if p.count.Load() == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[req]
	if !ok {
		return nil
	}
	delete(p.m, req)
	p.count.Store(int64(len(p.m)))
	return e.refusal
}
