// Package fakesentry is a local Sentry envelope endpoint for tests. It
// checks every request strictly against the published protocol: method and
// path (POST /api/<project>/envelope/), authentication (the X-Sentry-Auth
// header with sentry_version=7, sentry_client and the project's sentry_key,
// or the sentry_key query parameter), content type and encoding, envelope
// framing (header line, item header lines with type and exact length,
// payloads), the event payload (see ValidateEvent) and Sentry's size
// limits. It answers as Sentry does (200 with the event ID; 400, 401, 404,
// 413 or 415 with a detail), can be scripted to answer 429 with Retry-After
// and X-Sentry-Rate-Limits or 5xx, and records what it accepted.
//
// References:
// https://develop.sentry.dev/sdk/data-model/envelopes/
// https://develop.sentry.dev/sdk/data-model/event-payloads/
// https://develop.sentry.dev/sdk/overview/#authentication
// https://develop.sentry.dev/sdk/expected-features/rate-limiting/
package fakesentry

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Project is a Sentry project the fake serves: its ID and public key.
type Project struct {
	ID  string
	Key string
}

// Reply is a scripted answer, given before the envelope is read (as
// Sentry's rate limiter does).
type Reply struct {
	// Status is the HTTP status, e.g. 429 or 503; zero handles the
	// request normally (so a script can let some requests through).
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// RateLimits, when set, is sent as X-Sentry-Rate-Limits, e.g.
	// "60:error:key"; with Status zero on the normal answer, as Sentry
	// may send it on any response, even a 200.
	RateLimits string
	// Times is how many requests get this reply (at least one).
	Times int
}

// Request is one request to an envelope endpoint.
type Request struct {
	Time    time.Time
	Project string
	// Status is the HTTP status answered.
	Status int
	// Problems are the reasons of a 4xx.
	Problems []string
}

// Server is the fake. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:port").
	URL string

	projects map[string]Project
	srv      *httptest.Server

	mu       sync.Mutex
	script   []Reply
	requests []Request
	events   []Event
	changed  chan struct{}
}

// New starts a fake serving projects on a loopback port, from
// VIGIL_TEST_PORTS when set (vigiltest.NewServer); it is closed when the
// test ends.
func New(t testing.TB, projects ...Project) *Server {
	t.Helper()
	s := &Server{projects: map[string]Project{}, changed: make(chan struct{})}
	for _, p := range projects {
		s.projects[p.ID] = p
	}
	s.srv = vigiltest.NewServer(t, s)
	s.URL = s.srv.URL
	return s
}

// DSN is the DSN of a project on this server.
func (s *Server) DSN(projectID string) string {
	p := s.projects[projectID]
	return strings.Replace(s.URL, "://", "://"+p.Key+"@", 1) + "/" + p.ID
}

// Script queues replies for the next requests, in order.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range replies {
		if r.Times < 1 {
			r.Times = 1
		}
		s.script = append(s.script, r)
	}
}

// Events returns the events accepted so far, in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Requests returns every request to an envelope endpoint so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// WaitEvents waits until at least n events were accepted and returns them.
func (s *Server) WaitEvents(ctx context.Context, n int) ([]Event, error) {
	for {
		s.mu.Lock()
		got, changed := len(s.events), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Events(), nil
		}
		select {
		case <-ctx.Done():
			return s.Events(), fmt.Errorf("fakesentry: %d of %d events: %w", got, n, ctx.Err())
		case <-changed:
		}
	}
}

// ServeHTTP implements the envelope endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, ok := projectOf(r.URL.Path)
	if !ok {
		s.answer(w, Request{Project: project, Status: http.StatusNotFound, Problems: []string{"no such endpoint: " + r.URL.Path}}, nil)
		return
	}
	req := Request{Project: project}
	if r.Method != http.MethodPost {
		req.Status, req.Problems = http.StatusMethodNotAllowed, []string{"method " + r.Method}
		s.answer(w, req, nil)
		return
	}
	p, known := s.projects[project]
	if !known {
		req.Status, req.Problems = http.StatusNotFound, []string{"unknown project " + project}
		s.answer(w, req, nil)
		return
	}
	if problem := checkAuth(r, p.Key); problem != "" {
		req.Status, req.Problems = http.StatusUnauthorized, []string{problem}
		s.answer(w, req, nil)
		return
	}
	if reply, ok := s.nextReply(); ok {
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		if reply.RateLimits != "" {
			w.Header().Set("X-Sentry-Rate-Limits", reply.RateLimits)
		}
		if reply.Status != 0 {
			req.Status, req.Problems = reply.Status, []string{"scripted"}
			s.answer(w, req, nil)
			return
		}
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-sentry-envelope" {
		req.Status, req.Problems = http.StatusUnsupportedMediaType, []string{"content type " + r.Header.Get("Content-Type")}
		s.answer(w, req, nil)
		return
	}
	body, status, problem := readBody(w, r)
	if problem != "" {
		req.Status, req.Problems = status, []string{problem}
		s.answer(w, req, nil)
		return
	}
	events, err := ParseEnvelope(body, project, p.Key)
	if err != nil {
		var ee *envelopeError
		if errors.As(err, &ee) {
			req.Status, req.Problems = ee.status, ee.problems
		} else {
			req.Status, req.Problems = http.StatusBadRequest, []string{err.Error()}
		}
		s.answer(w, req, nil)
		return
	}
	req.Status = http.StatusOK
	now := time.Now()
	for i := range events {
		events[i].Received = now
	}
	s.answer(w, req, events)
}

// answer records the request (and accepted events) and writes the reply.
func (s *Server) answer(w http.ResponseWriter, req Request, events []Event) {
	req.Time = time.Now()
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.events = append(s.events, events...)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(req.Status)
	if req.Status == http.StatusOK {
		id := ""
		if len(events) > 0 {
			id = events[0].EventID
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"detail": strings.Join(req.Problems, "; ")})
}

func (s *Server) nextReply() (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Reply{}, false
	}
	r := s.script[0]
	s.script[0].Times--
	if s.script[0].Times == 0 {
		s.script = s.script[1:]
	}
	return r, true
}

// projectOf reads <project> from /api/<project>/envelope/.
func projectOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return "", false
	}
	project, tail, ok := strings.Cut(rest, "/")
	if !ok || tail != "envelope/" || project == "" {
		return project, false
	}
	return project, true
}

// checkAuth checks the X-Sentry-Auth header ("Sentry sentry_version=7,
// sentry_client=..., sentry_key=...") or, without it, the sentry_key query
// parameter. It returns the problem, or "".
func checkAuth(r *http.Request, key string) string {
	h := r.Header.Get("X-Sentry-Auth")
	if h == "" {
		q := r.URL.Query()
		switch {
		case q.Get("sentry_key") == "":
			return "missing authorization information"
		case q.Get("sentry_key") != key:
			return "invalid public key"
		}
		return ""
	}
	rest, ok := strings.CutPrefix(h, "Sentry ")
	if !ok {
		return `X-Sentry-Auth must start with "Sentry "`
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return "X-Sentry-Auth: malformed field " + kv
		}
		fields[k] = v
	}
	switch {
	case fields["sentry_version"] != "7":
		return "X-Sentry-Auth: sentry_version must be 7"
	case fields["sentry_client"] == "":
		return "X-Sentry-Auth: sentry_client missing"
	case fields["sentry_key"] == "":
		return "X-Sentry-Auth: sentry_key missing"
	case fields["sentry_key"] != key:
		return "invalid public key"
	}
	return ""
}

// readBody reads the body within MaxRequestBytes, decompressing gzip.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	var in io.Reader = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, http.StatusBadRequest, "gzip: " + err.Error()
		}
		defer zr.Close()
		in = zr
	default:
		return nil, http.StatusUnsupportedMediaType, "content encoding " + enc
	}
	body, err := io.ReadAll(io.LimitReader(in, 200<<20))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, "request over Sentry's size limit"
		}
		return nil, http.StatusBadRequest, "reading body: " + err.Error()
	}
	return body, 0, ""
}
