package slo

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// VersionSloth is the `version` of Sloth's spec format
// (https://sloth.dev/specs/default/). Its SLIs are PromQL: events
// (error_query and total_query, with {{.window}}) or raw (an
// error_ratio_query); plugins are not supported. Sloth has no per-SLO
// window; its default period, 30 days, is used. A raw ratio becomes a
// PromQLSLI whose TotalQuery is "1", so that error/total is the ratio.
const VersionSloth = "prometheus/v1"

// slothPeriod is Sloth's default SLO period.
const slothPeriod = 30 * 24 * time.Hour

func parseSloth(p *problems, doc *yaml.Node) *Spec {
	f := p.fields(doc, "Sloth spec", "version", "service", "labels", "slos")
	spec := &Spec{File: p.file, Service: p.str(f["service"], "service")}
	if spec.Service == "" {
		p.add(doc, "spec needs a service")
	}
	common := p.labels(f["labels"], "labels")
	for _, item := range p.seq(f["slos"], "slos") {
		sf := p.fields(item, "slo", "name", "objective", "description", "labels", "sli", "alerting")
		s := SLO{
			Name:        p.name(sf["name"], "SLO name"),
			Service:     spec.Service,
			Description: p.str(sf["description"], "description"),
			Objective:   p.objective(sf["objective"]),
			Window:      Window{Rolling: slothPeriod},
			Labels:      mergeLabels(common, p.labels(sf["labels"], "labels")),
			Pos:         p.pos(item),
		}
		if s.Name == "" {
			p.add(item, "SLO needs a name")
		}
		if sf["objective"] == nil {
			p.add(item, "SLO %q needs an objective", s.Name)
		}
		s.SLI = p.slothSLI(sf["sli"], item)
		s.Alerting = p.slothAlerting(sf["alerting"], spec.Service, s.Name)
		spec.SLOs = append(spec.SLOs, s)
	}
	if len(spec.SLOs) == 0 {
		p.add(doc, "spec has no SLOs: list them under slos")
	}
	checkSpecDuplicates(p, spec)
	return spec
}

func (p *problems) slothSLI(n, parent *yaml.Node) SLI {
	f := p.fields(n, "sli", "events", "raw", "plugin")
	switch {
	case f["plugin"] != nil:
		p.add(f["plugin"], "Sloth SLI plugins are not supported: write the SLI as events or raw")
	case f["events"] != nil && f["raw"] != nil:
		p.add(n, "sli has both events and raw: choose one")
	case f["events"] != nil:
		ef := p.fields(f["events"], "events", "error_query", "total_query")
		q := &PromQLSLI{ErrorQuery: p.promQL(ef["error_query"], "error_query"), TotalQuery: p.promQL(ef["total_query"], "total_query")}
		if ef["error_query"] == nil || ef["total_query"] == nil {
			p.add(f["events"], "events needs error_query and total_query")
		}
		return SLI{PromQL: q}
	case f["raw"] != nil:
		rf := p.fields(f["raw"], "raw", "error_ratio_query")
		if rf["error_ratio_query"] == nil {
			p.add(f["raw"], "raw needs error_ratio_query")
		}
		return SLI{PromQL: &PromQLSLI{ErrorQuery: p.promQL(rf["error_ratio_query"], "error_ratio_query"), TotalQuery: "1"}}
	default:
		p.add(parent, "SLO needs an sli: events or raw")
	}
	return SLI{}
}

// slothAlerting maps Sloth's alerting: one alert name for both severities,
// told apart by the severity label; each alert enabled unless disabled.
func (p *problems) slothAlerting(n *yaml.Node, service, slo string) Alerting {
	var a Alerting
	if n == nil {
		return a
	}
	f := p.fields(n, "alerting", "name", "labels", "annotations", "page_alert", "ticket_alert")
	name := p.str(f["name"], "name")
	labels := p.labels(f["labels"], "labels")
	annotations := p.stringMap(f["annotations"], "annotations")
	policy := func(n *yaml.Node, severity string) *AlertPolicy {
		pf := p.fields(n, severity+" alert", "disable", "labels", "annotations")
		if p.bool(pf["disable"], "disable") {
			return nil
		}
		pol := &AlertPolicy{
			Name:        name,
			Labels:      mergeLabels(labels, p.labels(pf["labels"], "labels")),
			Annotations: mergeLabels(annotations, p.stringMap(pf["annotations"], "annotations")),
		}
		if pol.Name == "" {
			pol.Name = DefaultAlertName(service, slo, severity)
		}
		return pol
	}
	a.Page = policy(f["page_alert"], conventions.SeverityPage)
	a.Ticket = policy(f["ticket_alert"], conventions.SeverityTicket)
	return a
}
