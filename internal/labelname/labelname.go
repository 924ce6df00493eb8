// Package labelname is the one place an OpenTelemetry attribute key becomes
// a Prometheus-style label name: group_by labels of the generated
// Prometheus rules, alert labels and Alertmanager annotations, Loki stream
// labels. It is Prometheus's own translation (package otlptranslator), the
// one the collector's Prometheus exporter, Prometheus's OTLP receiver and
// Loki's OTLP endpoint apply, so a name Vigil derives is the name those
// systems show for the same attribute: "http.route" becomes "http_route",
// "k8s..pod" "k8s_pod" (runs of underscores collapse), "2xx" "key_2xx".
package labelname // import "github.com/vigil-otel/vigil/internal/labelname"

import "github.com/prometheus/otlptranslator"

// namer is otlptranslator's default: legacy (non-UTF-8) names, as the
// collector's Prometheus exporter writes them by default.
var namer = otlptranslator.LabelNamer{}

// FromAttribute returns the label name of an attribute key, or an error
// when none results (an empty key, or one of underscores only).
func FromAttribute(key string) (string, error) {
	return namer.Build(key)
}

// Sanitize is FromAttribute for keys taken from data, where a key without a
// label name is skipped: it returns "" for those.
func Sanitize(key string) string {
	name, err := namer.Build(key)
	if err != nil {
		return ""
	}
	return name
}
