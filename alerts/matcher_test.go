package alerts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: `severity="page"`, want: `severity="page"`},
		{in: `severity=page`, want: `severity="page"`},
		{in: ` service =~ "check.*" `, want: `service=~"check.*"`},
		{in: `team!=""`, want: `team!=""`},
		{in: `slo!~"a|b"`, want: `slo!~"a|b"`},
		{in: `msg="say \"hi\""`, want: `msg="say \"hi\""`},
		{in: `="x"`, wantErr: `matcher "=\"x\"": bad matcher format`},
		{in: `severity>"page"`, wantErr: `matcher "severity>\"page\"": bad matcher format`},
		{in: `service=~"(("`, wantErr: "error parsing regexp: missing closing )"},
		{in: `service="open`, wantErr: "unescaped double quote"},
		{in: `service=a"b`, wantErr: "unescaped double quote"},
		// Alertmanager would read this item as two matchers; Vigil wants
		// one per item rather than a different reading.
		{in: `service=checkout, severity=page`, wantErr: "want exactly one matcher per list item, got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseMatcher(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.String())
		})
	}
}

func TestMatchersMatch(t *testing.T) {
	labels := map[string]string{"severity": "page", "service": "checkout", "slo": "checkout-availability"}
	tests := []struct {
		matchers []string
		want     bool
	}{
		{nil, true},
		{[]string{`severity="page"`}, true},
		{[]string{`severity="ticket"`}, false},
		{[]string{`severity!="ticket"`}, true},
		{[]string{`service=~"check.*"`}, true},
		{[]string{`service=~"check"`}, false}, // anchored, as in Prometheus
		{[]string{`service!~"check.*"`}, false},
		{[]string{`team=""`}, true}, // a missing label is empty
		{[]string{`team!=""`}, false},
		{[]string{`severity="page"`, `slo=~".*latency"`}, false},
		{[]string{`severity="page"`, `slo=~".*availability"`}, true},
	}
	for _, tt := range tests {
		t.Run(Matchers(mustParse(t, tt.matchers...)).String(), func(t *testing.T) {
			assert.Equal(t, tt.want, mustParse(t, tt.matchers...).Matches(labels))
		})
	}
}

func mustParse(t *testing.T, ss ...string) Matchers {
	t.Helper()
	var out Matchers
	for _, s := range ss {
		m, err := ParseMatcher(s)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}
