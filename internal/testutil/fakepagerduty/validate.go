package fakepagerduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits of Events API v2, as published. They are repeated here rather than
// imported from the exporter so that a wrong limit in the client is caught
// by the fake instead of being shared with it.
// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
const (
	// RoutingKeyLength is the only routing key length PagerDuty accepts.
	RoutingKeyLength = 32
	// MaxDedupKeyLength is the longest dedup_key, in characters.
	MaxDedupKeyLength = 255
	// MaxSummaryLength is the longest payload.summary, in characters.
	MaxSummaryLength = 1024
	// MaxEventBytes is the largest event ("512 KB", read as 512,000 bytes).
	MaxEventBytes = 512000
)

// Event is an accepted Events API v2 event, decoded. Its fields are the
// request's, under their JSON names; see the API reference.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Links       []Link   `json:"links,omitempty"`
	Images      []Image  `json:"images,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`

	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time `json:"-"`
	// Raw is the request body as sent.
	Raw json.RawMessage `json:"-"`
}

// Payload is the payload object of an event; fields as in the API.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link attached to an event.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Image is an image attached to an event.
type Image struct {
	Src  string `json:"src"`
	Href string `json:"href,omitempty"`
	Alt  string `json:"alt,omitempty"`
}

// Rejection is why an event was refused; it becomes PagerDuty's 400 body.
type Rejection struct {
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Errors  []string `json:"errors"`
}

var (
	topLevelFields = set("routing_key", "event_action", "dedup_key", "payload", "links", "images", "client", "client_url")
	payloadFields  = set("summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details")
	linkFields     = set("href", "text")
	imageFields    = set("src", "href", "alt")
	actions        = set("trigger", "acknowledge", "resolve")
	severities     = set("critical", "error", "warning", "info")

	// timestampLayouts are the ISO 8601 forms PagerDuty shows or accepts:
	// RFC 3339 and its documented example's "+0000" offset without colon.
	timestampLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
	}
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// Validate checks body against the Events API v2 request schema and returns
// the decoded event, or every problem found. Messages never quote values,
// only field names, so a routing key cannot leak through them.
func Validate(body []byte) (Event, *Rejection) {
	if len(body) > MaxEventBytes {
		return Event{}, invalid(fmt.Sprintf("Event is %d bytes, larger than the maximum of %d", len(body), MaxEventBytes))
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Event{}, unrecognized()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, unrecognized()
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Event{}, unrecognized()
	}
	if !utf8.Valid(body) {
		return Event{}, invalid("Event is not valid UTF-8")
	}

	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	errs = append(errs, unknownFields("", obj, topLevelFields)...)

	key, ok := obj["routing_key"].(string)
	switch {
	case !ok || key == "":
		add("'routing_key' is missing or blank")
	case utf8.RuneCountInString(key) != RoutingKeyLength:
		add("Length of 'routing_key' is incorrect (should be %d characters)", RoutingKeyLength)
	case !alnum(key):
		add("'routing_key' must contain only ASCII letters and digits")
	}

	action, ok := obj["event_action"].(string)
	if !ok || !actions[action] {
		add("'event_action' must be one of trigger, acknowledge, resolve")
	}

	if v, present := obj["dedup_key"]; present {
		dk, ok := v.(string)
		switch {
		case !ok:
			add("'dedup_key' must be a string")
		case utf8.RuneCountInString(dk) > MaxDedupKeyLength:
			add("'dedup_key' is too long (maximum %d characters)", MaxDedupKeyLength)
		case dk == "" && (action == "acknowledge" || action == "resolve"):
			add("'dedup_key' is required for %s events", action)
		}
	} else if action == "acknowledge" || action == "resolve" {
		add("'dedup_key' is required for %s events", action)
	}

	if v, present := obj["payload"]; present {
		errs = append(errs, checkPayload(v)...)
	} else if action == "trigger" {
		add("'payload' is required for trigger events")
	}

	for _, f := range []string{"client", "client_url"} {
		if v, present := obj[f]; present {
			if _, ok := v.(string); !ok {
				add("'%s' must be a string", f)
			}
		}
	}
	if u, ok := obj["client_url"].(string); ok && u != "" && !absoluteURL(u) {
		add("'client_url' must be an absolute URL")
	}
	errs = append(errs, checkObjects("links", obj, linkFields, "href")...)
	errs = append(errs, checkObjects("images", obj, imageFields, "src")...)

	if len(errs) > 0 {
		return Event{}, invalid(errs...)
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		// Unreachable after the checks above; refuse rather than record a
		// half-decoded event.
		return Event{}, invalid("Event could not be decoded")
	}
	ev.Raw = append(json.RawMessage(nil), body...)
	return ev, nil
}

func checkPayload(v any) []string {
	p, ok := v.(map[string]any)
	if !ok {
		return []string{"'payload' must be an object"}
	}
	errs := unknownFields("payload.", p, payloadFields)
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	summary, ok := p["summary"].(string)
	switch {
	case !ok || summary == "":
		add("'payload.summary' is missing or blank")
	case utf8.RuneCountInString(summary) > MaxSummaryLength:
		add("'payload.summary' is too long (maximum %d characters)", MaxSummaryLength)
	}
	if s, ok := p["source"].(string); !ok || s == "" {
		add("'payload.source' is missing or blank")
	}
	if s, ok := p["severity"].(string); !ok || !severities[s] {
		add("'payload.severity' must be one of critical, error, warning, info")
	}
	if v, present := p["timestamp"]; present {
		if s, ok := v.(string); !ok || !iso8601(s) {
			add("'payload.timestamp' must be an ISO 8601 timestamp")
		}
	}
	for _, f := range []string{"component", "group", "class"} {
		if v, present := p[f]; present {
			if _, ok := v.(string); !ok {
				add("'payload.%s' must be a string", f)
			}
		}
	}
	if v, present := p["custom_details"]; present {
		if _, ok := v.(map[string]any); !ok {
			add("'payload.custom_details' must be an object")
		}
	}
	return errs
}

// checkObjects checks an optional array of objects (links, images) whose
// required field must be a non-blank absolute URL.
func checkObjects(field string, obj map[string]any, allowed map[string]bool, required string) []string {
	v, present := obj[field]
	if !present {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("'%s' must be an array", field)}
	}
	var errs []string
	for i, item := range items {
		at := field + "[" + strconv.Itoa(i) + "]"
		o, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("'%s' must be an object", at))
			continue
		}
		errs = append(errs, unknownFields(at+".", o, allowed)...)
		for name, val := range o {
			if !allowed[name] {
				continue
			}
			if _, ok := val.(string); !ok {
				errs = append(errs, fmt.Sprintf("'%s.%s' must be a string", at, name))
			}
		}
		s, ok := o[required].(string)
		switch {
		case !ok || s == "":
			errs = append(errs, fmt.Sprintf("'%s.%s' is missing or blank", at, required))
		case !absoluteURL(s):
			errs = append(errs, fmt.Sprintf("'%s.%s' must be an absolute URL", at, required))
		}
	}
	return errs
}

func unknownFields(prefix string, obj map[string]any, allowed map[string]bool) []string {
	var unknown []string
	for k := range obj {
		if !allowed[k] {
			unknown = append(unknown, fmt.Sprintf("Unknown field '%s%s'", prefix, k))
		}
	}
	sort.Strings(unknown)
	return unknown
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func iso8601(s string) bool {
	for _, layout := range timestampLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

func invalid(errs ...string) *Rejection {
	return &Rejection{Status: "invalid event", Message: "Event object is invalid", Errors: errs}
}

func unrecognized() *Rejection {
	return &Rejection{Status: "Unrecognized object", Message: "Event object format is unrecognized", Errors: []string{"JSON parse error"}}
}
