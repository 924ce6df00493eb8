package fakesentry

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

const (
	testKey = "0123456789abcdef0123456789abcdef"
	eventID = "fc6d8c0c43fc4630ad850ee518f1b9d0"
)

// validEvent is a minimal event as Sentry's documentation shows it.
const validEvent = `{"event_id":"` + eventID + `","timestamp":"2026-11-21T20:00:00Z","platform":"go","level":"error",` +
	`"release":"1.0.0","environment":"prod","server_name":"web-1",` +
	`"exception":{"values":[{"type":"E","value":"boom","stacktrace":{"frames":[{"function":"main","module":"main","filename":"main.go","lineno":3,"in_app":true}]}}]},` +
	`"contexts":{"trace":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}},` +
	`"tags":{"service.name":"api"},"fingerprint":["api","E","main.main"],"sdk":{"name":"t","version":"1"}}`

// envelope frames payload as one event item with the given header fields.
func envelope(header, payload string, length int) string {
	return header + "\n" + fmt.Sprintf(`{"type":"event","length":%d}`, length) + "\n" + payload + "\n"
}

func header(dsn string) string {
	return `{"event_id":"` + eventID + `","sent_at":"2026-11-21T20:00:01Z","dsn":"` + dsn + `"}`
}

func auth(key string) string {
	return "Sentry sentry_version=7, sentry_client=test/1.0, sentry_key=" + key
}

func TestServerStrictness(t *testing.T) {
	s := New(t, Project{ID: "42", Key: testKey})
	dsn := s.DSN("42")
	good := envelope(header(dsn), validEvent, len(validEvent))
	replace := func(old, new string) string {
		ev := strings.Replace(validEvent, old, new, 1)
		return envelope(header(dsn), ev, len(ev))
	}
	// sentry-go sends the exception interface as a bare list, which Relay
	// accepts too.
	bare := strings.Replace(strings.Replace(validEvent, `"exception":{"values":[`, `"exception":[`, 1), `}]}}]},"contexts"`, `}]}}],"contexts"`, 1)
	tests := []struct {
		name        string
		method      string
		path        string
		auth        string
		contentType string
		body        string
		gzip        bool
		wantStatus  int
		wantProblem string
	}{
		{name: "valid", body: good, wantStatus: 200},
		{name: "valid, gzip", body: good, gzip: true, wantStatus: 200},
		{name: "key as query parameter", path: "/api/42/envelope/?sentry_key=" + testKey + "&sentry_version=7", auth: "-", body: good, wantStatus: 200},
		{name: "bare exception list (as Relay accepts)", body: envelope(header(dsn), bare, len(bare)), wantStatus: 200},
		{name: "no auth", auth: "-", body: good, wantStatus: 401, wantProblem: "missing authorization"},
		{name: "wrong key", auth: auth("ffffffffffffffffffffffffffffffff"), body: good, wantStatus: 401, wantProblem: "invalid public key"},
		{name: "wrong version", auth: "Sentry sentry_version=5, sentry_client=t, sentry_key=" + testKey, body: good, wantStatus: 401, wantProblem: "sentry_version"},
		{name: "no client", auth: "Sentry sentry_version=7, sentry_key=" + testKey, body: good, wantStatus: 401, wantProblem: "sentry_client"},
		{name: "GET", method: http.MethodGet, body: good, wantStatus: 405},
		{name: "unknown project", path: "/api/99/envelope/", body: good, wantStatus: 404},
		{name: "store endpoint", path: "/api/42/store/", body: good, wantStatus: 404},
		{name: "content type", contentType: "application/json", body: good, wantStatus: 415},
		{name: "length too long", body: envelope(header(dsn), validEvent, len(validEvent)+5), wantStatus: 400, wantProblem: "bytes left"},
		{name: "length too short", body: envelope(header(dsn), validEvent, len(validEvent)-1), wantStatus: 400, wantProblem: "not followed by a newline"},
		{name: "no length", body: header(dsn) + "\n{\"type\":\"event\"}\n" + validEvent + "\n", wantStatus: 400, wantProblem: "length missing"},
		{name: "unknown item type", body: header(dsn) + "\n{\"type\":\"nonsense\",\"length\":2}\n{}\n", wantStatus: 400, wantProblem: "unknown type"},
		{name: "no sent_at", body: envelope(`{"event_id":"`+eventID+`","dsn":"`+dsn+`"}`, validEvent, len(validEvent)), wantStatus: 400, wantProblem: "sent_at"},
		{name: "dsn of another key", body: envelope(header(strings.Replace(dsn, testKey, "other", 1)), validEvent, len(validEvent)), wantStatus: 400, wantProblem: "dsn"},
		{name: "header and event ids differ", body: envelope(strings.Replace(header(dsn), eventID, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1), validEvent, len(validEvent)), wantStatus: 400, wantProblem: "differs"},
		{name: "event_id uppercase", body: replace(eventID, strings.ToUpper(eventID)), wantStatus: 400, wantProblem: "event_id"},
		{name: "no timestamp", body: replace(`"timestamp":"2026-11-21T20:00:00Z",`, ``), wantStatus: 400, wantProblem: "timestamp missing"},
		{name: "numeric timestamp", body: replace(`"timestamp":"2026-11-21T20:00:00Z"`, `"timestamp":1795291200.5`), wantStatus: 200},
		{name: "bad platform", body: replace(`"platform":"go"`, `"platform":"golang"`), wantStatus: 400, wantProblem: "platform"},
		{name: "bad level", body: replace(`"level":"error"`, `"level":"critical"`), wantStatus: 400, wantProblem: "level"},
		{name: "frame without in_app", body: replace(`,"in_app":true`, ``), wantStatus: 400, wantProblem: "in_app"},
		{name: "frame without function", body: replace(`"function":"main",`, ``), wantStatus: 400, wantProblem: "function missing"},
		{name: "frame line as string", body: replace(`"lineno":3`, `"lineno":"3"`), wantStatus: 400, wantProblem: "lineno"},
		{name: "mechanism", body: replace(`"value":"boom",`, `"value":"boom","mechanism":{"type":"go.panic","handled":true,"exception_id":0},`), wantStatus: 200},
		{name: "mechanism without type", body: replace(`"value":"boom",`, `"value":"boom","mechanism":{"handled":true},`), wantStatus: 400, wantProblem: "mechanism: type is required"},
		{name: "mechanism handled as string", body: replace(`"value":"boom",`, `"value":"boom","mechanism":{"type":"go.panic","handled":"yes"},`), wantStatus: 400, wantProblem: "handled must be a boolean"},
		{name: "exception without type and value", body: replace(`"type":"E","value":"boom",`, ``), wantStatus: 400, wantProblem: "type or value"},
		{name: "short trace_id", body: replace(`4bf92f3577b34da6a3ce929d0e0e4736`, `4bf92f35`), wantStatus: 400, wantProblem: "trace_id"},
		{name: "zero span_id", body: replace(`00f067aa0ba902b7`, `0000000000000000`), wantStatus: 400, wantProblem: "span_id"},
		{name: "tag value not a string", body: replace(`"service.name":"api"`, `"service.name":3`), wantStatus: 400, wantProblem: "must be strings"},
		{name: "tag key too long", body: replace(`"service.name":"api"`, `"`+strings.Repeat("k", 33)+`":"api"`), wantStatus: 400, wantProblem: "tag key"},
		{name: "tag value with newline", body: replace(`"service.name":"api"`, `"service.name":"a\nb"`), wantStatus: 400, wantProblem: "no newline"},
		{name: "fingerprint not strings", body: replace(`["api","E","main.main"]`, `["api",1]`), wantStatus: 400, wantProblem: "fingerprint"},
		{name: "release with slash", body: replace(`"release":"1.0.0"`, `"release":"a/b"`), wantStatus: 400, wantProblem: "release"},
		{name: "environment with space", body: replace(`"environment":"prod"`, `"environment":"pr od"`), wantStatus: 400, wantProblem: "environment"},
		{name: "event over 1 MB", body: replace(`"server_name":"web-1"`, `"server_name":"`+strings.Repeat("x", MaxEventBytes)+`"`), wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/api/42/envelope/"
			}
			body := []byte(tt.body)
			if tt.gzip {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				_, _ = zw.Write(body)
				_ = zw.Close()
				body = buf.Bytes()
			}
			req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			switch tt.auth {
			case "":
				req.Header.Set("X-Sentry-Auth", auth(testKey))
			case "-":
			default:
				req.Header.Set("X-Sentry-Auth", tt.auth)
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-sentry-envelope"
			}
			req.Header.Set("Content-Type", ct)
			if tt.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			before := len(s.Events())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, respBody)
			}
			if tt.wantProblem != "" && !strings.Contains(string(respBody), tt.wantProblem) {
				t.Errorf("body %s lacks %q", respBody, tt.wantProblem)
			}
			accepted := len(s.Events()) - before
			if want := map[bool]int{true: 1, false: 0}[tt.wantStatus == 200]; accepted != want {
				t.Errorf("%d events recorded, want %d", accepted, want)
			}
		})
	}
	ev := s.Events()[0]
	if ev.EventID != eventID || ev.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || ev.Tags["service.name"] != "api" ||
		len(ev.Exceptions) != 1 || ev.Exceptions[0].Frames()[0].Function != "main" || ev.Project != "42" {
		t.Errorf("recorded event = %+v", ev)
	}
}

func TestScriptedReplies(t *testing.T) {
	s := New(t, Project{ID: "1", Key: testKey})
	s.Script(Reply{Status: 429, RetryAfter: "5", RateLimits: "5:error:key"}, Reply{RateLimits: "60:transaction:key"}, Reply{Status: 503, Times: 2})
	body := envelope(header(s.DSN("1")), validEvent, len(validEvent))
	want := []struct {
		status     int
		retryAfter string
		limits     string
	}{{429, "5", "5:error:key"}, {200, "", "60:transaction:key"}, {503, "", ""}, {503, "", ""}, {200, "", ""}}
	for i, w := range want {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/1/envelope/", strings.NewReader(body))
		req.Header.Set("X-Sentry-Auth", auth(testKey))
		req.Header.Set("Content-Type", "application/x-sentry-envelope")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter || resp.Header.Get("X-Sentry-Rate-Limits") != w.limits {
			t.Errorf("request %d: %d %q %q, want %+v", i, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("X-Sentry-Rate-Limits"), w)
		}
	}
	if n := len(s.Events()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	if n := len(s.Requests()); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitEvents(ctx, 3); err == nil {
		t.Error("WaitEvents(3) returned without a third event")
	}
}

// TestListensInTestPorts: with VIGIL_TEST_PORTS set, the fake listens on a
// port of that range (here a range of one free port), as every test server
// does, so that concurrent test runs given disjoint ranges never clash.
func TestListensInTestPorts(t *testing.T) {
	port := vigiltest.FreePort(t)
	t.Setenv("VIGIL_TEST_PORTS", fmt.Sprintf("%d-%d", port, port))
	s := New(t, Project{ID: "42", Key: testKey})
	if want := fmt.Sprintf("http://127.0.0.1:%d", port); s.URL != want {
		t.Fatalf("fake at %s, want %s", s.URL, want)
	}
	resp, err := http.Post(s.URL+"/api/42/envelope/", "application/x-sentry-envelope", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an envelope without auth: HTTP %d, want 401", resp.StatusCode)
	}
}
