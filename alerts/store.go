package alerts

import (
	"context"
	"sync"
)

// Store persists the notification log. Its methods have the shapes of the
// collector's storage extension client (xextension/storage.Client), so the
// exporter passes that client straight through; like it, Get returns nil
// and no error for a missing key.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// MemStore is a Store in memory, for tests and for running without a
// storage extension (state is then lost on restart).
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// Get returns a copy of the value under key, or nil if there is none.
func (s *MemStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

// Set stores a copy of value under key.
func (s *MemStore) Set(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *MemStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

var _ Updater = (*MemStore)(nil)

// Update replaces the value under key with update's result, atomically.
func (s *MemStore) Update(_ context.Context, key string, update func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur []byte
	if v, ok := s.m[key]; ok {
		cur = append([]byte(nil), v...)
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	s.m[key] = append([]byte(nil), next...)
	return nil
}
