package alerts

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GroupByAll in group_by groups by every label: each alert is its own group.
const GroupByAll = "..."

// Route is a node of the routing tree. Settings are already inherited from
// the parent when a Route comes out of ParseConfig or DefaultConfig.
type Route struct {
	// ID names the node by its position ("0" is the root, "0.2.1" the second
	// child of the root's third child); group keys start with it.
	ID       string
	Receiver string
	// GroupBy lists the labels whose values split alerts into groups.
	GroupBy        []string
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	Matchers       Matchers
	// Continue keeps matching the following siblings after this route
	// matched, so one alert can go to several receivers.
	Continue bool
	// MuteTimeIntervals name time intervals during which this route sends
	// nothing; ActiveTimeIntervals, when set, are the only ones it sends in.
	MuteTimeIntervals   []string
	ActiveTimeIntervals []string
	Routes              []*Route
}

// Match returns the routes an alert with labels goes to, depth first, with
// Alertmanager's semantics: a route that matches hands the alert to its
// first matching child (and to later ones while children have Continue);
// when no child matches, the route itself takes it.
func (r *Route) Match(labels map[string]string) []*Route {
	if !r.Matchers.Matches(labels) {
		return nil
	}
	var out []*Route
	for _, child := range r.Routes {
		matched := child.Match(labels)
		out = append(out, matched...)
		if matched != nil && !child.Continue {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, r)
	}
	return out
}

// Walk calls fn for r and every route below it.
func (r *Route) Walk(fn func(*Route)) {
	fn(r)
	for _, c := range r.Routes {
		c.Walk(fn)
	}
}

// groupLabels returns the labels of the alert's group at this route.
func (r *Route) groupLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	if slices.Contains(r.GroupBy, GroupByAll) {
		for k, v := range labels {
			out[k] = v
		}
		return out
	}
	for _, name := range r.GroupBy {
		if v, ok := labels[name]; ok && v != "" {
			out[name] = v
		}
	}
	return out
}

// groupKey identifies a group: the route's position and receiver plus the
// group labels, sorted. The receiver is part of it so that a config reload
// that changes a route's receiver starts a new group (with group_wait)
// rather than inheriting the old one's timing.
func (r *Route) groupKey(groupLabels map[string]string) string {
	names := make([]string, 0, len(groupLabels))
	for k := range groupLabels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.ID)
	b.WriteByte('/')
	b.WriteString(r.Receiver)
	b.WriteString(":{")
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(groupLabels[k]))
	}
	b.WriteByte('}')
	return b.String()
}
