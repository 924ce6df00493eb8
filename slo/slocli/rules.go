package slocli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-otel/vigil/slo/rules"
)

func newRulesCommand() *cobra.Command {
	var opts rules.Options
	cmd := &cobra.Command{
		Use:   "rules FILE...",
		Short: "Print Prometheus recording and alerting rules for SLO specs",
		Long: `Print one Prometheus rule group per SLO on stdout: recording rules for
event counts, error ratios, burn rates and the error budget, and the
multiwindow multi-burn-rate page and ticket alerts. The output passes
promtool check rules.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			specs, err := load(cmd.ErrOrStderr(), args)
			if err != nil {
				return err
			}
			out, err := rules.Render(specs, opts)
			if err != nil {
				cmd.PrintErrln(err)
				return &ExitError{Code: ExitFailure, Err: err, Printed: true}
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.RunbookURL, "runbook-url", "", "runbook URL template for SLOs without one; fields {{.Service}}, {{.SLO}}, {{.Severity}}")
	f.StringVar(&opts.DashboardURL, "dashboard-url", "", "dashboard URL template for SLOs without one; fields {{.Service}}, {{.SLO}}, {{.Severity}}")
	f.DurationVar(&opts.For, "for", 0, "the for: of every alert whose row has none (the rules only: the collector's alerts wait what the spec's rows say)")
	f.DurationVar(&opts.MaxInterval, "max-interval", rules.DefaultMaxInterval, "upper bound of each group's evaluation interval")
	return cmd
}
