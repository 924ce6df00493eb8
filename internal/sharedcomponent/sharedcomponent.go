// Package sharedcomponent lets the instances the collector builds of one
// component share one value with one lifecycle.
//
// The collector builds a connector once per pair of pipeline signals it
// joins (traces→metrics, traces→logs, ...) and passes each the same
// *Config. Vigil's connectors keep one state per configuration (one SLO
// tracker, one set of detectors), so the instances must share it: this is
// the pattern of the collector's and contrib's internal sharedcomponent
// packages, which cannot be imported from outside their modules. Theirs
// stops the shared value at the first Shutdown; Vigil's connectors need
// more than that, because an instance still running may still receive
// data (its input pipeline stops later) and the final checkpoint must
// come after the last event:
//
//   - Start of the first instance starts the shared value (Start);
//   - once every instance has been started, every pipeline the value
//     sends to is running: a value that sends on its own (a timer) is told
//     so (Sender.StartSending);
//   - at the first Shutdown one of those pipelines may soon stop: the value
//     is told to stop sending (Sender.StopSending);
//   - Shutdown of the last instance shuts the value down (Shutdown) and
//     forgets it, so a rebuilt pipeline (a collector reload) gets a fresh
//     one.
package sharedcomponent // import "github.com/vigil-otel/vigil/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Lifecycle is what a shared value implements.
type Lifecycle interface {
	// Start runs once, when the first instance starts. An error is
	// returned by every instance's Start.
	Start(ctx context.Context, host component.Host) error
	// Shutdown runs once, when the last instance shuts down, whether or
	// not Start ran or succeeded.
	Shutdown(ctx context.Context) error
}

// Sender is implemented by shared values that send downstream on their
// own, from a timer rather than from a Consume call.
type Sender interface {
	// StartSending runs once every instance has been started after a
	// successful Start: every output pipeline is running.
	StartSending()
	// StopSending runs at the first Shutdown, before any output pipeline
	// stops, if StartSending ran. It returns once nothing is being sent.
	StopSending()
}

// Map holds the shared value of each key. Its zero value is not usable:
// call NewMap.
type Map[K comparable, V Lifecycle] struct {
	mu      sync.Mutex
	entries map[K]*entry[V]
}

// NewMap returns an empty Map.
func NewMap[K comparable, V Lifecycle]() *Map[K, V] {
	return &Map[K, V]{entries: map[K]*entry[V]{}}
}

// entry is one shared value and the count of its instances.
type entry[V Lifecycle] struct {
	value V
	// Guarded by Map.mu.
	instances, started, stopped int
	startErr                    error
	sending, startDone          bool
}

// LoadOrStore returns a new instance of the value of key, creating the
// value with create when key has none. Every call counts one instance,
// which the caller must Start and Shutdown as a component.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Instance[K, V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		v, err := create()
		if err != nil {
			return nil, err
		}
		e = &entry[V]{value: v}
		m.entries[key] = e
	}
	e.instances++
	return &Instance[K, V]{m: m, key: key, e: e}, nil
}

// Len returns the number of shared values held, for tests.
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Instance is one instance's handle on a shared value: its Start and
// Shutdown are the instance's.
type Instance[K comparable, V Lifecycle] struct {
	m                 *Map[K, V]
	key               K
	e                 *entry[V]
	started, shutdown bool // guarded by Map.mu
}

var _ component.Component = (*Instance[int, Lifecycle])(nil)

// Value returns the shared value.
func (i *Instance[K, V]) Value() V { return i.e.value }

// Start starts the shared value if this is the first instance to start,
// and tells it to start sending once every instance has started.
//
// The collector starts components one at a time, so Map.mu is held across
// the value's Start: a second instance starting concurrently waits for the
// first one's outcome.
func (i *Instance[K, V]) Start(ctx context.Context, host component.Host) error {
	i.m.mu.Lock()
	defer i.m.mu.Unlock()
	e := i.e
	if i.started {
		return e.startErr
	}
	i.started = true
	e.started++
	if !e.startDone {
		e.startDone = true
		e.startErr = e.value.Start(ctx, host)
	}
	if e.startErr == nil && !e.sending && e.stopped == 0 && e.started == e.instances {
		if s, ok := any(e.value).(Sender); ok {
			s.StartSending()
		}
		e.sending = true
	}
	return e.startErr
}

// Shutdown tells the value to stop sending at the first instance's
// Shutdown and shuts it down at the last one's. Calling it again, or on an
// instance never started, is allowed.
func (i *Instance[K, V]) Shutdown(ctx context.Context) error {
	i.m.mu.Lock()
	defer i.m.mu.Unlock()
	if i.shutdown {
		return nil
	}
	i.shutdown = true
	e := i.e
	e.stopped++
	if e.sending {
		e.sending = false
		if s, ok := any(e.value).(Sender); ok {
			s.StopSending()
		}
	}
	if e.stopped < e.instances {
		return nil
	}
	if i.m.entries[i.key] == e {
		delete(i.m.entries, i.key)
	}
	return e.value.Shutdown(ctx)
}
