package main

import (
	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/vigil-otel/vigil/anomaly/anomalycli"
	"github.com/vigil-otel/vigil/slo/slocli"
)

// newCommand is the collector's own command with Vigil's subcommands added:
// `vigil slo validate|rules` and `vigil anomaly detect`.
func newCommand() *cobra.Command {
	cmd := otelcol.NewCommand(settings())
	cmd.PersistentPreRunE = useDefaultConfig
	// main prints a command's error once; cobra would print it first.
	cmd.SilenceErrors = true
	cmd.AddCommand(slocli.NewCommand(), anomalycli.NewCommand())
	redactPrintConfig(cmd)
	return cmd
}

// useDefaultConfig gives --config the embedded default when the user named
// no config. It is done on the flag rather than through the resolver's
// default URIs because otelcol counts --set as a config flag: with default
// URIs, `vigil --set=...` would replace the default instead of layering over
// it. The default goes through the collector's own yaml: provider, so its
// ${env:...} references resolve as in any file.
func useDefaultConfig(cmd *cobra.Command, _ []string) error {
	// Only the collector's own commands (the root, validate, print-config)
	// take the collector's --config; Vigil's deeper subcommands such as
	// `anomaly detect --config` have flags of their own.
	if cmd != cmd.Root() && cmd.Parent() != cmd.Root() {
		return nil
	}
	f := cmd.Flags().Lookup("config")
	if f == nil || f.Changed {
		return nil
	}
	return f.Value.Set("yaml:" + defaultConfig)
}
