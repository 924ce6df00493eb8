package slo

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// Limits on rolling windows. Alert windows scale with the period (see
// AlertWindows): below a week the shortest would be under 70s, a handful of
// scrape intervals, too few samples for a meaningful rate. A whole number of
// days keeps every scaled window a whole number of seconds and an exact
// multiple of the next shorter one, which the chained Prometheus rules rely on.
const (
	minWindow  = 7 * 24 * time.Hour
	maxWindow  = 366 * 24 * time.Hour
	windowUnit = 24 * time.Hour
)

// spanKinds are the span kinds of the OpenTelemetry data model, as written
// in specs.
var spanKinds = []string{"server", "client", "producer", "consumer", "internal"}

// FormatDuration renders d the way Prometheus writes durations ("5m", "1d",
// "1m10s"): the form of window labels and of durations in generated rules.
func FormatDuration(d time.Duration) string { return model.Duration(d).String() }

// duration reads a positive Prometheus duration ("300ms", "1h30m",
// "30d", "1w").
func (p *problems) duration(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.Duration(n, what)
	if ok && d <= 0 {
		p.Add(n, "%s must be positive", what)
		return 0, false
	}
	return d, ok
}

// rollingWindow reads a rolling compliance window.
func (p *problems) rollingWindow(n *yaml.Node) (time.Duration, bool) {
	d, ok := p.duration(n, "window")
	if !ok {
		return 0, false
	}
	return p.checkRolling(n, d)
}

// checkRolling checks the length of a compliance window (of a calendar
// window, its nominal period), written at n.
func (p *problems) checkRolling(n *yaml.Node, d time.Duration) (time.Duration, bool) {
	switch {
	case d < minWindow:
		p.Add(n, "window %s is too short: the minimum is %s, so that the shortest burn-rate window spans several scrape intervals", FormatDuration(d), FormatDuration(minWindow))
	case d > maxWindow:
		p.Add(n, "window %s is too long: the maximum is %s", FormatDuration(d), FormatDuration(maxWindow))
	case d%windowUnit != 0:
		p.Add(n, "window %s is not a whole number of days", FormatDuration(d))
	default:
		return d, true
	}
	return 0, false
}

func (p *problems) calendar(n *yaml.Node) (CalendarPeriod, bool) {
	s := CalendarPeriod(p.Str(n, "calendar"))
	if containsString(calendarNames(), string(s)) {
		return s, true
	}
	p.Add(n, "unknown calendar period %q (known: day with a count of 7 or more, week, month, quarter, year)", s)
	return "", false
}

func calendarNames() []string {
	out := make([]string, len(CalendarPeriods))
	for i, c := range CalendarPeriods {
		out[i] = string(c)
	}
	return out
}

func (p *problems) objective(n *yaml.Node) float64 {
	if n == nil {
		return 0
	}
	f, ok := p.Float(n, "objective")
	if ok && (f <= 0 || f >= 100) {
		p.Add(n, "objective %v must be a percentage strictly between 0 and 100, like 99.9", f)
	}
	return f
}

func (p *problems) spanKind(n *yaml.Node) string {
	s := p.Str(n, "span_kind")
	if s == "" || slices.Contains(spanKinds, s) {
		return s
	}
	if low := strings.ToLower(s); slices.Contains(spanKinds, low) {
		return low
	}
	p.Add(n, "unknown span kind %q (known: %s)", s, strings.Join(spanKinds, ", "))
	return ""
}

// grpcCodes accepts gRPC status codes as names (UNAVAILABLE, as in the gRPC
// spec) or numbers (14, as rpc.grpc.status_code carries them).
func (p *problems) grpcCodes(n *yaml.Node) []int {
	var out []int
	for _, item := range p.Seq(n, "grpc_codes") {
		s := p.Str(item, "grpc code")
		if i, err := strconv.Atoi(s); err == nil {
			if i < 0 || i > int(codes.Unauthenticated) {
				p.Add(item, "gRPC code %d out of range 0..%d", i, codes.Unauthenticated)
				continue
			}
			out = append(out, i)
			continue
		}
		var c codes.Code
		if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(s)))); err != nil {
			p.Add(item, "unknown gRPC code %q (use a name like UNAVAILABLE or a number 0..16)", s)
			continue
		}
		out = append(out, int(c))
	}
	return out
}

// matchers accepts attribute matchers as a list of {key, op, value} or, for
// plain equality, as a mapping of key to value.
func (p *problems) matchers(n *yaml.Node) []AttributeMatcher {
	if n == nil || yamlpos.IsNull(n) {
		return nil
	}
	var out []AttributeMatcher
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			out = append(out, AttributeMatcher{Key: k.Value, Op: MatchEqual, Value: p.Str(v, "attribute value")})
		}
		return out
	}
	for _, item := range p.Seq(n, "attributes") {
		f := p.Fields(item, "attribute matcher", "key", "op", "value")
		m := AttributeMatcher{Key: p.Str(f["key"], "key"), Op: MatchEqual, Value: p.Str(f["value"], "value")}
		if m.Key == "" {
			p.Add(item, "attribute matcher needs a key")
		}
		if op := f["op"]; op != nil {
			m.Op = MatchOp(p.Str(op, "op"))
			switch m.Op {
			case MatchEqual, MatchNotEqual:
			case MatchRegexp, MatchNotRegexp:
				// Anchored as Prometheus anchors label matchers.
				if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
					p.Add(f["value"], "bad regular expression %q: %v", m.Value, err)
				}
			default:
				p.Add(op, "unknown operator %q (known: =, !=, =~, !~)", m.Op)
			}
		}
		out = append(out, m)
	}
	return out
}

// reservedLabels are set by Vigil on every series of an SLO; severity is
// the tier on vigil_slo_alert_firing.
var reservedLabels = []string{
	conventions.LabelSLO, conventions.LabelServiceName, conventions.LabelOutcome,
	conventions.LabelWindow, conventions.LabelSeverity, conventions.LabelVigilSeverity,
}

// reservedAlertLabels are set by Vigil on every alert of an SLO. An
// alert's severity is the user's: Vigil's tier is LabelVigilSeverity.
var reservedAlertLabels = []string{
	conventions.LabelSLO, conventions.LabelServiceName, conventions.LabelVigilSeverity, conventions.LabelAlertName,
}

// labels decodes the labels of an SLO, which go on its series and
// alerts: valid Prometheus label names, none of the names Vigil sets.
func (p *problems) labels(n *yaml.Node, what string) map[string]string {
	return p.labelsReserving(n, what, reservedLabels, "Vigil sets it on the SLO's series; an alert's labels may set severity")
}

// alertLabels decodes the labels of an alert policy: the user's routing
// labels (severity, routing_key, team), reaching the alert router as
// written.
func (p *problems) alertLabels(n *yaml.Node, what string) map[string]string {
	return p.labelsReserving(n, what, reservedAlertLabels, "Vigil sets it on every alert")
}

func (p *problems) labelsReserving(n *yaml.Node, what string, reserved []string, why string) map[string]string {
	out := p.StringMap(n, what)
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case !model.LabelName(k.Value).IsValidLegacy():
			p.Add(k, "label name %q is not a valid Prometheus label name", k.Value)
		case slices.Contains(reserved, k.Value):
			p.Add(k, "label %q is reserved: %s", k.Value, why)
		}
	}
	return out
}

// sloNameRE is the form of names that become label values and part of
// alert names.
var sloNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

func (p *problems) name(n *yaml.Node, what string) string {
	s := p.Str(n, what)
	if n == nil || s == "" {
		return ""
	}
	if !sloNameRE.MatchString(s) {
		p.Add(n, "%s %q must start with a letter or digit and contain only letters, digits, '_', '.', ':' or '-'", what, s)
	}
	return s
}

// DefaultAlertName is the alert name of an SLO alert policy without one,
// shared by the collector's alert events and the Prometheus rules.
func DefaultAlertName(service, slo, severity string) string {
	return fmt.Sprintf("SLOBurnRate-%s-%s-%s", service, slo, severity)
}
