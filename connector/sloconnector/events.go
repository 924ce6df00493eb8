package sloconnector

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/connector/sloconnector/internal/metadata"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/tracker"
)

// annotationAttrPrefix carries an alert policy's annotations on events.
// It lies in the alert. namespace, so the alert engine keeps them as
// annotations and they never change the alert's identity.
const annotationAttrPrefix = "alert.annotation."

// alertEvents turns alert transitions into alert events and remembers
// which alerts fire, by fingerprint, so that it can send firing alerts
// again (downstream staleness must not resolve them), and reconcile after
// a restart or a reload: an alert that fires without a transition having
// said so is announced, one that stopped firing unseen is resolved.
type alertEvents struct {
	resend time.Duration
	firing map[string]*firingAlert
	// owns, when set, tells the services this evaluator of a fleet owns
	// (see fleet.go): the firing alerts of other services are neither
	// repeated nor resolved here, whatever the statuses say.
	owns func(service string) bool
}

// firingAlert is an alert the connector has announced as firing.
type firingAlert struct {
	// Labels are the identity attributes of the alert's events, enough to
	// resolve it after its SLO is gone.
	Labels map[string]string `json:"labels"`
	// Since is when the alert started firing, the alert.starts_at of a
	// resolve that finds it gone from the statuses (its SLO removed).
	Since    time.Time `json:"since"`
	LastSent time.Time `json:"last_sent"`
}

func newAlertEvents(resend time.Duration) *alertEvents {
	if resend <= 0 {
		resend = defaultAlertResendInterval
	}
	return &alertEvents{resend: resend, firing: map[string]*firingAlert{}}
}

// alertEvent is the content of one event before it becomes a log record.
type alertEvent struct {
	labels      map[string]string // identity attributes
	fingerprint string
	state       string
	body        string
	at          time.Time
	// startsAt is when the alert started firing (alert.starts_at): the
	// same on every re-send of one firing and on the resolve that ends
	// it; zero when not known.
	startsAt time.Time
	// details are present when the SLO is known.
	def                         *slo.SLO
	severity                    string
	window                      slo.AlertWindow
	burnLong, burnShort, budget float64
	traceIDs                    string // alert.trace_ids, for firing alerts
}

// build returns the events of an evaluation at: one per transition, the
// reconciliation of the firing set with the statuses, and the periodic
// repeats of firing alerts.
// traceIDs gives the alert.trace_ids of a firing series (see
// ruleset.traceIDs); nil means none.
func (e *alertEvents) build(statuses []tracker.Status, transitions []tracker.Transition, links linkTemplates, traceIDs func(sloID string, group []string) string, at, observed time.Time) plog.Logs {
	var out []alertEvent
	for i := range transitions {
		tr := &transitions[i]
		ev := newAlertEvent(tr.SLO, tr.Group, tr.Severity, tr.State, tr.At, tr.Window, tr.BurnRateLong, tr.BurnRateShort, tr.ErrorBudgetRemaining, tr.DataSince)
		ev.startsAt = tr.Since
		if tr.State == conventions.StateFiring && traceIDs != nil {
			ev.traceIDs = traceIDs(tr.SLOID, tr.Group)
		}
		out = append(out, ev)
		if tr.State == conventions.StateFiring {
			e.firing[ev.fingerprint] = &firingAlert{Labels: ev.labels, Since: tr.At, LastSent: at}
		} else {
			delete(e.firing, ev.fingerprint)
		}
	}
	firingNow := map[string]bool{}
	for i := range statuses {
		st := &statuses[i]
		for _, a := range st.Alerts {
			if !a.Firing {
				continue
			}
			ev := newAlertEvent(st.SLO, st.Group, a.Severity, conventions.StateFiring, at, a.Window, a.BurnRateLong, a.BurnRateShort, st.ErrorBudgetRemaining, st.DataSince)
			ev.startsAt = a.Since
			if traceIDs != nil {
				ev.traceIDs = traceIDs(st.SLOID, st.Group)
			}
			firingNow[ev.fingerprint] = true
			fa := e.firing[ev.fingerprint]
			switch {
			case fa == nil:
				// Firing without a transition here: restored from a
				// checkpoint taken before the event went out, or its
				// identity (labels) changed in a reload.
				e.firing[ev.fingerprint] = &firingAlert{Labels: ev.labels, Since: a.Since, LastSent: at}
				out = append(out, ev)
			case at.Sub(fa.LastSent) >= e.resend:
				fa.LastSent = at
				out = append(out, ev)
			}
		}
	}
	for _, fp := range slices.Sorted(maps.Keys(e.firing)) {
		if firingNow[fp] {
			continue
		}
		fa := e.firing[fp]
		if e.owns != nil && !e.owns(fa.Labels[conventions.AttrServiceName]) {
			continue
		}
		delete(e.firing, fp)
		out = append(out, alertEvent{
			labels: fa.Labels, fingerprint: fp, state: conventions.StateResolved, at: at, startsAt: fa.Since,
			body: fmt.Sprintf("%s: %s alert resolved", fa.Labels[conventions.AttrServiceName]+"/"+fa.Labels[conventions.AttrSLOName], fa.Labels[conventions.AttrAlertSeverity]),
		})
	}
	ld := plog.NewLogs()
	if len(out) == 0 {
		return ld
	}
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	for i := range out {
		out[i].appendTo(sl.LogRecords(), links, observed)
	}
	return ld
}

// newAlertEvent describes an alert of an SLO series. Its identity (the
// labels) is alert.name, alert.severity, alert.source, service.name,
// slo.name, the group_by values under their attribute keys and the SLO's
// and the policy's labels, exactly the attributes the alert-event codec
// makes labels of; the fingerprint is the codec's, so it is the same in
// every process and across restarts.
// dataSince is tracker.Status.DataSince: the budget is computed over the
// events since then, which the summary says when they cover less than the
// SLO's period.
func newAlertEvent(def *slo.SLO, group []string, severity, state string, at time.Time, w slo.AlertWindow, long, short, budget float64, dataSince time.Time) alertEvent {
	policy := def.Alerting.Page
	if severity == conventions.SeverityTicket {
		policy = def.Alerting.Ticket
	}
	name := slo.DefaultAlertName(def.Service, def.Name, severity)
	labels := map[string]string{}
	maps.Copy(labels, def.Labels)
	if policy != nil {
		maps.Copy(labels, policy.Labels)
		if policy.Name != "" {
			name = policy.Name
		}
	}
	for i, v := range group {
		if i < len(def.GroupBy) {
			labels[def.GroupBy[i]] = v
		}
	}
	labels[conventions.AttrAlertName] = name
	labels[conventions.AttrAlertSeverity] = severity
	labels[conventions.AttrAlertSource] = conventions.SourceSLO
	labels[conventions.AttrServiceName] = def.Service
	labels[conventions.AttrSLOName] = def.Name

	ev := alertEvent{
		labels: labels, state: state, at: at, def: def, severity: severity,
		window: w, burnLong: long, burnShort: short, budget: budget,
	}
	ev.fingerprint = alertevent.Fingerprint(labels)
	ev.body = summary(def, group, severity, state, w, long, short, budget, seen(def, at, dataSince))
	return ev
}

// seen is slo.DataSeen for an event's summary, after the budget figure:
// ", over the 2m of data seen of its 30d window", or empty.
func seen(def *slo.SLO, at, dataSince time.Time) string {
	if s := slo.DataSeen(def.Window.Period(), at, dataSince); s != "" {
		return ", " + s
	}
	return ""
}

// summary is the one-line human summary of an event, its body. seen is
// the output of seen, after the budget figure.
func summary(def *slo.SLO, group []string, severity, state string, w slo.AlertWindow, long, short, budget float64, seen string) string {
	var b strings.Builder
	b.WriteString(def.Service + "/" + def.Name)
	if len(group) > 0 {
		b.WriteString(" {")
		for i, v := range group {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(def.GroupBy) {
				b.WriteString(def.GroupBy[i] + "=")
			}
			b.WriteString(v)
		}
		b.WriteString("}")
	}
	rates := burnRates(w, long, short)
	if state == conventions.StateFiring {
		fmt.Fprintf(&b, ": %s: error budget burning at %s (threshold %gx); objective %g%%, %.1f%% of the budget left%s",
			severity, rates, w.BurnRate, def.Objective, budget*100, seen)
	} else {
		fmt.Fprintf(&b, ": %s alert resolved; burn rate now %s; %.1f%% of the budget left%s",
			severity, rates, budget*100, seen)
	}
	return b.String()
}

// burnRates reads out the burn rates of an alert window: "14.4x over 1h
// and 20x over 5m", or "14.4x over 1h" for a single-window row (an OpenSLO
// condition), whose two windows are one.
func burnRates(w slo.AlertWindow, long, short float64) string {
	if w.Short == w.Long {
		return fmt.Sprintf("%.3gx over %s", long, slo.FormatDuration(w.Long))
	}
	return fmt.Sprintf("%.3gx over %s and %.3gx over %s", long, slo.FormatDuration(w.Long), short, slo.FormatDuration(w.Short))
}

// appendTo writes the event as a log record with the attributes of
// DESIGN.md's "Alert events", through the alert-event codec.
func (ev *alertEvent) appendTo(records plog.LogRecordSlice, links linkTemplates, observed time.Time) {
	lr := alertevent.Append(records, alertevent.Event{
		Identity: ev.labels, State: ev.state, Summary: ev.body, Time: ev.at, StartsAt: ev.startsAt, Observed: observed,
	})
	attrs := lr.Attributes()
	def := ev.def
	if def == nil {
		return // a resolution of an alert whose SLO is gone: identity only
	}
	attrs.PutDouble(conventions.AttrSLOObjective, objectiveRatio(def))
	attrs.PutDouble(conventions.AttrSLOBurnRateLong, ev.burnLong)
	attrs.PutDouble(conventions.AttrSLOBurnRateShort, ev.burnShort)
	if ev.window.Long > 0 {
		attrs.PutStr(conventions.AttrSLOWindowLong, slo.FormatDuration(ev.window.Long))
		attrs.PutStr(conventions.AttrSLOWindowShort, slo.FormatDuration(ev.window.Short))
	}
	attrs.PutDouble(conventions.AttrSLOErrorBudgetRemaining, ev.budget)
	if def.Description != "" {
		// Whoever is paged reads what the objective promises where the
		// page shows its details (PagerDuty's custom_details).
		attrs.PutStr(conventions.AttrSLODescription, def.Description)
	}
	if ev.traceIDs != "" {
		attrs.PutStr(conventions.AttrAlertTraceIDs, ev.traceIDs)
	}
	if u := link(def.Alerting.RunbookURL, links.runbook, def, ev.severity); u != "" {
		attrs.PutStr(conventions.AttrAlertRunbookURL, u)
	}
	if u := link(def.Alerting.DashboardURL, links.dashboard, def, ev.severity); u != "" {
		attrs.PutStr(conventions.AttrAlertDashboardURL, u)
	}
	policy := def.Alerting.Page
	if ev.severity == conventions.SeverityTicket {
		policy = def.Alerting.Ticket
	}
	if policy != nil {
		for _, k := range slices.Sorted(maps.Keys(policy.Annotations)) {
			attrs.PutStr(annotationAttrPrefix+k, policy.Annotations[k])
		}
	}
}

// link is the SLO's own URL, or else the configured template expanded
// for the SLO, as `vigil slo rules` does for its annotations.
func link(own string, tmpl *template.Template, def *slo.SLO, severity string) string {
	if own != "" || tmpl == nil {
		return own
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, struct{ Service, SLO, Severity string }{def.Service, def.Name, severity}); err != nil {
		return ""
	}
	return b.String()
}
