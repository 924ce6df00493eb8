package slocli_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/slo/slocli"
)

func run(args ...string) (stdout, stderr string, err error) {
	cmd := slocli.NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	var e *slocli.ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return -1
	}
	return 0
}

func golden(t *testing.T, path, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "testdata/", prefix)
}

// TestConvert: `vigil slo convert` prints native specs that validate, and
// refuses what validate refuses, with the same positioned problems.
func TestConvert(t *testing.T) {
	out, _, err := run("convert", "../testdata/upstream/sloth/getting-started.yml")
	require.NoError(t, err)
	dir := t.TempDir()
	converted := filepath.Join(dir, "converted.yaml")
	require.NoError(t, os.WriteFile(converted, []byte(out), 0o644))
	vout, _, err := run("validate", converted)
	require.NoError(t, err)
	assert.Equal(t, "1 SLO in 1 file: valid\n", vout)
	assert.Contains(t, out, "severity: pageteam", "the user's severity is kept")

	out, errOut, err := run("convert", "../testdata/upstream/sloth/plugin-getting-started.yml")
	assert.Equal(t, slocli.ExitInvalid, exitCode(err))
	assert.Empty(t, out)
	assert.Contains(t, errOut, "plugin-getting-started.yml:14:9: Sloth SLI plugin")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErr    string
		errContain []string
	}{
		{
			name:       "examples directory",
			args:       []string{"validate", "../examples"},
			wantOut:    "7 SLOs in 3 files: valid\n",
			errContain: []string{"../examples/catalog.yaml:28:5: note: SLO catalog/availability has a calendar window"},
		},
		{
			name:    "every problem of a file",
			args:    []string{"validate", "../testdata/values.bad.yaml"},
			code:    slocli.ExitInvalid,
			wantErr: golden(t, "../testdata/values.bad.golden", "../testdata/"),
		},
		{
			name:    "problems of several files at once, sorted",
			args:    []string{"validate", "../testdata/version.bad.yaml", "../examples/checkout.yaml", "../testdata/sli.bad.yaml"},
			code:    slocli.ExitInvalid,
			wantErr: golden(t, "../testdata/sli.bad.golden", "../testdata/") + golden(t, "../testdata/version.bad.golden", "../testdata/"),
		},
		{
			name:    "PromQL SLIs are valid, with where each runs",
			args:    []string{"validate", "../testdata/sloth.yaml"},
			wantOut: "2 SLOs in 1 file: valid\n",
			errContain: []string{
				"../testdata/sloth.yaml:6:5: note: SLO myservice/requests-availability runs in the stream and in the rules: ratio of counters",
				"../testdata/sloth.yaml:24:5: note: SLO myservice/raw-ratio runs in the Prometheus rules only: the SLI is an error ratio already",
			},
		},
		{
			name:       "missing file",
			args:       []string{"validate", "../testdata/nope.yaml"},
			code:       slocli.ExitFailure,
			errContain: []string{"nope.yaml"},
		},
		{
			name: "no file",
			args: []string{"validate"},
			code: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := run(tt.args...)
			assert.Equal(t, tt.code, exitCode(err), "stderr: %s", errOut)
			if tt.wantOut != "" || tt.code != 0 {
				assert.Equal(t, tt.wantOut, out)
			}
			if tt.wantErr != "" {
				assert.Equal(t, tt.wantErr, errOut)
			}
			for _, s := range tt.errContain {
				assert.Contains(t, errOut, s)
			}
		})
	}
}

func TestRules(t *testing.T) {
	out, errOut, err := run("rules", "../examples/checkout.yaml")
	require.NoError(t, err, errOut)
	want, err := os.ReadFile("../rules/testdata/checkout.golden.yaml")
	require.NoError(t, err)
	assert.Equal(t, string(want), out)
	assert.Empty(t, errOut)

	// The template fills the runbook of an alerting SLO without one
	// (card-authorization); grpc-availability keeps its own.
	out, _, err = run("rules", "--runbook-url", "https://rb.example.com/{{.Service}}/{{.SLO}}", "--for", "1m", "../examples/payments.yaml")
	require.NoError(t, err)
	assert.Contains(t, out, "runbook_url: https://rb.example.com/payments/card-authorization\n")
	assert.Contains(t, out, "runbook_url: https://runbooks.example.com/payments/grpc\n")
	assert.NotContains(t, out, "rb.example.com/payments/grpc-availability")
	assert.Contains(t, out, "for: 1m\n")

	out, errOut, err = run("rules", "../testdata/duplicate.bad.yaml")
	assert.Equal(t, slocli.ExitInvalid, exitCode(err))
	assert.Empty(t, out)
	assert.Contains(t, errOut, "../testdata/duplicate.bad.yaml:1:1: spec needs a service\n")

	_, errOut, err = run("rules", "--runbook-url", "{{.Nope}}", "../examples/payments.yaml")
	assert.Equal(t, slocli.ExitFailure, exitCode(err))
	assert.Contains(t, errOut, "runbook_url template")
}

// TestProblemCount: the error the command ends with counts the problems
// in the singular for one ("Error: 1 problem in SLO specs").
func TestProblemCount(t *testing.T) {
	checkout, err := os.ReadFile("../examples/checkout.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"one", "objective: 99.9", "objective: 120", "1 problem in SLO specs"},
		{"two", "    objective: 99.9\n", "    objective: 120\n    nope: 1\n", "2 problems in SLO specs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := strings.Replace(string(checkout), tt.from, tt.to, 1)
			require.NotEqual(t, string(checkout), spec, "slo/examples/checkout.yaml no longer has %q", tt.from)
			path := filepath.Join(dir, tt.name+".yaml")
			require.NoError(t, os.WriteFile(path, []byte(spec), 0o600))
			_, errOut, err := run("validate", path)
			assert.Equal(t, slocli.ExitInvalid, exitCode(err), "stderr: %s", errOut)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// TestSlothFixedRange: `vigil slo validate` accepts a Sloth spec whose
// queries use [5m] instead of {{.window}}, as Sloth does, and says at
// the range how Vigil reads it; `vigil slo rules` takes each window over
// its own length.
func TestSlothFixedRange(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "sloth.yml")
	require.NoError(t, os.WriteFile(spec, []byte(`version: prometheus/v1
service: myservice
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"(5..|429)"}[5m]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting: {name: MyServiceHighErrorRate}
`), 0o644))
	out, errOut, err := run("validate", spec)
	require.NoError(t, err, errOut)
	assert.Equal(t, "1 SLO in 1 file: valid\n", out)
	assert.Contains(t, errOut, spec+":8:85: note: error_query has the fixed range [5m] and no {{.window}}: Sloth computes every alert window (5m to 3d) over that 5m")

	out, _, err = run("rules", spec)
	require.NoError(t, err)
	assert.Contains(t, out, `expr: sum(rate(http_requests_total{code=~"(5..|429)",job="myservice"}[1h])) / sum(rate(http_requests_total{job="myservice"}[1h]))`)
}
