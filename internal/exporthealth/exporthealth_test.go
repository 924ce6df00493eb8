package exporthealth

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// host records the status events reported to it.
type host struct{ events []componentstatus.Status }

func (*host) GetExtensions() map[component.ID]component.Component { return nil }
func (h *host) Report(ev *componentstatus.Event)                  { h.events = append(h.events, ev.Status()) }

// line is a log entry as the tests compare it.
type line struct {
	level zapcore.Level
	msg   string
}

func TestReportsChangesOnly(t *testing.T) {
	down := errors.New("connection refused")
	bad := consumererror.NewPermanent(errors.New("rejected row"))
	warn := line{zapcore.WarnLevel, FailingMessage}
	info := line{zapcore.InfoLevel, RecoveredMessage}
	for _, tc := range []struct {
		name     string
		outcomes []error
		want     []componentstatus.Status
		lines    []line
	}{
		{"healthy", []error{nil, nil}, nil, nil},
		{"outage and recovery", []error{nil, down, down, nil, nil, down},
			[]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK, componentstatus.StatusRecoverableError},
			[]line{warn, info, warn}},
		{"permanent failures are the data's", []error{bad, bad}, nil, nil},
		{"a permanent failure does not end an outage", []error{down, bad, nil},
			[]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK},
			[]line{warn, info}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Reporter
			h := &host{}
			core, logs := observer.New(zapcore.DebugLevel)
			r.Start(h, zap.New(core))
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
			var got []line
			for _, e := range logs.All() {
				got = append(got, line{e.Level, e.Message})
			}
			if len(got) != len(tc.lines) {
				t.Fatalf("log %v, want %v", got, tc.lines)
			}
			for i := range got {
				if got[i] != tc.lines[i] {
					t.Fatalf("log %v, want %v", got, tc.lines)
				}
			}
		})
	}
}

// TestStreakLogged: the warning of a streak carries the error that
// started it, the line that ends it how many attempts failed.
func TestStreakLogged(t *testing.T) {
	var r Reporter
	core, logs := observer.New(zapcore.DebugLevel)
	r.Start(&host{}, zap.New(core))
	_ = r.Observe(errors.New("dial tcp 127.0.0.1:9: connection refused"))
	_ = r.Observe(errors.New("dial tcp 127.0.0.1:9: connection refused"))
	_ = r.Observe(errors.New("HTTP 503"))
	_ = r.Observe(nil)
	entries := logs.All()
	if len(entries) != 2 {
		t.Fatalf("%d lines, want 2: %v", len(entries), entries)
	}
	if got := entries[0].ContextMap()["error"]; got != "dial tcp 127.0.0.1:9: connection refused" {
		t.Errorf("warning's error = %v", got)
	}
	if got := entries[1].ContextMap()["failed_attempts"]; got != int64(3) {
		t.Errorf("recovery's failed_attempts = %v (%T), want 3", got, got)
	}
}

func TestBeforeStartReportsNothing(t *testing.T) {
	var r Reporter
	err := errors.New("down")
	if got := r.Observe(err); got != err {
		t.Fatalf("Observe = %v", got)
	}
}
