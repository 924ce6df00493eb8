// Package anomalycli is the `anomaly` command of the vigil binary: offline
// evaluation of Vigil's anomaly detector on a CSV series, through the same
// detector code the anomaly connector runs.
package anomalycli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-otel/vigil/anomaly"
)

// NewCommand returns `anomaly` with its `detect` subcommand. The caller
// registers it under the vigil root command.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "anomaly",
		Short: "Evaluate Vigil's anomaly detector offline",
	}
	root.AddCommand(newDetectCommand())
	return root
}

func newDetectCommand() *cobra.Command {
	var input, configPath, label string
	cmd := &cobra.Command{
		Use:   "detect --input FILE.csv [--config FILE.yaml]",
		Short: "Score a timestamp,value CSV series; writes timestamp,value,anomaly_score,label",
		Long: `detect reads a CSV with header "timestamp,value" (timestamps like
2014-04-01 00:00:00, as in the Numenta Anomaly Benchmark) and writes
"timestamp,value,anomaly_score,label" to stdout, one row per input row, as
soon as the row is read: no row influences the verdict on an earlier one.
anomaly_score is in [0,1]; label is 1 on the row where Vigil raises a flag
(--label onset, the default: one row per episode, as an alert fires once)
or on every row while the series is flagged (--label state).

Values must be finite numbers (NaN, Inf and values beyond float64's range
are refused). Time stamps must not go backwards; equal time stamps
(duplicate rows) are accepted and scored in file order. A bad row stops
the run with FILE: line N: and the problem; the rows before it are already
on stdout.

--config takes the detector's settings in YAML (threshold: 6, rarity: 72h,
...) over the defaults; its problems are reported as FILE:LINE:COL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// From here on errors are about the files, not the command
			// line: no usage, which would land on stdout after the rows.
			cmd.SilenceUsage = true
			mode, err := ParseLabelMode(label)
			if err != nil {
				return err
			}
			cfg, err := LoadConfig(configPath)
			if err != nil {
				return err
			}
			f, err := os.Open(input)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := Detect(f, cmd.OutOrStdout(), cfg, mode); err != nil {
				return fmt.Errorf("%s: %w", input, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "CSV file with header timestamp,value (required)")
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file with detector settings (default: the built-in defaults)")
	cmd.Flags().StringVar(&label, "label", string(LabelOnset), `what label 1 marks: "onset" (the row where a flag is raised) or "state" (every row while flagged)`)
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

// LoadConfig reads detector settings from a YAML file over the defaults;
// an empty path or an empty file yields the defaults. Unknown keys are
// errors, so a typo does not silently fall back to a default. Problems in
// the file are reported all at once, each as file:line:col: message
// naming the field (see internal/yamlpos).
func LoadConfig(path string) (anomaly.Config, error) {
	cfg := anomaly.DefaultConfig()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	if err := decodeConfig(path, data, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: invalid detector config: %w", path, err)
	}
	return cfg, nil
}
