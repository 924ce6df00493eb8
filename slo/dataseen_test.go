package slo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestDataSeen: a budget figure says how much data it comes from when
// that is less than nine tenths of the SLO's period, in the unit a reader
// needs, and nothing once the data covers (nearly) all of it.
func TestDataSeen(t *testing.T) {
	period := 30 * 24 * time.Hour
	at := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		covered time.Duration
		want    string
	}{
		{10 * time.Second, "over the 1m of data seen of its 30d window"},
		{2*time.Minute + 5*time.Second, "over the 2m of data seen of its 30d window"},
		{95 * time.Minute, "over the 1h35m of data seen of its 30d window"},
		{5*time.Hour + 20*time.Minute, "over the 5h of data seen of its 30d window"},
		{4*24*time.Hour + 3*time.Hour, "over the 4d of data seen of its 30d window"},
		{26 * 24 * time.Hour, "over the 26d of data seen of its 30d window"},
		{27*24*time.Hour - time.Minute, "over the 27d of data seen of its 30d window"},
		{27 * 24 * time.Hour, ""}, // nine tenths of the period
		{30 * 24 * time.Hour, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, DataSeen(period, at, at.Add(-tt.covered)), "covered %v", tt.covered)
	}
	assert.Empty(t, DataSeen(period, at, time.Time{}), "unknown: no event")
	assert.Empty(t, DataSeen(period, at, at.Add(time.Minute)), "data since after the figure: a clock gone back")
	assert.Equal(t, "over the 3h of data seen of its 1w window", DataSeen(7*24*time.Hour, at, at.Add(-3*time.Hour)))
}
