package alerts

import (
	"maps"
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
