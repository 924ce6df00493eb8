package alerts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReloader(t *testing.T) {
	dir := t.TempDir()
	cfgPath, silPath := filepath.Join(dir, "alerts.yml"), filepath.Join(dir, "silences.yml")
	const cfgA = "receivers: [{name: a}]\nroute: {receiver: a}\n"
	const cfgB = "receivers: [{name: b}]\nroute: {receiver: b}\n"
	const silence = "silences: [{id: s, matchers: ['service=\"checkout\"'], until_resolved: true}]\n"
	r := &Reloader{ConfigPath: cfgPath, SilencesPath: silPath, Check: func(c *Config) error {
		if _, ok := c.Receiver("c"); ok {
			return errors.New("receiver c leads nowhere")
		}
		return nil
	}}
	e := NewEngine(nil, nil)

	steps := []struct {
		name          string
		config, sil   *string // nil: leave; "": delete
		wantReceiver  string
		wantSilences  int
		wantErrSubstr string
	}{
		{name: "first load, no silences file yet", config: ptr(cfgA), wantReceiver: "a"},
		{name: "silences file created", sil: ptr(silence), wantReceiver: "a", wantSilences: 1},
		{name: "broken config keeps the old one", config: ptr("route: {receiver: nobody}\n"), wantReceiver: "a", wantSilences: 1, wantErrSubstr: "alerts.yml:1:1: config has no receivers"},
		{name: "the broken content is reported once", wantReceiver: "a", wantSilences: 1},
		{name: "fixed config applies", config: ptr(cfgB), wantReceiver: "b", wantSilences: 1},
		{name: "a config Check refuses keeps the old one", config: ptr("receivers: [{name: c}]\nroute: {receiver: c}\n"), wantReceiver: "b", wantSilences: 1, wantErrSubstr: "receiver c leads nowhere"},
		{name: "back to a config Check takes", config: ptr(cfgB), wantReceiver: "b", wantSilences: 1},
		{name: "silences file removed lifts them", sil: ptr(""), wantReceiver: "b"},
		{name: "recreated with the same content", sil: ptr(silence), wantReceiver: "b", wantSilences: 1},
		{name: "broken silences keep the old ones", sil: ptr("silences: [{id: x}]\n"), wantReceiver: "b", wantSilences: 1, wantErrSubstr: "silences.yml:1:12: silence \"x\" needs at least one matcher"},
		{name: "config file removed keeps the routing", config: ptr(""), wantReceiver: "b", wantSilences: 1, wantErrSubstr: "alerts.yml: no such file"},
		{name: "a file still missing is reported once", wantReceiver: "b", wantSilences: 1},
		{name: "back with the content in force", config: ptr(cfgB), wantReceiver: "b", wantSilences: 1},
		{name: "removed again is reported again", config: ptr(""), wantReceiver: "b", wantSilences: 1, wantErrSubstr: "alerts.yml: no such file"},
	}
	for i, s := range steps {
		for path, content := range map[string]*string{cfgPath: s.config, silPath: s.sil} {
			switch {
			case content == nil:
			case *content == "":
				require.NoError(t, os.Remove(path))
			default:
				require.NoError(t, os.WriteFile(path, []byte(*content), 0o644))
			}
		}
		err := r.Reload(e, t0.Add(time.Duration(i)*time.Second))
		if s.wantErrSubstr != "" {
			require.Error(t, err, s.name)
			assert.Contains(t, err.Error(), s.wantErrSubstr, s.name)
		} else {
			require.NoError(t, err, s.name)
		}
		assert.Equal(t, s.wantReceiver, e.Config().Route.Receiver, s.name)
		e.mu.Lock()
		assert.Len(t, e.silences, s.wantSilences, s.name)
		e.mu.Unlock()
	}
}

func ptr(s string) *string { return &s }

// TestReloaderSilencesReadError: a silences file that cannot be read (here
// a directory where the file should be) keeps the silences in force and
// is reported once while the error stays, as an unreadable routing file
// is; a file removed meanwhile (no silences, no error) makes the next
// read error new, reported again.
func TestReloaderSilencesReadError(t *testing.T) {
	dir := t.TempDir()
	silPath := filepath.Join(dir, "silences.yml")
	const silence = "silences: [{id: s, matchers: ['service=\"checkout\"'], until_resolved: true}]\n"
	r := &Reloader{SilencesPath: silPath}
	e := NewEngine(nil, nil)
	silences := func() int {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.silences)
	}

	require.NoError(t, os.WriteFile(silPath, []byte(silence), 0o644))
	require.NoError(t, r.Reload(e, t0))
	require.Equal(t, 1, silences())

	require.NoError(t, os.Remove(silPath))
	require.NoError(t, os.Mkdir(silPath, 0o755))
	err := r.Reload(e, t0.Add(time.Second))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a directory")
	assert.Equal(t, 1, silences(), "an unreadable file keeps the silences in force")
	assert.NoError(t, r.Reload(e, t0.Add(2*time.Second)), "the same read error is reported once")
	assert.Equal(t, 1, silences())

	require.NoError(t, os.Remove(silPath))
	require.NoError(t, r.Reload(e, t0.Add(3*time.Second)), "a missing file is no silences")
	assert.Equal(t, 0, silences())

	require.NoError(t, os.Mkdir(silPath, 0o755))
	err = r.Reload(e, t0.Add(4*time.Second))
	require.Error(t, err, "unreadable again after it was gone: reported again")
	assert.Contains(t, err.Error(), "is a directory")
}

// TestReloaderResumedSilences: a Reloader told that the engine runs
// silences of the file already (taken over from the engine it replaces)
// reports the file found missing at its first Reload as removed, and
// lifts the silences, as when the file goes while it runs.
func TestReloaderResumedSilences(t *testing.T) {
	silPath := filepath.Join(t.TempDir(), "silences.yml")
	old := NewEngine(nil, nil)
	old.SetSilences([]*Silence{{ID: "s", Matchers: mustParse(t, `service="checkout"`), UntilResolved: true}}, t0)

	for _, resumed := range []bool{true, false} {
		var removed []string
		r := &Reloader{SilencesPath: silPath, Applied: func(path string, gone bool) {
			if gone {
				removed = append(removed, path)
			}
		}}
		e := NewEngine(nil, nil)
		e.ResumeFileSilences(old.FileSilences(), t0.Add(time.Hour))
		if resumed {
			r.ResumedSilences()
		}
		require.NoError(t, r.Reload(e, t0.Add(time.Hour)))
		assert.Equal(t, 0, e.FileSilences().Len(), "a missing file lifts the silences")
		if resumed {
			assert.Equal(t, []string{silPath}, removed, "reported as removed")
		} else {
			assert.Empty(t, removed, "silences not of the file: nothing removed to report")
		}
	}
}
