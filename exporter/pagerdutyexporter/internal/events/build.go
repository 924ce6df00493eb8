package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// Vigil's own alert severities, the keys of the severity table.
const (
	AlertSeverityPage   = "page"
	AlertSeverityTicket = "ticket"
)

// DefaultSeverities maps Vigil alert severities to PagerDuty severities: a
// page wakes someone (critical), a ticket waits for working hours (warning).
var DefaultSeverities = map[string]Severity{
	AlertSeverityPage:   SeverityCritical,
	AlertSeverityTicket: SeverityWarning,
}

const (
	// Ellipsis marks text that was cut to fit a limit.
	Ellipsis = "…"
	// TruncationNoteKey is the custom_details entry that says which details
	// were trimmed or dropped to fit MaxEventBytes, so on-call knows the
	// alert is incomplete rather than wondering why a field is missing.
	TruncationNoteKey = "vigil_truncated"
	// UnknownSource is the payload source when the alert names no service;
	// it is the OpenTelemetry default for a missing service.name.
	UnknownSource = "unknown_service"
	// hashedDedupPrefix marks a dedup key that was hashed because the
	// fingerprint was longer than MaxDedupKeyLength.
	hashedDedupPrefix = "sha256:"
	// minTrimmedDetail is the smallest a trimmed detail is kept; below it
	// the detail is dropped, since a few bytes of a huge value help no one.
	minTrimmedDetail = 256
	// noteReserve bounds how much the truncation note grows besides the
	// key names it lists.
	noteReserve = 200
	// MaxLinkBytes bounds a link's href (and an image's src and href).
	// FitSize shrinks custom_details only, so a link built from huge label
	// values (the console's silence link holds every label) could make the
	// event too large to send at all; such a link is dropped instead, as
	// no browser or web server takes a URL that long anyway.
	MaxLinkBytes = 8192
)

// ErrEventTooLarge means an event exceeds MaxEventBytes even with every
// custom detail removed.
var ErrEventTooLarge = errors.New("pagerduty event exceeds the size limit even without custom_details")

// Alert is the plain data one PagerDuty event is built from. The exporter
// fills it from an alert event; nothing here depends on pdata or the alert
// engine.
type Alert struct {
	// Action is trigger on firing, resolve on resolved.
	Action Action
	// Fingerprint identifies the alert across restarts; it becomes the
	// dedup_key.
	Fingerprint string
	// Name is the alert name, the summary when Summary is empty.
	Name string
	// Summary is the one-line description shown as the PagerDuty title.
	Summary string
	// Service is the affected service, the payload source.
	Service string
	// Severity is Vigil's severity ("page", "ticket"), mapped through the
	// builder's severity table.
	Severity string
	// Component, Group and Class are copied to the payload fields of the
	// same names.
	Component string
	Group     string
	Class     string
	// Time is when the alert started; zero leaves the timestamp out.
	Time time.Time
	// Details become custom_details (burn rates, budget, trace IDs, ...).
	Details map[string]any
	// Links are shown on the alert (dashboard, runbook, trace search).
	Links []Link
	// Images are shown on the alert.
	Images []Image
}

// BuilderSettings configures a Builder.
type BuilderSettings struct {
	// Client is the client field of trigger events ("Vigil").
	Client string
	// ClientURL is the client_url field of trigger events.
	ClientURL string
	// Severities maps Vigil severities to PagerDuty ones; entries override
	// DefaultSeverities, the rest of which still apply.
	Severities map[string]Severity
	// FallbackSeverity is used for a Vigil severity the table does not know;
	// empty means SeverityError, which pages without claiming an outage.
	FallbackSeverity Severity
}

// Builder turns Alerts into Events PagerDuty accepts.
type Builder struct {
	client     string
	clientURL  string
	severities map[string]Severity
	fallback   Severity
}

// NewBuilder validates s and returns a Builder.
func NewBuilder(s BuilderSettings) (*Builder, error) {
	b := &Builder{
		client:     s.Client,
		clientURL:  s.ClientURL,
		severities: make(map[string]Severity, len(DefaultSeverities)+len(s.Severities)),
		fallback:   s.FallbackSeverity,
	}
	for k, v := range DefaultSeverities {
		b.severities[k] = v
	}
	var errs []error
	for k, v := range s.Severities {
		if !v.Valid() {
			errs = append(errs, fmt.Errorf("severity %q maps to %q, want one of critical, error, warning, info", k, v))
			continue
		}
		b.severities[k] = v
	}
	if s.ClientURL != "" && !absoluteURL(s.ClientURL) {
		errs = append(errs, fmt.Errorf("client URL %q is not an absolute URL", s.ClientURL))
	}
	if b.fallback == "" {
		b.fallback = SeverityError
	}
	if !b.fallback.Valid() {
		errs = append(errs, fmt.Errorf("fallback severity %q, want one of critical, error, warning, info", b.fallback))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

// ValidateRoutingKey checks key against PagerDuty's format. The error never
// contains the key, only what is wrong with it.
func ValidateRoutingKey(key RoutingKey) error {
	if n := utf8.RuneCountInString(string(key)); n != RoutingKeyLength {
		return fmt.Errorf("routing key must be %d characters, got %d", RoutingKeyLength, n)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("routing key must be ASCII letters and digits; character %d is not", i+1)
		}
	}
	return nil
}

// Severity maps a Vigil severity to a PagerDuty one.
func (b *Builder) Severity(alertSeverity string) Severity {
	if s, ok := b.severities[alertSeverity]; ok {
		return s
	}
	return b.fallback
}

// Build returns the event for a, addressed to key, within every PagerDuty
// limit: summary and dedup_key shortened, custom_details shrunk to fit the
// size limit. Errors are permanent (consumererror.NewPermanent): retrying
// the same alert cannot fix them.
func (b *Builder) Build(key RoutingKey, a Alert) (Event, error) {
	if err := ValidateRoutingKey(key); err != nil {
		return Event{}, consumererror.NewPermanent(err)
	}
	if !a.Action.Valid() {
		return Event{}, consumererror.NewPermanent(fmt.Errorf("event action %q, want trigger, acknowledge or resolve", a.Action))
	}
	// PagerDuty would accept a trigger without a dedup key and invent one,
	// but then Vigil could never resolve it.
	if a.Fingerprint == "" {
		return Event{}, consumererror.NewPermanent(errors.New("alert has no fingerprint for the dedup_key"))
	}
	ev := Event{
		RoutingKey:  key,
		EventAction: a.Action,
		DedupKey:    DedupKey(a.Fingerprint),
	}
	if a.Action != ActionTrigger {
		// PagerDuty ignores everything but the dedup key on acknowledge and
		// resolve; leaving it out keeps those events small.
		return ev, nil
	}

	summary := a.Summary
	if summary == "" {
		summary = a.Name
	}
	if summary == "" {
		return Event{}, consumererror.NewPermanent(errors.New("trigger has neither summary nor alert name"))
	}
	source := a.Service
	if source == "" {
		source = UnknownSource
	}
	ev.Client = b.client
	ev.ClientURL = b.clientURL
	ev.Payload = &Payload{
		Summary:       Truncate(summary, MaxSummaryLength),
		Source:        source,
		Severity:      b.Severity(a.Severity),
		Component:     a.Component,
		Group:         a.Group,
		Class:         a.Class,
		CustomDetails: sanitizeDetails(a.Details),
	}
	if !a.Time.IsZero() {
		ev.Payload.Timestamp = a.Time.UTC().Format(time.RFC3339Nano)
	}
	// PagerDuty refuses the whole event over one link that is not an
	// absolute URL (an unfilled template, say); dropping the link keeps the
	// page. So does dropping one too long to fit (MaxLinkBytes).
	for _, l := range a.Links {
		if linkURL(l.Href) {
			ev.Links = append(ev.Links, l)
		}
	}
	for _, im := range a.Images {
		if linkURL(im.Src) {
			if !linkURL(im.Href) {
				im.Href = ""
			}
			ev.Images = append(ev.Images, im)
		}
	}
	if err := FitSize(&ev, MaxEventBytes); err != nil {
		return Event{}, consumererror.NewPermanent(err)
	}
	return ev, nil
}

// linkURL reports whether s is a URL the builder keeps as a link: an
// absolute one no longer than MaxLinkBytes.
func linkURL(s string) bool {
	return len(s) <= MaxLinkBytes && absoluteURL(s)
}

// absoluteURL reports whether s is a URL PagerDuty takes for a link.
func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// DedupKey returns fingerprint as a dedup key. A fingerprint longer than
// MaxDedupKeyLength is replaced by its SHA-256, so it still fits and a
// resolve still matches its trigger.
func DedupKey(fingerprint string) string {
	fingerprint = strings.ToValidUTF8(fingerprint, "\uFFFD")
	if utf8.RuneCountInString(fingerprint) <= MaxDedupKeyLength {
		return fingerprint
	}
	sum := sha256.Sum256([]byte(fingerprint))
	return hashedDedupPrefix + hex.EncodeToString(sum[:])
}

// Truncate cuts s to at most max characters (runes), ending a cut string
// with Ellipsis. Invalid UTF-8 is replaced first so the count is the one
// PagerDuty sees after JSON decoding.
func Truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(Ellipsis)
	if keep < 0 {
		keep = 0
	}
	i, n := 0, 0
	for i < len(s) && n < keep {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return s[:i] + Ellipsis
}

// truncateBytes cuts s to at most max bytes on a rune boundary and appends
// Ellipsis (which the caller has budgeted for).
func truncateBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + Ellipsis
}

// sanitizeDetails copies details, replacing values JSON cannot carry (NaN
// and infinite floats, which burn rates can be, or unsupported types) by
// their text, so one odd value cannot cost the whole page.
func sanitizeDetails(details map[string]any) map[string]any {
	if len(details) == 0 {
		return nil
	}
	out := make(map[string]any, len(details))
	for k, v := range details {
		switch f := v.(type) {
		case float64:
			if math.IsNaN(f) || math.IsInf(f, 0) {
				out[k] = fmt.Sprint(f)
			} else {
				out[k] = f
			}
			continue
		case float32:
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				out[k] = fmt.Sprint(f)
			} else {
				out[k] = f
			}
			continue
		case string, bool, int, int64, uint64, []string, nil:
			// Always encodable; skip the trial encoding.
			out[k] = v
			continue
		}
		if _, err := marshal(v); err != nil {
			out[k] = fmt.Sprintf("%v", v)
			continue
		}
		out[k] = v
	}
	return out
}

// FitSize shrinks ev.Payload.CustomDetails until ev encodes to at most max
// bytes: the largest detail is trimmed (strings; other values as their JSON
// text) or, when trimming would leave too little or it was trimmed already,
// dropped. TruncationNoteKey then lists what was trimmed and dropped. It
// fails with ErrEventTooLarge when the event is too large without details.
func FitSize(ev *Event, max int) error {
	body, err := Encode(*ev)
	if err != nil {
		return err
	}
	size := len(body)
	if size <= max {
		return nil
	}
	if ev.Payload == nil || len(ev.Payload.CustomDetails) == 0 {
		return fmt.Errorf("%w (%d bytes, limit %d)", ErrEventTooLarge, size, max)
	}
	details := make(map[string]any, len(ev.Payload.CustomDetails)+1)
	for k, v := range ev.Payload.CustomDetails {
		details[k] = v
	}
	ev.Payload.CustomDetails = details
	original := size
	trimmed := map[string]bool{}
	var trimmedKeys, droppedKeys []string

	for size > max {
		key, text, encLen := largestDetail(details)
		if key == "" {
			return fmt.Errorf("%w (%d bytes, limit %d)", ErrEventTooLarge, size, max)
		}
		// Bytes of text to keep: what the limit leaves once everything but
		// this value is counted, less the text's quotes and escapes (a
		// prefix has no more of them than the whole), the ellipsis, and room
		// for the note growing by this key's name.
		rest := size - encLen
		overhead := jsonLen(text) - len(text)
		budget := max - rest - overhead - len(Ellipsis) - noteReserve - 2*len(key)
		if !trimmed[key] && budget >= minTrimmedDetail {
			details[key] = truncateBytes(text, budget)
			trimmed[key] = true
			trimmedKeys = append(trimmedKeys, key)
		} else {
			delete(details, key)
			if trimmed[key] {
				trimmedKeys = slices.DeleteFunc(trimmedKeys, func(k string) bool { return k == key })
			}
			droppedKeys = append(droppedKeys, key)
		}
		details[TruncationNoteKey] = truncationNote(original, max, trimmedKeys, droppedKeys)
		if body, err = Encode(*ev); err != nil {
			return err
		}
		size = len(body)
	}
	return nil
}

// largestDetail returns the detail with the longest JSON encoding (the note
// excepted), its value as text (a string as is, anything else as its JSON)
// and the length of its encoding. Ties go to the smallest key so the result
// does not depend on map order.
func largestDetail(details map[string]any) (key, text string, encLen int) {
	keys := make([]string, 0, len(details))
	for k := range details {
		if k != TruncationNoteKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	encLen = -1
	for _, k := range keys {
		enc, err := marshal(details[k])
		if err != nil {
			// sanitizeDetails made every value encodable; should one fail
			// anyway, it goes first, as text.
			t := fmt.Sprintf("%v", details[k])
			return k, t, jsonLen(t)
		}
		if len(enc) > encLen {
			key, encLen = k, len(enc)
			if s, ok := details[k].(string); ok {
				text = s
			} else {
				text = string(enc)
			}
		}
	}
	return key, text, encLen
}

// marshal encodes v as Encode does, without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonLen is the encoded length of the string s.
func jsonLen(s string) int {
	b, _ := marshal(s)
	return len(b)
}

func truncationNote(original, max int, trimmed, dropped []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "custom_details shrunk to fit PagerDuty's %d-byte event limit (event was %d bytes)", max, original)
	if len(trimmed) > 0 {
		fmt.Fprintf(&b, "; trimmed: %s", strings.Join(trimmed, ", "))
	}
	if len(dropped) > 0 {
		fmt.Fprintf(&b, "; dropped: %s", strings.Join(dropped, ", "))
	}
	return b.String()
}
