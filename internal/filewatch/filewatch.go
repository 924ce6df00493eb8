// Package filewatch tells when files changed, the one way Vigil watches
// the files it reloads: the alert routing and silences files and the SLO
// spec files.
//
// Watchers are polled (the caller asks on its own tick) rather than
// notified, so they start no goroutine, survive editors that replace a
// file by renaming another over it, and work on file systems without
// inotify (network mounts, some container volumes, Kubernetes ConfigMaps
// swapped through a symlink). They compare content rather than
// modification time, so touching a file reloads nothing and a change
// within the file system's timestamp resolution is not missed.
package filewatch // import "github.com/vigil-otel/vigil/internal/filewatch"

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File tells when one file's content changed.
type File struct {
	Path string
	sum  [sha256.Size]byte
	read bool
}

// Changed reads the file and returns its content and true when it differs
// from the previous call's (always true the first time). A read error is
// returned without changing what counts as the previous content, so the
// file is reloaded once it is readable again.
func (w *File) Changed() ([]byte, bool, error) {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(data)
	if w.read && sum == w.sum {
		return data, false, nil
	}
	w.sum, w.read = sum, true
	return data, true, nil
}

// Forget makes the next Changed report a change, as after a file was
// removed: a file created again with the same content is applied again.
func (w *File) Forget() { w.read = false }

// Tree tells when any of a set of files and folders changed: a file's
// content, or which files of a folder have one of Extensions (a file
// added, removed or renamed). Subfolders are not read.
type Tree struct {
	// Paths are files and folders.
	Paths []string
	// Extensions are the suffixes, with the dot, of the files read in a
	// folder, compared without regard to case (".yaml", ".yml").
	Extensions []string
	sum        [sha256.Size]byte
	read       bool
}

// Changed reads every file and reports whether any changed since the
// previous call (always true the first time). A read error is returned
// without changing what counts as the previous content.
func (w *Tree) Changed() (bool, error) {
	h := sha256.New()
	var buf [8]byte
	writeFile := func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Length-prefixed, so that no two trees hash alike by moving
		// bytes between a name and a content.
		for _, part := range [][]byte{[]byte(path), data} {
			binary.LittleEndian.PutUint64(buf[:], uint64(len(part)))
			h.Write(buf[:])
			h.Write(part)
		}
		return nil
	}
	for _, p := range w.Paths {
		st, err := os.Stat(p)
		if err != nil {
			return false, err
		}
		if !st.IsDir() {
			if err := writeFile(p); err != nil {
				return false, err
			}
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if e.IsDir() || !w.matches(e.Name()) {
				continue
			}
			if err := writeFile(filepath.Join(p, e.Name())); err != nil {
				return false, err
			}
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if w.read && sum == w.sum {
		return false, nil
	}
	w.sum, w.read = sum, true
	return true, nil
}

func (w *Tree) matches(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return slices.ContainsFunc(w.Extensions, func(e string) bool { return strings.ToLower(e) == ext })
}
