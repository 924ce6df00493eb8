package sloconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// TestSummaryWindows: a multiwindow row reads out both burn rates; a
// single-window row (an OpenSLO condition, long and short one window)
// reads out its one rate once, not "over 1h and … over 1h".
func TestSummaryWindows(t *testing.T) {
	def := &slo.SLO{Service: "checkout", Name: "availability", Objective: 99.9}
	multi := slo.AlertWindow{Long: time.Hour, Short: 5 * time.Minute, BurnRate: 14.4}
	single := slo.AlertWindow{Long: time.Hour, Short: time.Hour, BurnRate: 14.4}

	assert.Equal(t,
		"checkout/availability: page: error budget burning at 20x over 1h and 30x over 5m (threshold 14.4x); objective 99.9%, 50.0% of the budget left",
		summary(def, nil, conventions.SeverityPage, conventions.StateFiring, multi, 20, 30, 0.5, ""))
	assert.Equal(t,
		"checkout/availability: page: error budget burning at 20x over 1h (threshold 14.4x); objective 99.9%, 50.0% of the budget left",
		summary(def, nil, conventions.SeverityPage, conventions.StateFiring, single, 20, 20, 0.5, ""))
	assert.Equal(t,
		"checkout/availability: page alert resolved; burn rate now 2x over 1h; 40.0% of the budget left",
		summary(def, nil, conventions.SeverityPage, conventions.StateResolved, single, 2, 2, 0.4, ""))
}
