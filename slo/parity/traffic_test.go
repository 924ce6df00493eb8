package parity

import (
	"time"

	"github.com/vigil-otel/vigil/slo/tracker"
)

// The SLO IDs of slo/examples/checkout.yaml, and of testdata/edge.yaml:
// checkout's availability SLO again, under another service, whose traffic
// adds one short burst on day 0 (see edgeBurst).
const (
	availabilityID = "checkout/availability"
	latencyID      = "checkout/latency"
	edgeID         = "checkout-edge/availability"
)

const (
	// tick is both the replay tick and the scrape interval: the counter
	// samples Prometheus gets are the tracker's cumulative counts at the
	// end of every tick, as a scrape of the connector would read them.
	tick = 30 * time.Second
	// step is the evaluation interval of both sides: the generated
	// groups' interval for a 30-day SLO (rules.DefaultMaxInterval).
	step = time.Minute
	// days of simulated traffic. Four keep every pattern change at least
	// a day away from the 3d window's trailing edge (see doc.go).
	days = 4
)

// simStart is a Monday at UTC midnight, so that day and hour arithmetic
// below is plain and every bucket of the tracker starts on it.
var simStart = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// requestsPerTick is the diurnal request rate per 30s tick, by UTC hour.
// Every value is a multiple of 1000, so that each error ratio below gives
// whole events per tick.
var requestsPerTick = [24]uint64{
	1000, 1000, 1000, 1000, 1000, 1000, 2000, 2000, // 00-07
	3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, // 08-15
	3000, 3000, 2000, 2000, 2000, 2000, 1000, 1000, // 16-23
}

// incident is a stretch (from, to] of simulated time, as offsets from
// simStart, with its own traffic.
type incident struct {
	what     string
	from, to time.Duration
	// errorsPerK and slowPerK replace the background ratios (failed and
	// slow requests per 1000) when non-zero.
	errorsPerK, slowPerK uint64
	// silent: no request at all. lone: one request a minute, every
	// other one failing.
	silent, lone bool
}

func at(day, hour, minute int) time.Duration {
	return time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute
}

// Day 0 is background only: the 3d window's trailing edge crosses day 0
// during the comparison, and steady traffic there keeps the tracker's
// coarse (30m) bucket interpolation exact (see doc.go).
var incidents = []incident{
	// Slow requests at a latency burn rate of 3 for two hours.
	{what: "latency degradation", from: at(1, 8, 0), to: at(1, 10, 0), slowPerK: 30},
	// 5% errors, burn rate 50 over 30 minutes: the 1h/5m pair (14.4)
	// pages; the 3d/6h ticket condition also holds, is inhibited while
	// the page fires, then held back as the paged burst's until it
	// clears: no ticket for this burst.
	{what: "error burst", from: at(1, 14, 0), to: at(1, 14, 30), errorsPerK: 50},
	// 0.4% errors, burn rate 4, for twelve hours: above the 3d/6h ticket
	// pair (1), below every page pair (6 and 14.4).
	{what: "elevated errors", from: at(2, 6, 0), to: at(2, 18, 0), errorsPerK: 4},
	// A maintenance gap without traffic, then four lone requests, two of
	// them failing: 5m and 1h burn rates of 500, but fewer than MinEvents
	// (10) in the 1h window, so the guard holds the page back.
	{what: "maintenance gap", from: at(3, 2, 0), to: at(3, 3, 30), silent: true},
	{what: "lone failures", from: at(3, 3, 30), to: at(3, 3, 34), lone: true},
	{what: "maintenance gap", from: at(3, 3, 34), to: at(3, 4, 0), silent: true},
	// A latency spike: 20% slow for 15 minutes.
	{what: "latency spike", from: at(3, 11, 0), to: at(3, 11, 15), slowPerK: 200},
}

// edgeBurst is 5% errors for ten minutes inside one of the tracker's 30m
// buckets (20:00-20:30 on day 0), on the edge SLO only. The 3d window's
// trailing edge crosses it on day 3, where the tracker interpolates that
// bucket as if its errors were spread over all 30 minutes.
var edgeBurst = incident{what: "edge burst", from: at(0, 20, 10), to: at(0, 20, 20), errorsPerK: 50}

// traffic is the one source of both feeds: the tracker records it tick by
// tick and the counter samples for Prometheus are its running sums. It
// returns the requests, failed requests and slow requests of the tick that
// ends at t.
func traffic(t time.Time) (total, failed, slow uint64) {
	off := t.Sub(simStart)
	// A tick's requests belong to the hour the tick lies in: the tick
	// ending at 01:00:00 is the last of hour 0.
	total = requestsPerTick[t.Add(-tick).Hour()]
	// Background: one failure a minute (on the :30 tick), a burn rate
	// between 0.17 and 0.5; 0.5% slow, a latency burn rate of 0.5. Both
	// are the same in every minute of an hour.
	if t.Second() == 30 {
		failed = 1
	}
	slow = total * 5 / 1000
	for _, in := range incidents {
		if off <= in.from || off > in.to {
			continue
		}
		switch {
		case in.silent:
			return 0, 0, 0
		case in.lone:
			if t.Second() != 0 {
				return 0, 0, 0
			}
			return 1, uint64(t.Minute() % 2), 0
		}
		if in.errorsPerK > 0 {
			failed = total * in.errorsPerK / 1000
		}
		if in.slowPerK > 0 {
			slow = total * in.slowPerK / 1000
		}
	}
	return total, failed, slow
}

// replayEvents turns one tick of traffic into the tracker's events: the
// same requests, classified by each SLO of checkout.yaml.
func replayEvents(t time.Time) []tracker.ReplayEvent {
	total, failed, slow := traffic(t)
	if total == 0 {
		return nil
	}
	edgeFailed := failed
	if off := t.Sub(simStart); off > edgeBurst.from && off <= edgeBurst.to {
		edgeFailed = total * edgeBurst.errorsPerK / 1000
	}
	return []tracker.ReplayEvent{
		{SLOID: availabilityID, Good: total - failed, Bad: failed},
		{SLOID: latencyID, Good: total - slow, Bad: slow},
		{SLOID: edgeID, Good: total - edgeFailed, Bad: edgeFailed},
	}
}
