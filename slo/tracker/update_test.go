package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/slo"
)

func TestUpdate(t *testing.T) {
	base := testSLO("availability", 99, rolling30d())
	base.Alerting = alerting(1)
	other := testSLO("latency", 99, rolling30d())
	now := t0.Add(time.Hour)

	type want struct {
		id        string
		totalBad  uint64
		burn5m    float64
		pageFires bool
	}
	tests := []struct {
		name        string
		update      []slo.SLO
		want        []want
		transitions []transitionKey
	}{
		{
			name:   "unchanged definition keeps counts and alert",
			update: []slo.SLO{base, other},
			want:   []want{{base.ID(), 50, 50, true}, {other.ID(), 0, 0, false}},
		},
		{
			name:   "objective change keeps counts, burn rate and alerts follow the new budget",
			update: []slo.SLO{func() slo.SLO { s := base; s.Objective = 90; return s }()},
			want:   []want{{base.ID(), 50, 5, false}},
			// Burn rate 5 is below both page thresholds but above the
			// ticket's: the ticket's condition comes from the burst the
			// page fired for, so it stays quiet.
			transitions: []transitionKey{{page, resolved, now}},
		},
		{
			name:        "window change starts afresh and resolves the old alert",
			update:      []slo.SLO{func() slo.SLO { s := base; s.Window = slo.Window{Calendar: slo.CalendarMonth}; return s }()},
			want:        []want{{base.ID(), 0, 0, false}},
			transitions: []transitionKey{{page, resolved, now}},
		},
		{
			name:        "removed SLO resolves its alert",
			update:      []slo.SLO{other},
			want:        []want{{other.ID(), 0, 0, false}},
			transitions: []transitionKey{{page, resolved, now}},
		},
		{
			// Without a page nothing else tells of the problem: the
			// ticket fires.
			name:        "removed page policy resolves the page",
			update:      []slo.SLO{func() slo.SLO { s := base; s.Alerting.Page = nil; return s }()},
			want:        []want{{base.ID(), 50, 50, false}},
			transitions: []transitionKey{{page, resolved, now}, {ticket, firing, now}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, clock := newTestTracker(t, []slo.SLO{base}, Options{}, now)
			if err := tr.Record(base.ID(), nil, now, 50, 50); err != nil {
				t.Fatal(err)
			}
			if _, trs := tr.Evaluate(now); len(trs) != 1 || trs[0].Severity != page {
				t.Fatalf("before the update: transitions %+v, want the page firing", trs)
			}
			clock.Set(now)
			tr.Update(tt.update)
			statuses, transitions := tr.Evaluate(now)
			var got []want
			for _, st := range statuses {
				burn, _ := st.BurnRate(5 * time.Minute)
				a, _ := st.Alert(page)
				got = append(got, want{st.SLOID, st.TotalBad, burn, a.Firing})
			}
			if !slices.EqualFunc(got, tt.want, func(g, w want) bool {
				return g.id == w.id && g.totalBad == w.totalBad && approx(g.burn5m, w.burn5m, 1e-9) && g.pageFires == w.pageFires
			}) {
				t.Errorf("statuses %+v, want %+v", got, tt.want)
			}
			if keys := transitionKeys([]ReplayStep{{Transitions: transitions}}); !slices.Equal(keys, tt.transitions) {
				t.Errorf("transitions %v, want %v", keys, tt.transitions)
			}
		})
	}
}

func TestUpdateKeepsRecording(t *testing.T) {
	s := testSLO("availability", 99, rolling30d())
	s.GroupBy = []string{"route"}
	tr, _ := newTestTracker(t, []slo.SLO{s}, Options{}, t0)
	if err := tr.Record(s.ID(), []string{"/a"}, t0, 1, 0); err != nil {
		t.Fatal(err)
	}
	s.MaxGroups = 1
	tr.Update([]slo.SLO{s})
	if err := tr.Record(s.ID(), []string{"/a"}, t0, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(s.ID(), []string{"/b"}, t0, 1, 0); err != ErrGroupLimit {
		t.Errorf("a second group under the new MaxGroups 1: %v, want ErrGroupLimit", err)
	}
	statuses, _ := tr.Evaluate(t0)
	if len(statuses) != 1 || statuses[0].TotalGood != 2 {
		t.Errorf("statuses %+v, want /a with 2 events", statuses)
	}
}
