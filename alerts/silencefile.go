package alerts

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// LoadSilences reads and parses the silences file at path.
func LoadSilences(path string) ([]*Silence, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSilences(path, data)
}

// ParseSilences parses a silences file's content; file names it in errors.
// On failure the error is an Errors listing every problem found.
//
// Format:
//
//	silences:
//	  - id: checkout-db-migration
//	    matchers: ['service_name="checkout"']
//	    starts_at: 2026-11-21T20:00:00Z   # optional: active now
//	    ends_at: 2026-11-21T22:00:00Z
//	    created_by: alice
//	    comment: planned migration
//	  - id: INC-1234
//	    matchers: ['service_name="checkout"', 'slo="availability"', 'vigil_severity="page"']
//	    until_resolved: true              # ends_at optional
//
// Matchers name the labels Vigil's alerts carry (conventions.SLOAlertLabels,
// AnomalyAlertLabels); examples/alerting/silences.yml is the documented
// example. An empty file, or one with no silences, is valid: it lifts them all.
func ParseSilences(file string, data []byte) ([]*Silence, error) {
	d := newDecoder(file)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && len(doc.Content) == 0 {
		return nil, nil
	}
	top := d.Document(data)
	if top == nil {
		return nil, d.Result()
	}
	var out []*Silence
	seen := map[string]bool{}
	d.Mapping(top, "silences file", map[string]func(*yaml.Node){
		"silences": func(n *yaml.Node) {
			if n.Tag == "!!null" {
				return
			}
			d.Each(n, "silences", func(item *yaml.Node) {
				if s := d.silence(item, seen); s != nil {
					out = append(out, s)
				}
			})
		},
	})
	if err := d.Result(); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *decoder) silence(n *yaml.Node, seen map[string]bool) *Silence {
	s := &Silence{}
	var idNode, endsNode, matchersNode, untilNode *yaml.Node
	if !d.Mapping(n, "silence", map[string]func(*yaml.Node){
		"id":             func(v *yaml.Node) { idNode, s.ID = v, d.Str(v, "id") },
		"matchers":       func(v *yaml.Node) { matchersNode, s.Matchers = v, d.matchers(v, "matchers") },
		"starts_at":      func(v *yaml.Node) { s.StartsAt = d.Timestamp(v, "starts_at") },
		"ends_at":        func(v *yaml.Node) { endsNode, s.EndsAt = v, d.Timestamp(v, "ends_at") },
		"until_resolved": func(v *yaml.Node) { untilNode, s.UntilResolved = v, d.Bool(v, "until_resolved") },
		"created_by":     func(v *yaml.Node) { s.CreatedBy = d.Str(v, "created_by") },
		"comment":        func(v *yaml.Node) { s.Comment = d.Str(v, "comment") },
	}) {
		return nil
	}
	name := "silence"
	if s.ID != "" {
		name = fmt.Sprintf("silence %q", s.ID)
	}
	switch {
	case idNode == nil || s.ID == "":
		d.Add(n, "silence has no id")
	case seen[s.ID]:
		d.Add(idNode, "silence id %q used twice", s.ID)
	}
	seen[s.ID] = true
	// A silence without matchers would mute every alert. Matchers that were
	// written but did not parse are already reported.
	if matchersNode == nil || len(matchersNode.Content) == 0 {
		d.Add(n, "%s needs at least one matcher", name)
	}
	if endsNode == nil && untilNode == nil {
		d.Add(n, "%s needs ends_at or until_resolved: true", name)
	} else if endsNode == nil && !s.UntilResolved && untilNode.Value == "false" {
		d.Add(untilNode, "%s needs ends_at when until_resolved is false", name)
	}
	if endsNode != nil && !s.EndsAt.IsZero() && !s.StartsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
		d.Add(endsNode, "%s ends_at must be after starts_at", name)
	}
	return s
}
