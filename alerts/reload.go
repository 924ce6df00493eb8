package alerts

import (
	"errors"
	"io/fs"
	"time"

	"github.com/vigil-otel/vigil/internal/filewatch"
)

// Reloader applies the config and silences files to an engine whenever
// their content changes. The router calls Reload on its flush tick; a
// file that fails to parse or cannot be read leaves the engine as it was
// and is reported once, until its content or the read error changes.
type Reloader struct {
	// ConfigPath is the config file; empty keeps the engine's config.
	ConfigPath string
	// SilencesPath is the silences file; empty means no silences. A missing
	// file counts as empty, so on-call can create it during an incident.
	SilencesPath string
	// Check, when set, vets a parsed config before it is applied (the
	// connector checks that every receiver leads somewhere); a config it
	// refuses is reported like one that does not parse.
	Check func(*Config) error
	// Applied, when set, is called once for each change applied: a file
	// whose new content now rules the engine (removed false), or the
	// silences file removed after its silences applied (removed true).
	Applied func(path string, removed bool)

	config, silences filewatch.File
	// silencesApplied is whether the silences in force came from the file.
	silencesApplied bool
	// configReadErr and silencesReadErr are the read errors last reported,
	// so that a file that stays unreadable (removed, its mount gone) is
	// reported once rather than on every tick, as a broken content is.
	configReadErr, silencesReadErr string
}

// readErr returns err the first time it is seen in a row for one file,
// and nil while the same error repeats; a successful read (err nil)
// resets it.
func readErr(last *string, err error) error {
	if err == nil {
		*last = ""
		return nil
	}
	if err.Error() == *last {
		return nil
	}
	*last = err.Error()
	return err
}

// ResumedSilences tells the Reloader, before its first Reload, that the
// engine already runs silences of the silences file (taken over from the
// engine it replaces: Engine.ResumeFileSilences), so that a file found
// missing is reported as removed (Applied with removed true), as it is
// when the file goes while the Reloader runs.
func (r *Reloader) ResumedSilences() { r.silencesApplied = true }

func (r *Reloader) applied(path string, removed bool) {
	if r.Applied != nil {
		r.Applied(path, removed)
	}
}

// Reload re-reads both files and applies what changed. The error joins the
// problems of both files.
func (r *Reloader) Reload(e *Engine, now time.Time) error {
	var errs []error
	if r.ConfigPath != "" {
		r.config.Path = r.ConfigPath
		data, changed, err := r.config.Changed()
		err = readErr(&r.configReadErr, err)
		switch {
		case err != nil:
			errs = append(errs, err)
		case changed:
			cfg, err := ParseConfig(r.ConfigPath, data)
			if err == nil && r.Check != nil {
				err = r.Check(cfg)
			}
			if err != nil {
				errs = append(errs, err)
			} else {
				e.SetConfig(cfg, now)
				r.applied(r.ConfigPath, false)
			}
		}
	}
	if r.SilencesPath != "" {
		r.silences.Path = r.SilencesPath
		data, changed, err := r.silences.Changed()
		if errors.Is(err, fs.ErrNotExist) {
			// No file is no silences, not a read error: one that
			// comes after it is reported again.
			r.silencesReadErr = ""
		} else {
			err = readErr(&r.silencesReadErr, err)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Forget the old content, so that a file created again with
			// the same content is still applied.
			r.silences.Forget()
			e.SetSilences(nil, now)
			if r.silencesApplied {
				r.silencesApplied = false
				r.applied(r.SilencesPath, true)
			}
		case err != nil:
			errs = append(errs, err)
		case changed:
			silences, err := ParseSilences(r.SilencesPath, data)
			if err != nil {
				errs = append(errs, err)
			} else {
				e.SetSilences(silences, now)
				r.silencesApplied = true
				r.applied(r.SilencesPath, false)
			}
		}
	}
	return errors.Join(errs...)
}
