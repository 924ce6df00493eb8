package events

import (
	"fmt"
	"strings"

	"go.uber.org/zap/zapcore"
)

// Action is the event_action of an event.
type Action string

// Event actions PagerDuty accepts.
const (
	ActionTrigger     Action = "trigger"
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// Valid reports whether PagerDuty accepts a as an event_action.
func (a Action) Valid() bool {
	switch a {
	case ActionTrigger, ActionAcknowledge, ActionResolve:
		return true
	}
	return false
}

// Severity is the payload.severity of a trigger event.
type Severity string

// Severities PagerDuty accepts.
const (
	SeverityCritical Severity = "critical"
	SeverityError    Severity = "error"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Valid reports whether PagerDuty accepts s as a payload severity.
func (s Severity) Valid() bool {
	switch s {
	case SeverityCritical, SeverityError, SeverityWarning, SeverityInfo:
		return true
	}
	return false
}

// redacted replaces a routing key wherever one would be printed.
const redacted = "[REDACTED]"

// RoutingKey is an Events API v2 integration key. It is a credential, so
// every way of printing it (fmt verbs, zap fields) shows a placeholder; only
// JSON encoding, which puts it on the wire, sees the real value.
type RoutingKey string

// String hides the key from %v, %s, %q and friends.
func (RoutingKey) String() string { return redacted }

// GoString hides the key from %#v.
func (RoutingKey) GoString() string { return redacted }

// redact removes every occurrence of key from s. Servers (or proxies in front
// of them) may echo a request back in an error; that text must not carry the
// key into errors or logs.
func redact(s string, key RoutingKey) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, string(key), redacted)
}

// Event is one Events API v2 request body.
// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
type Event struct {
	// RoutingKey is the integration key of the PagerDuty service or
	// orchestration the event goes to.
	RoutingKey RoutingKey `json:"routing_key"`
	// EventAction is trigger, acknowledge or resolve.
	EventAction Action `json:"event_action"`
	// DedupKey identifies the PagerDuty alert the event applies to. Vigil
	// always sets it (to the alert fingerprint), so a resolve finds its
	// trigger.
	DedupKey string `json:"dedup_key,omitempty"`
	// Payload describes the problem; PagerDuty requires it on trigger and
	// ignores it otherwise.
	Payload *Payload `json:"payload,omitempty"`
	// Images are shown on the alert; used on trigger only.
	Images []Image `json:"images,omitempty"`
	// Links are shown on the alert; used on trigger only.
	Links []Link `json:"links,omitempty"`
	// Client names the monitoring tool; used on trigger only.
	Client string `json:"client,omitempty"`
	// ClientURL is where the monitoring tool can be reached; used on trigger
	// only.
	ClientURL string `json:"client_url,omitempty"`
}

// Payload is the payload object of a trigger event.
type Payload struct {
	// Summary is the alert's title, at most MaxSummaryLength characters.
	Summary string `json:"summary"`
	// Source is the affected system; Vigil puts the service name here.
	Source string `json:"source"`
	// Severity is the PagerDuty severity.
	Severity Severity `json:"severity"`
	// Timestamp is when the problem was detected, in ISO 8601.
	Timestamp string `json:"timestamp,omitempty"`
	// Component is the part of the source responsible for the event.
	Component string `json:"component,omitempty"`
	// Group is a logical grouping of components.
	Group string `json:"group,omitempty"`
	// Class is the type of event.
	Class string `json:"class,omitempty"`
	// CustomDetails are free-form details shown on the alert.
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the alert.
type Link struct {
	// Href is the link target (required by PagerDuty).
	Href string `json:"href"`
	// Text is the link's label.
	Text string `json:"text,omitempty"`
}

// Image is an image shown on the alert.
type Image struct {
	// Src is the image URL, served over HTTPS (required by PagerDuty).
	Src string `json:"src"`
	// Href is where clicking the image leads.
	Href string `json:"href,omitempty"`
	// Alt is the image's alternative text.
	Alt string `json:"alt,omitempty"`
}

// Response is the body PagerDuty returns with 202 Accepted, and with the
// status, message and errors fields filled, with 400.
type Response struct {
	// Status is "success" on 202, or a short error name.
	Status string `json:"status"`
	// Message is "Event processed" on 202, or a description of the problem.
	Message string `json:"message"`
	// DedupKey is the key PagerDuty filed the event under.
	DedupKey string `json:"dedup_key,omitempty"`
	// Errors lists each problem found in a rejected event.
	Errors []string `json:"errors,omitempty"`
}

// Encode returns the wire form of e. HTML escaping is off because PagerDuty
// does not need it and it inflates summaries and URLs toward the size limit.
func Encode(e Event) ([]byte, error) {
	b, err := marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode pagerduty event: %w", err)
	}
	return b, nil
}

// MarshalLogObject lets zap log an event without its routing key. zap.Any
// prefers this over reflection, which would print the key.
func (e Event) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("event_action", string(e.EventAction))
	enc.AddString("dedup_key", e.DedupKey)
	if e.Payload != nil {
		enc.AddString("summary", e.Payload.Summary)
		enc.AddString("source", e.Payload.Source)
		enc.AddString("severity", string(e.Payload.Severity))
	}
	return nil
}

// String describes the event for humans without its routing key; it is also
// what %v and %+v print.
func (e Event) String() string {
	if e.Payload == nil {
		return fmt.Sprintf("pagerduty %s dedup_key=%q", e.EventAction, e.DedupKey)
	}
	return fmt.Sprintf("pagerduty %s dedup_key=%q severity=%s source=%q summary=%q",
		e.EventAction, e.DedupKey, e.Payload.Severity, e.Payload.Source, e.Payload.Summary)
}

// GoString keeps %#v from printing the routing key.
func (e Event) GoString() string { return e.String() }
