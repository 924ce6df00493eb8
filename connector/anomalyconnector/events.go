package anomalyconnector

import (
	"fmt"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
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
// alert: those the alert-event codec turns into labels.
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
		m[conventions.AttrSpanName] = id.operation
	}
	for _, a := range id.attrs {
		if _, taken := m[a.key]; !taken {
			m[a.key] = a.value
		}
	}
	return m
}

// fingerprint is the alert.fingerprint of a series' alert, the codec's,
// so it equals what any reader derives from the event, on any process.
func (c *core) fingerprint(id identity) string {
	return alertevent.Fingerprint(c.identityAttrs(id))
}

// event appends one alert event (DESIGN.md, "Alert events"). actual and the
// result's values are NaN when the series had no data (a re-send, an
// expiry, an announce after a restore) and are then left out; expired
// says the series is forgotten. The event is stamped with the interval's
// end; alert.starts_at is when the series' flag was raised (s.since), the
// same on every re-send and on the resolve.
func (c *core) event(out *output, s *series, state string, actual float64, r anomaly.Result, expired bool) {
	lr := alertevent.Append(out.records, alertevent.Event{
		Identity: c.identityAttrs(s.id), State: state, Summary: summary(s.id, state, actual, r, expired),
		Time: out.ts.AsTime(), StartsAt: s.since, Observed: out.observed.AsTime(),
	})
	attrs := lr.Attributes()
	putFinite(attrs, conventions.AttrAnomalyScore, r.Score)
	putFinite(attrs, conventions.AttrAnomalyExpected, r.Expected)
	putFinite(attrs, conventions.AttrAnomalyActual, actual)
	putFinite(attrs, conventions.AttrAnomalyLower, r.Lower)
	putFinite(attrs, conventions.AttrAnomalyUpper, r.Upper)
	if r.Reason != anomaly.ReasonNone {
		attrs.PutStr(AttrAnomalyReason, string(r.Reason))
	}
	if r.Reason.FromRecent() {
		putFinite(attrs, conventions.AttrAnomalyRecent, r.Recent)
	}
}

func putFinite(m pcommon.Map, key string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m.PutDouble(key, v)
	}
}

// summary is the one-line body of an alert event.
func summary(id identity, state string, actual float64, r anomaly.Result, expired bool) string {
	name := describe(id)
	switch {
	case math.IsNaN(actual) && state == conventions.StateFiring:
		return fmt.Sprintf("%s is anomalous (no data this interval)", name)
	case math.IsNaN(actual) && expired:
		return fmt.Sprintf("%s is no longer watched (no data); anomaly resolved", name)
	case math.IsNaN(actual):
		return fmt.Sprintf("%s is back to normal (no data this interval); anomaly resolved", name)
	case state == conventions.StateFiring && r.Reason.FromRecent():
		// Inside the band, perhaps: what it left is the recent level.
		return fmt.Sprintf("%s is anomalous: %s after a recent level of %s, expected %s (band %s to %s), %s",
			name, num(actual), num(r.Recent), num(r.Expected), num(r.Lower), num(r.Upper), r.Reason)
	case state == conventions.StateFiring:
		return fmt.Sprintf("%s is anomalous: %s, expected %s (band %s to %s), %s",
			name, num(actual), num(r.Expected), num(r.Lower), num(r.Upper), r.Reason)
	default:
		return fmt.Sprintf("%s is back to normal: %s, expected %s (band %s to %s)",
			name, num(actual), num(r.Expected), num(r.Lower), num(r.Upper))
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
