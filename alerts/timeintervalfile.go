package alerts

import (
	"strconv"
	"strings"
	"time"
	// Time intervals name zones (Europe/Paris); embedding the zone database
	// keeps them valid in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"
)

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var months = func() map[string]time.Month {
	m := map[string]time.Month{}
	for i := time.January; i <= time.December; i++ {
		m[strings.ToLower(i.String())] = i
	}
	return m
}()

// intRanges reads items "a" or "a:b"; parse reads and checks one bound,
// ordered checks that a range's bounds are in order, and hint extends the
// message when they are not.
func (d *decoder) intRanges(n *yaml.Node, what string, parse func(string) (int, bool), ordered func(a, b int) bool, hint string) []IntRange {
	var out []IntRange
	d.seq(n, what, func(item *yaml.Node) {
		s, ok := d.scalar(item, what+" item")
		if !ok {
			return
		}
		start, end, isRange := strings.Cut(s, ":")
		if !isRange {
			end = start
		}
		a, okA := parse(strings.TrimSpace(start))
		b, okB := parse(strings.TrimSpace(end))
		switch {
		case !okA || !okB:
			d.errorf(item, "%s: invalid value or range %q", what, s)
		case !ordered(a, b):
			d.errorf(item, "%s: range %q ends before it starts%s", what, s, hint)
		default:
			out = append(out, IntRange{Start: a, End: b})
		}
	})
	return out
}

func (d *decoder) timeIntervals(n *yaml.Node) map[string]*TimeInterval {
	out := map[string]*TimeInterval{}
	d.seq(n, "time_intervals", func(item *yaml.Node) {
		ti := &TimeInterval{}
		var nameNode *yaml.Node
		if !d.mapping(item, "time interval", map[string]func(*yaml.Node){
			"name": func(v *yaml.Node) { nameNode, ti.Name = v, d.str(v, "time interval name") },
			"time_intervals": func(v *yaml.Node) {
				d.seq(v, "time_intervals", func(r *yaml.Node) { ti.Ranges = append(ti.Ranges, d.timeRange(r)) })
			},
		}) {
			return
		}
		switch {
		case nameNode == nil || ti.Name == "":
			d.errorf(item, "time interval has no name")
		case out[ti.Name] != nil:
			d.errorf(nameNode, "time interval %q defined twice", ti.Name)
		default:
			out[ti.Name] = ti
		}
	})
	return out
}

func (d *decoder) timeRange(n *yaml.Node) TimeRange {
	var r TimeRange
	d.mapping(n, "time range", map[string]func(*yaml.Node){
		"weekdays": func(v *yaml.Node) {
			d.seq(v, "weekdays", func(item *yaml.Node) {
				s, ok := d.scalar(item, "weekday")
				if !ok {
					return
				}
				start, end, isRange := strings.Cut(strings.ToLower(s), ":")
				if !isRange {
					end = start
				}
				ws, okS := weekdays[start]
				we, okE := weekdays[end]
				if !okS || !okE {
					d.errorf(item, "invalid weekday or range %q (want e.g. monday or monday:friday)", s)
					return
				}
				r.Weekdays = append(r.Weekdays, WeekdayRange{Start: ws, End: we})
			})
		},
		"times": func(v *yaml.Node) {
			d.seq(v, "times", func(item *yaml.Node) {
				var c ClockRange
				var hasStart, hasEnd bool
				valid := true
				clock := func(dst *time.Duration, seen *bool) func(*yaml.Node) {
					return func(t *yaml.Node) {
						*seen = true
						s, ok := d.scalar(t, "time of day")
						if !ok {
							valid = false
							return
						}
						x, err := parseClock(s)
						if err != nil {
							d.errorf(t, "%v", err)
							valid = false
						}
						*dst = x
					}
				}
				if !d.mapping(item, "times item", map[string]func(*yaml.Node){
					"start_time": clock(&c.Start, &hasStart),
					"end_time":   clock(&c.End, &hasEnd),
				}) {
					return
				}
				switch {
				case !hasStart || !hasEnd:
					d.errorf(item, "times item needs start_time and end_time")
				case valid && c.End <= c.Start:
					d.errorf(item, "end_time must be after start_time")
				}
				r.Times = append(r.Times, c)
			})
		},
		"days_of_month": func(v *yaml.Node) {
			r.DaysOfMonth = d.intRanges(v, "days_of_month", func(s string) (int, bool) {
				n, err := strconv.Atoi(s)
				return n, err == nil && n != 0 && n >= -31 && n <= 31
			}, func(a, b int) bool { return (a < 0) == (b < 0) && a <= b }, " (or mixes days from the start and from the end)")
		},
		"months": func(v *yaml.Node) {
			r.Months = d.intRanges(v, "months", func(s string) (int, bool) {
				if m, ok := months[strings.ToLower(s)]; ok {
					return int(m), true
				}
				n, err := strconv.Atoi(s)
				return n, err == nil && n >= 1 && n <= 12
			}, func(a, b int) bool { return a <= b }, "")
		},
		"years": func(v *yaml.Node) {
			r.Years = d.intRanges(v, "years", func(s string) (int, bool) {
				n, err := strconv.Atoi(s)
				return n, err == nil && n > 0
			}, func(a, b int) bool { return a <= b }, "")
		},
		"location": func(v *yaml.Node) {
			s, ok := d.scalar(v, "location")
			if !ok {
				return
			}
			loc, err := time.LoadLocation(s)
			if err != nil {
				d.errorf(v, "unknown location %q", s)
				return
			}
			r.Location = loc
		},
	})
	return r
}
