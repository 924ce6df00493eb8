package slo

import (
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// VersionVigil is the `version` of Vigil's native spec format.
//
// A native spec names one service and lists its SLOs:
//
//	version: vigil/v1          # required
//	service: checkout          # required: service.name of the spans
//	labels: {team: payments}   # optional: added to every SLO's labels
//	slos:
//	  - name: availability     # required, unique within the service
//	    objective: 99.9        # required, percent in (0, 100)
//	    window: 30d            # rolling: whole days, 7d..366d
//	    # window: month               # calendar: week, month, quarter or year (UTC), budget resets
//	    # window: {calendar: month}   # the long form of a calendar window
//	    # window: {rolling: 28d}      # the long form of a rolling window
//	    # window: {calendar: week, count: 2, start: "2026-01-05T00:00:00Z", time_zone: Europe/Paris}
//	    #                             # every other week from start; calendar: day (count 7 or
//	    #                             # more), week, month, quarter or year
//	    description: Checkout requests succeed.
//	    labels: {tier: "1"}    # added to series and alerts
//	    group_by: [http.route] # one series per value combination
//	    max_groups: 100        # cap on group_by series (default 1000)
//	    sli:                   # exactly one of spans, metrics, promql
//	      spans:
//	        match:             # all set fields must match
//	          service: checkout            # default: the spec's service; "*" for any
//	          span_kind: server            # server, client, producer, consumer, internal
//	          span_names: [POST /pay]
//	          attributes:                  # list form, op one of = != =~ !~ (default =)
//	            - {key: http.route, op: "=~", value: "/api/.*"}
//	          # attributes: {http.route: /pay}   # map form: equality
//	          condition: 'attributes["tenant"] != "test"'   # OTTL, evaluated by the connector
//	        bad:               # at least one; any one makes the span bad
//	          status: error                # span status Error
//	          http_status_min: 500         # HTTP response status >= 500
//	          grpc_codes: [UNAVAILABLE, 4] # names or numbers
//	          latency_above: 300ms         # duration above the threshold
//	      # metrics:           # either total with good or bad, or histogram
//	      #   total: {metric: http.server.requests, attributes: {...}}
//	      #   bad:   {metric: http.server.errors}
//	      #   histogram:
//	      #     metric: http.server.request.duration
//	      #     latency_above: 250ms
//	      #     buckets: [100ms, 250ms, 500ms]   # when given, latency_above must be one
//	      # promql:            # run in the stream too when a count of events (see SLO.Evaluation)
//	      #   error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))  # or good_query
//	      #   total_query: sum(rate(http_requests_total[{{.window}}]))
//	      #   period_denominator: true   # errors over the period's traffic (Sloth's denominator_corrected_rules)
//	    # budgeting: {method: Timeslices, time_slice: 1m, time_slice_target: 0.95}  # promql SLIs only;
//	    #                      # or RatioTimeslices; default Occurrences
//	    # interval: 2m         # promql SLIs: the rule group's evaluation interval
//	    alerting:              # absent: no alerts
//	      page: {}             # {name, min_events, labels, annotations}; labels are the user's, severity included
//	      ticket: {min_events: 100}
//	      runbook_url: https://runbooks.example.com/checkout
//	      dashboard_url: https://grafana.example.com/d/slo
//	      # windows:           # the SLO's own burn-rate table, instead of the one scaled from the window
//	      #   - {severity: page, long: 1h, short: 5m, burn_rate: 14, for: 2m}
//	      #                    # op: gte fires at burn_rate too; default gt, above it
const VersionVigil = "vigil/v1"

func parseVigil(p *problems, doc *yaml.Node) []SLO {
	f := p.Fields(doc, "spec", "version", "service", "labels", "slos")
	service := p.Str(f["service"], "service")
	if service == "" {
		p.Add(doc, "spec needs a service")
	}
	common := p.labels(f["labels"], "labels")
	items := p.Seq(f["slos"], "slos")
	if len(items) == 0 {
		p.Add(doc, "spec has no SLOs: list them under slos")
	}
	var out []SLO
	for _, item := range items {
		out = append(out, parseVigilSLO(p, item, service, common))
	}
	return out
}

func parseVigilSLO(p *problems, n *yaml.Node, service string, common map[string]string) SLO {
	f := p.Fields(n, "slo", "name", "objective", "window", "description", "labels", "group_by", "max_groups", "sli", "alerting", "budgeting", "interval")
	s := SLO{
		Name:        p.name(f["name"], "SLO name"),
		Service:     service,
		Description: p.Str(f["description"], "description"),
		Objective:   p.objective(f["objective"]),
		Format:      FormatVigil,
		Pos:         p.Pos(n),
	}
	if s.Name == "" {
		p.Add(n, "SLO needs a name")
	}
	if f["objective"] == nil {
		p.Add(n, "SLO %q needs an objective", s.Name)
	}
	s.Window = p.window(f["window"], n)
	s.Labels = mergeLabels(common, p.labels(f["labels"], "labels"))
	s.GroupBy = p.groupBy(f["group_by"])
	if mg := f["max_groups"]; mg != nil {
		if v, ok := p.Int(mg, "max_groups"); ok && v < 1 {
			p.Add(mg, "max_groups must be at least 1")
		} else {
			s.MaxGroups = v
		}
		if len(s.GroupBy) == 0 {
			p.Add(mg, "max_groups without group_by has no effect")
		}
	}
	s.SLI = p.vigilSLI(f["sli"], n, service)
	s.Alerting, s.Windows = p.alerting(f["alerting"], service, s.Name, s.Window.Period())
	s.Budgeting = p.budgeting(f["budgeting"])
	if iv := f["interval"]; iv != nil {
		s.Interval, _ = p.duration(iv, "interval")
	}
	switch {
	case s.Budgeting.Sliced() && s.SLI.PromQL == nil:
		p.Add(f["budgeting"], "budgeting by time slices needs a promql SLI: the collector counts span and metric events as occurrences")
	case s.Budgeting.Method == Timeslices && s.Budgeting.TimeSliceTarget == 0 && s.SLI.PromQL.TotalQuery != "1":
		p.Add(f["budgeting"], "Timeslices budgeting needs time_slice_target: the good ratio a slice needs to be good")
	}
	return s
}

// budgeting reads how events count against the objective:
//
//	budgeting: {method: Timeslices, time_slice: 1m, time_slice_target: 0.95}
func (p *problems) budgeting(n *yaml.Node) Budgeting {
	f := p.Fields(n, "budgeting", "method", "time_slice", "time_slice_target")
	b := Budgeting{Method: BudgetingMethod(p.Str(f["method"], "method"))}
	switch b.Method {
	case "":
		if n != nil {
			p.Add(n, "budgeting needs a method: Occurrences, Timeslices or RatioTimeslices")
		}
		return Budgeting{}
	case Occurrences:
		return b
	case Timeslices, RatioTimeslices:
	default:
		p.Add(f["method"], "unknown budgeting method %q (known: Occurrences, Timeslices, RatioTimeslices)", b.Method)
		return b
	}
	b.TimeSlice = openSLOTimeSlice
	if f["time_slice"] != nil {
		b.TimeSlice, _ = p.duration(f["time_slice"], "time_slice")
	}
	if t := f["time_slice_target"]; t != nil {
		if v, ok := p.Float(t, "time_slice_target"); ok && (v <= 0 || v > 1) {
			p.Add(t, "time_slice_target %v must be a ratio in (0, 1], like 0.95", v)
		} else {
			b.TimeSliceTarget = v
		}
	}
	return b
}

func (p *problems) window(n, parent *yaml.Node) Window {
	if n == nil {
		p.Add(parent, "SLO needs a window, like 30d or {calendar: month}")
		return Window{}
	}
	if n.Kind == yaml.ScalarNode {
		// No duration reads "week", "month", "quarter" or "year", so the
		// words can only mean the calendar periods.
		if v := CalendarPeriod(n.Value); v != CalendarDay && containsString(calendarNames(), n.Value) {
			return Window{Calendar: v}
		}
		if _, err := model.ParseDuration(n.Value); err != nil {
			p.Add(n, "bad window %q: write a duration like 30d for a rolling window, or week, month, quarter or year for a calendar one", n.Value)
			return Window{}
		}
		d, _ := p.rollingWindow(n)
		return Window{Rolling: d}
	}
	f := p.Fields(n, "window", "rolling", "calendar", "count", "start", "time_zone")
	switch {
	case f["rolling"] != nil && f["calendar"] != nil:
		p.Add(n, "window is either rolling or calendar, not both")
	case f["rolling"] != nil:
		for _, k := range []string{"count", "start", "time_zone"} {
			if f[k] != nil {
				p.Add(f[k], "%s belongs to a calendar window", k)
			}
		}
		d, _ := p.rollingWindow(f["rolling"])
		return Window{Rolling: d}
	case f["calendar"] != nil:
		c, ok := p.calendar(f["calendar"])
		w := Window{Calendar: c}
		if cn := f["count"]; cn != nil {
			if v, ok := p.Int(cn, "count"); ok && v < 1 {
				p.Add(cn, "count must be at least 1")
			} else {
				w.Count = v
			}
		}
		if tz := p.Str(f["time_zone"], "time_zone"); tz != "" {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				p.Add(f["time_zone"], "unknown time zone %q: use an IANA name like Europe/Paris", tz)
			}
			w.Location = loc
		}
		if st := f["start"]; st != nil {
			t, err := time.Parse(time.RFC3339, p.Str(st, "start"))
			if err != nil {
				p.Add(st, "start %q must be an RFC 3339 time, like 2026-01-05T00:00:00Z", st.Value)
			}
			if w.Location != nil {
				t = t.In(w.Location)
			}
			w.Anchor = t
		}
		if ok {
			if _, ok := p.checkRolling(f["calendar"], w.Period()); !ok {
				return Window{}
			}
		}
		return w
	default:
		p.Add(n, "window needs rolling or calendar")
	}
	return Window{}
}

func (p *problems) groupBy(n *yaml.Node) []string {
	var out []string
	for _, item := range p.Seq(n, "group_by") {
		k := p.Str(item, "group_by attribute")
		switch {
		case k == "":
			p.Add(item, "group_by attribute must not be empty")
		case slices.Contains(out, k):
			p.Add(item, "group_by attribute %q listed twice", k)
		default:
			out = append(out, k)
		}
	}
	return out
}

func (p *problems) vigilSLI(n, parent *yaml.Node, service string) SLI {
	kinds := []string{"spans", "metrics", "promql"}
	f := p.Fields(n, "sli", kinds...)
	var set []string
	for _, k := range kinds {
		if f[k] != nil {
			set = append(set, k)
		}
	}
	switch {
	case len(set) == 0:
		p.Add(parent, "SLO needs an sli: spans, metrics or promql")
	case len(set) > 1:
		p.Add(n, "sli has %s: choose one", strings.Join(set, " and "))
	case set[0] == "spans":
		return SLI{Spans: p.spanSLI(f["spans"], service)}
	case set[0] == "metrics":
		return SLI{Metrics: p.metricSLI(f["metrics"])}
	default:
		return SLI{PromQL: p.vigilPromQL(f["promql"])}
	}
	return SLI{}
}

// vigilPromQL reads an SLI written as PromQL: error_query or good_query,
// and total_query, each may use {{.window}} (see PromQLForWindow).
func (p *problems) vigilPromQL(n *yaml.Node) *PromQLSLI {
	f := p.Fields(n, "promql", "error_query", "good_query", "total_query", "period_denominator")
	q := &PromQLSLI{
		ErrorQuery:        p.promQL(f["error_query"], "error_query"),
		GoodQuery:         p.promQL(f["good_query"], "good_query"),
		TotalQuery:        p.promQL(f["total_query"], "total_query"),
		PeriodDenominator: p.Bool(f["period_denominator"], "period_denominator"),
	}
	switch {
	case f["total_query"] == nil:
		p.Add(n, "promql needs total_query")
	case f["error_query"] == nil && f["good_query"] == nil:
		p.Add(n, "promql needs error_query or good_query")
	case f["error_query"] != nil && f["good_query"] != nil:
		p.Add(n, "promql has both error_query and good_query: choose one")
	}
	return q
}

func (p *problems) spanSLI(n *yaml.Node, service string) *SpanSLI {
	f := p.Fields(n, "spans", "match", "bad")
	m := p.Fields(f["match"], "match", "service", "span_kind", "span_names", "attributes", "condition")
	sli := &SpanSLI{Match: SpanMatch{
		Service:    p.Str(m["service"], "service"),
		SpanKind:   p.spanKind(m["span_kind"]),
		SpanNames:  p.Strings(m["span_names"], "span_names"),
		Attributes: p.matchers(m["attributes"]),
		Condition:  p.Str(m["condition"], "condition"),
	}}
	if sli.Match.Service == "" {
		sli.Match.Service = service
	}
	if f["bad"] == nil {
		p.Add(n, "spans needs bad: the conditions that make a span bad")
		return sli
	}
	b := p.Fields(f["bad"], "bad", "status", "http_status_min", "grpc_codes", "latency_above")
	if st := b["status"]; st != nil {
		if v := p.Str(st, "status"); v == "error" {
			sli.Bad.StatusError = true
		} else {
			p.Add(st, "unknown status %q (known: error)", v)
		}
	}
	if h := b["http_status_min"]; h != nil {
		if v, ok := p.Int(h, "http_status_min"); ok && (v < 100 || v > 599) {
			p.Add(h, "http_status_min %d is not an HTTP status (100..599)", v)
		} else {
			sli.Bad.HTTPStatusAtLeast = v
		}
	}
	sli.Bad.GRPCCodes = p.grpcCodes(b["grpc_codes"])
	if l := b["latency_above"]; l != nil {
		sli.Bad.LatencyAbove, _ = p.duration(l, "latency_above")
	}
	if len(b) == 0 {
		p.Add(f["bad"], "bad needs at least one of status, http_status_min, grpc_codes, latency_above")
	}
	return sli
}

func (p *problems) metricSLI(n *yaml.Node) *MetricSLI {
	f := p.Fields(n, "metrics", "good", "bad", "total", "histogram")
	sli := &MetricSLI{
		Good:  p.selector(f["good"], "good"),
		Bad:   p.selector(f["bad"], "bad"),
		Total: p.selector(f["total"], "total"),
	}
	if h := f["histogram"]; h != nil {
		sli.Histogram = p.histogram(h)
		if sli.Good != nil || sli.Bad != nil || sli.Total != nil {
			p.Add(n, "metrics has a histogram and counters: choose one")
		}
		return sli
	}
	switch {
	case sli.Total == nil:
		p.Add(n, "metrics needs total with good or bad, or a histogram")
	case sli.Good == nil && sli.Bad == nil:
		p.Add(n, "metrics needs good or bad next to total")
	case sli.Good != nil && sli.Bad != nil:
		p.Add(n, "metrics has both good and bad: choose one")
	}
	return sli
}

func (p *problems) selector(n *yaml.Node, what string) *MetricSelector {
	if n == nil {
		return nil
	}
	f := p.Fields(n, what, "metric", "attributes")
	return p.selectorFields(n, f, what)
}

func (p *problems) selectorFields(n *yaml.Node, f map[string]*yaml.Node, what string) *MetricSelector {
	sel := &MetricSelector{Metric: p.Str(f["metric"], "metric"), Attributes: p.matchers(f["attributes"])}
	if sel.Metric == "" {
		p.Add(n, "%s needs a metric", what)
	}
	return sel
}

func (p *problems) histogram(n *yaml.Node) *HistogramSLI {
	f := p.Fields(n, "histogram", "metric", "attributes", "latency_above", "buckets")
	h := &HistogramSLI{MetricSelector: *p.selectorFields(n, f, "histogram")}
	if f["latency_above"] == nil {
		p.Add(n, "histogram needs latency_above, a bucket boundary")
		return h
	}
	h.LatencyAbove, _ = p.duration(f["latency_above"], "latency_above")
	var buckets []time.Duration
	for _, b := range p.Seq(f["buckets"], "buckets") {
		if d, ok := p.duration(b, "bucket boundary"); ok {
			buckets = append(buckets, d)
		}
	}
	// Only an observation count at a boundary is exact: between two
	// boundaries the histogram cannot tell good from bad.
	if len(buckets) > 0 && h.LatencyAbove > 0 && !slices.Contains(buckets, h.LatencyAbove) {
		p.Add(f["latency_above"], "latency_above %s is not a bucket boundary of the histogram (%s)", FormatDuration(h.LatencyAbove), joinDurations(buckets))
	}
	return h
}

func joinDurations(ds []time.Duration) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ", "
		}
		s += FormatDuration(d)
	}
	return s
}

func (p *problems) alerting(n *yaml.Node, service, slo string, period time.Duration) (Alerting, []AlertWindow) {
	f := p.Fields(n, "alerting", "page", "ticket", "runbook_url", "dashboard_url", "windows")
	a := Alerting{
		RunbookURL:   p.Str(f["runbook_url"], "runbook_url"),
		DashboardURL: p.Str(f["dashboard_url"], "dashboard_url"),
	}
	if _, ok := f["page"]; ok {
		a.Page = p.policy(f["page"], DefaultAlertName(service, slo, conventions.SeverityPage))
	}
	if _, ok := f["ticket"]; ok {
		a.Ticket = p.policy(f["ticket"], DefaultAlertName(service, slo, conventions.SeverityTicket))
	}
	return a, p.alertWindows(f["windows"], period)
}

// alertWindows reads an SLO's own burn-rate table, in place of the one
// scaled from the period:
//
//	windows:
//	  - {severity: page, long: 1h, short: 5m, burn_rate: 14, for: 2m}
//
// op: gte makes a burn rate equal to burn_rate hold too, as OpenSLO's
// conditions may say; the default, gt, wants it above. A long window
// beyond the SLO's period is refused, as the OpenSLO reader refuses such a
// lookbackWindow: a burn rate is read against the period's budget, and
// errors older than the period no longer spend it, so such a window would
// keep an alert firing for errors the budget has already forgotten.
func (p *problems) alertWindows(n *yaml.Node, period time.Duration) []AlertWindow {
	var out []AlertWindow
	for _, item := range p.Seq(n, "windows") {
		f := p.Fields(item, "alert window", "severity", "long", "short", "burn_rate", "op", "for")
		w := AlertWindow{Severity: p.Str(f["severity"], "severity")}
		if w.Severity != conventions.SeverityPage && w.Severity != conventions.SeverityTicket {
			p.Add(item, "alert window needs severity page or ticket")
		}
		w.Long, _ = p.duration(f["long"], "long")
		w.Short, _ = p.duration(f["short"], "short")
		if period > 0 && w.Long > period {
			p.Add(f["long"], "long window %s is longer than the SLO's %s window, whose budget its burn rate is read against", FormatDuration(w.Long), FormatDuration(period))
		}
		if w.Short > w.Long {
			p.Add(f["short"], "short window %s is longer than the long one", FormatDuration(w.Short))
		}
		if v, ok := p.Float(f["burn_rate"], "burn_rate"); ok && v <= 0 {
			p.Add(f["burn_rate"], "burn_rate must be positive")
		} else {
			w.BurnRate = v
		}
		switch op := p.Str(f["op"], "op"); op {
		case "", "gt":
		case "gte":
			w.Inclusive = true
		default:
			p.Add(f["op"], "alert window op %q: gt (above burn_rate, the default) or gte (at it or above)", op)
		}
		if f["for"] != nil {
			w.For, _ = p.duration(f["for"], "for")
		}
		out = append(out, w)
	}
	if n != nil && len(out) == 0 {
		p.Add(n, "windows is empty: leave it out for the table scaled from the period")
	}
	return out
}

func (p *problems) policy(n *yaml.Node, defaultName string) *AlertPolicy {
	f := p.Fields(n, "alert policy", "name", "min_events", "labels", "annotations")
	pol := &AlertPolicy{
		Name:        p.Str(f["name"], "name"),
		Labels:      p.alertLabels(f["labels"], "labels"),
		Annotations: p.StringMap(f["annotations"], "annotations"),
	}
	if pol.Name == "" {
		pol.Name = defaultName
	}
	if me := f["min_events"]; me != nil {
		if v, ok := p.Int(me, "min_events"); ok && v < 0 {
			p.Add(me, "min_events must not be negative")
		} else {
			pol.MinEvents = v
		}
	}
	return pol
}

func mergeLabels(common, own map[string]string) map[string]string {
	if len(common) == 0 {
		return own
	}
	out := make(map[string]string, len(common)+len(own))
	for k, v := range common {
		out[k] = v
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}
