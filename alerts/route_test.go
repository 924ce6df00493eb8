package alerts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleRouting is the routing file the alertrouter connector's README
// gives as its example.
const exampleRouting = "../examples/alerting/routing.yml"

func TestRouteMatch(t *testing.T) {
	cfg, err := LoadConfig(exampleRouting)
	require.NoError(t, err)
	tests := []struct {
		name   string
		labels map[string]string
		want   []string // receiver@routeID
	}{
		{"no child matches: the root takes it", map[string]string{"alertname": "X"}, []string{"default@0"}},
		{"continue, then the first matching sibling", map[string]string{"source": "slo", "vigil_severity": "page", "service_name": "checkout"}, []string{"audit@0.0", "oncall@0.1"}},
		{"nested route wins over its parent", map[string]string{"source": "slo", "vigil_severity": "page", "service_name": "payments"}, []string{"audit@0.0", "payments@0.1.0"}},
		{"continue route alone falls back to nothing else", map[string]string{"source": "anomaly"}, []string{"audit@0.0"}},
		{"ticket", map[string]string{"vigil_severity": "ticket"}, []string{"tickets@0.2"}},
		{"the tier decides, not the spec's severity", map[string]string{"vigil_severity": "ticket", "severity": "critical"}, []string{"tickets@0.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range cfg.Route.Match(tt.labels) {
				got = append(got, r.Receiver+"@"+r.ID)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRouteInheritance(t *testing.T) {
	cfg, err := LoadConfig(exampleRouting)
	require.NoError(t, err)
	byID := map[string]*Route{}
	cfg.Route.Walk(func(r *Route) { byID[r.ID] = r })
	tests := []struct {
		id                     string
		groupBy                []string
		wait, interval, repeat time.Duration
		mute                   []string
	}{
		{"0", DefaultGroupBy, 10 * time.Second, DefaultGroupInterval, DefaultRepeatInterval, nil},
		{"0.0", []string{GroupByAll}, 10 * time.Second, DefaultGroupInterval, DefaultRepeatInterval, nil},
		{"0.1", DefaultGroupBy, 10 * time.Second, DefaultGroupInterval, time.Hour, nil},
		{"0.1.0", DefaultGroupBy, 0, DefaultGroupInterval, time.Hour, nil},
		{"0.2", []string{"service_name", "slo"}, 10 * time.Second, DefaultGroupInterval, DefaultRepeatInterval, []string{"weekends"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r := byID[tt.id]
			require.NotNil(t, r)
			assert.Equal(t, tt.groupBy, r.GroupBy)
			assert.Equal(t, tt.wait, r.GroupWait)
			assert.Equal(t, tt.interval, r.GroupInterval)
			assert.Equal(t, tt.repeat, r.RepeatInterval)
			assert.Equal(t, tt.mute, r.MuteTimeIntervals)
		})
	}
	assert.Len(t, cfg.InhibitRules, 1, "inhibit_rules left out means the default rule")
	pd, ok := cfg.Receiver("payments")
	require.True(t, ok)
	assert.Equal(t, "payments", pd.Name)
	assert.Equal(t, Position{File: exampleRouting, Line: 20, Column: 11}, pd.Pos, "where the receiver is defined, for checks made outside the library")
	assert.Equal(t, 10*time.Minute, cfg.ResolveTimeout)
}
