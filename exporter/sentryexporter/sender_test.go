package sentryexporter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
)

// secretKey is the DSN public key the tests check never leaks.
const secretKey = "f00dfeedcafe4badbeef0123456789ab"

func testEvent(id string) *sentry.Event {
	return &sentry.Event{
		EventID: sentry.EventID(id), Platform: "go", Timestamp: testTime, Level: sentry.LevelError,
		Sdk:       sentry.SdkInfo{Name: sdkName, Version: "test"},
		Exception: []sentry.Exception{{Type: "E", Value: "v"}},
	}
}

func newTestSender(t *testing.T, rawDSN string) *sender {
	t.Helper()
	dsn, err := parseDSN(rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(client.CloseIdleConnections)
	s := newSender(dsn, client, sdkName+"/test")
	t.Cleanup(s.release)
	return s
}

// throttleDelay reads the delay of an exporterhelper throttle error: its
// type is internal, its message "Throttle (<delay>), error: ...".
func throttleDelay(err error) (time.Duration, bool) {
	msg := err.Error()
	i := strings.Index(msg, "Throttle (")
	if i < 0 {
		return 0, false
	}
	d, perr := time.ParseDuration(msg[i+len("Throttle (") : i+strings.Index(msg[i:], ")")])
	return d, perr == nil
}

func TestSenderClassifiesResponses(t *testing.T) {
	tests := []struct {
		name       string
		reply      fakesentry.Reply
		wantErr    bool
		permanent  bool
		throttle   time.Duration // 0: not a throttle
		thenLimits bool          // the next send is refused locally
	}{
		{name: "accepted", reply: fakesentry.Reply{}, wantErr: false},
		{name: "429 with Retry-After", reply: fakesentry.Reply{Status: 429, RetryAfter: "7"}, wantErr: true, throttle: 7 * time.Second, thenLimits: true},
		{name: "429 with X-Sentry-Rate-Limits for errors wins over Retry-After", reply: fakesentry.Reply{Status: 429, RetryAfter: "100", RateLimits: "30:error;default:key, 90:transaction:org"}, wantErr: true, throttle: 30 * time.Second, thenLimits: true},
		{name: "429 limiting another category only", reply: fakesentry.Reply{Status: 429, RateLimits: "30:transaction:key"}, wantErr: true, throttle: defaultRetryAfter},
		{name: "429 without headers", reply: fakesentry.Reply{Status: 429}, wantErr: true, throttle: defaultRetryAfter, thenLimits: true},
		{name: "503 with Retry-After", reply: fakesentry.Reply{Status: 503, RetryAfter: "3"}, wantErr: true, throttle: 3 * time.Second},
		{name: "500 is retryable", reply: fakesentry.Reply{Status: 500}, wantErr: true},
		{name: "408 is retryable", reply: fakesentry.Reply{Status: 408}, wantErr: true},
		{name: "413 is permanent", reply: fakesentry.Reply{Status: 413}, wantErr: true, permanent: true},
		{name: "400 is permanent", reply: fakesentry.Reply{Status: 400}, wantErr: true, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakesentry.New(t, fakesentry.Project{ID: "42", Key: secretKey})
			if tt.reply.Status != 0 {
				fake.Script(tt.reply)
			}
			s := newTestSender(t, fake.DSN("42"))
			err := s.send(context.Background(), testEvent("0123456789abcdef0123456789abcdef"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if n := len(fake.Events()); n != 1 {
					t.Fatalf("fake accepted %d events", n)
				}
				return
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
			if consumererror.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", consumererror.IsPermanent(err), tt.permanent, err)
			}
			d, isThrottle := throttleDelay(err)
			if (tt.throttle != 0) != isThrottle || (isThrottle && (d > tt.throttle || d < tt.throttle-2*time.Second)) {
				t.Errorf("throttle = %v %v, want %v (%v)", d, isThrottle, tt.throttle, err)
			}
			before := len(fake.Requests())
			err = s.send(context.Background(), testEvent("0123456789abcdef0123456789abcdef"))
			sentAgain := len(fake.Requests()) > before
			if tt.thenLimits == sentAgain {
				t.Errorf("after %s: sent again = %v, want %v (%v)", tt.name, sentAgain, !tt.thenLimits, err)
			}
		})
	}
}

func TestParseRateLimits(t *testing.T) {
	now := testTime
	tests := []struct {
		header string
		want   map[string]time.Duration
	}{
		{"60:transaction:key, 2700:default;error;security:organization", map[string]time.Duration{
			"transaction": time.Minute, "default": 2700 * time.Second, "error": 2700 * time.Second, "security": 2700 * time.Second,
		}},
		{"60::organization, 2700::organization", map[string]time.Duration{"": 2700 * time.Second}},
		{"2.5:error:key:quota_exceeded:ns:future", map[string]time.Duration{"error": 2500 * time.Millisecond}},
		{"bogus, :error, -1:error, NaN:error", map[string]time.Duration{}},
		{"1e300:error, 90000:transaction", map[string]time.Duration{"error": 24 * time.Hour, "transaction": 24 * time.Hour}},
	}
	for _, tt := range tests {
		got := ParseRateLimits(tt.header, now)
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %v, want %v", tt.header, got, tt.want)
			continue
		}
		for c, d := range tt.want {
			if got[c] != now.Add(d) {
				t.Errorf("%q: %q until %v, want +%v", tt.header, c, got[c], d)
			}
		}
	}
}

// TestKeyNeverLeaks: the DSN's key appears in no error, whatever fails,
// nor in the validation errors of a config holding bad DSNs.
func TestKeyNeverLeaks(t *testing.T) {
	// A server that echoes the key back in its error body, as a proxy
	// might.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		header, _, _ := strings.Cut(string(body), "\n")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"detail":"bad auth: ` + r.Header.Get("X-Sentry-Auth") + ` for ` + header + `"}`))
	}))
	defer echo.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cases := map[string]string{
		"error body echoing the auth header": strings.Replace(echo.URL, "://", "://"+secretKey+"@", 1) + "/42",
		"connection refused":                 strings.Replace(closedURL, "://", "://"+secretKey+"@", 1) + "/42",
		"legacy secret key echoed":           strings.Replace(echo.URL, "://", "://pub:"+secretKey+"@", 1) + "/42",
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			s := newTestSender(t, dsn)
			err := s.send(context.Background(), testEvent("0123456789abcdef0123456789abcdef"))
			if err == nil {
				t.Fatal("send succeeded")
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Fatalf("error leaks the key: %v", err)
			}
			if !strings.Contains(err.Error(), "project 42") {
				t.Errorf("error does not name the project: %v", err)
			}
		})
	}
	t.Run("config validation", func(t *testing.T) {
		cfg := createDefaultConfig().(*Config)
		cfg.DSN = "ftp://" + secretKey + "@host/1"
		cfg.DSNByService = map[string]configopaque.String{
			"a": "https://" + secretKey + "@host/",
			"b": "https://" + secretKey + "@host:port/1",
			"c": "http://" + secretKey + "@%zz/1",
		}
		err := cfg.Validate()
		if err == nil {
			t.Fatal("invalid DSNs accepted")
		}
		if strings.Contains(err.Error(), secretKey) {
			t.Fatalf("validation error leaks the key: %v", err)
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
			t.Errorf("%d problems reported, want 4: %v", n, err)
		}
	})
}

func TestSenderHonoursContext(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := newTestSender(t, strings.Replace(srv.URL, "://", "://"+secretKey+"@", 1)+"/42")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.send(ctx, testEvent("0123456789abcdef0123456789abcdef"))
	if err == nil || consumererror.IsPermanent(err) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
}
