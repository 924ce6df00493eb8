package alerts

import (
	"maps"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/labelname"
)

// State is whether an alert is firing or resolved.
type State string

// Alert states, spelled as in alert events.
const (
	StateFiring   State = conventions.StateFiring
	StateResolved State = conventions.StateResolved
)

// Label names the alert-event codec (internal/alertevent) derives from
// alert-event attributes. Severity,
// service, slo and metric reuse the Prometheus label names of the SLO and
// anomaly metrics, so a matcher written for `vigil slo rules` output in
// Alertmanager works unchanged here.
//
// The tier, page or ticket (alert.severity), is LabelVigilSeverity, so that
// a severity the spec's alert labels set (severity: pageteam) reaches
// routing as written; an alert whose spec sets none has severity = the
// tier too.
const (
	LabelAlertName     = conventions.LabelAlertName
	LabelSource        = conventions.LabelSource
	LabelSeverity      = conventions.LabelSeverity
	LabelVigilSeverity = conventions.LabelVigilSeverity
	LabelService       = conventions.LabelServiceName
	LabelSLO           = conventions.LabelSLO
	LabelMetric        = conventions.LabelMetric
)

// attributeLabels maps the alert-event attributes that identify an alert
// to their label names where these are not the attribute's own name made
// a Prometheus label name (http.route: http_route); the alert-event codec
// reads events with it, and LabelNameProblem names the label meant.
var attributeLabels = map[string]string{
	conventions.AttrAlertName:     LabelAlertName,
	conventions.AttrAlertSeverity: LabelVigilSeverity,
	conventions.AttrAlertSource:   LabelSource,
	conventions.AttrServiceName:   LabelService,
	conventions.AttrSLOName:       LabelSLO,
	conventions.AttrAnomalyMetric: LabelMetric,
}

// AttributeLabels returns the label names of the alert-event attributes
// that identify an alert (service.name: service_name, slo.name: slo).
func AttributeLabels() map[string]string { return maps.Clone(attributeLabels) }

// annotationPrefixes mark attributes of Vigil's own namespaces: they
// describe the alert and are kept as annotations under their key.
var annotationPrefixes = []string{"alert.", "slo.", "anomaly."}

// LabelOfAttribute returns the label an alert event's attribute becomes
// (service.name: service_name, slo.name: slo, http.route: http_route),
// and false when the attribute becomes none: one of Vigil's own
// namespaces (alert., slo., anomaly.) not in AttributeLabels is an
// annotation, or the codec's own (the codec's control attributes, such as
// alert.state and alert.fingerprint, are all in the alert. namespace and
// rely on that).
func LabelOfAttribute(attr string) (string, bool) {
	if name, ok := attributeLabels[attr]; ok {
		return name, true
	}
	for _, p := range annotationPrefixes {
		if strings.HasPrefix(attr, p) {
			return "", false
		}
	}
	name := labelname.Sanitize(attr)
	return name, name != ""
}

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
