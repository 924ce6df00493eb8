package storageclient

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

type host struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// notStorage is an extension that is not a storage extension.
type notStorage struct{ extension.Extension }

// memStorage hands out one in-memory client and records who asked.
type memStorage struct {
	extension.Extension
	kind  component.Kind
	owner component.ID
	name  string
}

func (m *memStorage) GetClient(_ context.Context, kind component.Kind, owner component.ID, name string) (storage.Client, error) {
	m.kind, m.owner, m.name = kind, owner, name
	return storage.NewNopClient(), nil
}

func TestGet(t *testing.T) {
	storeID := component.MustNewID("file_storage")
	otherID := component.MustNewID("pprof")
	owner := component.MustNewID("slo")
	mem := &memStorage{}
	h := host{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{
		storeID: mem,
		otherID: notStorage{},
	}}

	client, err := Get(context.Background(), h, storeID, component.KindConnector, owner, "state")
	if err != nil || client == nil {
		t.Fatalf("Get = %v, %v", client, err)
	}
	if mem.kind != component.KindConnector || mem.owner != owner || mem.name != "state" {
		t.Errorf("client asked for %v %v %q", mem.kind, mem.owner, mem.name)
	}

	for _, tt := range []struct {
		id   component.ID
		want string
	}{
		{component.MustNewID("missing"), `storage extension "missing" not found`},
		{otherID, `extension "pprof" is not a storage extension`},
	} {
		if _, err := Get(context.Background(), h, tt.id, component.KindConnector, owner, ""); err == nil || err.Error() != tt.want {
			t.Errorf("Get(%v) error = %v, want %q", tt.id, err, tt.want)
		}
	}
}
