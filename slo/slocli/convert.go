package slocli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-otel/vigil/slo"
)

func newConvertCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "convert FILE...",
		Short: "Print Sloth, Pyrra or OpenSLO specs in Vigil's native form",
		Long: `Read SLO specs written for Sloth (prometheus/v1, sloth.slok.dev/v1),
Pyrra (pyrra.dev/v1alpha1) or OpenSLO (openslo/v1, openslo/v1alpha) and print
them as Vigil specs (version: vigil/v1), one YAML document per service, on
stdout. Problems are reported as validate reports them, every one at once as
file:line:col: message, and nothing is printed. The output loads into the
same SLOs: their queries, labels, alert names and annotations, and the
settings of the source tool that Vigil honours (Pyrra's burn-rate table,
for:, time slices, calendar windows).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			specs, err := load(cmd.ErrOrStderr(), args)
			if err != nil {
				return err
			}
			out, err := slo.Convert(specs)
			if err != nil {
				cmd.PrintErrln(err)
				return &ExitError{Code: ExitInvalid, Err: err, Printed: true}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}
