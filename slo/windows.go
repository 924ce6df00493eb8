package slo

import (
	"slices"
	"time"

	"github.com/vigil-otel/vigil/conventions"
)

// burnRateWindow30d is one row of the multiwindow multi-burn-rate table of
// the SRE Workbook (chapter 5, "Alerting on SLOs"), stated for a 30-day SLO.
type burnRateWindow30d struct {
	severity string
	// budgetConsumed is the fraction of the whole error budget that must
	// burn within the long window for the alert to fire.
	budgetConsumed float64
	long, short    time.Duration
}

// referencePeriod is the SLO period the table is written for.
const referencePeriod = 30 * 24 * time.Hour

// burnRateTable is the SRE Workbook's recommendation, kept as data. The
// short window is 1/12 of the long one, as the Workbook advises.
//
// One problem, one incident: the ticket rows' windows are longer than the
// page rows', so a burst that pages raises the ticket's condition too, and
// keeps it up for hours after the page resolves. The collector's
// evaluation (slo/tracker, "One problem, one incident") opens no ticket
// for a burst that paged: a ticket not firing when the page fires stays
// quiet until its own condition has cleared with no page firing; a slow
// burn after that opens a ticket. A ticket already firing when the page
// starts keeps firing. The hold is state, carried in checkpoints; the
// Prometheus rules (slo/rules) cannot hold it and only inhibit the ticket
// while the page's condition holds.
var burnRateTable = []burnRateWindow30d{
	{conventions.SeverityPage, 0.02, time.Hour, 5 * time.Minute},          // 2% of budget in 1h: burn rate 14.4
	{conventions.SeverityPage, 0.05, 6 * time.Hour, 30 * time.Minute},     // 5% of budget in 6h: burn rate 6
	{conventions.SeverityTicket, 0.10, 24 * time.Hour, 2 * time.Hour},     // 10% of budget in 1d: burn rate 3
	{conventions.SeverityTicket, 0.10, 3 * 24 * time.Hour, 6 * time.Hour}, // 10% of budget in 3d: burn rate 1
}

// AlertWindow is one multiwindow burn-rate condition: the alert of
// Severity fires while the burn rate over both Long and Short exceeds
// BurnRate, or reaches it when Inclusive (for For, when set).
type AlertWindow struct {
	Severity    string
	Long, Short time.Duration
	BurnRate    float64
	// Inclusive: a burn rate equal to BurnRate holds too (OpenSLO's op
	// gte); otherwise it must be above it, as in the SRE Workbook's,
	// Sloth's and Pyrra's rules.
	Inclusive bool `json:",omitempty"`
	// For is how long the condition must hold before the alert fires, as
	// Prometheus's `for:`; zero fires at once.
	For time.Duration
}

// Holds reports whether burn, a burn rate over one of the window's
// lengths, meets its threshold.
func (w AlertWindow) Holds(burn float64) bool {
	if w.Inclusive {
		return burn >= w.BurnRate
	}
	return burn > w.BurnRate
}

// Op is the comparison of the burn rate with BurnRate, as OpenSLO and
// native specs write it: gte when Inclusive, else gt.
func (w AlertWindow) Op() string {
	if w.Inclusive {
		return "gte"
	}
	return "gt"
}

// AlertWindows derives the alert windows for an SLO period from the 30-day
// table. The windows scale with the period (a 7-day SLO pages on 14m/70s
// rather than 1h/5m); the burn-rate factor is budgetConsumed × period / long,
// which the scaling leaves unchanged, so every period pages at 14.4, 6, 3
// and 1. Scaled windows are rounded to whole seconds so that they render as
// Prometheus durations.
func AlertWindows(period time.Duration) []AlertWindow {
	scale := float64(period) / float64(referencePeriod)
	out := make([]AlertWindow, 0, len(burnRateTable))
	for _, row := range burnRateTable {
		long := scaleDuration(row.long, scale)
		short := scaleDuration(row.short, scale)
		out = append(out, AlertWindow{
			Severity: row.severity,
			Long:     long,
			Short:    short,
			BurnRate: row.budgetConsumed * float64(period) / float64(long),
		})
	}
	return out
}

// BurnRateWindows lists every distinct window AlertWindows uses for the
// period, shortest first: the windows of vigil_slo_burn_rate.
func BurnRateWindows(period time.Duration) []time.Duration {
	return distinctWindows(AlertWindows(period))
}

func distinctWindows(table []AlertWindow) []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	for _, w := range table {
		for _, d := range []time.Duration{w.Short, w.Long} {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

func scaleDuration(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale).Round(time.Second)
}
