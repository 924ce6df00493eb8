package alerts

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/conventions"
)

// State is whether an alert is firing or resolved.
type State string

// Alert states, spelled as in alert events.
const (
	StateFiring   State = conventions.StateFiring
	StateResolved State = conventions.StateResolved
)

// Label names the alert model derives from alert-event attributes. Severity,
// service, slo and metric reuse the Prometheus label names of the SLO and
// anomaly metrics, so a matcher written for `vigil slo rules` output in
// Alertmanager works unchanged here.
const (
	LabelAlertName = "alertname"
	LabelSource    = "source"
	LabelSeverity  = conventions.LabelSeverity
	LabelService   = conventions.LabelService
	LabelSLO       = conventions.LabelSLO
	LabelMetric    = conventions.LabelMetric
)

// AnnotationSummary holds the event body, the one-line human summary.
const AnnotationSummary = "summary"

// Alert is one alert as the engine sees it. Labels identify it and drive
// routing, inhibition and silences; annotations describe it and never change
// its identity.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	State       State             `json:"state"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	Fingerprint string            `json:"fingerprint"`
}

// Firing reports whether the alert is firing.
func (a Alert) Firing() bool { return a.State == StateFiring }

// Clone returns a copy that shares no maps with a.
func (a Alert) Clone() Alert {
	a.Labels = maps.Clone(a.Labels)
	a.Annotations = maps.Clone(a.Annotations)
	return a
}

// labelAttrs maps the alert-event attributes that identify an alert to their
// label names. Everything that varies from one evaluation to the next (burn
// rates, budget, scores, URLs) is an annotation instead, so that the
// fingerprint of a still-firing alert never changes.
var labelAttrs = map[string]string{
	conventions.AttrAlertName:     LabelAlertName,
	conventions.AttrAlertSeverity: LabelSeverity,
	conventions.AttrAlertSource:   LabelSource,
	conventions.AttrServiceName:   LabelService,
	conventions.AttrSLOName:       LabelSLO,
	conventions.AttrAnomalyMetric: LabelMetric,
}

// controlAttrs are consumed by FromEvent itself and kept nowhere else.
var controlAttrs = map[string]bool{
	conventions.AttrAlertState:       true,
	conventions.AttrAlertFingerprint: true,
}

// annotationPrefixes mark attributes of Vigil's own namespaces: they describe
// the alert (slo.objective, anomaly.score, alert.runbook_url, ...) and are
// kept as annotations under their attribute key, which the exporter maps to
// PagerDuty custom details and links.
var annotationPrefixes = []string{"alert.", "slo.", "anomaly."}

// FromEvent builds an Alert from an alert event given as plain data: the log
// record body, its attributes and its timestamp.
//
// Identity attributes become labels (alert.name→alertname,
// alert.severity→severity, alert.source→source, service.name→service,
// slo.name→slo, anomaly.metric→metric). Other attributes in the alert., slo.
// and anomaly. namespaces become annotations under their own key, and the
// body becomes the "summary" annotation. Any other attribute is taken to be a
// dimension the alert was grouped by (an http.route, a region) and becomes a
// label whose name is the attribute key with every character outside
// [a-zA-Z0-9_] replaced by '_'.
//
// The fingerprint is alert.fingerprint when present, else
// Fingerprint(labels). A firing alert starts at ts; a resolved one ends at
// ts. alert.name and alert.state are required.
func FromEvent(body string, attrs map[string]string, ts time.Time) (Alert, error) {
	a := Alert{Labels: map[string]string{}, Annotations: map[string]string{}}
	var errs []error
	for k, v := range attrs {
		switch {
		case labelAttrs[k] != "":
			if v != "" {
				a.Labels[labelAttrs[k]] = v
			}
		case controlAttrs[k]:
		case hasAnyPrefix(k, annotationPrefixes):
			a.Annotations[k] = v
		default:
			if v != "" {
				a.Labels[LabelName(k)] = v
			}
		}
	}
	if body != "" {
		a.Annotations[AnnotationSummary] = body
	}
	if a.Labels[LabelAlertName] == "" {
		errs = append(errs, fmt.Errorf("alert event has no %s attribute", conventions.AttrAlertName))
	}
	switch State(attrs[conventions.AttrAlertState]) {
	case StateFiring:
		a.State, a.StartsAt = StateFiring, ts
	case StateResolved:
		a.State, a.EndsAt = StateResolved, ts
	default:
		errs = append(errs, fmt.Errorf("alert event has %s %q, want %q or %q",
			conventions.AttrAlertState, attrs[conventions.AttrAlertState], StateFiring, StateResolved))
	}
	if err := errors.Join(errs...); err != nil {
		return Alert{}, err
	}
	a.Fingerprint = attrs[conventions.AttrAlertFingerprint]
	if a.Fingerprint == "" {
		a.Fingerprint = Fingerprint(a.Labels)
	}
	return a, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// LabelName makes an attribute key a valid Prometheus label name
// ([a-zA-Z_][a-zA-Z0-9_]*, other characters become _), so the same matchers
// work here and in Alertmanager, which validates annotation names alike.
func LabelName(k string) string {
	b := []byte(k)
	for i, c := range b {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
