// Package fakepagerduty is a local PagerDuty Events API v2 server for tests.
// It checks every request strictly against the published API (method,
// path, content type, fields, types, lengths, allowed values, size), answers
// as PagerDuty does (202, or 400 with PagerDuty's error body), can be told to
// answer 429 with Retry-After, 500 or 400 for the next requests, to refuse
// routing keys (400, as for a key no integration has), can enforce a rate
// limit per routing key, and records what it accepted and when every
// request arrived.
//
// Go tests use New(t); end-to-end tests run cmd/fakepagerduty, which also
// serves the control endpoints under /_fake/ (see Handler).
//
// API reference: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
package fakepagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// EnqueuePath is the path events are posted to.
const EnqueuePath = "/v2/enqueue"

// Reply is a scripted answer.
type Reply struct {
	// Status is the HTTP status, e.g. 429, 500 or 400.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header verbatim
	// ("2" or an HTTP date).
	RetryAfter string
	// Message and Errors override the body's message and errors fields;
	// empty means PagerDuty's usual text for Status.
	Message string
	Errors  []string
}

// Request is one request that reached the enqueue path.
type Request struct {
	// Time is when it arrived.
	Time time.Time
	// RoutingKey is the routing_key it carried, "" when unreadable.
	RoutingKey string
	// Status is the HTTP status answered.
	Status int
	// Errors are the reasons of a 400.
	Errors []string
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL (no path); the enqueue endpoint is
	// URL + EnqueuePath.
	URL string

	closeFn func() error

	mu        sync.Mutex
	requests  []Request
	accepted  []Event
	script    []scripted
	refused   map[string]bool // routing keys answered 400
	limit     int
	window    time.Duration
	throttle  time.Duration
	sink      io.Writer
	changed   chan struct{}
	now       func() time.Time
	closeOnce sync.Once
}

type scripted struct {
	reply Reply
	left  int
}

func newServer() *Server {
	return &Server{changed: make(chan struct{}), now: time.Now}
}

// New starts a fake on a loopback port and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := newServer()
	ts := vigiltest.NewServer(t, s.Handler())
	s.URL = ts.URL
	s.closeFn = func() error { ts.Close(); return nil }
	t.Cleanup(s.Close)
	return s
}

// Start serves a fake on addr ("127.0.0.1:0" picks a free port) until
// Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakepagerduty: listen: %w", err)
	}
	s := newServer()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	s.URL = "http://" + ln.Addr().String()
	s.closeFn = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		return err
	}
	return s, nil
}

// Close stops the server; later calls do nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.closeFn != nil {
			_ = s.closeFn()
		}
	})
}

// setClock replaces the clock that stamps requests (tests only).
func (s *Server) setClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// EnqueueURL is the URL to configure as the PagerDuty endpoint.
func (s *Server) EnqueueURL() string { return s.URL + EnqueuePath }

// RespondNext answers the next n enqueue requests with r, whatever they
// contain, after replies scripted earlier are used up. Scripted answers are
// recorded as requests but never as accepted events.
func (s *Server) RespondNext(n int, r Reply) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, scripted{reply: r, left: n})
}

// RefuseRoutingKey makes the fake answer 400 to every valid event for key
// ("Invalid routing key", as PagerDuty answers for a key of no
// integration, revoked or mistyped), or, refuse false, take them again.
func (s *Server) RefuseRoutingKey(key string, refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	if refuse {
		s.refused[key] = true
	} else {
		delete(s.refused, key)
	}
}

// SetRateLimit makes the fake answer 429 (with Retry-After of retryAfter,
// rounded up to seconds) to a valid event when its routing key already had
// `events` accepted in the last window, as PagerDuty throttles. events 0
// turns the limit off.
func (s *Server) SetRateLimit(events int, window, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.window, s.throttle = events, window, retryAfter
}

// WriteAcceptedTo writes every event accepted from now on to w as one JSON
// line: {"received_at": RFC 3339 time, "event": the request body}. Writes
// happen one at a time, so w need not be safe for concurrent use.
func (s *Server) WriteAcceptedTo(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sink = w
}

// Reset forgets recorded requests and events and any scripted replies.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.accepted, s.script = nil, nil, nil
	s.broadcast()
}

// Requests returns every enqueue request so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Events returns the accepted events, in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.accepted...)
}

// Triggers returns the accepted trigger events.
func (s *Server) Triggers() []Event { return s.withAction("trigger") }

// Resolves returns the accepted resolve events.
func (s *Server) Resolves() []Event { return s.withAction("resolve") }

// Acknowledges returns the accepted acknowledge events.
func (s *Server) Acknowledges() []Event { return s.withAction("acknowledge") }

func (s *Server) withAction(action string) []Event {
	var out []Event
	for _, ev := range s.Events() {
		if ev.EventAction == action {
			out = append(out, ev)
		}
	}
	return out
}

// Count returns how many accepted events had dedupKey and action.
func (s *Server) Count(dedupKey, action string) int {
	n := 0
	for _, ev := range s.Events() {
		if ev.DedupKey == dedupKey && ev.EventAction == action {
			n++
		}
	}
	return n
}

// CountsByDedupKey returns, per dedup key, how many events of each action
// were accepted.
func (s *Server) CountsByDedupKey() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, ev := range s.Events() {
		if out[ev.DedupKey] == nil {
			out[ev.DedupKey] = map[string]int{}
		}
		out[ev.DedupKey][ev.EventAction]++
	}
	return out
}

// MaxInWindow returns the largest number of requests for routingKey (any
// answer) that arrived within any span of length window, the figure to
// compare with PagerDuty's rate limit.
func (s *Server) MaxInWindow(routingKey string, window time.Duration) int {
	var times []time.Time
	for _, r := range s.Requests() {
		if r.RoutingKey == routingKey {
			times = append(times, r.Time)
		}
	}
	return maxInWindow(times, window)
}

// maxInWindow counts, for sorted times, the most that fit in [t, t+window).
func maxInWindow(times []time.Time, window time.Duration) int {
	best, start := 0, 0
	for end := range times {
		for times[end].Sub(times[start]) >= window {
			start++
		}
		best = max(best, end-start+1)
	}
	return best
}

// WaitFor blocks until cond holds for the accepted events or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func([]Event) bool) error {
	for {
		s.mu.Lock()
		events := append([]Event(nil), s.accepted...)
		changed := s.changed
		s.mu.Unlock()
		if cond(events) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fakepagerduty: waiting with %d events accepted: %w", len(events), ctx.Err())
		}
	}
}

// WaitForEvents waits until at least n events were accepted and returns
// them all.
func (s *Server) WaitForEvents(ctx context.Context, n int) ([]Event, error) {
	err := s.WaitFor(ctx, func(evs []Event) bool { return len(evs) >= n })
	return s.Events(), err
}

// broadcast wakes WaitFor callers; s.mu must be held.
func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Handler serves the enqueue endpoint and the control endpoints:
//
//	GET  /_fake/events                    accepted events, JSON array of {received_at, event}
//	GET  /_fake/requests                  every request, JSON array
//	GET  /_fake/max-in-window?routing_key=K&window=60s  {"max": n}
//	POST /_fake/respond?status=429&count=3&retry_after=2
//	POST /_fake/rate-limit?events=120&window=60s&retry_after=5s
//	POST /_fake/refuse-key?routing_key=K&refuse=true
//	POST /_fake/reset
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(EnqueuePath, s.enqueue)
	mux.HandleFunc("/_fake/events", s.controlEvents)
	mux.HandleFunc("/_fake/requests", s.controlRequests)
	mux.HandleFunc("/_fake/max-in-window", s.controlMaxInWindow)
	mux.HandleFunc("/_fake/respond", s.controlRespond)
	mux.HandleFunc("/_fake/rate-limit", s.controlRateLimit)
	mux.HandleFunc("/_fake/refuse-key", s.controlRefuseKey)
	mux.HandleFunc("/_fake/reset", s.controlReset)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, Rejection{Status: "Not Found", Message: "Unknown path; events go to " + EnqueuePath})
	})
	return mux
}

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, Rejection{Status: "Method Not Allowed", Message: "Use POST"})
		return
	}
	// Read one byte past the limit so an oversized body is seen as such
	// without reading all of it.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEventBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, unrecognized())
		return
	}
	key := peekRoutingKey(body)

	s.mu.Lock()
	defer s.mu.Unlock()
	// Stamped once the body is in, as PagerDuty would count it.
	arrived := s.now()
	record := func(status int, errs []string) {
		s.requests = append(s.requests, Request{Time: arrived, RoutingKey: key, Status: status, Errors: errs})
	}

	if len(s.script) > 0 {
		sc := &s.script[0]
		reply := sc.reply
		if sc.left--; sc.left == 0 {
			s.script = s.script[1:]
		}
		rej := scriptedBody(reply)
		record(reply.Status, rej.Errors)
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		writeJSON(w, reply.Status, rej)
		return
	}

	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		rej := invalid("Content-Type must be application/json")
		record(http.StatusBadRequest, rej.Errors)
		writeJSON(w, http.StatusBadRequest, rej)
		return
	}
	ev, rej := Validate(body)
	if rej != nil {
		record(http.StatusBadRequest, rej.Errors)
		writeJSON(w, http.StatusBadRequest, rej)
		return
	}
	if s.refused[key] {
		rej := invalid("Invalid routing key")
		record(http.StatusBadRequest, rej.Errors)
		writeJSON(w, http.StatusBadRequest, rej)
		return
	}
	if s.limit > 0 && s.acceptedInWindow(key, arrived) >= s.limit {
		record(http.StatusTooManyRequests, nil)
		w.Header().Set("Retry-After", strconv.Itoa(int((s.throttle+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, scriptedBody(Reply{Status: http.StatusTooManyRequests}))
		return
	}

	ev.ReceivedAt = arrived
	if ev.DedupKey == "" {
		// PagerDuty invents a key for a trigger without one.
		ev.DedupKey = fmt.Sprintf("fake-%d", len(s.accepted)+1)
	}
	s.accepted = append(s.accepted, ev)
	record(http.StatusAccepted, nil)
	if s.sink != nil {
		line, _ := json.Marshal(struct {
			ReceivedAt time.Time       `json:"received_at"`
			Event      json.RawMessage `json:"event"`
		}{arrived.UTC(), ev.Raw})
		_, _ = s.sink.Write(append(line, '\n'))
	}
	s.broadcast()
	writeJSON(w, http.StatusAccepted, map[string]string{
		"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey,
	})
}

// acceptedInWindow counts accepted events for key within the window ending
// at now; s.mu must be held.
func (s *Server) acceptedInWindow(key string, now time.Time) int {
	n := 0
	for i := len(s.accepted) - 1; i >= 0; i-- {
		ev := s.accepted[i]
		if now.Sub(ev.ReceivedAt) >= s.window {
			break
		}
		if ev.RoutingKey == key {
			n++
		}
	}
	return n
}

// peekRoutingKey reads routing_key for the request log, whether or not the
// event is valid.
func peekRoutingKey(body []byte) string {
	var v struct {
		RoutingKey any `json:"routing_key"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	s, _ := v.RoutingKey.(string)
	return s
}

func scriptedBody(r Reply) Rejection {
	rej := Rejection{Message: r.Message, Errors: r.Errors}
	switch {
	case r.Status == http.StatusBadRequest:
		rej.Status = "invalid event"
		if rej.Message == "" {
			rej.Message = "Event object is invalid"
		}
	case r.Status == http.StatusTooManyRequests:
		rej.Status = "throttle event"
		if rej.Message == "" {
			rej.Message = "Requests for this service are arriving too quickly. Please retry later."
		}
	default:
		rej.Status = http.StatusText(r.Status)
		if rej.Message == "" {
			rej.Message = http.StatusText(r.Status)
		}
	}
	return rej
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) controlEvents(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	type line struct {
		ReceivedAt time.Time       `json:"received_at"`
		Event      json.RawMessage `json:"event"`
	}
	out := []line{}
	for _, ev := range s.Events() {
		out = append(out, line{ev.ReceivedAt.UTC(), ev.Raw})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) controlRequests(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	type line struct {
		Time       time.Time `json:"time"`
		RoutingKey string    `json:"routing_key"`
		Status     int       `json:"status"`
		Errors     []string  `json:"errors,omitempty"`
	}
	out := []line{}
	for _, rq := range s.Requests() {
		out = append(out, line{rq.Time.UTC(), rq.RoutingKey, rq.Status, rq.Errors})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) controlMaxInWindow(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	window, err := time.ParseDuration(r.URL.Query().Get("window"))
	if err != nil || window <= 0 {
		writeJSON(w, http.StatusBadRequest, Rejection{Status: "bad request", Message: "window must be a positive duration"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"max": s.MaxInWindow(r.URL.Query().Get("routing_key"), window)})
}

func (s *Server) controlRespond(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	status, err1 := strconv.Atoi(q.Get("status"))
	count, err2 := strconv.Atoi(q.Get("count"))
	if err := errors.Join(err1, err2); err != nil || status < 100 || status > 599 || count <= 0 {
		writeJSON(w, http.StatusBadRequest, Rejection{Status: "bad request", Message: "want status=100..599 and count>0"})
		return
	}
	s.RespondNext(count, Reply{Status: status, RetryAfter: q.Get("retry_after"), Message: q.Get("message")})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlRateLimit(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	events, err1 := strconv.Atoi(q.Get("events"))
	window, err2 := time.ParseDuration(q.Get("window"))
	retry, err3 := time.ParseDuration(q.Get("retry_after"))
	if err := errors.Join(err1, err2, err3); err != nil || events < 0 || window <= 0 || retry < 0 {
		writeJSON(w, http.StatusBadRequest, Rejection{Status: "bad request", Message: "want events>=0, window and retry_after durations"})
		return
	}
	s.SetRateLimit(events, window, retry)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlRefuseKey(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	refuse, err := strconv.ParseBool(q.Get("refuse"))
	if err != nil || q.Get("routing_key") == "" {
		writeJSON(w, http.StatusBadRequest, Rejection{Status: "bad request", Message: "want routing_key and refuse=true|false"})
		return
	}
	s.RefuseRoutingKey(q.Get("routing_key"), refuse)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlReset(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeJSON(w, http.StatusMethodNotAllowed, Rejection{Status: "Method Not Allowed", Message: "Use " + method})
	return false
}
