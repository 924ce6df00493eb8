package alerts

import (
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
)

// TimeInterval is a named set of time ranges, used by routes as maintenance
// windows (mute_time_intervals) or business hours (active_time_intervals).
// A time is in the interval when it is in any of its ranges. The ranges are
// Alertmanager's own type, parsed and evaluated by its timeinterval package,
// so a file means the same here and to amtool.
type TimeInterval struct {
	Name   string
	Ranges []timeinterval.TimeInterval
}

// Contains reports whether t is in the interval.
func (ti *TimeInterval) Contains(t time.Time) bool {
	for _, r := range ti.Ranges {
		// As Alertmanager's Intervener does: each range converts to its
		// own location.
		if r.ContainsTime(t.UTC()) {
			return true
		}
	}
	return false
}
