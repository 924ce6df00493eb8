// Package slocli is the `vigil slo` command: validate SLO specs and turn
// them into Prometheus rules.
package slocli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vigil-otel/vigil/slo"
)

// Exit statuses of the slo commands.
const (
	// ExitInvalid: a spec has problems; they were printed one per line.
	ExitInvalid = 1
	// ExitFailure: the command could not run (unreadable file, bad flag).
	ExitFailure = 2
)

// ExitError is returned by the slo commands with the status the process
// should exit with. The command has printed the problems it found; main
// prints Err too unless Printed, and exits with Code.
type ExitError struct {
	Code int
	Err  error
	// Printed: the command printed Err itself. False when it printed the
	// problems one per line and Err only counts them.
	Printed bool
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ExitError) Unwrap() error { return e.Err }

// NewCommand returns the `slo` command with its subcommands validate,
// rules and convert. Output goes to the command's Out and Err writers, so tests set
// them with SetOut and SetErr.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Validate SLO specs and generate Prometheus rules from them",
		Long: `Work with SLO specs: Vigil's own format (version: vigil/v1), Sloth's
(version: prometheus/v1, apiVersion: sloth.slok.dev/v1), Pyrra's (apiVersion:
pyrra.dev/v1alpha1) and OpenSLO (apiVersion: openslo/v1, openslo/v1alpha).
FILE may be a spec file, with one or more YAML documents, or a directory of
*.yaml and *.yml specs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newValidateCommand(), newRulesCommand(), newConvertCommand())
	return cmd
}

// load loads specs, printing every problem and note to stderr.
func load(stderr io.Writer, paths []string) ([]slo.Spec, error) {
	specs, err := slo.LoadFiles(paths...)
	var verrs slo.ValidationErrors
	switch {
	case errors.As(err, &verrs):
		fmt.Fprintln(stderr, verrs.Error())
		return nil, &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s in SLO specs", count(len(verrs), "problem"))}
	case err != nil:
		fmt.Fprintln(stderr, err)
		return nil, &ExitError{Code: ExitFailure, Err: err, Printed: true}
	}
	for _, n := range slo.Notes(specs) {
		fmt.Fprintln(stderr, n)
	}
	return specs, nil
}

// count says n things: "1 problem", "2 problems".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
