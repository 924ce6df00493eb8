// Package statusboard carries read-only snapshots of SLO and anomaly
// state from the connectors that own it (slo, anomaly) to the alert
// router's console, in process; in a fleet the router also publishes the
// board's Snapshot for the other evaluators' consoles (snapshot.go). The connectors publish after each
// evaluation; the console reads. Nothing here is a collector type, and a
// reader gets copies, so it can never disturb a publisher.
//
// The board also keeps, per SLO series, a short history of its error
// budget remaining, for the status page's chart of the budget over the
// SLO's period. The history is in memory: it starts with the process, and
// covers at most the SLO's period in at most HistoryPoints points.
package statusboard // import "github.com/vigil-otel/vigil/internal/statusboard"

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// HistoryPoints bounds the budget history of one SLO series: when full,
// every other point is dropped, so the history keeps covering everything
// since it began at half the resolution.
const HistoryPoints = 240

// Default is the process's board: the connectors publish to it and the
// alert router's console reads it. Components of one collector share it;
// each publisher names itself by its component ID.
var Default = New()

// SLO is the state of one SLO series (an SLO, or one group of its
// group_by) at an evaluation.
type SLO struct {
	Name, Service string
	// Group holds the series' group_by values by attribute; nil for an SLO
	// without group_by.
	Group map[string]string
	// Objective is a ratio (0.999); Period the error-budget window.
	Objective float64
	Period    time.Duration
	// BudgetRemaining is 1 untouched, 0 spent, negative overspent.
	BudgetRemaining float64
	// DataSince is when the oldest event BudgetRemaining counts ended
	// (tracker.Status.DataSince); zero without events. The page words the
	// budget with it (slo.DataSeen) while the data covers little of the
	// period: -1900% over two minutes is not a month's spending. Omitted
	// from a fleet's JSON when zero; a peer that does not send it shows
	// the bare figure.
	DataSince time.Time `json:",omitzero"`
	// BurnRates are per window, shortest first.
	BurnRates []BurnRate
	// Alerts are per severity the SLO alerts on.
	Alerts []SLOAlert
	// RunbookURL and DashboardURL link the SLO, when configured.
	RunbookURL, DashboardURL string
	// Budget is the history of BudgetRemaining (filled in by the board).
	Budget []Point
	// At is the evaluation time.
	At time.Time
}

// Key identifies the series: name, service and group values.
func (s *SLO) Key() string {
	var b strings.Builder
	b.WriteString(s.Service)
	b.WriteByte(0xFF)
	b.WriteString(s.Name)
	for _, k := range slices.Sorted(maps.Keys(s.Group)) {
		b.WriteByte(0xFF)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s.Group[k])
	}
	return b.String()
}

// Firing reports whether an alert of the SLO fires.
func (s *SLO) Firing() bool {
	return slices.ContainsFunc(s.Alerts, func(a SLOAlert) bool { return a.Firing })
}

// BurnRate is the burn rate over one window.
type BurnRate struct {
	Window time.Duration
	Rate   float64
}

// SLOAlert is the state of one severity's burn-rate alert.
type SLOAlert struct {
	Severity string
	Firing   bool
	Since    time.Time
}

// Point is one sample of a history.
type Point struct {
	At    time.Time
	Value float64
}

// Anomaly is a series the anomaly detector flags as anomalous.
type Anomaly struct {
	Metric, Service, Operation string
	// Attributes are a selected metric's own identifying attributes.
	Attributes map[string]string
	// Value is the last value seen, with the band the detector expected.
	Value, Expected, Lower, Upper float64
	// Score is in [0,1]; Reason says why (above_band, ...).
	Score  float64
	Reason string
	// Since is when the series turned anomalous; At is the last interval
	// with data.
	Since, At time.Time
}

// Anomalies is what an anomaly connector publishes after an interval.
type Anomalies struct {
	// Watched counts the series under watch.
	Watched int
	// Flagged are the anomalous series.
	Flagged []Anomaly
	At      time.Time
}

// Board holds the latest snapshot of each publisher.
type Board struct {
	mu        sync.Mutex
	slos      map[string][]SLO // by publisher
	history   map[string]*history
	anomalies map[string]Anomalies // by publisher
	// version counts the publications and withdrawals.
	version uint64
}

type history struct {
	points []Point
	// step is the spacing below which a new point replaces the last one.
	step time.Duration
}

// New returns an empty board.
func New() *Board {
	return &Board{slos: map[string][]SLO{}, history: map[string]*history{}, anomalies: map[string]Anomalies{}}
}

// PublishSLOs replaces the SLO snapshot of publisher and adds each
// series' budget to its history. The board keeps slos; the caller must
// not change it afterwards.
func (b *Board) PublishSLOs(publisher string, slos []SLO) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.version++
	b.slos[publisher] = slos
	for i := range slos {
		s := &slos[i]
		key := publisher + "\xff" + s.Key()
		h := b.history[key]
		if h == nil {
			h = &history{}
			b.history[key] = h
		}
		h.add(Point{At: s.At, Value: s.BudgetRemaining}, s.Period)
	}
}

func (h *history) add(p Point, period time.Duration) {
	if n := len(h.points); n > 1 && p.At.Sub(h.points[n-2].At) < h.step {
		// The last point stands for the latest evaluation until a new
		// step begins.
		h.points[n-1] = p
	} else {
		h.points = append(h.points, p)
	}
	// Drop what is older than the period, then halve the resolution when
	// full.
	cut := sort.Search(len(h.points), func(i int) bool { return !h.points[i].At.Before(p.At.Add(-period)) })
	h.points = h.points[cut:]
	if len(h.points) >= HistoryPoints {
		kept := h.points[:0]
		for i, q := range h.points {
			if i%2 == 0 || i == len(h.points)-1 {
				kept = append(kept, q)
			}
		}
		h.points = kept
		h.step = p.At.Sub(h.points[0].At) / (HistoryPoints / 2)
	}
}

// PublishAnomalies replaces the anomaly snapshot of publisher.
func (b *Board) PublishAnomalies(publisher string, a Anomalies) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.version++
	b.anomalies[publisher] = a
}

// Withdraw removes everything publisher published, as when its component
// shuts down.
func (b *Board) Withdraw(publisher string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.version++
	delete(b.slos, publisher)
	delete(b.anomalies, publisher)
	for key := range b.history {
		if strings.HasPrefix(key, publisher+"\xff") {
			delete(b.history, key)
		}
	}
}

// SLOs returns every published SLO series with its budget history, by
// service, name and group.
func (b *Board) SLOs() []SLO {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []SLO
	for _, publisher := range slices.Sorted(maps.Keys(b.slos)) {
		for _, s := range b.slos[publisher] {
			s.Group = maps.Clone(s.Group)
			s.BurnRates = slices.Clone(s.BurnRates)
			s.Alerts = slices.Clone(s.Alerts)
			if h := b.history[publisher+"\xff"+s.Key()]; h != nil {
				s.Budget = slices.Clone(h.points)
			}
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Anomalies returns the flagged series of every publisher, most anomalous
// first, and the number of series watched.
func (b *Board) Anomalies() (flagged []Anomaly, watched int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.anomalies {
		watched += a.Watched
		for _, f := range a.Flagged {
			f.Attributes = maps.Clone(f.Attributes)
			flagged = append(flagged, f)
		}
	}
	sortAnomalies(flagged)
	return flagged, watched
}

// sortAnomalies sorts flagged series most anomalous first.
func sortAnomalies(flagged []Anomaly) {
	sort.SliceStable(flagged, func(i, j int) bool {
		if flagged[i].Score != flagged[j].Score {
			return flagged[i].Score > flagged[j].Score
		}
		return flagged[i].Service+flagged[i].Operation+flagged[i].Metric < flagged[j].Service+flagged[j].Operation+flagged[j].Metric
	})
}
