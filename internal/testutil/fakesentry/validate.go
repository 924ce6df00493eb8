package fakesentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Limits of Sentry's ingestion, from its documentation.
const (
	// MaxEventBytes: "Events that exceed 200KB compressed or 1MB
	// decompressed will be rejected" (413).
	// https://docs.sentry.io/concepts/data-management/size-limits/
	MaxEventBytes = 1 << 20
	// MaxRequestBytes: "Sentry allows at most 20MB for a compressed request".
	// https://docs.sentry.io/platforms/go/enriching-events/attachments/
	MaxRequestBytes = 20 << 20
	// MaxTagKey and MaxTagValue: "Tag keys have a maximum length of 32
	// characters and can contain only letters (a-zA-Z), numbers (0-9),
	// underscores (_), periods (.), colons (:), and dashes (-). Tag values
	// have a maximum length of 200 characters and they cannot contain the
	// newline (\n) character."
	// https://docs.sentry.io/platforms/go/enriching-events/tags/
	MaxTagKey   = 32
	MaxTagValue = 200
	// MaxEnvironment: environment names are at most 64 characters and
	// cannot contain newlines, spaces or slashes.
	// https://docs.sentry.io/platforms/go/configuration/environments/
	MaxEnvironment = 64
	// MaxRelease: release names are at most 200 characters and cannot
	// contain newlines, tabs, slashes or backslashes.
	// https://docs.sentry.io/platforms/go/configuration/releases/
	MaxRelease = 200
)

// Allowed values from the event payload documentation.
// https://develop.sentry.dev/sdk/data-model/event-payloads/
var (
	platforms = set("as3", "c", "cfml", "cocoa", "csharp", "elixir", "haskell", "go", "groovy",
		"java", "javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby")
	levels = set("fatal", "error", "warning", "info", "debug")
	// itemTypes are the envelope item types Sentry knows; anything else is
	// a client bug.
	// https://develop.sentry.dev/sdk/data-model/envelope-items/
	itemTypes = set("event", "transaction", "attachment", "session", "sessions", "user_report",
		"client_report", "replay_event", "replay_recording", "profile", "profile_chunk",
		"check_in", "feedback", "span", "log", "otel_log", "statsd", "metric_buckets", "trace_metric")
)

// Event is an accepted event, decoded for assertions. Raw holds the exact
// payload.
type Event struct {
	// Project is the project ID the envelope was posted to.
	Project string
	// Received is when it arrived.
	Received time.Time

	EventID     string            `json:"event_id"`
	Level       string            `json:"level"`
	Platform    string            `json:"platform"`
	Release     string            `json:"release"`
	Environment string            `json:"environment"`
	ServerName  string            `json:"server_name"`
	Transaction string            `json:"transaction"`
	Logger      string            `json:"logger"`
	Tags        map[string]string `json:"tags"`
	Fingerprint []string          `json:"fingerprint"`
	// Exceptions are exception.values (or the bare exception list).
	Exceptions []Exception `json:"-"`
	// TraceID and SpanID are contexts.trace's.
	TraceID string `json:"-"`
	SpanID  string `json:"-"`

	Raw json.RawMessage `json:"-"`
}

// Exception is one exception value.
type Exception struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Stacktrace *struct {
		Frames []Frame `json:"frames"`
	} `json:"stacktrace"`
	// Mechanism is the exception's mechanism, or nil.
	Mechanism *Mechanism `json:"-"`
}

// Mechanism is an exception mechanism.
type Mechanism struct {
	Type string
	// Handled is nil when the mechanism does not say.
	Handled *bool
}

// Frames returns the exception's frames (oldest first), or nil.
func (e Exception) Frames() []Frame {
	if e.Stacktrace == nil {
		return nil
	}
	return e.Stacktrace.Frames
}

// Frame is one stack frame.
type Frame struct {
	Function string `json:"function"`
	Module   string `json:"module"`
	Filename string `json:"filename"`
	AbsPath  string `json:"abs_path"`
	Lineno   int    `json:"lineno"`
	InApp    bool   `json:"in_app"`
}

// envelopeError is a rejected envelope: the status to answer and why.
type envelopeError struct {
	status   int
	problems []string
}

func (e *envelopeError) Error() string { return strings.Join(e.problems, "; ") }

// ParseEnvelope checks an envelope posted to project with key against
// the envelope and event payload specifications and returns its events.
// The error lists every problem found (a *envelopeError with the status
// Sentry would answer: 400, or 413 for an event over MaxEventBytes).
func ParseEnvelope(body []byte, project, key string) ([]Event, error) {
	bad := &envelopeError{status: 400}
	fail := func(format string, args ...any) {
		bad.problems = append(bad.problems, fmt.Sprintf(format, args...))
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok && len(rest) == 0 && len(line) == 0 {
		return nil, &envelopeError{status: 400, problems: []string{"empty envelope"}}
	}
	var hdr map[string]any
	if err := decode(line, &hdr); err != nil {
		return nil, &envelopeError{status: 400, problems: []string{"envelope header: " + err.Error()}}
	}
	headerID, _ := hdr["event_id"].(string)
	if headerID != "" && !isHex(headerID, 32) && !isUUID(headerID) {
		fail("envelope header: event_id %q is not 32 lowercase hex digits", headerID)
	}
	if s, ok := hdr["sent_at"].(string); !ok {
		fail("envelope header: sent_at missing")
	} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		fail("envelope header: sent_at %q is not RFC 3339", s)
	}
	if s, ok := hdr["dsn"].(string); !ok {
		fail("envelope header: dsn missing")
	} else if u, err := url.Parse(s); err != nil || u.User.Username() != key || !strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/"+project) {
		fail("envelope header: dsn does not name this project and key")
	}

	var events []Event
	items := 0
	for len(rest) > 0 {
		items++
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(line) == 0 && len(rest) == 0 {
			break // trailing newline
		}
		var ih map[string]any
		if err := decode(line, &ih); err != nil {
			fail("item %d header: %v", items, err)
			break
		}
		typ, _ := ih["type"].(string)
		if !itemTypes[typ] {
			fail("item %d header: unknown type %q", items, typ)
		}
		n, ok := ih["length"].(json.Number)
		length, err := n.Int64()
		if !ok || err != nil || length < 0 {
			fail("item %d header: length missing or not a non-negative integer", items)
			break
		}
		if int64(len(rest)) < length {
			fail("item %d: length %d but only %d bytes left", items, length, len(rest))
			break
		}
		payload := rest[:length]
		rest = rest[length:]
		if len(rest) > 0 {
			if rest[0] != '\n' {
				fail("item %d: payload not followed by a newline (length wrong?)", items)
				break
			}
			rest = rest[1:]
		}
		if typ != "event" {
			continue
		}
		if len(payload) > MaxEventBytes {
			return nil, &envelopeError{status: 413, problems: []string{fmt.Sprintf("envelope exceeded size limits for type 'event': %d bytes", len(payload))}}
		}
		ev, problems := ValidateEvent(payload)
		for _, p := range problems {
			fail("item %d: %s", items, p)
		}
		if headerID == "" {
			fail("envelope header: event_id missing for an event item")
		} else if ev.EventID != "" && ev.EventID != strings.ReplaceAll(headerID, "-", "") {
			fail("item %d: event_id %q differs from the envelope's %q", items, ev.EventID, headerID)
		}
		ev.Project = project
		events = append(events, ev)
	}
	if items == 0 {
		fail("envelope has no items")
	}
	if len(bad.problems) > 0 {
		return nil, bad
	}
	return events, nil
}

// ValidateEvent checks an event payload against the event payload schema
// and returns it decoded, with every problem found.
func ValidateEvent(payload []byte) (Event, []string) {
	var (
		ev       Event
		problems []string
		m        map[string]any
	)
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if err := decode(payload, &m); err != nil {
		return ev, []string{"event: " + err.Error()}
	}
	ev.Raw = append(json.RawMessage(nil), payload...)

	if id, ok := m["event_id"].(string); !ok || !isHex(id, 32) {
		fail("event_id must be 32 lowercase hex digits, got %v", m["event_id"])
	} else {
		ev.EventID = id
	}
	switch ts := m["timestamp"].(type) {
	case string:
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			fail("timestamp %q is not RFC 3339", ts)
		}
	case json.Number:
		if _, err := ts.Float64(); err != nil {
			fail("timestamp %q is not a number", ts)
		}
	default:
		fail("timestamp missing")
	}
	if p, ok := m["platform"].(string); !ok || !platforms[p] {
		fail("platform %v not an accepted value", m["platform"])
	} else {
		ev.Platform = p
	}
	if v, ok := m["level"]; ok {
		if l, ok := v.(string); !ok || !levels[l] {
			fail("level %v not one of fatal, error, warning, info, debug", v)
		} else {
			ev.Level = l
		}
	}
	for _, k := range []string{"release", "environment", "server_name", "transaction", "logger", "dist"} {
		if v, ok := m[k]; ok {
			s, ok := v.(string)
			if !ok {
				fail("%s must be a string", k)
				continue
			}
			switch k {
			case "release":
				if len(s) > MaxRelease || strings.ContainsAny(s, "\n\t/\\") || s == "." || s == ".." || strings.TrimSpace(s) == "" {
					fail("release %q is not a valid release name", s)
				}
				ev.Release = s
			case "environment":
				if len(s) > MaxEnvironment || strings.ContainsAny(s, "\n /") {
					fail("environment %q is not a valid environment name", s)
				}
				ev.Environment = s
			case "server_name":
				ev.ServerName = s
			case "transaction":
				ev.Transaction = s
			case "logger":
				ev.Logger = s
			}
		}
	}
	if v, ok := m["message"]; ok {
		switch msg := v.(type) {
		case string:
		case map[string]any:
			if _, ok := msg["formatted"].(string); !ok {
				if _, ok := msg["message"].(string); !ok {
					fail("message object needs formatted or message")
				}
			}
		default:
			fail("message must be a string or an object")
		}
	}
	if v, ok := m["tags"]; ok {
		ev.Tags = map[string]string{}
		add := func(k, val any) {
			ks, ok1 := k.(string)
			vs, ok2 := val.(string)
			if !ok1 || !ok2 {
				fail("tag %v=%v: keys and values must be strings", k, val)
				return
			}
			if len(ks) == 0 || len(ks) > MaxTagKey || !tagKeyChars(ks) {
				fail("tag key %q: at most %d of [a-zA-Z0-9_.:-]", ks, MaxTagKey)
			}
			if len(vs) > MaxTagValue || strings.Contains(vs, "\n") {
				fail("tag %q value: at most %d characters, no newline", ks, MaxTagValue)
			}
			ev.Tags[ks] = vs
		}
		switch tags := v.(type) {
		case map[string]any:
			for k, val := range tags {
				add(k, val)
			}
		case []any:
			for _, pair := range tags {
				p, ok := pair.([]any)
				if !ok || len(p) != 2 {
					fail("tags list entries must be [key, value]")
					continue
				}
				add(p[0], p[1])
			}
		default:
			fail("tags must be an object or a list of pairs")
		}
	}
	if v, ok := m["fingerprint"]; ok {
		list, ok := v.([]any)
		if !ok {
			fail("fingerprint must be a list of strings")
		}
		for _, f := range list {
			s, ok := f.(string)
			if !ok {
				fail("fingerprint entry %v is not a string", f)
				continue
			}
			ev.Fingerprint = append(ev.Fingerprint, s)
		}
	}
	if v, ok := m["exception"]; ok {
		ev.Exceptions = validateExceptions(v, fail)
	}
	if v, ok := m["contexts"]; ok {
		ctxs, ok := v.(map[string]any)
		if !ok {
			fail("contexts must be an object")
		}
		for name, c := range ctxs {
			if _, ok := c.(map[string]any); !ok {
				fail("contexts.%s must be an object", name)
			}
		}
		if tr, ok := ctxs["trace"].(map[string]any); ok {
			tid, _ := tr["trace_id"].(string)
			sid, _ := tr["span_id"].(string)
			if !isHex(tid, 32) || tid == strings.Repeat("0", 32) {
				fail("contexts.trace.trace_id %v: 32 lowercase hex digits, not all zero", tr["trace_id"])
			}
			if !isHex(sid, 16) || sid == strings.Repeat("0", 16) {
				fail("contexts.trace.span_id %v: 16 lowercase hex digits, not all zero", tr["span_id"])
			}
			if p, ok := tr["parent_span_id"]; ok {
				if s, _ := p.(string); !isHex(s, 16) {
					fail("contexts.trace.parent_span_id %v: 16 lowercase hex digits", p)
				}
			}
			ev.TraceID, ev.SpanID = tid, sid
		}
	}
	if v, ok := m["sdk"]; ok {
		sdk, ok := v.(map[string]any)
		name, _ := sdk["name"].(string)
		version, _ := sdk["version"].(string)
		if !ok || name == "" || version == "" {
			fail("sdk needs name and version")
		}
	}
	if len(ev.Exceptions) == 0 && m["message"] == nil && m["logentry"] == nil {
		fail("an error event needs an exception or a message")
	}
	return ev, problems
}

// validateExceptions checks the exception interface: {"values": [...]} or,
// as Relay also accepts, the bare list.
// https://develop.sentry.dev/sdk/data-model/event-payloads/exception/
func validateExceptions(v any, fail func(string, ...any)) []Exception {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		l, ok := x["values"].([]any)
		if !ok {
			fail("exception.values must be a list")
			return nil
		}
		list = l
	default:
		fail("exception must be an object with values")
		return nil
	}
	out := make([]Exception, 0, len(list))
	for i, e := range list {
		em, ok := e.(map[string]any)
		if !ok {
			fail("exception.values[%d] must be an object", i)
			continue
		}
		var exc Exception
		typ, tok := em["type"].(string)
		val, vok := em["value"].(string)
		if (em["type"] != nil && !tok) || (em["value"] != nil && !vok) {
			fail("exception.values[%d]: type and value must be strings", i)
		}
		if typ == "" && val == "" {
			fail("exception.values[%d]: type or value is required", i)
		}
		exc.Type, exc.Value = typ, val
		if m, ok := em["mechanism"]; ok {
			mech, problem := validateMechanism(m)
			if problem != "" {
				fail("exception.values[%d].mechanism: %s", i, problem)
			}
			exc.Mechanism = mech
		}
		if st, ok := em["stacktrace"]; ok {
			stm, ok := st.(map[string]any)
			frames, fok := stm["frames"].([]any)
			if !ok || !fok || len(frames) == 0 {
				fail("exception.values[%d].stacktrace.frames must be a non-empty list", i)
			} else {
				exc.Stacktrace = &struct {
					Frames []Frame `json:"frames"`
				}{}
				for j, f := range frames {
					fr, problem := validateFrame(f)
					if problem != "" {
						fail("exception.values[%d].stacktrace.frames[%d]: %s", i, j, problem)
					}
					exc.Stacktrace.Frames = append(exc.Stacktrace.Frames, fr)
				}
			}
		}
		out = append(out, exc)
	}
	return out
}

// validateMechanism checks an exception mechanism: a required type, the
// flags as booleans, the IDs as non-negative integers, data and meta as
// objects.
// https://develop.sentry.dev/sdk/data-model/event-payloads/exception/#exception-mechanism
func validateMechanism(v any) (*Mechanism, string) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "must be an object"
	}
	var (
		mech     Mechanism
		problems []string
	)
	if typ, ok := m["type"].(string); !ok || typ == "" {
		problems = append(problems, "type is required (a string)")
	} else {
		mech.Type = typ
	}
	for _, k := range []string{"handled", "synthetic", "is_exception_group"} {
		if x, ok := m[k]; ok {
			b, ok := x.(bool)
			if !ok {
				problems = append(problems, k+" must be a boolean")
			} else if k == "handled" {
				mech.Handled = &b
			}
		}
	}
	for _, k := range []string{"description", "help_link", "source"} {
		if x, ok := m[k]; ok {
			if _, ok := x.(string); !ok {
				problems = append(problems, k+" must be a string")
			}
		}
	}
	for _, k := range []string{"exception_id", "parent_id"} {
		if x, ok := m[k]; ok {
			n, ok := x.(json.Number)
			if !ok {
				problems = append(problems, k+" must be an integer")
			} else if i, err := n.Int64(); err != nil || i < 0 {
				problems = append(problems, k+" must be a non-negative integer")
			}
		}
	}
	for _, k := range []string{"data", "meta"} {
		if x, ok := m[k]; ok {
			if _, ok := x.(map[string]any); !ok {
				problems = append(problems, k+" must be an object")
			}
		}
	}
	return &mech, strings.Join(problems, "; ")
}

// validateFrame checks one frame: a function and a file, a non-negative
// integer line, and in_app as a boolean.
// https://develop.sentry.dev/sdk/data-model/event-payloads/stacktrace/#frame-attributes
func validateFrame(v any) (Frame, string) {
	var fr Frame
	m, ok := v.(map[string]any)
	if !ok {
		return fr, "must be an object"
	}
	var problems []string
	for _, k := range []string{"function", "module", "filename", "abs_path"} {
		if x, ok := m[k]; ok {
			if _, ok := x.(string); !ok {
				problems = append(problems, k+" must be a string")
			}
		}
	}
	fr.Function, _ = m["function"].(string)
	fr.Module, _ = m["module"].(string)
	fr.Filename, _ = m["filename"].(string)
	fr.AbsPath, _ = m["abs_path"].(string)
	if fr.Function == "" {
		problems = append(problems, "function missing")
	}
	if fr.Filename == "" && fr.AbsPath == "" {
		problems = append(problems, "filename or abs_path missing")
	}
	if x, ok := m["lineno"]; ok {
		n, ok := x.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < 0 {
			problems = append(problems, "lineno must be a non-negative integer")
		}
		fr.Lineno = int(i)
	}
	b, ok := m["in_app"].(bool)
	if !ok {
		problems = append(problems, "in_app must be a boolean")
	}
	fr.InApp = b
	return fr, strings.Join(problems, ", ")
}

// decode reads exactly one JSON object.
func decode(b []byte, v *map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if d.More() {
		return errors.New("trailing data after the JSON object")
	}
	if *v == nil {
		return errors.New("not a JSON object")
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' &&
		isHex(strings.ReplaceAll(s, "-", ""), 32)
}

func tagKeyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == ':' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}
