package tracker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/slo"
)

// severities are the alert severities in evaluation order: the page first,
// because its state decides whether the ticket is held (see holdTicket).
var severities = [...]string{conventions.SeverityPage, conventions.SeverityTicket}

const (
	pageIdx   = 0
	ticketIdx = 1
)

// series is the accounting of one SLO series: the SLO itself, or one
// combination of its GroupBy values.
type series struct {
	group []string
	// rings are allocated by the first event, so that an SLO without
	// traffic costs next to nothing; nil rings hold no event.
	rings []ring
	// totalGood and totalBad count every accepted event since the series
	// was created, for the monotonic vigil_slo_events_total counter.
	totalGood, totalBad uint64
	alerts              [len(severities)]alertState
	// pagedBurst is set while the ticket's condition may come from a
	// burst the page fired for: the ticket stays quiet (see holdTicket).
	pagedBurst bool
}

// alertState is the state of one severity's alert of a series.
type alertState struct {
	// firing is the state last reported, after inhibition and hold-down.
	firing bool
	since  time.Time
	// clearSince is when the condition stopped holding while the alert
	// still fires, during a hold-down.
	clearSince time.Time
	// window is the window pair that made the alert fire.
	window slo.AlertWindow
	// pending are the timers of an alert whose rows wait (see wait.go):
	// when each row's condition, or the rows' together, began to hold.
	pending []time.Time
}

// allocate makes the series' rings, if it has none, with now as their
// newest bucket.
func (s *series) allocate(l *layout, now int64) {
	if s.rings != nil {
		return
	}
	s.rings = make([]ring, len(l.rings))
	for i, spec := range l.rings {
		s.rings[i] = newRing(spec.res, spec.n, now)
	}
}

// add counts events that ended at t; now is the clock's time.
func (s *series) add(l *layout, now, t int64, good, bad uint64) {
	s.allocate(l, now)
	for i := range s.rings {
		s.rings[i].add(t, good, bad)
	}
	s.totalGood += good
	s.totalBad += bad
}

// sum returns the events of ring i that ended in (from, to].
func (s *series) sum(i int, from, to int64) (good, bad float64) {
	if s.rings == nil {
		return 0, 0
	}
	return s.rings[i].sum(from, to)
}

// Refusals counts refused events (good plus bad) by reason.
type Refusals struct {
	TooLate    uint64 `json:"too_late"`
	InFuture   uint64 `json:"in_future"`
	GroupLimit uint64 `json:"group_limit"`
	GroupArity uint64 `json:"group_arity"`
}

// sloState is the state of one SLO: its definition and its series. mu
// guards everything but the fields set at creation (def, layout, windows, waits,
// fingerprint, maxGroups).
type sloState struct {
	def slo.SLO
	// budget is def.ErrorBudget(), computed once: it takes exact
	// fractions (math/big), which cost half of every evaluation when
	// computed per series.
	budget      float64
	fingerprint string
	layout      *layout
	windows     []slo.AlertWindow
	waits       [len(severities)]waitPlan
	maxGroups   int

	mu      sync.Mutex
	series  map[string]*series
	keys    []string // series keys, sorted, for a stable Evaluate order
	refused Refusals
}

func newSLOState(def slo.SLO) *sloState {
	def.GroupBy = slices.Clone(def.GroupBy)
	st := &sloState{
		def:         def,
		budget:      def.ErrorBudget(),
		fingerprint: accountingFingerprint(def),
		layout:      newLayoutFor(def.Window, def.BurnRateWindows()),
		windows:     def.AlertWindows(),
		waits:       planWaits(def.AlertWindows()),
		maxGroups:   def.MaxGroups,
		series:      map[string]*series{},
	}
	if st.maxGroups <= 0 {
		st.maxGroups = slo.DefaultMaxGroups
	}
	if len(def.GroupBy) == 0 {
		// An SLO without GroupBy always has its one series, so that it
		// reports an untouched budget before its first event.
		st.insert("", nil)
	}
	return st
}

// insert adds a series; the caller holds mu.
func (st *sloState) insert(key string, group []string) *series {
	s := &series{group: group}
	st.series[key] = s
	i, _ := slices.BinarySearch(st.keys, key)
	st.keys = slices.Insert(st.keys, i, key)
	return s
}

// remove drops a series; the caller holds mu.
func (st *sloState) remove(key string) {
	delete(st.series, key)
	if i, found := slices.BinarySearch(st.keys, key); found {
		st.keys = slices.Delete(st.keys, i, i+1)
	}
}

// accountingFingerprint identifies what the buckets of an SLO mean: which
// events count (the SLI), how they are split (GroupBy) and how long they
// are kept (the window). State survives a reload or a restore only when it
// is unchanged; the objective and alerting may change freely, as they only
// read the counts.
func accountingFingerprint(def slo.SLO) string {
	// Whether a burn rate equal to the threshold holds reads the counts
	// only: the checkpoints written before AlertWindow.Inclusive keep
	// their fingerprint.
	windows := slices.Clone(def.Windows)
	for i := range windows {
		windows[i].Inclusive = false
	}
	b, err := json.Marshal(struct {
		Window  slo.Window
		Windows []slo.AlertWindow `json:",omitempty"` // omitted when unset, so fingerprints of checkpoints written before it stay valid
		GroupBy []string
		SLI     slo.SLI
	}{def.Window, windows, def.GroupBy, def.SLI})
	if err != nil {
		// The model holds plain data, which always marshals. Should a
		// field that doesn't appear, a printed form still tells
		// definitions apart, at worst dropping state on a reload.
		b = fmt.Appendf(nil, "%#v %#v %q", def.Window, def.SLI, def.GroupBy)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// appendGroupKey builds the map key of a group: its values joined by 0xff,
// a byte that valid UTF-8 never contains.
func appendGroupKey(buf []byte, group []string) []byte {
	for i, v := range group {
		if i > 0 {
			buf = append(buf, 0xff)
		}
		buf = append(buf, v...)
	}
	return buf
}

func policyOf(a slo.Alerting, idx int) *slo.AlertPolicy {
	if idx == pageIdx {
		return a.Page
	}
	return a.Ticket
}
