package slo

import (
	"fmt"
	"time"
)

// DataSeen words how much data an error-budget figure computed at `at`
// comes from, when its events, those since `since` (the tracker's
// Status.DataSince), cover less than nine tenths of the SLO's period (a
// fresh instance, a new SLO, a series that was quiet): "over the 2m of
// data seen of its 30d window". The budget is computed over the events the
// window holds, as Sloth's and Pyrra's rules compute it over the samples
// Prometheus holds, so -1988% "left" of a 30-day budget two minutes after
// a start is the error ratio of those two minutes, not a month's
// spending; whatever shows the figure (an alert's summary, the console)
// words it with this. Empty when the data covers (nearly) the whole period
// or since is unknown (zero: no event).
func DataSeen(period time.Duration, at, since time.Time) string {
	covered := at.Sub(since)
	if since.IsZero() || covered < 0 || period <= 0 || covered >= period-period/10 {
		return ""
	}
	return fmt.Sprintf("over the %s of data seen of its %s window", roughDuration(covered), FormatDuration(period))
}

// roughDuration writes d to the unit a reader needs: minutes under two
// hours (at least 1m), hours under two days, days beyond.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "1m"
	case d < 2*time.Hour:
		return FormatDuration(d.Round(time.Minute))
	case d < 48*time.Hour:
		return FormatDuration(d.Round(time.Hour))
	}
	return FormatDuration(d.Round(24 * time.Hour))
}
