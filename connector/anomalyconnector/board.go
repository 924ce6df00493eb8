package anomalyconnector

import (
	"maps"
	"slices"

	"github.com/vigil-otel/vigil/internal/statusboard"
)

// publish hands the anomalous series to the alert router's console
// (internal/statusboard) at the end of an interval. Called with c.mu held.
func (c *core) publish() {
	snap := statusboard.Anomalies{Watched: len(c.series)}
	for _, key := range slices.Sorted(maps.Keys(c.series)) {
		s := c.series[key]
		if !s.firing {
			continue
		}
		a := statusboard.Anomaly{
			Metric: s.id.metric, Service: s.id.service, Operation: s.id.operation,
			Value: s.lastValue, Expected: s.last.Expected, Lower: s.last.Lower, Upper: s.last.Upper,
			Score: s.last.Score, Reason: string(s.last.Reason), Since: s.since, At: s.lastSeen,
		}
		for _, at := range s.id.attrs {
			if a.Attributes == nil {
				a.Attributes = map[string]string{}
			}
			a.Attributes[at.key] = at.value
		}
		snap.Flagged = append(snap.Flagged, a)
	}
	statusboard.Default.PublishAnomalies(c.set.ID.String(), snap)
}
