// Package rawotlp sends OTLP request bodies as they are, bytes that no
// SDK would produce included, over OTLP/HTTP and gRPC, and returns the
// receiver's answer.
package rawotlp

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// Answer is a receiver's answer: Status is the HTTP status text or the
// gRPC code's name ("Bad Request", "InvalidArgument"), Message its body or
// status message.
type Answer struct {
	Status, Message string
}

// grpcMethods are the OTLP export methods by signal.
var grpcMethods = map[string]string{
	"logs":     "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
	"traces":   "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
	"metrics":  "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
	"profiles": "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
}

// Send sends a raw request body (deepotlp.Build's) for place p to endpoint (host:port of the
// transport's listener) and returns the answer. The error is set only
// when no answer came (connection refused or reset, the process gone).
func Send(ctx context.Context, t deepotlp.Transport, endpoint string, p deepotlp.Place, body []byte) (Answer, error) {
	if t == deepotlp.GRPC {
		conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return Answer{}, err
		}
		defer conn.Close()
		var resp []byte
		err = conn.Invoke(ctx, grpcMethods[p.Signal()], body, &resp, grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20))
		st, ok := status.FromError(err)
		if !ok || st.Code() == codes.Unavailable {
			return Answer{}, err
		}
		return Answer{st.Code().String(), st.Message()}, nil
	}
	ct := "application/x-protobuf"
	if t == deepotlp.HTTPJSON {
		ct = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+endpoint+p.HTTPPath(), bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return Answer{http.StatusText(resp.StatusCode), string(msg)}, nil
}

// rawCodec sends and receives gRPC messages as the bytes they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
