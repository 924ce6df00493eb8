// Package ownershiptest fakes a fleet's shared store and ownership for the
// tests of components that take part in one: a Store shared by Members,
// each a storage extension and an ownership.Coordinator whose services
// the test acquires and releases by hand, as redis_storage's leases would.
package ownershiptest

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/vigil-otel/vigil/internal/ownership"
)

// Store is the shared store: one key space per component, as
// redis_storage keys by component kind and ID.
type Store struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{m: map[string][]byte{}} }

// Keys returns the stored keys, with their component prefix.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	return out
}

// Clone returns a copy of the store as it is now: what a process killed
// at this moment leaves behind for the next one.
func (s *Store) Clone() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := NewStore()
	for k, v := range s.m {
		c.m[k] = append([]byte(nil), v...)
	}
	return c
}

// Member is one process of the fleet: a storage extension on the shared
// Store and a Coordinator. The zero services are owned; Acquire and
// Release change that and tell the registered handlers.
type Member struct {
	component.StartFunc
	component.ShutdownFunc
	store *Store

	mu       sync.Mutex
	owned    map[string]bool
	observed map[string]int
	handlers map[int]ownership.Handler
	next     int
}

var (
	_ storage.Extension     = (*Member)(nil)
	_ ownership.Coordinator = (*Member)(nil)
)

// NewMember returns a member of the fleet of store.
func NewMember(store *Store) *Member {
	return &Member{store: store, owned: map[string]bool{}, observed: map[string]int{}, handlers: map[int]ownership.Handler{}}
}

// GetClient implements storage.Extension.
func (m *Member) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	return &client{s: m.store, prefix: kind.String() + "/" + id.String() + "/" + name + ":"}, nil
}

// Observe implements ownership.Coordinator; Observed counts the calls.
func (m *Member) Observe(service string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observed[service]++
}

// Observed is how often service was observed.
func (m *Member) Observed(service string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observed[service]
}

// Owns implements ownership.Coordinator.
func (m *Member) Owns(service string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owned[service]
}

// Register implements ownership.Coordinator.
func (m *Member) Register(h ownership.Handler) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	m.handlers[id] = h
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.handlers, id)
	}
}

func (m *Member) handlerList() []ownership.Handler {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ownership.Handler, 0, len(m.handlers))
	for i := range m.next {
		if h, ok := m.handlers[i]; ok {
			out = append(out, h)
		}
	}
	return out
}

// Acquire loads the service in every handler and then owns it, as a
// claimed lease does.
func (m *Member) Acquire(ctx context.Context, service string) error {
	for _, h := range m.handlerList() {
		if err := h.Acquired(ctx, service); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.owned[service] = true
	return nil
}

// Release stops owning the service and tells every handler: with
// handover, as a service handed over; without, as a lease lost.
func (m *Member) Release(ctx context.Context, service string, handover bool) {
	m.mu.Lock()
	m.owned[service] = false
	m.mu.Unlock()
	hs := m.handlerList()
	for i := len(hs) - 1; i >= 0; i-- {
		hs[i].Released(ctx, service, handover)
	}
}

type client struct {
	s      *Store
	prefix string
}

func (c *client) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	v, ok := c.s.m[c.prefix+key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (c *client) Set(_ context.Context, key string, value []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.m[c.prefix+key] = append([]byte(nil), value...)
	return nil
}

func (c *client) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	delete(c.s.m, c.prefix+key)
	return nil
}

func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	var errs []error
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			v, err := c.Get(ctx, op.Key)
			op.Value = v
			errs = append(errs, err)
		case storage.Set:
			errs = append(errs, c.Set(ctx, op.Key, op.Value))
		case storage.Delete:
			errs = append(errs, c.Delete(ctx, op.Key))
		default:
			errs = append(errs, errors.New("ownershiptest: unknown operation"))
		}
	}
	return errors.Join(errs...)
}

// Update replaces the value of key atomically, as redis_storage's client
// does (alerts.Updater).
func (c *client) Update(_ context.Context, key string, update func([]byte) ([]byte, error)) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var cur []byte
	if v, ok := c.s.m[c.prefix+key]; ok {
		cur = append([]byte(nil), v...)
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	c.s.m[c.prefix+key] = append([]byte(nil), next...)
	return nil
}

func (c *client) Close(context.Context) error { return nil }
