// Package alertevent is the one codec of Vigil's alert events: log records
// that say an alert fires or has resolved (DESIGN.md, "Alert events"), to
// and from alerts.Alert.
//
// Every writer and every reader goes through it: the slo and anomaly
// connectors write events with Append; the alertrouter connector reads
// them with Decode and writes its notifications with AppendNotification;
// the pagerduty and alertmanager exporters and ClickHouse's alert history
// read with Decode. So the attribute names, the severity a record carries,
// the fingerprint and the meaning of the timestamp are decided here once.
//
// The mapping:
//
//   - Identity attributes become labels: alert.name→alertname,
//     alert.severity→vigil_severity, alert.source→source,
//     service.name→service_name, slo.name→slo, anomaly.metric→metric,
//     the label names of the SLO and anomaly metrics. Any attribute
//     outside the alert., slo. and anomaly. namespaces is a dimension the
//     alert was grouped by (an http.route, a region, an anomaly's
//     span.name) and becomes a label named as Prometheus's OpenTelemetry
//     translation names it (internal/labelname: http_route, span_name);
//     a key that yields no label name ("", "...") is dropped. So a
//     severity the spec's alert labels set (a "severity" attribute:
//     critical, pageteam) is the label severity, as the user wrote it;
//     the tier, page or ticket, is vigil_severity, and an event without
//     a severity of its own gets severity = the tier, as before
//     vigil_severity existed.
//   - Other attributes of those namespaces describe the alert (burn rates,
//     scores, links) and become annotations under their own key; the body
//     becomes the "summary" annotation. They never change the fingerprint.
//   - alert.fingerprint is the alert's identity: when an event lacks it,
//     it is alerts.Fingerprint of the labels, which is also what writers
//     put there (Fingerprint), so both ways give the same key. A
//     vigil_severity equal to severity adds no identity and is left out,
//     so alerts of specs that set no severity keep the fingerprint (and
//     PagerDuty dedup_key) they had before vigil_severity existed.
//   - The record's timestamp is when its writer stamped it: a source's
//     firing event at the evaluation that sends it (a firing alert is
//     sent again every evaluation or resend interval), a router's firing
//     notification at the alert's start, a resolve at the alert's end;
//     without one, the observed timestamp; without either, the reader's
//     now.
//   - alert.starts_at (RFC 3339) is when the alert started firing, on
//     firing and resolved events alike, written by the sources (Append)
//     and the router (AppendNotification): a re-send carries its alert's
//     start, so a reader that first sees the alert at a re-send (a
//     restarted router, another evaluator after a handover) knows when it
//     started, and a resolve says which episode it ends. An event without
//     it (a writer that does not know, an older one) starts, if firing,
//     at its timestamp, and a resolve without it has no start.
//   - Severity: a firing page is ERROR, a firing ticket (or any other
//     severity) WARN, a resolve INFO, with SeverityText spelled as the
//     number's short name in capitals, one spelling for every writer.
package alertevent // import "github.com/vigil-otel/vigil/internal/alertevent"

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
)

// labelAttrs maps the attributes that identify an alert to their label
// names. Everything that varies from one evaluation to the next (burn
// rates, budget, scores, URLs) is an annotation instead, so that the
// fingerprint of a still-firing alert never changes.
var labelAttrs = alerts.AttributeLabels()

// attrOfLabel is labelAttrs reversed, for writing alerts back as events.
var attrOfLabel = func() map[string]string {
	m := make(map[string]string, len(labelAttrs))
	for attr, label := range labelAttrs {
		m[label] = attr
	}
	return m
}()

// controlAttrs are the codec's own and become neither labels nor
// annotations.
var controlAttrs = map[string]bool{
	conventions.AttrAlertState:       true,
	conventions.AttrAlertFingerprint: true,
	conventions.AttrAlertReceiver:    true,
	conventions.AttrAlertGroupKey:    true,
	conventions.AttrAlertGroupLabels: true,
	conventions.AttrAlertIntegration: true,
	conventions.AttrAlertRouter:      true,
	conventions.AttrAlertStartsAt:    true,
}

// ErrBadStart is wrapped by Decode's error for an alert event whose
// alert.starts_at is no RFC 3339 time; the alert comes with it, its start
// taken as absent.
var ErrBadStart = errors.New("start ignored")

// ErrNotAlertEvent is returned by Decode for a record without alert.name:
// an ordinary log record, which a reader on a mixed pipeline skips.
var ErrNotAlertEvent = errors.New("not an alert event: no " + conventions.AttrAlertName + " attribute")

// Event is an alert event before it becomes a log record.
type Event struct {
	// Identity are the attributes that identify the alert (alert.name,
	// alert.severity, alert.source, service.name, slo.name or
	// anomaly.metric, and grouping dimensions). alert.name is required.
	Identity map[string]string
	// State is conventions.StateFiring or conventions.StateResolved.
	State string
	// Summary is the one-line human summary, the record's body.
	Summary string
	// Time is the record's timestamp: for a firing event the evaluation
	// that sends it, for a resolved one when the alert ended.
	Time time.Time
	// StartsAt is when the alert started firing, written as
	// alert.starts_at on firing and resolved events: the same on every
	// re-send of one firing, and on the resolve that ends it. Zero: not
	// known, no attribute (a reader then takes a firing event's Time).
	StartsAt time.Time
	// Observed is when the writer saw it; zero means Time.
	Observed time.Time
}

// Fingerprint is the alert.fingerprint of an alert with these identity
// attributes: alerts.Fingerprint of the labels Decode derives from them,
// so a reader that finds none derives the same.
func Fingerprint(identity map[string]string) string {
	labels := make(map[string]string, len(identity))
	for k, v := range identity {
		if name, ok := alerts.LabelOfAttribute(k); ok && v != "" {
			labels[name] = v
		}
	}
	defaultSeverity(labels)
	return fingerprintOf(labels)
}

// defaultSeverity gives an alert without a severity of its own the tier
// as severity.
func defaultSeverity(labels map[string]string) {
	if tier := labels[alerts.LabelVigilSeverity]; tier != "" && labels[alerts.LabelSeverity] == "" {
		labels[alerts.LabelSeverity] = tier
	}
}

// fingerprintOf is alerts.Fingerprint of the labels but a vigil_severity
// that repeats severity.
func fingerprintOf(labels map[string]string) string {
	if tier, ok := labels[alerts.LabelVigilSeverity]; ok && tier == labels[alerts.LabelSeverity] {
		identity := maps.Clone(labels)
		delete(identity, alerts.LabelVigilSeverity)
		return alerts.Fingerprint(identity)
	}
	return alerts.Fingerprint(labels)
}

// Append writes ev as a log record at the end of records and returns the
// record, for the writer to add the event's details (slo.burn_rate.long,
// anomaly.score, ...) with their own types.
func Append(records plog.LogRecordSlice, ev Event) plog.LogRecord {
	lr := records.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
	observed := ev.Observed
	if observed.IsZero() {
		observed = ev.Time
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	setSeverity(lr, ev.State, ev.Identity[conventions.AttrAlertSeverity])
	lr.Body().SetStr(ev.Summary)
	attrs := lr.Attributes()
	for _, k := range slices.Sorted(maps.Keys(ev.Identity)) {
		attrs.PutStr(k, ev.Identity[k])
	}
	attrs.PutStr(conventions.AttrAlertState, ev.State)
	attrs.PutStr(conventions.AttrAlertFingerprint, Fingerprint(ev.Identity))
	putStartsAt(attrs, ev.StartsAt)
	return lr
}

// putStartsAt writes a known start as alert.starts_at.
func putStartsAt(attrs pcommon.Map, startsAt time.Time) {
	if !startsAt.IsZero() {
		attrs.PutStr(conventions.AttrAlertStartsAt, startsAt.UTC().Format(time.RFC3339Nano))
	}
}

// AppendNotification writes a notification of the alert router as an alert
// event: the alert's labels back under their attribute names, annotations
// under their keys, the summary as body, the receiver, group key and group
// labels, the integration (when named), when the alert started, and the
// notification's flush time as the observed timestamp. Decode of the record gives the alert back, and
// DecodeNotification the whole notification.
func AppendNotification(records plog.LogRecordSlice, n alerts.Notification) plog.LogRecord {
	a := n.Alert
	lr := records.AppendEmpty()
	ts := a.StartsAt
	if !a.Firing() {
		ts = a.EndsAt
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(n.At))
	setSeverity(lr, string(a.State), a.Labels[alerts.LabelVigilSeverity])
	lr.Body().SetStr(a.Annotations[alerts.AnnotationSummary])
	attrs := lr.Attributes()
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		attr, ok := attrOfLabel[k]
		if !ok {
			attr = k
		}
		attrs.PutStr(attr, a.Labels[k])
	}
	for _, k := range slices.Sorted(maps.Keys(a.Annotations)) {
		if k != alerts.AnnotationSummary {
			attrs.PutStr(k, a.Annotations[k])
		}
	}
	attrs.PutStr(conventions.AttrAlertState, string(a.State))
	attrs.PutStr(conventions.AttrAlertFingerprint, a.Fingerprint)
	attrs.PutStr(conventions.AttrAlertReceiver, n.Receiver)
	if n.GroupKey != "" {
		attrs.PutStr(conventions.AttrAlertGroupKey, n.GroupKey)
	}
	group := attrs.PutEmptyMap(conventions.AttrAlertGroupLabels)
	for _, k := range slices.Sorted(maps.Keys(n.GroupLabels)) {
		group.PutStr(k, n.GroupLabels[k])
	}
	if n.Integration != "" {
		attrs.PutStr(conventions.AttrAlertIntegration, n.Integration)
	}
	putStartsAt(attrs, a.StartsAt)
	return lr
}

// SetRouter names, on a notification record, the alert router that
// produced it (its component ID), for an exporter to report a refusal to
// (internal/refusal).
func SetRouter(lr plog.LogRecord, router string) {
	lr.Attributes().PutStr(conventions.AttrAlertRouter, router)
}

// Router returns the alert router SetRouter named on lr, "" if none.
func Router(lr plog.LogRecord) string {
	if v, ok := lr.Attributes().Get(conventions.AttrAlertRouter); ok {
		return v.AsString()
	}
	return ""
}

// DecodeNotification reads a notification of the alert router (an alert
// event written by AppendNotification): the alert as Decode reads it,
// with its start (a resolve's timestamp is its end), the receiver, the
// group key and labels, the integration, and the flush time. An event
// that is no notification (no alert.receiver) is an error, as a notifier
// has nothing to send for it.
func DecodeNotification(lr plog.LogRecord, resource pcommon.Resource, now time.Time) (alerts.Notification, error) {
	a, err := Decode(lr, resource, now)
	if err != nil {
		return alerts.Notification{}, err
	}
	attrs := lr.Attributes()
	n := alerts.Notification{Alert: a, Action: alerts.ActionTrigger, At: now}
	if !a.Firing() {
		n.Action = alerts.ActionResolve
	}
	if n.Receiver = Receiver(lr); n.Receiver == "" {
		return alerts.Notification{}, fmt.Errorf("alert event %q is no notification of the alert router: no %s attribute",
			a.Labels[alerts.LabelAlertName], conventions.AttrAlertReceiver)
	}
	if v, ok := attrs.Get(conventions.AttrAlertGroupKey); ok {
		n.GroupKey = v.AsString()
	}
	if v, ok := attrs.Get(conventions.AttrAlertIntegration); ok {
		n.Integration = v.AsString()
	}
	n.GroupLabels = map[string]string{}
	if v, ok := attrs.Get(conventions.AttrAlertGroupLabels); ok && v.Type() == pcommon.ValueTypeMap {
		for k, lv := range v.Map().All() {
			n.GroupLabels[k] = lv.AsString()
		}
	}
	if lr.ObservedTimestamp() != 0 {
		n.At = lr.ObservedTimestamp().AsTime()
	}
	return n, nil
}

// IsAlertEvent reports whether lr is an alert event: it has alert.name.
func IsAlertEvent(lr plog.LogRecord) bool {
	_, ok := lr.Attributes().Get(conventions.AttrAlertName)
	return ok
}

// Decode reads an alert event. resource is the record's resource: its
// service.name stands in for a record without one (other resource
// attributes describe the emitter, not the alert, and as labels would
// split one alert into many). now stands in for a record without any
// timestamp. The alert's start is its alert.starts_at, on a firing and a
// resolved event alike; without it, a firing event's time and a resolve's
// zero. A record that is no alert event gives ErrNotAlertEvent; a
// malformed one, an error naming every problem. An alert.starts_at that is
// no RFC 3339 time is taken as absent: the alert is returned with an error
// wrapping ErrBadStart, for the reader to report and still use it (a page
// is not dropped for its start).
func Decode(lr plog.LogRecord, resource pcommon.Resource, now time.Time) (alerts.Alert, error) {
	attrs := lr.Attributes()
	if !IsAlertEvent(lr) {
		return alerts.Alert{}, ErrNotAlertEvent
	}
	a := alerts.Alert{Labels: map[string]string{}, Annotations: map[string]string{}}
	var state, fingerprint string
	for k, v := range attrs.All() {
		s := v.AsString()
		switch {
		case k == conventions.AttrAlertState:
			state = s
		case k == conventions.AttrAlertFingerprint:
			fingerprint = s
		case controlAttrs[k]:
		default:
			if name, isLabel := alerts.LabelOfAttribute(k); !isLabel {
				a.Annotations[k] = s
			} else if s != "" {
				a.Labels[name] = s
			}
		}
	}
	if _, ok := a.Labels[alerts.LabelService]; !ok {
		if v, ok := resource.Attributes().Get(conventions.AttrServiceName); ok && v.AsString() != "" {
			a.Labels[alerts.LabelService] = v.AsString()
		}
	}
	defaultSeverity(a.Labels)
	if body := lr.Body().AsString(); body != "" {
		a.Annotations[alerts.AnnotationSummary] = body
	}
	var errs []error
	if a.Labels[alerts.LabelAlertName] == "" {
		errs = append(errs, fmt.Errorf("alert event has an empty %s", conventions.AttrAlertName))
	}
	var badStart error
	if v, ok := attrs.Get(conventions.AttrAlertStartsAt); ok {
		t, err := time.Parse(time.RFC3339Nano, v.AsString())
		if err != nil {
			badStart = fmt.Errorf("alert event %q: %w: %s %q: want an RFC 3339 time",
				a.Labels[alerts.LabelAlertName], ErrBadStart, conventions.AttrAlertStartsAt, v.AsString())
		}
		a.StartsAt = t
	}
	ts := timeOf(lr, now)
	switch alerts.State(state) {
	case alerts.StateFiring:
		a.State = alerts.StateFiring
		if a.StartsAt.IsZero() {
			a.StartsAt = ts
		}
	case alerts.StateResolved:
		a.State, a.EndsAt = alerts.StateResolved, ts
	default:
		errs = append(errs, fmt.Errorf("alert event %q has %s %q, want %q or %q",
			a.Labels[alerts.LabelAlertName], conventions.AttrAlertState, state, alerts.StateFiring, alerts.StateResolved))
	}
	if err := errors.Join(errs...); err != nil {
		return alerts.Alert{}, err
	}
	a.Fingerprint = fingerprint
	if a.Fingerprint == "" {
		a.Fingerprint = fingerprintOf(a.Labels)
	}
	return a, badStart
}

// Receiver is the receiver a notification of the alert router was sent
// to, or "" for an event that is no notification.
func Receiver(lr plog.LogRecord) string {
	v, ok := lr.Attributes().Get(conventions.AttrAlertReceiver)
	if !ok {
		return ""
	}
	return v.AsString()
}

// timeOf is the event's time: its timestamp, else the time it was
// observed, else now.
func timeOf(lr plog.LogRecord, now time.Time) time.Time {
	switch {
	case lr.Timestamp() != 0:
		return lr.Timestamp().AsTime()
	case lr.ObservedTimestamp() != 0:
		return lr.ObservedTimestamp().AsTime()
	}
	return now
}

// setSeverity gives every alert event the same severity for the same
// meaning: ERROR for a firing page, WARN for another firing alert, INFO for
// a resolve.
func setSeverity(lr plog.LogRecord, state, severity string) {
	n := plog.SeverityNumberWarn
	switch {
	case state == conventions.StateResolved:
		n = plog.SeverityNumberInfo
	case severity == conventions.SeverityPage:
		n = plog.SeverityNumberError
	}
	lr.SetSeverityNumber(n)
	lr.SetSeverityText(strings.ToUpper(n.String()))
}
