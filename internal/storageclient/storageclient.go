// Package storageclient gets a component's client from a storage extension
// (such as file_storage) named in its config: the lookup every Vigil
// component that keeps state across restarts does at Start.
package storageclient

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Get returns the client of storage extension id for the component owner of
// the given kind. name tells apart several clients of one component ("" for
// the only one). Errors name the extension.
func Get(ctx context.Context, host component.Host, id component.ID, kind component.Kind, owner component.ID, name string) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage extension %q not found", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", id)
	}
	client, err := se.GetClient(ctx, kind, owner, name)
	if err != nil {
		return nil, fmt.Errorf("storage extension %q: %w", id, err)
	}
	return client, nil
}
