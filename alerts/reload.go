package alerts

import (
	"errors"
	"io/fs"
	"time"

	"github.com/vigil-otel/vigil/internal/filewatch"
)

// Reloader applies the config and silences files to an engine whenever
// their content changes. The exporter calls Reload on its flush tick; a
// file that fails to parse leaves the engine as it was and is reported
// once, until its content changes again.
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

	config, silences filewatch.File
}

// Reload re-reads both files and applies what changed. The error joins the
// problems of both files.
func (r *Reloader) Reload(e *Engine, now time.Time) error {
	var errs []error
	if r.ConfigPath != "" {
		r.config.Path = r.ConfigPath
		data, changed, err := r.config.Changed()
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
			}
		}
	}
	if r.SilencesPath != "" {
		r.silences.Path = r.SilencesPath
		data, changed, err := r.silences.Changed()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Forget the old content, so that a file created again with
			// the same content is still applied.
			r.silences.Forget()
			e.SetSilences(nil, now)
		case err != nil:
			errs = append(errs, err)
		case changed:
			silences, err := ParseSilences(r.SilencesPath, data)
			if err != nil {
				errs = append(errs, err)
			} else {
				e.SetSilences(silences, now)
			}
		}
	}
	return errors.Join(errs...)
}
