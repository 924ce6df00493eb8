package sharedcomponent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

// recorder is a shared value that writes down each lifecycle call.
type recorder struct {
	calls    *[]string
	startErr error
}

func (r recorder) Start(context.Context, component.Host) error {
	*r.calls = append(*r.calls, "start")
	return r.startErr
}

func (r recorder) Shutdown(context.Context) error {
	*r.calls = append(*r.calls, "shutdown")
	return nil
}

func (r recorder) StartSending() { *r.calls = append(*r.calls, "send") }
func (r recorder) StopSending()  { *r.calls = append(*r.calls, "stop-sending") }

// step is one lifecycle call on instance i (0-based).
type step struct {
	op string // "start" or "shutdown"
	i  int
	// want is the value's calls so far, space separated.
	want string
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		instances int
		startErr  error
		steps     []step
	}{
		{
			name:      "one instance",
			instances: 1,
			steps: []step{
				{"start", 0, "start send"},
				{"shutdown", 0, "start send stop-sending shutdown"},
			},
		},
		{
			// Start on the first Start, send once all are started, stop
			// sending at the first Shutdown, shut down at the last.
			name:      "three instances",
			instances: 3,
			steps: []step{
				{"start", 1, "start"},
				{"start", 0, "start"},
				{"start", 2, "start send"},
				{"shutdown", 2, "start send stop-sending"},
				{"shutdown", 0, "start send stop-sending"},
				{"shutdown", 1, "start send stop-sending shutdown"},
			},
		},
		{
			name:      "repeated calls count once",
			instances: 2,
			steps: []step{
				{"start", 0, "start"},
				{"start", 0, "start"},
				{"start", 1, "start send"},
				{"shutdown", 1, "start send stop-sending"},
				{"shutdown", 1, "start send stop-sending"},
				{"shutdown", 0, "start send stop-sending shutdown"},
			},
		},
		{
			// The collector shuts every component down after a failed
			// start, started or not.
			name:      "failed start",
			instances: 2,
			startErr:  errors.New("bad spec"),
			steps: []step{
				{"start", 0, "start"},
				{"start", 1, "start"},
				{"shutdown", 0, "start"},
				{"shutdown", 1, "start shutdown"},
			},
		},
		{
			name:      "never started",
			instances: 2,
			steps: []step{
				{"shutdown", 0, ""},
				{"shutdown", 1, "shutdown"},
			},
		},
		{
			// A shutdown before every instance started: no sending at all.
			name:      "shut down while starting",
			instances: 2,
			steps: []step{
				{"start", 0, "start"},
				{"shutdown", 0, "start"},
				{"start", 1, "start"},
				{"shutdown", 1, "start shutdown"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMap[string, recorder]()
			var calls []string
			created := 0
			insts := make([]*Instance[string, recorder], tt.instances)
			for i := range insts {
				var err error
				insts[i], err = m.LoadOrStore("cfg", func() (recorder, error) {
					created++
					return recorder{calls: &calls, startErr: tt.startErr}, nil
				})
				require.NoError(t, err)
			}
			assert.Equal(t, 1, created, "one value per key")
			for _, s := range tt.steps {
				var err error
				if s.op == "start" {
					err = insts[s.i].Start(context.Background(), componenttest.NewNopHost())
					if tt.startErr != nil {
						assert.ErrorIs(t, err, tt.startErr, "every instance reports the failed start")
					} else {
						assert.NoError(t, err)
					}
				} else {
					assert.NoError(t, insts[s.i].Shutdown(context.Background()))
				}
				assert.Equal(t, s.want, strings.Join(calls, " "), "after %s of instance %d", s.op, s.i)
			}
			assert.Equal(t, 0, m.Len(), "the last shutdown forgets the value")
		})
	}
}

func TestKeysAreApart(t *testing.T) {
	m := NewMap[*int, recorder]()
	var calls []string
	create := func() (recorder, error) { return recorder{calls: &calls}, nil }
	a, b := new(int), new(int)
	ia, err := m.LoadOrStore(a, create)
	require.NoError(t, err)
	ib, err := m.LoadOrStore(b, create)
	require.NoError(t, err)
	ia2, err := m.LoadOrStore(a, create)
	require.NoError(t, err)
	assert.Equal(t, 2, m.Len())
	assert.Same(t, ia.e, ia2.e, "same key, same value")
	assert.NotSame(t, ia.e, ib.e, "another key, another value")

	// After the last shutdown the key gets a fresh value (a reload).
	require.NoError(t, ia.Shutdown(context.Background()))
	require.NoError(t, ia2.Shutdown(context.Background()))
	again, err := m.LoadOrStore(a, create)
	require.NoError(t, err)
	assert.NotSame(t, ia.e, again.e)
}

func TestCreateError(t *testing.T) {
	m := NewMap[string, recorder]()
	_, err := m.LoadOrStore("k", func() (recorder, error) { return recorder{}, errors.New("no") })
	require.Error(t, err)
	assert.Equal(t, 0, m.Len(), "nothing is kept of a failed creation")
}

func TestValueWithoutSender(t *testing.T) {
	m := NewMap[string, Lifecycle]()
	var calls []string
	inst, err := m.LoadOrStore("k", func() (Lifecycle, error) {
		return struct{ Lifecycle }{recorder{calls: &calls}}, nil
	})
	require.NoError(t, err)
	require.NoError(t, inst.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, inst.Shutdown(context.Background()))
	assert.Equal(t, "start shutdown", strings.Join(calls, " "), "only Lifecycle's calls")
}
