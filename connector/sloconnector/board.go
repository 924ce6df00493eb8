package sloconnector

import (
	"time"

	"github.com/vigil-otel/vigil/internal/statusboard"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// publish hands the statuses of an evaluation to the alert router's
// console (internal/statusboard): read-only copies, once per evaluation.
func (c *sloConnector) publish(statuses []tracker.Status, at time.Time) {
	out := make([]statusboard.SLO, 0, len(statuses))
	for i := range statuses {
		st := &statuses[i]
		def := st.SLO
		s := statusboard.SLO{
			Name: def.Name, Service: def.Service, Objective: objectiveRatio(def),
			Period: def.Window.Period(), BudgetRemaining: st.ErrorBudgetRemaining, DataSince: st.DataSince, At: at,
			RunbookURL:   link(def.Alerting.RunbookURL, c.links.runbook, def, ""),
			DashboardURL: link(def.Alerting.DashboardURL, c.links.dashboard, def, ""),
		}
		if len(st.Group) > 0 {
			s.Group = make(map[string]string, len(st.Group))
			for j, v := range st.Group {
				if j < len(def.GroupBy) {
					s.Group[def.GroupBy[j]] = v
				}
			}
		}
		for _, w := range st.Windows {
			s.BurnRates = append(s.BurnRates, statusboard.BurnRate{Window: w.Window, Rate: w.BurnRate})
		}
		for _, a := range st.Alerts {
			s.Alerts = append(s.Alerts, statusboard.SLOAlert{Severity: a.Severity, Firing: a.Firing, Since: a.Since})
		}
		out = append(out, s)
	}
	statusboard.Default.PublishSLOs(c.id.String(), out)
}
