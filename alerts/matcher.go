package alerts

import (
	"fmt"
	"strings"

	"github.com/prometheus/alertmanager/matcher/parse"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Matcher tests one label, exactly as Alertmanager's matchers do (it is
// theirs): =, !=, =~ and !~, regular expressions anchored at both ends, and
// a missing label read as the empty value, so `team=""` matches alerts
// without a team label.
type Matcher = amlabels.Matcher

// MatchType is how a Matcher compares a label value.
type MatchType = amlabels.MatchType

// Match types, written =, !=, =~ and !~ as in Prometheus and Alertmanager.
const (
	MatchEqual     = amlabels.MatchEqual
	MatchNotEqual  = amlabels.MatchNotEqual
	MatchRegexp    = amlabels.MatchRegexp
	MatchNotRegexp = amlabels.MatchNotRegexp
)

// NewMatcher returns a matcher of a label whose name Prometheus accepts.
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	if problem := LabelNameProblem(name); problem != "" {
		return nil, fmt.Errorf("invalid label name %q: %s", name, problem)
	}
	m, err := amlabels.NewMatcher(t, name, value)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", value, err)
	}
	return m, nil
}

// ParseMatcher parses one matcher with Alertmanager's own parser, the one
// its configuration files go through (pkg/labels, "classic" syntax:
// `service=~"check.*"`, `severity=page`), so that a file Vigil accepts
// means the same to amtool.
//
// Alertmanager reads a list item as a comma-separated list of matchers;
// Vigil wants one per item and refuses an item that holds several, rather
// than read `a=b, c=d` as anything Alertmanager would not.
func ParseMatcher(s string) (*Matcher, error) {
	ms, err := amlabels.ParseMatchers(s)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", s, ExplainMatcherError(err, s))
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("matcher %q: want exactly one matcher per list item, got %d", s, len(ms))
	}
	return ms[0], nil
}

// Matchers is a conjunction: all must match.
type Matchers []*Matcher

// Matches reports whether every matcher matches labels; no matchers match
// everything.
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels[m.Name]) {
			return false
		}
	}
	return true
}

// String returns the matchers in braces, as Alertmanager prints them.
func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// ExplainMatcherError adds to the classic parser's error on input what is
// wrong with a label name in it, if that is why it failed. Alertmanager's
// server and amtool since 0.27 read matchers with their UTF-8 parser
// (matcher/parse), which takes `service.name="checkout"` as a matcher of a
// label named "service.name"; Vigil keeps the classic parser, because
// Vigil's labels are classic names and such a matcher could only match
// nothing, so the UTF-8 parser is asked only to find the name meant.
func ExplainMatcherError(err error, input string) error {
	ms, utf8Err := parse.Matchers(input)
	if utf8Err != nil {
		return err
	}
	for _, m := range ms {
		if problem := LabelNameProblem(m.Name); problem != "" {
			return fmt.Errorf("%w: %s", err, problem)
		}
	}
	return err
}

// LabelNameProblem says what is wrong with a label name, "" when nothing
// is. A name with a dot is most likely an OpenTelemetry attribute
// (service.name), and the problem names the label Vigil's alerts carry
// for it (service_name; slo.name's is slo).
func LabelNameProblem(name string) string {
	if validLabelName(name) {
		return ""
	}
	if !strings.Contains(name, ".") {
		return "label names are letters, digits and '_', and do not start with a digit"
	}
	problem := "label names cannot contain '.'"
	if label, ok := LabelOfAttribute(name); ok && label != name {
		problem += fmt.Sprintf("; Vigil's label for %s is %s", name, label)
	}
	return problem
}

// validLabelName reports whether s is a label name for group_by and equal,
// with the rule Alertmanager 0.25 applies to them (Prometheus's classic
// label names).
func validLabelName(s string) bool {
	return model.LegacyValidation.IsValidLabelName(s)
}
