// Package fakewebhook is a local receiver of Alertmanager's webhook
// payload (version 4) for tests. It checks every request strictly against
// what Alertmanager sends and receivers rely on, answers 400 with every
// problem for a payload that breaks it (and records the rejection, so a
// test fails on it), and keeps what it accepted.
//
// What it checks: POST with Content-Type application/json; a JSON object
// with exactly the payload's fields (no unknown ones), each present and of
// its type; version "4"; a receiver; status "firing" exactly when an
// alert fires; at least one alert, each with status, labels (valid label
// names, non-empty values, alertname among them), annotations (valid
// label names), startsAt (set), endsAt (zero while firing, after startsAt
// when resolved), generatorURL (empty or an absolute URL) and a
// fingerprint of 16 hex digits; groupLabels, commonLabels and
// commonAnnotations as objects, common ones shared by every alert and
// group labels among the common labels; externalURL absolute; groupKey
// set.
package fakewebhook // import "github.com/vigil-otel/vigil/internal/testutil/fakewebhook"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Payload is a webhook message as the receiver decodes it: pointers tell
// a missing field from a zero one.
type Payload struct {
	Version            *string           `json:"version"`
	GroupKey           *string           `json:"groupKey"`
	TruncatedAlerts    *uint64           `json:"truncatedAlerts"`
	Receiver           *string           `json:"receiver"`
	Status             *string           `json:"status"`
	Alerts             []Alert           `json:"alerts"`
	NotificationReason *string           `json:"notification_reason"`
	GroupLabels        map[string]string `json:"groupLabels"`
	CommonLabels       map[string]string `json:"commonLabels"`
	CommonAnnotations  map[string]string `json:"commonAnnotations"`
	ExternalURL        *string           `json:"externalURL"`
	raw                map[string]json.RawMessage
}

// Alert is one alert of a payload.
type Alert struct {
	Status       *string           `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     *time.Time        `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt"`
	GeneratorURL *string           `json:"generatorURL"`
	Fingerprint  *string           `json:"fingerprint"`
}

// Rejection is a request the receiver refused, with why.
type Rejection struct {
	Body     string
	Problems []string
}

// Server is the fake receiver.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	accepted []Payload
	rejected []Rejection
	replies  []int // scripted status codes for the next requests
	down     int   // answered to every request while not 0 (SetDown)
	refused  int   // requests answered with a scripted or down code
	changed  chan struct{}
}

// New starts a receiver for the test, on a loopback port from
// VIGIL_TEST_PORTS when set; it closes with the test.
func New(t testing.TB) *Server {
	s := &Server{changed: make(chan struct{})}
	s.Server = vigiltest.NewServer(t, http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// SetDown makes every request answer code, before any check, until
// SetDown(0): a receiver that is down (503) for as long as the test
// says. Scripted replies (RespondNext) come first.
func (s *Server) SetDown(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = code
}

// Refused returns how many requests were answered with a code of
// RespondNext or SetDown.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// RespondNext makes the next requests answer code, one per entry, before
// any check (as a receiver that is down or throttling would); an entry 0
// lets its request through to the usual checks, so a script can refuse
// the second request of a batch and not the first.
func (s *Server) RespondNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, codes...)
}

// Accepted returns the payloads accepted so far.
func (s *Server) Accepted() []Payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Payload(nil), s.accepted...)
}

// Rejected returns the payloads refused as breaking the format.
func (s *Server) Rejected() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rejection(nil), s.rejected...)
}

// WaitFor waits until cond holds for the accepted payloads.
func (s *Server) WaitFor(ctx context.Context, cond func([]Payload) bool) ([]Payload, error) {
	for {
		s.mu.Lock()
		got, changed := append([]Payload(nil), s.accepted...), s.changed
		s.mu.Unlock()
		if cond(got) {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("fakewebhook: waiting with %d payloads accepted: %w", len(got), ctx.Err())
		}
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	if len(s.replies) > 0 || s.down != 0 {
		code := s.down
		if len(s.replies) > 0 {
			code = s.replies[0]
			s.replies = s.replies[1:]
		}
		if code != 0 {
			s.refused++
			s.mu.Unlock()
			if code == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
	}
	s.mu.Unlock()
	p, problems := Check(r.Method, r.Header.Get("Content-Type"), body)
	s.mu.Lock()
	if len(problems) > 0 {
		s.rejected = append(s.rejected, Rejection{Body: string(body), Problems: problems})
	} else {
		s.accepted = append(s.accepted, p)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if len(problems) > 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string][]string{"errors": problems})
		return
	}
	w.WriteHeader(http.StatusOK)
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// Check validates one request and returns the payload and every problem.
func Check(method, contentType string, body []byte) (Payload, []string) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if method != http.MethodPost {
		add("method %s: want POST", method)
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		add("Content-Type %q: want application/json", contentType)
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		add("body: %v", err)
		return p, problems
	}
	if err := json.Unmarshal(body, &p.raw); err != nil {
		add("body: %v", err)
		return p, problems
	}
	for _, f := range []string{"version", "groupKey", "truncatedAlerts", "receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"} {
		if v, ok := p.raw[f]; !ok || string(v) == "null" {
			add("%s: missing", f)
		}
	}
	if p.Version != nil && *p.Version != "4" {
		add("version %q: want \"4\"", *p.Version)
	}
	if p.Receiver != nil && *p.Receiver == "" {
		add("receiver: empty")
	}
	if p.GroupKey != nil && *p.GroupKey == "" {
		add("groupKey: empty")
	}
	if p.ExternalURL != nil {
		if u, err := url.Parse(*p.ExternalURL); err != nil || !u.IsAbs() || u.Host == "" {
			add("externalURL %q: want an absolute URL", *p.ExternalURL)
		}
	}
	if p.Alerts != nil && len(p.Alerts) == 0 {
		add("alerts: empty")
	}
	firing := false
	for i, a := range p.Alerts {
		problems = append(problems, checkAlert(i, &a)...)
		if a.Status != nil && *a.Status == "firing" {
			firing = true
		}
		for k, v := range p.CommonLabels {
			if a.Labels[k] != v {
				add("commonLabels: %s=%q is not a label of alerts[%d]", k, v, i)
			}
		}
		for k, v := range p.CommonAnnotations {
			if a.Annotations[k] != v {
				add("commonAnnotations: %s=%q is not an annotation of alerts[%d]", k, v, i)
			}
		}
	}
	for k, v := range p.GroupLabels {
		if p.CommonLabels != nil && p.CommonLabels[k] != v {
			add("groupLabels: %s=%q is not among the common labels", k, v)
		}
	}
	if p.Status != nil {
		want := "resolved"
		if firing {
			want = "firing"
		}
		if *p.Status != want {
			add("status %q: want %q (%s alerts)", *p.Status, want, map[bool]string{true: "some firing", false: "all resolved"}[firing])
		}
	}
	return p, problems
}

func checkAlert(i int, a *Alert) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("alerts[%d]: ", i)+fmt.Sprintf(format, args...))
	}
	switch {
	case a.Status == nil:
		add("status: missing")
	case *a.Status != "firing" && *a.Status != "resolved":
		add("status %q: want firing or resolved", *a.Status)
	}
	if a.Labels == nil {
		add("labels: missing")
	}
	if a.Labels != nil && a.Labels["alertname"] == "" {
		add("labels: no alertname")
	}
	for k, v := range a.Labels {
		if !model.LegacyValidation.IsValidLabelName(k) {
			add("label name %q: not a Prometheus label name", k)
		}
		if v == "" {
			add("label %s: empty value", k)
		}
	}
	if a.Annotations == nil {
		add("annotations: missing")
	}
	for k := range a.Annotations {
		if !model.LegacyValidation.IsValidLabelName(k) {
			add("annotation name %q: not a Prometheus label name", k)
		}
	}
	if a.StartsAt == nil || a.StartsAt.IsZero() {
		add("startsAt: missing or zero")
	}
	switch {
	case a.EndsAt == nil:
		add("endsAt: missing")
	case a.Status != nil && *a.Status == "firing" && !a.EndsAt.IsZero():
		add("endsAt %s: a firing alert has the zero time", a.EndsAt)
	case a.Status != nil && *a.Status == "resolved" && (a.EndsAt.IsZero() || (a.StartsAt != nil && a.EndsAt.Before(*a.StartsAt))):
		add("endsAt %s: a resolved alert ends after it starts (%v)", a.EndsAt, a.StartsAt)
	}
	if a.GeneratorURL == nil {
		add("generatorURL: missing")
	} else if *a.GeneratorURL != "" {
		if u, err := url.Parse(*a.GeneratorURL); err != nil || !u.IsAbs() {
			add("generatorURL %q: want empty or an absolute URL", *a.GeneratorURL)
		}
	}
	if a.Fingerprint == nil || !fingerprintRE.MatchString(*a.Fingerprint) {
		add("fingerprint: want 16 hex digits")
	}
	return problems
}

// ErrRejected is returned by Err when the receiver refused a payload.
var ErrRejected = errors.New("fakewebhook: payloads refused as breaking Alertmanager's webhook format")

// Err returns ErrRejected with every rejection, or nil.
func (s *Server) Err() error {
	rej := s.Rejected()
	if len(rej) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrRejected, rej)
}
