package alerts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is how a Matcher compares a label value.
type MatchType int

// Match types, written =, !=, =~ and !~ as in Prometheus and Alertmanager.
const (
	MatchEqual MatchType = iota
	MatchNotEqual
	MatchRegexp
	MatchNotRegexp
)

// String returns the operator as written in a matcher.
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return fmt.Sprintf("MatchType(%d)", int(t))
}

// Matcher tests one label. A missing label has the empty value, as in
// Alertmanager, so `team=""` matches alerts without a team label.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

// NewMatcher returns a matcher; a regexp value is anchored at both ends, as
// in Prometheus, so `service=~"check"` does not match "checkout".
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	if !validLabelName(name) {
		return nil, fmt.Errorf("invalid label name %q", name)
	}
	m := &Matcher{Name: name, Type: t, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %w", value, err)
		}
		m.re = re
	default:
		return nil, fmt.Errorf("invalid match type %d", int(t))
	}
	return m, nil
}

// ParseMatcher parses one matcher in Alertmanager's syntax: a label name, an
// operator (=, !=, =~, !~) and a value, either double-quoted with Go escapes
// (`service=~"check.*"`) or bare (`severity=page`).
func ParseMatcher(s string) (*Matcher, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && isLabelChar(s[i], i == 0) {
		i++
	}
	name, rest := s[:i], strings.TrimLeft(s[i:], " \t")
	if name == "" {
		return nil, fmt.Errorf("matcher %q: want a label name first", s)
	}
	var t MatchType
	switch {
	case strings.HasPrefix(rest, "=~"):
		t, rest = MatchRegexp, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		t, rest = MatchNotRegexp, rest[2:]
	case strings.HasPrefix(rest, "!="):
		t, rest = MatchNotEqual, rest[2:]
	case strings.HasPrefix(rest, "="):
		t, rest = MatchEqual, rest[1:]
	default:
		return nil, fmt.Errorf("matcher %q: want one of =, !=, =~, !~ after %q", s, name)
	}
	value := strings.TrimSpace(rest)
	if strings.HasPrefix(value, `"`) {
		v, err := strconv.Unquote(value)
		if err != nil {
			return nil, fmt.Errorf("matcher %q: bad quoted value %s", s, value)
		}
		value = v
	} else if strings.ContainsAny(value, `"`) {
		return nil, fmt.Errorf("matcher %q: unbalanced quote in value", s)
	}
	m, err := NewMatcher(t, name, value)
	if err != nil {
		return nil, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, nil
}

// Matches reports whether the label value v satisfies the matcher.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String returns the matcher in the syntax ParseMatcher reads.
func (m *Matcher) String() string {
	return m.Name + m.Type.String() + strconv.Quote(m.Value)
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

func isLabelChar(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLabelChar(s[i], i == 0) {
			return false
		}
	}
	return true
}
