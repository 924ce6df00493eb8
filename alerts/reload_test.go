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
