package slo

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// VersionSloth is the `version` of Sloth's plain spec format
// (https://sloth.dev/specs/default/); APIVersionSlothKubernetes is the
// `apiVersion` of its Kubernetes form (kind PrometheusServiceLevel), the
// same spec with camelCase keys under `spec`. A file may hold several
// documents, as Sloth's multi-file specs do.
//
// SLIs are PromQL: events (error_query and total_query, with {{.window}})
// or raw (an error_ratio_query). Sloth has no per-SLO window: its
// default period, 30 days, is used, with the SRE Workbook burn-rate table
// Sloth uses for it (the same as Vigil's). Alert labels are the user's:
// `severity`, `routing_key` and team labels reach the alert router as
// written; Vigil's tier is conventions.LabelVigilSeverity, as Sloth's is
// sloth_severity. SLO plugins are honoured where Vigil can do what they
// do (see slothPlugins); SLI plugins, which are Go code, are refused.
const (
	VersionSloth              = "prometheus/v1"
	APIVersionSlothKubernetes = "sloth.slok.dev/v1"
)

// slothKinds are the kinds of APIVersionSlothKubernetes; the managed
// Prometheus one (Google Cloud) has the same spec.
var slothKinds = []string{"PrometheusServiceLevel", "ManagedPrometheusServiceLevel"}

// slothPeriod is Sloth's default SLO period.
const slothPeriod = 30 * 24 * time.Hour

// slothKeys spells the keys of Sloth's two forms: the plain spec's
// snake_case and the Kubernetes resource's camelCase.
type slothKeys struct {
	sloPlugins, errorQuery, totalQuery, errorRatioQuery, pageAlert, ticketAlert string
	// alt accepts the other spelling too where Sloth's own releases
	// differed (raw's errorRatioQuery in plain specs).
	altErrorRatioQuery string
}

var (
	slothPlainKeys = slothKeys{"slo_plugins", "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert", "errorRatioQuery"}
	slothK8sKeys   = slothKeys{"sloPlugins", "errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert", ""}
)

// slothParser reads one Sloth document. In the Kubernetes form unknown
// keys are notes, not errors: the API server prunes them with a warning,
// and Sloth's controller never sees them.
type slothParser struct {
	*problems
	keys slothKeys
	k8s  bool
}

func (sp *slothParser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if !sp.k8s {
		return sp.Fields(n, what, known...)
	}
	return sp.lenientFields(n, what, known...)
}

func parseSloth(p *problems, doc *yaml.Node) []SLO {
	sp := &slothParser{problems: p, keys: slothPlainKeys}
	f := sp.fields(doc, "Sloth spec", "version", "service", "labels", sp.keys.sloPlugins, "slos")
	return sp.spec(doc, f)
}

func parseSlothKubernetes(p *problems, doc *yaml.Node) []SLO {
	sp := &slothParser{problems: p, keys: slothK8sKeys, k8s: true}
	top := sp.fields(doc, "Sloth resource", "apiVersion", "kind", "metadata", "spec", "status")
	if k := sp.Str(top["kind"], "kind"); !slices.Contains(slothKinds, k) {
		sp.Add(top["kind"], "unknown kind %q for apiVersion %s (known: %s)", k, APIVersionSlothKubernetes, strings.Join(slothKinds, ", "))
	}
	if top["spec"] == nil {
		sp.Add(doc, "Sloth resource needs a spec")
		return nil
	}
	f := sp.fields(top["spec"], "spec", "service", "labels", sp.keys.sloPlugins, "slos")
	return sp.spec(top["spec"], f)
}

func (sp *slothParser) spec(at *yaml.Node, f map[string]*yaml.Node) []SLO {
	service := sp.Str(f["service"], "service")
	if service == "" {
		sp.Add(at, "spec needs a service")
	}
	common := sp.labels(f["labels"], "labels")
	groupPlugins := sp.plugins(f[sp.keys.sloPlugins], defaultSlothChain())
	var out []SLO
	for _, item := range sp.Seq(f["slos"], "slos") {
		out = append(out, sp.slo(item, service, common, groupPlugins))
	}
	if len(out) == 0 {
		sp.Add(at, "spec has no SLOs: list them under slos")
	}
	return out
}

func (sp *slothParser) slo(item *yaml.Node, service string, common map[string]string, groupPlugins []slothPlugin) SLO {
	f := sp.fields(item, "slo", "name", "objective", "description", "labels", "plugins", "sli", "alerting")
	s := SLO{
		Name:        sp.name(f["name"], "SLO name"),
		Service:     service,
		Description: sp.Str(f["description"], "description"),
		Objective:   sp.objective(f["objective"]),
		Window:      Window{Rolling: slothPeriod},
		Format:      FormatSloth,
		Pos:         sp.Pos(item),
	}
	if sp.k8s {
		s.Format = FormatSlothKubernetes
	}
	if s.Name == "" {
		sp.Add(item, "SLO needs a name")
	}
	if f["objective"] == nil {
		sp.Add(item, "SLO %q needs an objective", s.Name)
	}
	s.Labels = mergeLabels(common, sp.labels(f["labels"], "labels"))
	s.SLI = sp.sli(f["sli"], item)
	s.Alerting = sp.alerting(f["alerting"], service, s.Name)
	sp.applyPlugins(&s, sp.plugins(f["plugins"], groupPlugins))
	return s
}

func (sp *slothParser) sli(n, parent *yaml.Node) SLI {
	f := sp.fields(n, "sli", "events", "raw", "plugin")
	switch {
	case f["plugin"] != nil:
		pf := sp.fields(f["plugin"], "plugin", "id", "options")
		sp.Add(f["plugin"], "Sloth SLI plugin %q is Go code that Vigil does not run: write the SLI as events (%s and %s) or raw (%s); `sloth generate` prints the queries the plugin produces",
			sp.Str(pf["id"], "id"), sp.keys.errorQuery, sp.keys.totalQuery, sp.keys.errorRatioQuery)
	case f["events"] != nil && f["raw"] != nil:
		sp.Add(n, "sli has both events and raw: choose one")
	case f["events"] != nil:
		ef := sp.fields(f["events"], "events", sp.keys.errorQuery, sp.keys.totalQuery)
		q := &PromQLSLI{ErrorQuery: sp.query(ef[sp.keys.errorQuery], sp.keys.errorQuery), TotalQuery: sp.query(ef[sp.keys.totalQuery], sp.keys.totalQuery)}
		if ef[sp.keys.errorQuery] == nil || ef[sp.keys.totalQuery] == nil {
			sp.Add(f["events"], "events needs %s and %s", sp.keys.errorQuery, sp.keys.totalQuery)
		}
		return SLI{PromQL: q}
	case f["raw"] != nil:
		known := []string{sp.keys.errorRatioQuery}
		if sp.keys.altErrorRatioQuery != "" {
			known = append(known, sp.keys.altErrorRatioQuery)
		}
		rf := sp.fields(f["raw"], "raw", known...)
		q := rf[sp.keys.errorRatioQuery]
		if q == nil && sp.keys.altErrorRatioQuery != "" {
			q = rf[sp.keys.altErrorRatioQuery]
		}
		if q == nil {
			sp.Add(f["raw"], "raw needs %s", sp.keys.errorRatioQuery)
		}
		return SLI{PromQL: &PromQLSLI{ErrorQuery: sp.query(q, sp.keys.errorRatioQuery), TotalQuery: "1"}}
	default:
		sp.Add(parent, "SLO needs an sli: events or raw")
	}
	return SLI{}
}

// query reads a Sloth SLI query. One written with a fixed range and no
// {{.window}} (rate(x[5m])) is valid to Sloth, which renders the
// placeholder and keeps everything else, so every window it records, 5m
// to 3d, is that 5m: its multiwindow alerts become one 5-minute window
// and page on short spikes. Vigil sets such ranges to each window (see
// PromQLForWindow), in the rules and in the stream alike, which is what
// the spec's author meant; refusing the spec would break one that loads
// in Sloth, so a note at the range says where the two differ and what to
// write.
func (sp *slothParser) query(n *yaml.Node, what string) string {
	q := sp.promQL(n, what)
	if q == "" {
		return q
	}
	if ranges, templated := fixedRanges(q); !templated && len(ranges) > 0 {
		r := ranges[0]
		windows := BurnRateWindows(slothPeriod)
		sp.noteAt(sp.PosOfText(n, r.text, r.nth),
			"%s has the fixed range %s and no %s: Sloth computes every alert window (%s to %s) over that %s, so its alerts fire on %s spikes; Vigil computes each window over its own length, as if written [%s]; write [%s] so that both read the spec alike",
			what, r.text, WindowPlaceholder, FormatDuration(windows[0]), FormatDuration(windows[len(windows)-1]),
			strings.Trim(r.text, "[]"), strings.Trim(r.text, "[]"), WindowPlaceholder, WindowPlaceholder)
	}
	return q
}

// alerting maps Sloth's alerting: one alert name for both tiers, told
// apart by conventions.LabelVigilSeverity (Sloth's sloth_severity); the
// labels and annotations common to both and each tier's own; each alert
// enabled unless disabled.
func (sp *slothParser) alerting(n *yaml.Node, service, slo string) Alerting {
	var a Alerting
	f := sp.fields(n, "alerting", "name", "labels", "annotations", sp.keys.pageAlert, sp.keys.ticketAlert)
	name := sp.Str(f["name"], "name")
	labels := sp.alertLabels(f["labels"], "labels")
	annotations := sp.StringMap(f["annotations"], "annotations")
	policy := func(n *yaml.Node, tier string) *AlertPolicy {
		pf := sp.fields(n, tier+" alert", "disable", "labels", "annotations")
		if sp.Bool(pf["disable"], "disable") {
			return nil
		}
		pol := &AlertPolicy{
			Name:        name,
			Labels:      mergeLabels(labels, sp.alertLabels(pf["labels"], "labels")),
			Annotations: mergeLabels(annotations, sp.StringMap(pf["annotations"], "annotations")),
		}
		if pol.Name == "" {
			pol.Name = DefaultAlertName(service, slo, tier)
		}
		return pol
	}
	a.Page = policy(f[sp.keys.pageAlert], conventions.SeverityPage)
	a.Ticket = policy(f[sp.keys.ticketAlert], conventions.SeverityTicket)
	return a
}

// slothPlugin is one entry of a Sloth SLO plugin chain.
type slothPlugin struct {
	id     string
	config *yaml.Node
	at     *yaml.Node
}

// Sloth's plugin IDs that Vigil knows.
const (
	slothPluginPrefix         = "sloth.dev/"
	slothValidate             = "sloth.dev/core/validate/v1"
	slothSLIRules             = "sloth.dev/core/sli_rules/v1"
	slothMetadataRules        = "sloth.dev/core/metadata_rules/v1"
	slothAlertRules           = "sloth.dev/core/alert_rules/v1"
	slothDebug                = "sloth.dev/core/debug/v1"
	slothNoop                 = "sloth.dev/core/noop/v1"
	slothInfoLabels           = "sloth.dev/contrib/info_labels/v1"
	slothRuleIntervals        = "sloth.dev/contrib/rule_intervals/v1"
	slothRemoveLabels         = "sloth.dev/contrib/remove_labels/v1"
	slothDenominatorCorrected = "sloth.dev/contrib/denominator_corrected_rules/v1"
	slothValidateVictoria     = "sloth.dev/contrib/validate_victoria_metrics/v1"
	slothErrorBudgetExhausted = "sloth.dev/contrib/error_budget_exhausted_alert/v1"
)

// defaultSlothChain is the chain Sloth runs when a spec names none.
func defaultSlothChain() []slothPlugin {
	return []slothPlugin{{id: slothValidate}, {id: slothSLIRules}, {id: slothMetadataRules}, {id: slothAlertRules}}
}

// plugins reads a plugin block ({overridePrevious, chain}) over the chain
// it extends: appended to it, or replacing it with overridePrevious, as
// Sloth layers app, spec and SLO plugins.
func (sp *slothParser) plugins(n *yaml.Node, previous []slothPlugin) []slothPlugin {
	if n == nil {
		return previous
	}
	f := sp.fields(n, "plugins", "overridePrevious", "chain")
	var chain []slothPlugin
	if !sp.Bool(f["overridePrevious"], "overridePrevious") {
		chain = slices.Clone(previous)
	}
	for _, item := range sp.Seq(f["chain"], "chain") {
		pf := sp.fields(item, "plugin", "id", "config", "priority")
		if pr := pf["priority"]; pr != nil {
			sp.Int(pr, "priority")
		}
		chain = append(chain, slothPlugin{id: sp.Str(pf["id"], "id"), config: pf["config"], at: item})
	}
	return chain
}

// applyPlugins does what the SLO's plugin chain asks, or refuses what
// Vigil cannot do, saying what to write instead.
func (sp *slothParser) applyPlugins(s *SLO, chain []slothPlugin) {
	alerts := false
	for _, pl := range chain {
		switch pl.id {
		case slothValidate, slothSLIRules, slothMetadataRules, slothDebug, slothNoop:
			// Vigil's own validation and rules; debug and noop change nothing.
		case slothAlertRules:
			alerts = true
		case slothInfoLabels:
			sp.fields(pl.config, "info_labels config", "labels", "metricName")
			sp.note(pl.at, "plugin %s adds labels to Sloth's sloth_slo_info series, which Vigil does not record: it changes nothing here", pl.id)
		case slothRuleIntervals:
			cf := sp.fields(pl.config, "rule_intervals config", "interval")
			inf := sp.fields(cf["interval"], "interval", "default", "sliError", "metadata", "alert")
			for _, k := range []string{"sliError", "default"} {
				if inf[k] != nil {
					if d, ok := sp.duration(inf[k], "interval."+k); ok && s.Interval == 0 {
						s.Interval = d
					}
				}
			}
			if s.Interval == 0 {
				sp.Add(pl.at, "plugin %s needs config.interval.default", pl.id)
			}
		case slothRemoveLabels:
			cf := sp.fields(pl.config, "remove_labels config", "preserveLabels", "skipMetrics")
			keep := sp.Strings(cf["preserveLabels"], "preserveLabels")
			for k := range s.Labels {
				if !slices.Contains(keep, k) {
					delete(s.Labels, k)
				}
			}
		case slothDenominatorCorrected:
			sp.fields(pl.config, "denominator_corrected_rules config", "disableOptimized")
			if s.SLI.PromQL != nil {
				s.SLI.PromQL.PeriodDenominator = true
			}
		case slothValidateVictoria:
			sp.Add(pl.at, "plugin %s validates MetricsQL, VictoriaMetrics' dialect: Vigil's rules are PromQL for Prometheus; write the queries in PromQL and drop the plugin", pl.id)
		case slothErrorBudgetExhausted:
			sp.Add(pl.at, "plugin %s is not supported: alert on the recorded %s in a rule file of your own (for example `%s <= 0`)", pl.id, conventions.RuleSLOErrorBudgetRemaining, conventions.RuleSLOErrorBudgetRemaining)
		case "":
			sp.Add(pl.at, "plugin needs an id")
		default:
			what := "a Sloth plugin Vigil does not know"
			if !strings.HasPrefix(pl.id, slothPluginPrefix) {
				what = "Go code that Vigil does not run"
			}
			sp.Add(pl.at, "plugin %q is %s: remove it, or write what it generates as the SLO's queries and labels", pl.id, what)
		}
	}
	if !alerts {
		if s.Alerting.Page != nil || s.Alerting.Ticket != nil {
			sp.noteAt(s.Pos, "SLO %s: the plugin chain has no %s, so Sloth generates no alerts for it; neither does Vigil", s.ID(), slothAlertRules)
		}
		s.Alerting.Page, s.Alerting.Ticket = nil, nil
	}
}

func (p *problems) note(n *yaml.Node, format string, args ...any) {
	p.noteAt(p.Pos(n), format, args...)
}

func (p *problems) noteAt(pos Position, format string, args ...any) {
	p.notes = append(p.notes, Note{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// lenientFields reads a mapping of a Kubernetes resource: unknown keys
// are notes, as the API server prunes them with a warning.
func (p *problems) lenientFields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	f, unknown := p.FieldsLenient(n, what, known...)
	for _, k := range unknown {
		msg := yamlpos.UnknownField(k.Value, what, known)
		p.note(k, "%s; a Kubernetes API server prunes it, so it is ignored", msg)
		p.pruned = append(p.pruned, ValidationError{Pos: p.Pos(k), Msg: msg})
	}
	return f
}
