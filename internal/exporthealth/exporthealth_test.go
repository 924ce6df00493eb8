package exporthealth

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// host records the status events reported to it.
type host struct{ events []componentstatus.Status }

func (*host) GetExtensions() map[component.ID]component.Component { return nil }
func (h *host) Report(ev *componentstatus.Event)                  { h.events = append(h.events, ev.Status()) }

func TestReportsChangesOnly(t *testing.T) {
	down := errors.New("connection refused")
	bad := consumererror.NewPermanent(errors.New("rejected row"))
	for _, tc := range []struct {
		name     string
		outcomes []error
		want     []componentstatus.Status
	}{
		{"healthy", []error{nil, nil}, nil},
		{"outage and recovery", []error{nil, down, down, nil, nil, down},
			[]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK, componentstatus.StatusRecoverableError}},
		{"permanent failures are the data's", []error{bad, bad}, nil},
		{"a permanent failure does not end an outage", []error{down, bad, nil},
			[]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Reporter
			h := &host{}
			r.Start(h)
			for _, err := range tc.outcomes {
				if got := r.Observe(err); got != err {
					t.Fatalf("Observe(%v) = %v", err, got)
				}
			}
			if len(h.events) != len(tc.want) {
				t.Fatalf("events %v, want %v", h.events, tc.want)
			}
			for i := range h.events {
				if h.events[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", h.events, tc.want)
				}
			}
		})
	}
}

func TestBeforeStartReportsNothing(t *testing.T) {
	var r Reporter
	err := errors.New("down")
	if got := r.Observe(err); got != err {
		t.Fatalf("Observe = %v", got)
	}
}
