package anomaly

import "time"

// Slot resolutions. A daily slot of 15 minutes keeps the shape of a day
// (a square wave's edge blurs over one slot at most) in 96 slots; the weekly
// profile only corrects the daily one per weekday-hour, so an hour is enough
// and keeps the whole weekly profile at 168 slots.
const (
	dailySlots      = 96
	weeklySlots     = 168
	dailySlotWidth  = 24 * time.Hour / dailySlots
	weeklySlotWidth = 7 * 24 * time.Hour / weeklySlots
)

// slot is one bucket of a seasonal profile. Fields are float32 because the
// profile dominates a series' memory and float32 precision is far finer than
// the noise it models.
type slot struct {
	// offset is the learned deviation of this slot from the level.
	offset float32
	// exposure is the time this slot has seen, in cycles (1 = one full slot
	// width of samples).
	exposure float32
}

// spreadSlot adds a per-slot noise estimate, kept for the daily profile only:
// service noise is larger at peak than at night, and the daily profile is
// where that shows.
type spreadSlot struct {
	slot
	// mad is the mean absolute residual observed in this slot.
	mad float32
}

// trained reports whether the slot has seen (nearly) a whole cycle, so
// that a profile is used from its second cycle on and not while its first
// visit is still averaging. Not exactly 1: float32 sums of sampling
// intervals over a whole slot may fall just short of it.
func (s *slot) trained() bool { return s.exposure >= 0.95 }

// learn moves the slot's offset towards target. The rate is the larger of
// the steady-state rate (memory of `cycles` cycles: steady is
// 1 − exp(−frac/cycles)) and the running-mean rate 1/exposure, so the
// first cycle is learned at once and later cycles blend. frac is the share
// of a slot width this sample covers.
func (s *slot) learn(target, frac, steady float64) float64 {
	if frac <= 0 {
		return 0
	}
	exp := float64(s.exposure) + frac
	rate := steady
	if r := frac / exp; r > rate {
		rate = r
	}
	s.offset += float32(rate * (target - float64(s.offset)))
	if exp > 1e6 {
		exp = 1e6
	}
	s.exposure = float32(exp)
	return rate
}

// slotIndices returns t's daily and weekly slot. Seasonality follows the wall
// clock of the time stamp's own zone, since a day's pattern follows local time.
func slotIndices(t time.Time) (daily, weekly int) {
	_, off := t.Zone()
	sec := t.Unix() + int64(off)
	// 1970-01-01 was a Thursday; shift so index 0 is Monday 00:00.
	const week = 7 * 24 * 3600
	weekSec := (sec + 3*24*3600) % week
	if weekSec < 0 {
		weekSec += week
	}
	daySec := weekSec % (24 * 3600)
	return int(daySec / int64(dailySlotWidth/time.Second)), int(weekSec / int64(weeklySlotWidth/time.Second))
}
