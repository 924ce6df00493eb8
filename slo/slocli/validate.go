package slocli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check SLO specs, reporting every problem as file:line:col: message",
		Long: `Check SLO specs and report every problem at once, one per line as
file:line:col: message, on stderr; exit 1 when there is any. Notes, such as
SLIs that only the Prometheus rules can evaluate, are printed too.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			specs, err := load(cmd.ErrOrStderr(), args)
			if err != nil {
				return err
			}
			n := 0
			for _, s := range specs {
				n += len(s.SLOs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s in %s: valid\n", count(n, "SLO"), count(len(specs), "file"))
			return nil
		},
	}
}
