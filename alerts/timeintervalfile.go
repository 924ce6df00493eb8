package alerts

import (
	// Time intervals name zones (Europe/Paris); embedding the zone database
	// keeps them valid in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/prometheus/alertmanager/timeinterval"
	"gopkg.in/yaml.v3"
)

func (d *decoder) timeIntervals(n *yaml.Node) map[string]*TimeInterval {
	out := map[string]*TimeInterval{}
	d.Each(n, "time_intervals", func(item *yaml.Node) {
		ti := &TimeInterval{}
		var nameNode *yaml.Node
		if !d.Mapping(item, "time interval", map[string]func(*yaml.Node){
			"name": func(v *yaml.Node) { nameNode, ti.Name = v, d.Str(v, "time interval name") },
			"time_intervals": func(v *yaml.Node) {
				d.Each(v, "time_intervals", func(r *yaml.Node) { ti.Ranges = append(ti.Ranges, d.timeRange(r)) })
			},
		}) {
			return
		}
		switch {
		case nameNode == nil || ti.Name == "":
			d.Add(item, "time interval has no name")
		case out[ti.Name] != nil:
			d.Add(nameNode, "time interval %q defined twice", ti.Name)
		default:
			out[ti.Name] = ti
		}
	})
	return out
}

// timeRange reads one range of a time interval. Each value is parsed and
// checked by Alertmanager's timeinterval types (their UnmarshalYAML), item
// by item, so a problem is reported at the item that has it; only the
// field names are checked here, as Alertmanager's strict decoding does.
func (d *decoder) timeRange(n *yaml.Node) timeinterval.TimeInterval {
	var r timeinterval.TimeInterval
	d.Mapping(n, "time range", map[string]func(*yaml.Node){
		"weekdays": func(v *yaml.Node) {
			r.Weekdays = decodeItems[timeinterval.WeekdayRange](d, v, "weekdays")
		},
		"times": func(v *yaml.Node) {
			r.Times = decodeItems[timeinterval.TimeRange](d, v, "times")
		},
		"days_of_month": func(v *yaml.Node) {
			r.DaysOfMonth = decodeItems[timeinterval.DayOfMonthRange](d, v, "days_of_month")
		},
		"months": func(v *yaml.Node) {
			r.Months = decodeItems[timeinterval.MonthRange](d, v, "months")
		},
		"years": func(v *yaml.Node) {
			r.Years = decodeItems[timeinterval.YearRange](d, v, "years")
		},
		"location": func(v *yaml.Node) {
			var loc timeinterval.Location
			if err := v.Decode(&loc); err != nil {
				d.Add(v, "location: %v", err)
				return
			}
			r.Location = &loc
		},
	})
	return r
}

// decodeItems decodes each item of the list n as a T, reporting every item
// that does not parse.
func decodeItems[T any](d *decoder, n *yaml.Node, what string) []T {
	var out []T
	d.Each(n, what, func(item *yaml.Node) {
		var v T
		if err := item.Decode(&v); err != nil {
			d.Add(item, "%s: %v", what, err)
			return
		}
		out = append(out, v)
	})
	return out
}
