package alerts

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/*.bad.yml")

// TestBadFiles parses every testdata/*.bad.yml and compares all the errors
// reported, with their positions, to the golden file beside it.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var parseErr error
			if strings.HasPrefix(filepath.Base(file), "silences") {
				_, parseErr = LoadSilences(file)
			} else {
				_, parseErr = LoadConfig(file)
			}
			require.Error(t, parseErr)
			var errs Errors
			require.ErrorAs(t, parseErr, &errs)
			golden := strings.TrimSuffix(file, ".yml") + ".err"
			got := parseErr.Error() + "\n"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("min.yml", []byte("receivers: [{name: oncall}]\nroute: {receiver: oncall}\ninhibit_rules: []\n"))
	require.NoError(t, err)
	assert.Equal(t, DefaultResolveTimeout, cfg.ResolveTimeout)
	assert.Equal(t, &Route{
		ID: "0", Receiver: "oncall", GroupBy: DefaultGroupBy,
		GroupWait: DefaultGroupWait, GroupInterval: DefaultGroupInterval, RepeatInterval: DefaultRepeatInterval,
	}, cfg.Route)
	assert.Empty(t, cfg.InhibitRules, "an explicit empty list disables the default inhibition")
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	_, ok := cfg.Receiver(DefaultReceiverName)
	require.True(t, ok)
	assert.Equal(t, DefaultReceiverName, cfg.Route.Receiver)
	assert.Equal(t, []string{"alertname", "service_name", "slo"}, cfg.Route.GroupBy)
	require.Len(t, cfg.InhibitRules, 1)
	assert.Equal(t, `{vigil_severity="page"}`, cfg.InhibitRules[0].SourceMatchers.String())
	assert.Equal(t, `{vigil_severity="ticket"}`, cfg.InhibitRules[0].TargetMatchers.String())
	assert.Equal(t, []string{"slo", "service_name"}, cfg.InhibitRules[0].Equal)
}

func TestParseSilences(t *testing.T) {
	got, err := LoadSilences(exampleDir + "/silences.yml")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "checkout-db-migration", got[0].ID)
	assert.Equal(t, `{service_name="checkout"}`, got[0].Matchers.String())
	assert.Equal(t, time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC), got[0].StartsAt)
	assert.Equal(t, time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC), got[0].EndsAt)
	assert.Equal(t, "alice", got[0].CreatedBy)
	assert.Equal(t, "planned migration", got[0].Comment)
	assert.True(t, got[1].UntilResolved)
	assert.True(t, got[1].EndsAt.IsZero())

	for _, empty := range []string{"", "silences:\n", "silences: []\n"} {
		s, err := ParseSilences("empty.yml", []byte(empty))
		require.NoError(t, err, "%q lifts every silence", empty)
		assert.Empty(t, s)
	}
}

func TestSilenceActiveAt(t *testing.T) {
	s := &Silence{StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	tests := []struct {
		at   time.Duration
		want bool
	}{{-time.Second, false}, {0, true}, {59 * time.Minute, true}, {time.Hour, false}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.ActiveAt(t0.Add(tt.at)), "at %v", tt.at)
	}
}
