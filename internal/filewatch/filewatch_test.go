package filewatch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silences.yml")
	w := &File{Path: path}
	_, _, err := w.Changed()
	require.Error(t, err, "a missing file is an error")

	steps := []struct {
		write   string
		touch   bool
		changed bool
	}{
		{write: "silences: []\n", changed: true},
		{touch: true, changed: false},
		{write: "silences: []\n", changed: false},
		{write: "silences:\n", changed: true},
	}
	for i, s := range steps {
		if s.touch {
			now := time.Now().Add(time.Duration(i) * time.Second)
			require.NoError(t, os.Chtimes(path, now, now))
		} else {
			require.NoError(t, os.WriteFile(path, []byte(s.write), 0o644))
		}
		data, changed, err := w.Changed()
		require.NoError(t, err)
		assert.Equal(t, s.changed, changed, "step %d", i)
		if changed {
			assert.Equal(t, s.write, string(data))
		}
	}
}

func TestFileForget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silences.yml")
	require.NoError(t, os.WriteFile(path, []byte("a"), 0o644))
	w := &File{Path: path}
	_, changed, err := w.Changed()
	require.NoError(t, err)
	require.True(t, changed)
	w.Forget()
	_, changed, err = w.Changed()
	require.NoError(t, err)
	assert.True(t, changed, "after Forget the same content counts as a change")
}

func TestTree(t *testing.T) {
	dir := t.TempDir()
	single := filepath.Join(t.TempDir(), "single.yaml")
	write := func(path, content string) func() {
		return func() { require.NoError(t, os.WriteFile(path, []byte(content), 0o644)) }
	}
	steps := []struct {
		name    string
		do      func()
		changed bool
	}{
		{"first call", func() {}, true},
		{"nothing", func() {}, false},
		{"touch", func() {
			now := time.Now().Add(time.Hour)
			require.NoError(t, os.Chtimes(filepath.Join(dir, "a.yaml"), now, now))
		}, false},
		{"same content rewritten", write(filepath.Join(dir, "a.yaml"), "a: 1\n"), false},
		{"content", write(filepath.Join(dir, "a.yaml"), "a: 2\n"), true},
		{"file of another extension", write(filepath.Join(dir, "notes.txt"), "x"), false},
		{"subfolder", func() { require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755)) }, false},
		{"new file", write(filepath.Join(dir, "b.YML"), "b: 1\n"), true},
		{"rename", func() {
			require.NoError(t, os.Rename(filepath.Join(dir, "b.YML"), filepath.Join(dir, "c.yml")))
		}, true},
		{"remove", func() { require.NoError(t, os.Remove(filepath.Join(dir, "c.yml"))) }, true},
		{"single file", write(single, "s: 2\n"), true},
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("a: 1\n"), 0o644))
	require.NoError(t, os.WriteFile(single, []byte("s: 1\n"), 0o644))
	w := &Tree{Paths: []string{dir, single}, Extensions: []string{".yaml", ".yml"}}
	for _, s := range steps {
		s.do()
		changed, err := w.Changed()
		require.NoError(t, err, s.name)
		assert.Equal(t, s.changed, changed, s.name)
	}

	// A missing path is an error and keeps the previous content: once it
	// is back unchanged, nothing changed.
	require.NoError(t, os.Rename(single, single+".bak"))
	_, err := w.Changed()
	require.Error(t, err)
	require.NoError(t, os.Rename(single+".bak", single))
	changed, err := w.Changed()
	require.NoError(t, err)
	assert.False(t, changed)
}
