package lokiexporter

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/extension/otlpguardextension"
	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// TestHostileValuesStayWithinLokisLimits converts records whose body,
// attributes and resource hold every hostile value a request may carry
// past the otlp_guard (nested to its limit, megabytes long, ten thousand
// keys wide, not UTF-8), in every line format and with hostile attributes
// promoted to labels: every line, label and metadata pair stays within
// what Loki takes, so no push is rejected for them.
func TestHostileValuesStayWithinLokisLimits(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	deepotlp.PutHostile(rl.Resource().Attributes(), otlpguardextension.DefaultMaxDepth)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	deepotlp.PutHostile(lr.Attributes(), otlpguardextension.DefaultMaxDepth)
	deepotlp.PutHostile(lr.Body().SetEmptyMap(), otlpguardextension.DefaultMaxDepth)
	lr.SetSeverityText(deepotlp.HostileString())
	lr2 := rl.ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr2.Body().SetStr(deepotlp.HostileString())

	for _, format := range []LineFormat{LineFormatBody, LineFormatJSON, LineFormatLogfmt} {
		t.Run(string(format), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.LineFormat = format
			cfg.Labels.Attributes = []string{"hostile.long_string", "hostile.deep_kvlist", "hostile.invalid_utf8"}
			cfg.Labels.ResourceAttributes = []string{"hostile.wide_map", "hostile.deep_array"}
			c, err := newConverter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			batch := c.convert(ld)
			if batch.entries != 2 {
				t.Fatalf("%d entries, want 2", batch.entries)
			}
			for _, s := range batch.req.Streams {
				if len(s.Labels) > lokiMaxLabelNames*(lokiMaxLabelValueLength+64) {
					t.Errorf("labels of %d bytes", len(s.Labels))
				}
				for _, e := range s.Entries {
					if len(e.Line) > lokiMaxLineSize {
						t.Errorf("line of %d bytes, over Loki's %d", len(e.Line), lokiMaxLineSize)
					}
					if !utf8.ValidString(e.Line) {
						t.Error("line is not UTF-8")
					}
					size := 0
					for _, m := range e.StructuredMetadata {
						size += len(m.Name) + len(m.Value)
						if !utf8.ValidString(m.Value) {
							t.Errorf("metadata %s is not UTF-8", m.Name)
						}
					}
					if len(e.StructuredMetadata) > lokiMaxStructuredMetadataEntries || size > lokiMaxStructuredMetadataSize {
						t.Errorf("%d metadata pairs of %d bytes, over Loki's %d and %d",
							len(e.StructuredMetadata), size, lokiMaxStructuredMetadataEntries, lokiMaxStructuredMetadataSize)
					}
				}
			}
			labels, err := parseLabels(batch.req.Streams)
			if err != nil {
				t.Fatal(err)
			}
			for _, ls := range labels {
				if len(ls) > lokiMaxLabelNames {
					t.Errorf("%d labels, over Loki's %d", len(ls), lokiMaxLabelNames)
				}
				for name, value := range ls {
					// Loki's label parser refuses U+FFFD too (checked on
					// the real Loki by TestLokiStoresWhatItIsGiven).
					if len(value) > lokiMaxLabelValueLength || !utf8.ValidString(value) || strings.ContainsRune(value, utf8.RuneError) {
						t.Errorf("label %s: %d bytes, UTF-8 %v, U+FFFD %v", name, len(value), utf8.ValidString(value), strings.ContainsRune(value, utf8.RuneError))
					}
				}
			}
		})
	}
}

// parseLabels reads each stream's label set as Loki does (the Prometheus
// selector syntax, parsed by Prometheus's own parser).
func parseLabels(streams []push.Stream) ([]map[string]string, error) {
	out := make([]map[string]string, 0, len(streams))
	for _, s := range streams {
		ls, err := parser.NewParser(parser.Options{}).ParseMetric(s.Labels)
		if err != nil {
			return nil, fmt.Errorf("labels %.300q: %w", s.Labels, err)
		}
		out = append(out, ls.Map())
	}
	return out, nil
}
