package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/goleak"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newTestClient(t testing.TB, s ClientSettings) *Client {
	t.Helper()
	c, err := NewClient(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func trigger(key RoutingKey, dedup string) Event {
	return Event{
		RoutingKey: key, EventAction: ActionTrigger, DedupKey: dedup,
		Payload: &Payload{Summary: "checkout availability burning", Source: "checkout", Severity: SeverityCritical},
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name         string
		settings     ClientSettings
		wantEndpoint string
		wantErr      bool
	}{
		{name: "default endpoint", wantEndpoint: DefaultEndpoint},
		{name: "own endpoint", settings: ClientSettings{Endpoint: "http://127.0.0.1:8787/v2/enqueue"}, wantEndpoint: "http://127.0.0.1:8787/v2/enqueue"},
		{name: "relative", settings: ClientSettings{Endpoint: "/v2/enqueue"}, wantErr: true},
		{name: "other scheme", settings: ClientSettings{Endpoint: "ftp://example.com/v2/enqueue"}, wantErr: true},
		{name: "unparsable", settings: ClientSettings{Endpoint: "http://[::1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.settings)
			if tt.wantErr {
				if err == nil {
					t.Fatal("NewClient succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Endpoint() != tt.wantEndpoint {
				t.Fatalf("Endpoint() = %q, want %q", c.Endpoint(), tt.wantEndpoint)
			}
		})
	}
}

func TestSendHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"x"}`))
	}))
	defer srv.Close()
	c := newTestClient(t, ClientSettings{Endpoint: srv.URL + "/v2/enqueue", Version: "1.2.3"})
	if _, err := c.Send(context.Background(), trigger(testKey, "x")); err != nil {
		t.Fatal(err)
	}
	if ua := got.Get("User-Agent"); ua != "vigil/1.2.3" {
		t.Errorf("User-Agent = %q", ua)
	}
	if ct := got.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestSendAgainstFake(t *testing.T) {
	fixedNow := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		script         []fakepagerduty.Reply
		event          Event
		wantDedup      string
		wantErr        bool
		wantPermanent  bool
		wantReason     Reason
		wantStatus     int
		wantRetryAfter time.Duration
		wantInError    []string
	}{
		{name: "202 accepted", event: trigger(testKey, "fp-1"), wantDedup: "fp-1"},
		{name: "resolve accepted", event: Event{RoutingKey: testKey, EventAction: ActionResolve, DedupKey: "fp-1"}, wantDedup: "fp-1"},
		{
			name:          "400 from strict validation is permanent",
			event:         func() Event { e := trigger(testKey, "fp-1"); e.Payload.Severity = "page"; return e }(),
			wantErr:       true,
			wantPermanent: true,
			wantReason:    ReasonInvalidEvent,
			wantStatus:    400,
			wantInError:   []string{"Event object is invalid", "'payload.severity' must be one of"},
		},
		{
			name:          "scripted 400 carries PagerDuty's reason",
			script:        []fakepagerduty.Reply{{Status: 400, Errors: []string{"Length of 'routing_key' is incorrect (should be 32 characters)"}}},
			event:         trigger(testKey, "fp-1"),
			wantErr:       true,
			wantPermanent: true,
			wantReason:    ReasonInvalidEvent,
			wantStatus:    400,
			wantInError:   []string{"Length of 'routing_key' is incorrect"},
		},
		{
			name:           "429 with Retry-After seconds throttles",
			script:         []fakepagerduty.Reply{{Status: 429, RetryAfter: "7"}},
			event:          trigger(testKey, "fp-1"),
			wantErr:        true,
			wantReason:     ReasonRateLimited,
			wantStatus:     429,
			wantRetryAfter: 7 * time.Second,
			wantInError:    []string{"Throttle (7s)", "HTTP 429"},
		},
		{
			name:           "429 with Retry-After date throttles",
			script:         []fakepagerduty.Reply{{Status: 429, RetryAfter: fixedNow.Add(45 * time.Second).Format(http.TimeFormat)}},
			event:          trigger(testKey, "fp-1"),
			wantErr:        true,
			wantReason:     ReasonRateLimited,
			wantStatus:     429,
			wantRetryAfter: 45 * time.Second,
			wantInError:    []string{"Throttle (45s)"},
		},
		{
			name:        "429 without Retry-After is plain retryable",
			script:      []fakepagerduty.Reply{{Status: 429}},
			event:       trigger(testKey, "fp-1"),
			wantErr:     true,
			wantReason:  ReasonRateLimited,
			wantStatus:  429,
			wantInError: []string{"arriving too quickly"},
		},
		{
			name:        "500 is retryable",
			script:      []fakepagerduty.Reply{{Status: 500}},
			event:       trigger(testKey, "fp-1"),
			wantErr:     true,
			wantReason:  ReasonServerError,
			wantStatus:  500,
			wantInError: []string{"HTTP 500 (server_error)"},
		},
		{
			name:           "503 with Retry-After throttles",
			script:         []fakepagerduty.Reply{{Status: 503, RetryAfter: "2"}},
			event:          trigger(testKey, "fp-1"),
			wantErr:        true,
			wantReason:     ReasonServerError,
			wantStatus:     503,
			wantRetryAfter: 2 * time.Second,
		},
		{
			name:          "404 is permanent",
			script:        []fakepagerduty.Reply{{Status: 404}},
			event:         trigger(testKey, "fp-1"),
			wantErr:       true,
			wantPermanent: true,
			wantReason:    ReasonClientError,
			wantStatus:    404,
		},
		{
			name: "too large is refused before sending",
			event: func() Event {
				e := trigger(testKey, "fp-1")
				e.ClientURL = strings.Repeat("u", MaxEventBytes)
				return e
			}(),
			wantErr:       true,
			wantPermanent: true,
			wantReason:    ReasonTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			for _, r := range tt.script {
				fake.RespondNext(1, r)
			}
			c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
			c.now = func() time.Time { return fixedNow }
			resp, err := c.Send(context.Background(), tt.event)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Send() = %v", err)
				}
				if resp.Status != "success" || resp.Message != "Event processed" || resp.DedupKey != tt.wantDedup {
					t.Fatalf("response = %+v", resp)
				}
				if n := len(fake.Events()); n != 1 {
					t.Fatalf("fake accepted %d events, want 1", n)
				}
				return
			}
			if err == nil {
				t.Fatal("Send() succeeded, want error")
			}
			if got := consumererror.IsPermanent(err); got != tt.wantPermanent {
				t.Fatalf("IsPermanent(%v) = %v, want %v", err, got, tt.wantPermanent)
			}
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a *SendError", err)
			}
			if se.Reason != tt.wantReason || ReasonOf(err) != tt.wantReason || se.StatusCode != tt.wantStatus || se.RetryAfter != tt.wantRetryAfter {
				t.Fatalf("SendError = %+v, want reason %q status %d retry after %v", se, tt.wantReason, tt.wantStatus, tt.wantRetryAfter)
			}
			wantOutcome := OutcomeRetryable
			if tt.wantPermanent {
				wantOutcome = OutcomePermanent
			}
			if se.Outcome != wantOutcome {
				t.Fatalf("Outcome = %s, want %s", se.Outcome, wantOutcome)
			}
			throttled := strings.HasPrefix(err.Error(), "Throttle (")
			if throttled != (tt.wantRetryAfter > 0) {
				t.Fatalf("error %q: throttled = %v, want %v", err, throttled, tt.wantRetryAfter > 0)
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if len(fake.Events()) != 0 {
				t.Fatal("fake accepted an event on a failed send")
			}
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (endpoint string, timeout time.Duration)
	}{
		{
			name: "connection refused",
			setup: func(t *testing.T) (string, time.Duration) {
				srv := httptest.NewServer(http.NotFoundHandler())
				url := srv.URL
				srv.Close()
				return url + "/v2/enqueue", time.Second
			},
		},
		{
			name: "timeout",
			setup: func(t *testing.T) (string, time.Duration) {
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}))
				// Cleanups run last-in first-out: release the handler, then
				// close the server, which waits for it.
				t.Cleanup(srv.Close)
				t.Cleanup(func() { close(release) })
				return srv.URL + "/v2/enqueue", 50 * time.Millisecond
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint, timeout := tt.setup(t)
			c := newTestClient(t, ClientSettings{Endpoint: endpoint, Timeout: timeout})
			_, err := c.Send(context.Background(), trigger(testKey, "fp"))
			if err == nil || consumererror.IsPermanent(err) {
				t.Fatalf("Send() = %v, want a retryable error", err)
			}
			if ReasonOf(err) != ReasonNetwork {
				t.Fatalf("ReasonOf(%v) = %q, want network", err, ReasonOf(err))
			}
		})
	}
}

func TestSendAcceptedWithUnreadableBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("<html>ok</html>"))
	}))
	defer srv.Close()
	c := newTestClient(t, ClientSettings{Endpoint: srv.URL})
	resp, err := c.Send(context.Background(), trigger(testKey, "fp-9"))
	if err != nil {
		t.Fatalf("Send() = %v; an accepted event must not be retried", err)
	}
	if resp.DedupKey != "fp-9" {
		t.Fatalf("DedupKey = %q, want the event's", resp.DedupKey)
	}
}

func TestSendBuiltEventsPassStrictFake(t *testing.T) {
	// Everything the builder produces, edge cases included, is accepted by
	// the strict fake.
	fake := fakepagerduty.New(t)
	c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
	b, err := NewBuilder(BuilderSettings{Client: "Vigil", ClientURL: "http://localhost:3000"})
	if err != nil {
		t.Fatal(err)
	}
	alerts := []Alert{
		{Action: ActionTrigger, Fingerprint: "a", Summary: strings.Repeat("語", 5000), Service: "svc", Severity: "page", Time: time.Now()},
		{Action: ActionTrigger, Fingerprint: strings.Repeat("f", 400), Name: "n", Severity: "ticket"},
		{Action: ActionTrigger, Fingerprint: "c", Summary: "big", Service: "svc", Details: map[string]any{"log": strings.Repeat("<x>", 300000)}},
		{Action: ActionTrigger, Fingerprint: "d", Summary: "links", Links: []Link{{Href: "https://grafana.example/d/x?var-service=a&b=<c>", Text: "dash"}}},
		{Action: ActionResolve, Fingerprint: "a"},
		{Action: ActionAcknowledge, Fingerprint: "c"},
	}
	for i, a := range alerts {
		ev, err := b.Build(testKey, a)
		if err != nil {
			t.Fatalf("alert %d: Build() = %v", i, err)
		}
		if _, err := c.Send(context.Background(), ev); err != nil {
			t.Fatalf("alert %d: Send() = %v", i, err)
		}
	}
	if n := len(fake.Events()); n != len(alerts) {
		t.Fatalf("fake accepted %d events, want %d", n, len(alerts))
	}
	if fake.Count(DedupKey(strings.Repeat("f", 400)), "trigger") != 1 {
		t.Fatal("hashed dedup key not found")
	}
}

func TestFailureMessage(t *testing.T) {
	key := RoutingKey("LEAKCANARY0123456789abcdefghijkl")
	// The key straddles the cut at maxMessageBytes, so redaction must come
	// first or half the key would survive.
	straddling := strings.Repeat("x", maxMessageBytes-10) + string(key) + strings.Repeat("y", 100)
	tests := []struct {
		name string
		raw  string
		want func(got string) bool
	}{
		{name: "message and errors", raw: `{"status":"invalid event","message":"Event object is invalid","errors":["a","b"]}`,
			want: func(got string) bool { return got == "Event object is invalid: a; b" }},
		{name: "status only", raw: `{"status":"throttle event"}`,
			want: func(got string) bool { return got == "throttle event" }},
		{name: "errors only", raw: `{"errors":["JSON parse error"]}`,
			want: func(got string) bool { return got == "JSON parse error" }},
		{name: "plain text", raw: "  upstream connect error  ",
			want: func(got string) bool { return got == "upstream connect error" }},
		{name: "long text with the key at the cut", raw: straddling,
			want: func(got string) bool {
				return !strings.Contains(got, "LEAKCANARY") && len(got) <= maxMessageBytes+len(Ellipsis) && strings.HasSuffix(got, Ellipsis)
			}},
		{name: "long JSON message with the key at the cut", raw: `{"message":"` + straddling + `"}`,
			want: func(got string) bool {
				return !strings.Contains(got, "LEAKCANARY") && utf8.RuneCountInString(got) <= maxMessageBytes
			}},
		{name: "invalid UTF-8", raw: "bad \xff byte",
			want: func(got string) bool { return got == "bad \uFFFD byte" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answer Response
			err := json.Unmarshal([]byte(tt.raw), &answer)
			if got := failureMessage(answer, err, []byte(tt.raw), key); !tt.want(got) {
				t.Fatalf("failureMessage() = %q", got)
			}
		})
	}
}
