package alerts

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()

	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Nil(t, got, "a missing key is nil without error, like storage.Client")

	value := []byte("v1")
	require.NoError(t, s.Set(ctx, "k", value))
	value[0] = 'X'
	got, err = s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, []byte("v1"), got, "Set keeps a copy")
	got[0] = 'Y'
	again, _ := s.Get(ctx, "k")
	assert.Equal(t, []byte("v1"), again, "Get returns a copy")

	require.NoError(t, s.Delete(ctx, "k"))
	require.NoError(t, s.Delete(ctx, "k"), "deleting a missing key is not an error")
	got, err = s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Nil(t, got)
}
