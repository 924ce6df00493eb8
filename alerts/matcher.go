package alerts

import (
	"fmt"
	"strings"

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
	if !validLabelName(name) {
		return nil, fmt.Errorf("invalid label name %q", name)
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
		return nil, fmt.Errorf("matcher %q: %w", s, err)
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

// validLabelName reports whether s is a label name for group_by and equal,
// with the rule Alertmanager 0.25 applies to them (Prometheus's classic
// label names).
func validLabelName(s string) bool {
	return model.LegacyValidation.IsValidLabelName(s)
}
