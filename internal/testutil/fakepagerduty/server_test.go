package fakepagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// httpClient is closed after each test so no keep-alive goroutine
// outlives it.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

type answer struct {
	status     int
	retryAfter string
	body       Rejection
	dedupKey   string
}

func do(t *testing.T, c *http.Client, method, url, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if len(raw) > 0 {
		var v struct {
			Rejection
			DedupKey string `json:"dedup_key"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
		}
		a.body, a.dedupKey = v.Rejection, v.DedupKey
	}
	if ct := resp.Header.Get("Content-Type"); len(raw) > 0 && ct != "application/json" {
		t.Errorf("answer Content-Type = %q", ct)
	}
	return a
}

func event(key, action, dedup string) []byte {
	ev := map[string]any{"routing_key": key, "event_action": action, "dedup_key": dedup}
	if action == "trigger" {
		ev["payload"] = map[string]any{"summary": "s", "source": "svc", "severity": "critical"}
	}
	b, _ := json.Marshal(ev)
	return b
}

func TestEnqueueHTTP(t *testing.T) {
	valid := event(validKey, "trigger", "d1")
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		wantStatus  int
		wantBody    string // substring of status, message or errors
	}{
		{name: "valid trigger", method: "POST", path: EnqueuePath, contentType: "application/json", body: valid, wantStatus: 202, wantBody: "Event processed"},
		{name: "charset parameter allowed", method: "POST", path: EnqueuePath, contentType: "application/json; charset=utf-8", body: valid, wantStatus: 202},
		{name: "GET", method: "GET", path: EnqueuePath, wantStatus: 405},
		{name: "PUT", method: "PUT", path: EnqueuePath, contentType: "application/json", body: valid, wantStatus: 405},
		{name: "wrong path", method: "POST", path: "/v1/enqueue", contentType: "application/json", body: valid, wantStatus: 404},
		{name: "trailing slash", method: "POST", path: EnqueuePath + "/", contentType: "application/json", body: valid, wantStatus: 404},
		{name: "no content type", method: "POST", path: EnqueuePath, body: valid, wantStatus: 400, wantBody: "Content-Type must be application/json"},
		{name: "form content type", method: "POST", path: EnqueuePath, contentType: "application/x-www-form-urlencoded", body: valid, wantStatus: 400, wantBody: "Content-Type"},
		{name: "malformed JSON", method: "POST", path: EnqueuePath, contentType: "application/json", body: []byte("{"), wantStatus: 400, wantBody: "JSON parse error"},
		{name: "invalid event", method: "POST", path: EnqueuePath, contentType: "application/json", body: event("short", "trigger", "d"), wantStatus: 400, wantBody: "Length of 'routing_key' is incorrect"},
		{name: "oversized body", method: "POST", path: EnqueuePath, contentType: "application/json", body: []byte(`{"x":"` + strings.Repeat("a", MaxEventBytes+10) + `"}`), wantStatus: 400, wantBody: "larger than the maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			a := do(t, httpClient(t), tt.method, s.URL+tt.path, tt.contentType, tt.body)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%+v)", a.status, tt.wantStatus, a.body)
			}
			text := a.body.Status + " " + a.body.Message + " " + strings.Join(a.body.Errors, " ")
			if !strings.Contains(text, tt.wantBody) {
				t.Fatalf("body %q does not contain %q", text, tt.wantBody)
			}
			accepted := len(s.Events())
			if (tt.wantStatus == 202) != (accepted == 1) {
				t.Fatalf("%d events recorded after a %d", accepted, tt.wantStatus)
			}
			if tt.wantStatus == 400 && (a.body.Status == "" || a.body.Message == "" || len(a.body.Errors) == 0) {
				t.Fatalf("400 body %+v lacks PagerDuty's status, message or errors", a.body)
			}
		})
	}
}

func TestAcceptedEventAnswer(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "fp-1"))
	if a.status != 202 || a.body.Status != "success" || a.body.Message != "Event processed" || a.dedupKey != "fp-1" {
		t.Fatalf("answer = %+v", a)
	}
	// PagerDuty invents a dedup key for a trigger without one.
	body := []byte(`{"routing_key":"` + validKey + `","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`)
	a = do(t, c, "POST", s.EnqueueURL(), "application/json", body)
	if a.status != 202 || a.dedupKey == "" {
		t.Fatalf("answer = %+v, want a generated dedup_key", a)
	}
}

func TestRespondNext(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	s.RespondNext(2, Reply{Status: 429, RetryAfter: "3"})
	s.RespondNext(1, Reply{Status: 500})
	s.RespondNext(1, Reply{Status: 400, Errors: []string{"scripted"}})
	want := []struct {
		status     int
		retryAfter string
		text       string
	}{
		{429, "3", "throttle event"},
		{429, "3", "throttle event"},
		{500, "", "Internal Server Error"},
		{400, "", "scripted"},
		{202, "", "success"},
	}
	for i, w := range want {
		a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "d"))
		text := a.body.Status + " " + strings.Join(a.body.Errors, " ")
		if a.status != w.status || a.retryAfter != w.retryAfter || !strings.Contains(text, w.text) {
			t.Fatalf("request %d: got %d Retry-After %q %q, want %d %q %q", i, a.status, a.retryAfter, text, w.status, w.retryAfter, w.text)
		}
	}
	if n := len(s.Events()); n != 1 {
		t.Fatalf("%d events accepted, want only the unscripted one", n)
	}
	reqs := s.Requests()
	if len(reqs) != 5 || reqs[0].Status != 429 || reqs[0].RoutingKey != validKey || reqs[4].Status != 202 {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestRecordingAccessors(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	for _, e := range []struct{ action, dedup string }{
		{"trigger", "a"}, {"trigger", "b"}, {"trigger", "a"}, {"acknowledge", "a"}, {"resolve", "a"}, {"resolve", "b"},
	} {
		if a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, e.action, e.dedup)); a.status != 202 {
			t.Fatalf("%s %s: %d %+v", e.action, e.dedup, a.status, a.body)
		}
	}
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"events", len(s.Events()), 6},
		{"triggers", len(s.Triggers()), 3},
		{"resolves", len(s.Resolves()), 2},
		{"acknowledges", len(s.Acknowledges()), 1},
		{"count a trigger", s.Count("a", "trigger"), 2},
		{"count b resolve", s.Count("b", "resolve"), 1},
		{"count unknown", s.Count("c", "trigger"), 0},
		{"by dedup key", s.CountsByDedupKey()["a"]["trigger"], 2},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	s.Reset()
	if len(s.Events()) != 0 || len(s.Requests()) != 0 {
		t.Fatal("Reset kept records")
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(secs ...float64) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s*float64(time.Second))))
		}
		return out
	}
	tests := []struct {
		name   string
		times  []time.Time
		window time.Duration
		want   int
	}{
		{"none", nil, time.Minute, 0},
		{"one", at(0), time.Minute, 1},
		{"all inside", at(0, 1, 2, 59), time.Minute, 4},
		{"exactly a window apart do not share one", at(0, 60), time.Minute, 1},
		{"sliding, not fixed buckets", at(0, 50, 55, 70, 75, 109), time.Minute, 5},
		{"burst later", at(0, 100, 100, 100, 130), time.Minute, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxInWindow(tt.times, tt.window); got != tt.want {
				t.Fatalf("maxInWindow = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMaxInWindowPerRoutingKey(t *testing.T) {
	s := New(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.setClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	other := strings.Repeat("b", 32)
	c := httpClient(t)
	for i := 0; i < 5; i++ {
		do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "d"))
		do(t, c, "POST", s.EnqueueURL(), "application/json", event(other, "trigger", "d"))
		advance(20 * time.Second)
	}
	// validKey at 0, 20, 40, 60, 80 s: three fit in any minute.
	if got := s.MaxInWindow(validKey, time.Minute); got != 3 {
		t.Fatalf("MaxInWindow = %d, want 3", got)
	}
	if got := s.MaxInWindow(strings.Repeat("c", 32), time.Minute); got != 0 {
		t.Fatalf("MaxInWindow(unknown key) = %d, want 0", got)
	}
}

func TestRateLimit(t *testing.T) {
	s := New(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.setClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	s.SetRateLimit(3, time.Minute, 1500*time.Millisecond)
	c := httpClient(t)
	other := strings.Repeat("b", 32)
	send := func(key string) answer {
		return do(t, c, "POST", s.EnqueueURL(), "application/json", event(key, "trigger", "d"))
	}
	for i := 0; i < 3; i++ {
		if a := send(validKey); a.status != 202 {
			t.Fatalf("event %d: %d", i, a.status)
		}
	}
	a := send(validKey)
	if a.status != 429 || a.retryAfter != "2" {
		t.Fatalf("4th event: %d Retry-After %q, want 429 and 2", a.status, a.retryAfter)
	}
	if a := send(other); a.status != 202 {
		t.Fatalf("other key throttled: %d", a.status)
	}
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	if a := send(validKey); a.status != 202 {
		t.Fatalf("after the window: %d", a.status)
	}
}

// TestRefuseRoutingKey: a refused key gets PagerDuty's 400 for a key of
// no integration, recorded as a request and never accepted, until taken
// again; other keys are not affected. Also through the control endpoint.
func TestRefuseRoutingKey(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	other := strings.Repeat("b", 32)
	send := func(key string) answer {
		return do(t, c, "POST", s.EnqueueURL(), "application/json", event(key, "trigger", "d"))
	}
	s.RefuseRoutingKey(validKey, true)
	a := send(validKey)
	if a.status != 400 || a.body.Status != "invalid event" || len(a.body.Errors) != 1 || a.body.Errors[0] != "Invalid routing key" {
		t.Fatalf("refused key: %d %+v, want 400 Invalid routing key", a.status, a.body)
	}
	if a := send(other); a.status != 202 {
		t.Fatalf("other key: %d", a.status)
	}
	s.RefuseRoutingKey(validKey, false)
	if a := send(validKey); a.status != 202 {
		t.Fatalf("key taken again: %d", a.status)
	}
	resp, err := c.Post(s.URL+"/_fake/refuse-key?routing_key="+other+"&refuse=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("refuse-key = %d", resp.StatusCode)
	}
	if a := send(other); a.status != 400 {
		t.Fatalf("key refused through the control endpoint: %d", a.status)
	}
	if got := len(s.Events()); got != 2 {
		t.Fatalf("accepted %d events, want 2", got)
	}
	reqs := s.Requests()
	if len(reqs) != 4 || reqs[0].Status != 400 || reqs[0].RoutingKey != validKey {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestWaitFor(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitForEvents(ctx, 2)
		done <- err
	}()
	do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a"))
	do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "resolve", "a"))
	if err := <-done; err != nil {
		t.Fatalf("WaitForEvents = %v", err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	err := s.WaitFor(short, func(evs []Event) bool { return len(evs) > 5 })
	if err == nil || !strings.Contains(err.Error(), "2 events accepted") {
		t.Fatalf("WaitFor on an unmet condition = %v", err)
	}
}

func TestWriteAcceptedTo(t *testing.T) {
	s := New(t)
	var buf bytes.Buffer
	s.WriteAcceptedTo(&buf)
	c := httpClient(t)
	do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a"))
	do(t, c, "POST", s.EnqueueURL(), "application/json", event("bad", "trigger", "a"))
	do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "resolve", "a"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (accepted only): %q", len(lines), buf.String())
	}
	var line struct {
		ReceivedAt time.Time `json:"received_at"`
		Event      Event     `json:"event"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &line); err != nil {
		t.Fatal(err)
	}
	if line.ReceivedAt.IsZero() || line.Event.EventAction != "resolve" || line.Event.DedupKey != "a" {
		t.Fatalf("line = %+v", line)
	}
}

func TestControlEndpoints(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	post := func(path string) int {
		t.Helper()
		resp, err := c.Post(s.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	if code := post("/_fake/respond?status=503&count=1&retry_after=4"); code != 204 {
		t.Fatalf("respond = %d", code)
	}
	if code := post("/_fake/respond?status=abc&count=1"); code != 400 {
		t.Fatalf("respond with a bad status = %d, want 400", code)
	}
	if a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a")); a.status != 503 || a.retryAfter != "4" {
		t.Fatalf("scripted answer = %d %q", a.status, a.retryAfter)
	}
	do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a"))

	var events []struct {
		Event Event `json:"event"`
	}
	get("/_fake/events", &events)
	if len(events) != 1 || events[0].Event.DedupKey != "a" {
		t.Fatalf("events = %+v", events)
	}
	var reqs []Request
	get("/_fake/requests", &reqs)
	if len(reqs) != 2 || reqs[0].Status != 503 {
		t.Fatalf("requests = %+v", reqs)
	}
	var mx struct{ Max int }
	get("/_fake/max-in-window?routing_key="+validKey+"&window=60s", &mx)
	if mx.Max != 2 {
		t.Fatalf("max-in-window = %d, want 2", mx.Max)
	}
	if code := post("/_fake/rate-limit?events=1&window=1m&retry_after=1s"); code != 204 {
		t.Fatalf("rate-limit = %d", code)
	}
	if a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a")); a.status != 429 {
		t.Fatalf("over the set rate limit: %d", a.status)
	}
	if code := post("/_fake/reset"); code != 204 {
		t.Fatalf("reset = %d", code)
	}
	if len(s.Requests()) != 0 {
		t.Fatal("reset kept requests")
	}
	if a := do(t, c, "GET", s.URL+"/_fake/reset", "", nil); a.status != 405 {
		t.Fatalf("GET reset = %d, want 405", a.status)
	}
}

func TestStart(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := httpClient(t)
	if a := do(t, c, "POST", s.EnqueueURL(), "application/json", event(validKey, "trigger", "a")); a.status != 202 {
		t.Fatalf("status = %d", a.status)
	}
	c.CloseIdleConnections()
	s.Close()
	s.Close() // idempotent
	if _, err := c.Post(s.EnqueueURL(), "application/json", bytes.NewReader(event(validKey, "trigger", "a"))); err == nil {
		t.Fatal("server still answering after Close")
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := New(t)
	c := httpClient(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.EnqueueURL(), bytes.NewReader(event(validKey, "trigger", "a")))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := s.Count("a", "trigger"); n != 20 {
		t.Fatalf("Count = %d, want 20", n)
	}
}
