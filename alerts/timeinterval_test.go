package alerts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeIntervalContains(t *testing.T) {
	cfg, err := ParseConfig("ti.yml", []byte(`
receivers: [{name: r}]
route: {receiver: r}
time_intervals:
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/Paris
  - name: long-weekend
    time_intervals:
      - weekdays: ['friday:saturday', 'sunday:monday']
  - name: month-end-freeze
    time_intervals:
      - days_of_month: ['-2:-1', '1']
        months: ['november:december', '2']
        years: ['2026']
  - name: nights
    time_intervals:
      - times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '06:00'}]
`))
	require.NoError(t, err)
	utc := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	// 2026-11-23 is a Monday; Paris is UTC+1 in November.
	tests := []struct {
		interval string
		at       time.Time
		want     bool
	}{
		{"office", utc(23, 8, 0), true},
		{"office", utc(23, 7, 59), false},
		{"office", utc(23, 15, 59), true},
		{"office", utc(23, 16, 0), false},
		{"office", utc(22, 10, 0), false},
		{"long-weekend", utc(20, 12, 0), true},
		{"long-weekend", utc(23, 23, 59), true},
		{"long-weekend", utc(24, 0, 0), false},
		{"long-weekend", utc(26, 12, 0), false},
		{"month-end-freeze", utc(29, 0, 0), true},
		{"month-end-freeze", utc(28, 23, 59), false},
		{"month-end-freeze", utc(1, 12, 0), true},
		{"month-end-freeze", utc(2, 12, 0), false},
		{"month-end-freeze", time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC), true},
		{"month-end-freeze", time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC), false},
		{"month-end-freeze", time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), false},
		{"month-end-freeze", time.Date(2027, 11, 30, 0, 0, 0, 0, time.UTC), false},
		{"nights", utc(24, 23, 30), true},
		{"nights", utc(24, 5, 59), true},
		{"nights", utc(24, 6, 0), false},
		{"nights", utc(24, 21, 59), false},
	}
	for _, tt := range tests {
		t.Run(tt.interval+" "+tt.at.Format(time.RFC3339), func(t *testing.T) {
			assert.Equal(t, tt.want, cfg.TimeIntervals[tt.interval].Contains(tt.at))
		})
	}
}

// TestWrapAroundWeekdaysRefused: Alertmanager's weeks start on Sunday and it
// refuses a weekday range that wraps around the week end, so Vigil, which
// parses with Alertmanager's own package, refuses it too (it once accepted
// it, and a file it took was one amtool refused).
func TestWrapAroundWeekdaysRefused(t *testing.T) {
	for _, r := range []string{"friday:monday", "saturday:sunday"} {
		t.Run(r, func(t *testing.T) {
			_, err := ParseConfig("ti.yml", []byte(`
receivers: [{name: r}]
route: {receiver: r, mute_time_intervals: [w]}
time_intervals: [{name: w, time_intervals: [{weekdays: ['`+r+`']}]}]
`))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "ti.yml:4:57: weekdays: start day cannot be before end day")
		})
	}
}
