package otlpguardextension

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/extension/extensionmiddleware"

	"github.com/vigil-otel/vigil/extension/otlpguardextension/internal/scan"
)

// Content types of OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp).
const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// maxPooledBody is the largest body buffer kept for reuse: larger ones are
// rare and would pin their memory in the pool.
const maxPooledBody = 4 << 20

// GetHTTPHandler implements extensionmiddleware.HTTPServer. confighttp
// runs it inside its decompression and body size limit, so the guard sees
// the decompressed body, at most max_request_body_size long.
func (g *guard) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveHTTP(w, r, next) }), nil
	}, nil
}

func (g *guard) serveHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodPost {
		next.ServeHTTP(w, r)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	root, json := scan.None, false
	switch mediaType {
	case contentTypeProtobuf:
		if root = g.paths[r.URL.Path]; root == scan.None {
			next.ServeHTTP(w, r) // a protobuf of unknown schema
			return
		}
	case contentTypeJSON:
		root, json = g.paths[r.URL.Path], true
	default:
		next.ServeHTTP(w, r) // the receiver answers 415
		return
	}

	body, _ := g.bodies.Get().(*bytes.Buffer)
	if body == nil {
		body = new(bytes.Buffer)
	}
	body.Reset()
	defer func() {
		if body.Cap() <= maxPooledBody {
			g.bodies.Put(body)
		}
	}()
	if _, err := body.ReadFrom(r.Body); err != nil {
		code := http.StatusBadRequest
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		writeStatus(w, json, code, status.New(codes.InvalidArgument, "reading the request body: "+err.Error()))
		return
	}
	if refusal := g.check(body.Bytes(), root, json); refusal != nil {
		g.telemetry.recordRefusal("http", root, refusal)
		writeStatus(w, json, http.StatusBadRequest, status.New(codes.InvalidArgument, refusal.Error()))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body.Bytes()))
	r.ContentLength = int64(body.Len())
	next.ServeHTTP(w, r)
}

// writeStatus answers as OTLP/HTTP requires for errors: a google.rpc.Status
// in the request's encoding.
func writeStatus(w http.ResponseWriter, json bool, code int, st *status.Status) {
	var (
		b   []byte
		err error
		ct  = contentTypeProtobuf
	)
	if json {
		ct = contentTypeJSON
		b, err = protojson.Marshal(st.Proto())
	} else {
		b, err = proto.Marshal(st.Proto())
	}
	if err != nil {
		ct, b = "text/plain", []byte(st.Message())
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
