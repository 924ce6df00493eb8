package alerts

import "time"

// TimeInterval is a named set of time ranges, used by routes as maintenance
// windows (mute_time_intervals) or business hours (active_time_intervals).
// A time is in the interval when it is in any of its ranges.
type TimeInterval struct {
	Name   string
	Ranges []TimeRange
}

// TimeRange selects times by weekday, time of day, day of month, month and
// year in a location, as Alertmanager's time intervals do. A time is in the
// range when every non-empty field contains it; an empty field selects
// everything, so a range with only Weekdays covers those whole days.
type TimeRange struct {
	Weekdays []WeekdayRange
	Times    []ClockRange
	// DaysOfMonth are inclusive ranges of days; negative days count from
	// the end of the month (-1 is the last day).
	DaysOfMonth []IntRange
	// Months are inclusive ranges of months, 1 (January) to 12.
	Months []IntRange
	// Years are inclusive ranges of years.
	Years []IntRange
	// Location is the time zone the range is read in; nil means UTC.
	Location *time.Location
}

// WeekdayRange is an inclusive range of weekdays; Start may be after End to
// wrap around the week ("saturday:monday").
type WeekdayRange struct{ Start, End time.Weekday }

// IntRange is an inclusive range of days, months or years.
type IntRange struct{ Start, End int }

// ClockRange is the time of day from Start (inclusive) to End (exclusive),
// both counted from midnight; End may be 24h.
type ClockRange struct{ Start, End time.Duration }

// Contains reports whether t is in the interval.
func (ti *TimeInterval) Contains(t time.Time) bool {
	for _, r := range ti.Ranges {
		if r.contains(t) {
			return true
		}
	}
	return false
}

func (r TimeRange) contains(t time.Time) bool {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if len(r.Weekdays) > 0 && !anyMatch(r.Weekdays, func(w WeekdayRange) bool { return w.contains(t.Weekday()) }) {
		return false
	}
	if len(r.Times) > 0 {
		sinceMidnight := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
			time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
		if !anyMatch(r.Times, func(c ClockRange) bool { return sinceMidnight >= c.Start && sinceMidnight < c.End }) {
			return false
		}
	}
	if len(r.DaysOfMonth) > 0 {
		last := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, loc).Day()
		abs := func(d int) int {
			if d < 0 {
				return last + d + 1
			}
			return d
		}
		if !anyMatch(r.DaysOfMonth, func(d IntRange) bool { return t.Day() >= abs(d.Start) && t.Day() <= abs(d.End) }) {
			return false
		}
	}
	if len(r.Months) > 0 && !anyMatch(r.Months, func(m IntRange) bool { return int(t.Month()) >= m.Start && int(t.Month()) <= m.End }) {
		return false
	}
	if len(r.Years) > 0 && !anyMatch(r.Years, func(y IntRange) bool { return t.Year() >= y.Start && t.Year() <= y.End }) {
		return false
	}
	return true
}

func (w WeekdayRange) contains(d time.Weekday) bool {
	if w.Start <= w.End {
		return d >= w.Start && d <= w.End
	}
	return d >= w.Start || d <= w.End
}

func anyMatch[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}
