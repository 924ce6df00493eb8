package alerts

// InhibitRule mutes target alerts while a source alert fires: a firing
// alert matching SourceMatchers inhibits every other alert matching
// TargetMatchers that has the same value (or lack of value) for each label
// in Equal.
type InhibitRule struct {
	SourceMatchers Matchers
	TargetMatchers Matchers
	Equal          []string
}

// Inhibits reports whether source inhibits target under this rule. An alert
// never inhibits itself, so a rule whose source and target overlap cannot
// silence the alert that triggers it.
func (r *InhibitRule) Inhibits(source, target Alert) bool {
	if !source.Firing() || source.Fingerprint == target.Fingerprint {
		return false
	}
	if !r.TargetMatchers.Matches(target.Labels) || !r.SourceMatchers.Matches(source.Labels) {
		return false
	}
	for _, name := range r.Equal {
		if source.Labels[name] != target.Labels[name] {
			return false
		}
	}
	return true
}
