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

// duration accepts Prometheus durations ("300ms", "1h30m", "30d",
// "1w"), the form users already write in rule files.
func (p *problems) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s := p.str(n, what)
	if s == "" {
		if n != nil {
			p.add(n, "%s must be a duration like 300ms or 30d", what)
		}
		return 0, false
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		p.add(n, "bad duration %q for %s: use a number and a unit among ms, s, m, h, d, w, y, like 300ms or 30d", s, what)
		return 0, false
	}
	if d <= 0 {
		p.add(n, "%s must be positive", what)
		return 0, false
	}
	return time.Duration(d), true
}

// rollingWindow checks a rolling compliance window.
func (p *problems) rollingWindow(n *yaml.Node) (time.Duration, bool) {
	d, ok := p.duration(n, "window")
	if !ok {
		return 0, false
	}
	switch {
	case d < minWindow:
		p.add(n, "window %s is too short: the minimum is %s, so that the shortest burn-rate window spans several scrape intervals", FormatDuration(d), FormatDuration(minWindow))
	case d > maxWindow:
		p.add(n, "window %s is too long: the maximum is %s", FormatDuration(d), FormatDuration(maxWindow))
	case d%windowUnit != 0:
		p.add(n, "window %s is not a whole number of days", FormatDuration(d))
	default:
		return d, true
	}
	return 0, false
}

func (p *problems) calendar(n *yaml.Node) (CalendarPeriod, bool) {
	switch s := p.str(n, "calendar"); CalendarPeriod(s) {
	case CalendarWeek, CalendarMonth:
		return CalendarPeriod(s), true
	default:
		p.add(n, "unknown calendar period %q (known: week, month)", s)
		return "", false
	}
}

func (p *problems) objective(n *yaml.Node) float64 {
	if n == nil {
		return 0
	}
	f, ok := p.float(n, "objective")
	if ok && (f <= 0 || f >= 100) {
		p.add(n, "objective %v must be a percentage strictly between 0 and 100, like 99.9", f)
	}
	return f
}

func (p *problems) spanKind(n *yaml.Node) string {
	s := p.str(n, "span_kind")
	if s == "" || slices.Contains(spanKinds, s) {
		return s
	}
	if low := strings.ToLower(s); slices.Contains(spanKinds, low) {
		return low
	}
	p.add(n, "unknown span kind %q (known: %s)", s, strings.Join(spanKinds, ", "))
	return ""
}

// grpcCodes accepts gRPC status codes as names (UNAVAILABLE, as in the gRPC
// spec) or numbers (14, as rpc.grpc.status_code carries them).
func (p *problems) grpcCodes(n *yaml.Node) []int {
	var out []int
	for _, item := range p.seq(n, "grpc_codes") {
		s := p.str(item, "grpc code")
		if i, err := strconv.Atoi(s); err == nil {
			if i < 0 || i > int(codes.Unauthenticated) {
				p.add(item, "gRPC code %d out of range 0..%d", i, codes.Unauthenticated)
				continue
			}
			out = append(out, i)
			continue
		}
		var c codes.Code
		if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(s)))); err != nil {
			p.add(item, "unknown gRPC code %q (use a name like UNAVAILABLE or a number 0..16)", s)
			continue
		}
		out = append(out, int(c))
	}
	return out
}

// matchers accepts attribute matchers as a list of {key, op, value} or, for
// plain equality, as a mapping of key to value.
func (p *problems) matchers(n *yaml.Node) []AttributeMatcher {
	if n == nil || isNull(n) {
		return nil
	}
	var out []AttributeMatcher
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			out = append(out, AttributeMatcher{Key: k.Value, Op: MatchEqual, Value: p.str(v, "attribute value")})
		}
		return out
	}
	for _, item := range p.seq(n, "attributes") {
		f := p.fields(item, "attribute matcher", "key", "op", "value")
		m := AttributeMatcher{Key: p.str(f["key"], "key"), Op: MatchEqual, Value: p.str(f["value"], "value")}
		if m.Key == "" {
			p.add(item, "attribute matcher needs a key")
		}
		if op := f["op"]; op != nil {
			m.Op = MatchOp(p.str(op, "op"))
			switch m.Op {
			case MatchEqual, MatchNotEqual:
			case MatchRegexp, MatchNotRegexp:
				// Anchored as Prometheus anchors label matchers.
				if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
					p.add(f["value"], "bad regular expression %q: %v", m.Value, err)
				}
			default:
				p.add(op, "unknown operator %q (known: =, !=, =~, !~)", m.Op)
			}
		}
		out = append(out, m)
	}
	return out
}

// reservedLabels are set by Vigil on every series and alert of an SLO.
var reservedLabels = []string{
	conventions.LabelSLO, conventions.LabelServiceName, conventions.LabelOutcome,
	conventions.LabelWindow, conventions.LabelSeverity,
}

// labels decodes user labels: valid Prometheus label names, none of the
// names Vigil sets itself.
func (p *problems) labels(n *yaml.Node, what string) map[string]string {
	out := p.stringMap(n, what)
	if n == nil {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case !model.LabelName(k.Value).IsValidLegacy():
			p.add(k, "label name %q is not a valid Prometheus label name", k.Value)
		case slices.Contains(reservedLabels, k.Value):
			p.add(k, "label %q is reserved: Vigil sets it", k.Value)
		}
	}
	return out
}

// sloNameRE is the form of names that become label values and part of
// alert names.
var sloNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

func (p *problems) name(n *yaml.Node, what string) string {
	s := p.str(n, what)
	if n == nil || s == "" {
		return ""
	}
	if !sloNameRE.MatchString(s) {
		p.add(n, "%s %q must start with a letter or digit and contain only letters, digits, '_', '.', ':' or '-'", what, s)
	}
	return s
}

// DefaultAlertName is the alert name of an SLO alert policy without one,
// shared by the collector's alert events and the Prometheus rules.
func DefaultAlertName(service, slo, severity string) string {
	return fmt.Sprintf("SLOBurnRate-%s-%s-%s", service, slo, severity)
}
