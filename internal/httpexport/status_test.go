package httpexport

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		want   Class
	}{
		{200, Success}, {202, Success}, {204, Success},
		{301, Permanent}, {400, Permanent}, {401, Permanent}, {403, Permanent}, {404, Permanent}, {413, Permanent}, {422, Permanent},
		{408, Retryable}, {429, Retryable}, {500, Retryable}, {502, Retryable}, {503, Retryable}, {504, Retryable},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Classify(tt.status), "status %d", tt.status)
	}
}

func TestResponseError(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	base := errors.New("answer")
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantNil    bool
		permanent  bool
		throttle   string // the throttle's delay as exporterhelper prints it
	}{
		{name: "success", status: 204, wantNil: true},
		{name: "bad request is permanent, Retry-After or not", status: 400, retryAfter: "5", permanent: true},
		{name: "429 with Retry-After throttles", status: 429, retryAfter: "7", throttle: "7s"},
		{name: "503 with a date throttles until it", status: 503, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat), throttle: "1m30s"},
		{name: "a huge Retry-After is capped", status: 429, retryAfter: "86400", throttle: "15m0s"},
		{name: "500 without Retry-After retries with backoff", status: 500},
		{name: "unreadable Retry-After retries with backoff", status: 429, retryAfter: "soon"},
		{name: "408 retries", status: 408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			err := ResponseError(tt.status, h, base, now)
			if tt.wantNil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, base)
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err))
			isThrottle := strings.HasPrefix(err.Error(), "Throttle (")
			assert.Equal(t, tt.throttle != "", isThrottle, "%v", err)
			if tt.throttle != "" {
				assert.True(t, strings.HasPrefix(err.Error(), "Throttle ("+tt.throttle+")"), "%v", err)
			}
		})
	}
}

// endless is a response body that never ends.
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.read += len(p)
	return len(p), nil
}

func TestReadErrorBody(t *testing.T) {
	assert.Equal(t, "ingestion rate limit exceeded", ReadErrorBody(strings.NewReader("  ingestion rate limit exceeded\n")))
	assert.Equal(t, "bad \uFFFD byte", ReadErrorBody(strings.NewReader("bad \xff byte")))
	assert.Equal(t, "", ReadErrorBody(strings.NewReader("")))

	// An endless body: the message is bounded and the read ends.
	body := &endless{}
	msg := ReadErrorBody(body)
	assert.Len(t, msg, MaxErrorBody)
	assert.LessOrEqual(t, body.read, MaxErrorBody+MaxDrain+32*1024, "read beyond the drain bound")

	// What is left after a drain is still there for the transport.
	r := strings.NewReader(strings.Repeat("y", MaxDrain+10))
	Drain(r)
	rest, _ := io.ReadAll(r)
	assert.Len(t, rest, 10)
}

func TestStatusError(t *testing.T) {
	assert.Equal(t, "Alertmanager answered HTTP 400 Bad Request: bad matcher",
		(&StatusError{Server: "Alertmanager", Status: 400, Message: "bad matcher"}).Error())
	assert.Equal(t, "Loki answered HTTP 503 Service Unavailable",
		(&StatusError{Server: "Loki", Status: 503}).Error())
}
