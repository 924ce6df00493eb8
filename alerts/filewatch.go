package alerts

import (
	"crypto/sha256"
	"os"
)

// FileWatcher tells when a file's content changed, for reloading the config
// and silences files. It is polled (the exporter calls Changed on its flush
// tick) rather than notified, so it starts no goroutine, survives editors
// that replace files by renaming, and compares content rather than mtime, so
// touching a file reloads nothing.
type FileWatcher struct {
	Path string
	sum  [sha256.Size]byte
	read bool
}

// Changed reads the file and returns its content and true when it differs
// from the previous call's (always true the first time). A read error is
// returned without changing what counts as the previous content, so the
// file is reloaded once it is readable again.
func (w *FileWatcher) Changed() ([]byte, bool, error) {
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
