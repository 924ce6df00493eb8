// Package fulldisk is a storage extension whose disk fills on demand: it
// wraps a real one (file_storage, or contrib's storagetest) and, while
// full, fails every write (Set, Delete, a Batch that writes) with ENOSPC,
// as bbolt's do on a full disk, while reads keep working.
package fulldisk // import "github.com/vigil-otel/vigil/internal/testutil/fulldisk"

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Disk is the wrapped storage extension.
type Disk struct {
	storage.Extension
	full atomic.Bool
}

// New wraps ext.
func New(ext storage.Extension) *Disk { return &Disk{Extension: ext} }

// SetFull fills the disk (true) or frees it.
func (d *Disk) SetFull(full bool) { d.full.Store(full) }

// GetClient returns the wrapped extension's client, failing writes while
// the disk is full.
func (d *Disk) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := d.Extension.GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return client{Client: c, d: d, name: name}, nil
}

type client struct {
	storage.Client
	d    *Disk
	name string
}

func (c client) errNoSpace() error {
	return fmt.Errorf("write %s: %w", c.name, syscall.ENOSPC)
}

func (c client) Set(ctx context.Context, key string, value []byte) error {
	if c.d.full.Load() {
		return c.errNoSpace()
	}
	return c.Client.Set(ctx, key, value)
}

func (c client) Delete(ctx context.Context, key string) error {
	if c.d.full.Load() {
		return c.errNoSpace()
	}
	return c.Client.Delete(ctx, key)
}

func (c client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type != storage.Get && c.d.full.Load() {
			return c.errNoSpace()
		}
	}
	return c.Client.Batch(ctx, ops...)
}
