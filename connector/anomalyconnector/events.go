package anomalyconnector

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/conventions"
)

// AlertName is the alert.name of every anomaly alert. One name for all
// anomaly kinds lets the alert router group a service's simultaneous
// anomalies (traffic drop, error spike, latency) into one notification;
// the series is told apart by the anomaly.metric and operation labels.
const AlertName = conventions.AnomalyAlertName

// AttrAnomalyReason is an extra annotation saying why the detector flagged
// or cleared the series (anomaly.Reason: above_band, sustained_decrease...).
const AttrAnomalyReason = conventions.AttrAnomalyReason

// identityAttrs are the alert-event attributes that identify a series'
// alert: those alerts.FromEvent turns into labels.
func (c *core) identityAttrs(id identity) map[string]string {
	m := map[string]string{
		conventions.AttrAlertName:     AlertName,
		conventions.AttrAlertSeverity: c.cfg.Severity,
		conventions.AttrAlertSource:   conventions.SourceAnomaly,
		conventions.AttrAnomalyMetric: id.metric,
	}
	if id.service != "" {
		m[conventions.AttrServiceName] = id.service
	}
	if id.operation != "" {
		m[LabelOperation] = id.operation
	}
	for _, a := range id.attrs {
		if _, taken := m[a.key]; !taken {
			m[a.key] = a.value
		}
	}
	return m
}

// fingerprint is the alert.fingerprint of a series' alert. It is computed
// by alerts.FromEvent itself from the identity attributes, so it equals what
// the alert engine would derive from the event without it, on any process.
func (c *core) fingerprint(id identity) string {
	attrs := c.identityAttrs(id)
	attrs[conventions.AttrAlertState] = conventions.StateFiring
	a, err := alerts.FromEvent("", attrs, time.Time{})
	if err != nil {
		// Unreachable: alert.name and alert.state are always set above.
		return alerts.Fingerprint(attrs)
	}
	return a.Fingerprint
}

// event appends one alert event (DESIGN.md, "Alert events"). actual and the
// result's values are NaN when the series had no data (a re-send or an
// expiry) and are then left out.
func (c *core) event(out *output, s *series, state string, actual float64, r anomaly.Result) {
	lr := out.records.AppendEmpty()
	lr.SetTimestamp(out.ts)
	lr.SetObservedTimestamp(out.observed)
	if state == conventions.StateFiring {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	lr.Body().SetStr(summary(s.id, state, actual, r))
	attrs := lr.Attributes()
	for k, v := range c.identityAttrs(s.id) {
		attrs.PutStr(k, v)
	}
	attrs.PutStr(conventions.AttrAlertState, state)
	attrs.PutStr(conventions.AttrAlertFingerprint, s.fingerprint)
	putFinite(attrs, conventions.AttrAnomalyScore, r.Score)
	putFinite(attrs, conventions.AttrAnomalyExpected, r.Expected)
	putFinite(attrs, conventions.AttrAnomalyActual, actual)
	putFinite(attrs, conventions.AttrAnomalyLower, r.Lower)
	putFinite(attrs, conventions.AttrAnomalyUpper, r.Upper)
	if r.Reason != anomaly.ReasonNone {
		attrs.PutStr(AttrAnomalyReason, string(r.Reason))
	}
}

func putFinite(m pcommon.Map, key string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m.PutDouble(key, v)
	}
}

// summary is the one-line body of an alert event.
func summary(id identity, state string, actual float64, r anomaly.Result) string {
	name := describe(id)
	switch {
	case math.IsNaN(actual) && state == conventions.StateFiring:
		return fmt.Sprintf("%s is anomalous (no data this interval)", name)
	case math.IsNaN(actual):
		return fmt.Sprintf("%s is no longer watched (no data); anomaly resolved", name)
	case state == conventions.StateFiring:
		return fmt.Sprintf("%s is anomalous: %s, expected %s (band %s to %s), %s",
			name, num(actual), num(r.Expected), num(r.Lower), num(r.Upper), r.Reason)
	default:
		return fmt.Sprintf("%s is back to normal: %s, expected %s (band %s to %s)",
			name, num(actual), num(r.Expected), num(r.Lower), num(r.Upper))
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
