package statusboard

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// Snapshot is what a board shows at one time. In a fleet each evaluator
// publishes its board's snapshot, as JSON, for the status pages of the
// others (the alert router's console), which merge them into their own.
type Snapshot struct {
	// SLOs are the SLO series by key, with their budget history.
	SLOs []SLO `json:"slos,omitempty"`
	// Anomalies are the flagged series, most anomalous first.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Watched counts the series under watch.
	Watched int `json:"watched,omitempty"`
}

// Snapshot returns the board's snapshot, each budget history thinned to
// at most maxHistory points (0: as kept).
func (b *Board) Snapshot(maxHistory int) Snapshot {
	s := Snapshot{SLOs: b.SLOs()}
	s.Anomalies, s.Watched = b.Anomalies()
	if maxHistory > 0 {
		for i := range s.SLOs {
			s.SLOs[i].Budget = thin(s.SLOs[i].Budget, maxHistory)
		}
	}
	return s
}

// Version changes whenever something is published or withdrawn, so a
// reader can tell the board has not changed without reading it.
func (b *Board) Version() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.version
}

// thin keeps at most n of points, evenly spaced, the last among them.
func thin(points []Point, n int) []Point {
	if len(points) <= n {
		return points
	}
	step := (len(points) + n - 1) / n
	var out []Point
	for i := len(points) - 1; i >= 0; i -= step {
		out = append(out, points[i])
	}
	slices.Reverse(out)
	return out
}

// Merge is the snapshot of a fleet: the SLO series and flagged series of
// local and of others not already among them (the first snapshot holding
// a series wins: a service moving between evaluators is shown once), and
// the series watched by all of them.
func Merge(local Snapshot, others ...Snapshot) Snapshot {
	out := Snapshot{SLOs: slices.Clone(local.SLOs), Anomalies: slices.Clone(local.Anomalies), Watched: local.Watched}
	slos := map[string]bool{}
	for i := range out.SLOs {
		slos[out.SLOs[i].Key()] = true
	}
	flagged := map[string]bool{}
	for i := range out.Anomalies {
		flagged[out.Anomalies[i].key()] = true
	}
	for _, o := range others {
		out.Watched += o.Watched
		for _, s := range o.SLOs {
			if !slos[s.Key()] {
				slos[s.Key()] = true
				out.SLOs = append(out.SLOs, s)
			}
		}
		for _, a := range o.Anomalies {
			if !flagged[a.key()] {
				flagged[a.key()] = true
				out.Anomalies = append(out.Anomalies, a)
			}
		}
	}
	sort.SliceStable(out.SLOs, func(i, j int) bool { return out.SLOs[i].Key() < out.SLOs[j].Key() })
	sortAnomalies(out.Anomalies)
	return out
}

// key identifies a flagged series: service, operation, metric and
// attributes.
func (a *Anomaly) key() string {
	var b strings.Builder
	for _, part := range []string{a.Service, a.Operation, a.Metric} {
		b.WriteString(part)
		b.WriteByte(0xFF)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Attributes)) {
		b.WriteString(k)
		b.WriteByte(0xFE)
		b.WriteString(a.Attributes[k])
		b.WriteByte(0xFF)
	}
	return b.String()
}
