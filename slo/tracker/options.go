package tracker

import "time"

// Defaults of Options.
const (
	// DefaultLateTolerance accepts events that ended up to five minutes
	// ago: long enough for batching, queueing and export retries between
	// a service and the collector, short enough that a late event still
	// lands inside the Workbook's shortest (5m) window.
	DefaultLateTolerance = 5 * time.Minute
	// DefaultFutureTolerance accepts events that end up to a minute ahead
	// of the collector's clock, the clock skew between hosts that NTP
	// usually leaves.
	DefaultFutureTolerance = time.Minute
)

// Options are the code-only settings of a Tracker. The zero value is usable.
type Options struct {
	// Clock says what time it is when an event is recorded, to tell late
	// and future events from timely ones. Nil means time.Now. Tests and
	// replays set a simulated clock.
	Clock func() time.Time
	// LateTolerance is how long after its end an event is still counted,
	// in the bucket of its end time; older events are refused with
	// ErrTooLate. Zero means DefaultLateTolerance.
	LateTolerance time.Duration
	// FutureTolerance is how far ahead of Clock an event may end; such an
	// event is counted as ending now, as the difference is clock skew.
	// Events further ahead are refused with ErrInFuture. Zero means
	// DefaultFutureTolerance.
	FutureTolerance time.Duration
	// ResolveHoldDown keeps a firing alert firing until its condition has
	// stayed false for this long, to absorb a burn rate that hovers around
	// the threshold. Zero resolves at the first evaluation where no window
	// pair holds, as Prometheus rules without keep_firing_for do.
	ResolveHoldDown time.Duration
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.LateTolerance <= 0 {
		o.LateTolerance = DefaultLateTolerance
	}
	if o.FutureTolerance <= 0 {
		o.FutureTolerance = DefaultFutureTolerance
	}
	if o.ResolveHoldDown < 0 {
		o.ResolveHoldDown = 0
	}
	return o
}
