package alerts

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/conventions"
)

// exampleDir holds the routing and silences files the READMEs give as
// examples.
const exampleDir = "../examples/alerting"

// routingFileKey marks a routing (Vigil's or Alertmanager's) or silences
// file: one of their top-level keys at the start of a line.
var routingFileKey = regexp.MustCompile(`(?m)^(route|silences|inhibit_rules):`)

// shippedRoutingFiles are the repository's routing and silences files,
// found by content so that a new one is checked without being listed:
// every YAML file with a top-level route, silences or inhibit_rules, but
// the bad cases of the tests.
func shippedRoutingFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "_build") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if (ext != ".yml" && ext != ".yaml") || strings.Contains(d.Name(), ".bad.") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if routingFileKey.Match(data) {
			files = append(files, path)
		}
		return nil
	})
	require.NoError(t, err)
	return files
}

// labelUse is one label name a routing or silences file uses, and where.
type labelUse struct {
	name  string
	where string
}

// templateLabel is a label a receiver's template reads
// ({{ .CommonLabels.slo }} in alertmanager.example.yml).
var templateLabel = regexp.MustCompile(`\.(?:Common|Group)?Labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)

// labelsUsed walks a routing or silences file and returns every label name
// it matches, compares (equal), groups by or reads in a template.
func labelsUsed(t *testing.T, file string, n *yaml.Node) []labelUse {
	t.Helper()
	var out []labelUse
	at := func(v *yaml.Node, key string) string {
		return file + ":" + strconv.Itoa(v.Line) + ": " + key
	}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.ScalarNode:
			for _, m := range templateLabel.FindAllStringSubmatch(n.Value, -1) {
				out = append(out, labelUse{m[1], at(n, "template")})
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, v := n.Content[i].Value, n.Content[i+1]
				switch key {
				case "matchers", "source_matchers", "target_matchers":
					for _, item := range v.Content {
						m, err := labels.ParseMatcher(item.Value)
						require.NoError(t, err, at(item, key))
						out = append(out, labelUse{m.Name, at(item, key)})
					}
				case "equal", "group_by":
					for _, item := range v.Content {
						if item.Value != GroupByAll {
							out = append(out, labelUse{item.Value, at(item, key)})
						}
					}
				case "match", "match_re", "source_match", "source_match_re", "target_match", "target_match_re":
					for j := 0; j+1 < len(v.Content); j += 2 {
						out = append(out, labelUse{v.Content[j].Value, at(v.Content[j], key)})
					}
				default:
					walk(v)
				}
			}
		}
	}
	walk(n)
	return out
}

// TestExamplesUseVigilsLabels: every label name the shipped and documented
// routing and silences files match, compare, group by or template on is
// one Vigil's alerts carry (conventions.SLOAlertLabels,
// AnomalyAlertLabels). A matcher on a label no alert carries matches
// nothing, and an inhibition's equal on one holds for every pair of alerts
// (both lack it): routing.yml once matched service=~"pay.*" and inhibited
// with equal: [slo, service], so any service's page held back every other
// service's ticket of the same SLO name. A label renamed in conventions
// fails here until the examples follow.
func TestExamplesUseVigilsLabels(t *testing.T) {
	known := slices.Concat(conventions.SLOAlertLabels, conventions.AnomalyAlertLabels)
	files := shippedRoutingFiles(t)
	for _, want := range []string{"examples/alerting/routing.yml", "examples/alerting/silences.yml",
		"examples/alerting/tickets-off-pager.yml", "alerts/alertmanager.example.yml", "deploy/alertmanager/alertmanager.yml"} {
		assert.Contains(t, files, filepath.Join("..", want), "the search for routing files missed a known one")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var doc yaml.Node
			require.NoError(t, yaml.Unmarshal(data, &doc))
			uses := labelsUsed(t, file, &doc)
			require.NotEmpty(t, uses, "a routing or silences file that uses no label")
			for _, u := range uses {
				assert.Contains(t, known, u.name, "%s: label %q: Vigil's alerts carry none of that name (conventions.SLOAlertLabels, AnomalyAlertLabels)", u.where, u.name)
			}
		})
	}
}

// TestSilencesExampleMatchesVigilsAlerts: the example silences mute the
// alerts they say they mute, as Vigil's alerts are labelled: an SLO's
// slo label is its name in the spec (availability), not service-slo.
func TestSilencesExampleMatchesVigilsAlerts(t *testing.T) {
	got, err := LoadSilences(exampleDir + "/silences.yml")
	require.NoError(t, err)
	page := map[string]string{
		LabelAlertName: "SLOBurnRate-checkout-availability-page", LabelSeverity: conventions.SeverityPage,
		LabelVigilSeverity: conventions.SeverityPage, LabelSource: conventions.SourceSLO,
		LabelService: "checkout", LabelSLO: "availability",
	}
	ticket := map[string]string{
		LabelAlertName: "SLOBurnRate-checkout-availability-ticket", LabelSeverity: conventions.SeverityTicket,
		LabelVigilSeverity: conventions.SeverityTicket, LabelSource: conventions.SourceSLO,
		LabelService: "checkout", LabelSLO: "availability",
	}
	byID := map[string]*Silence{}
	for _, s := range got {
		byID[s.ID] = s
	}
	require.Contains(t, byID, "checkout-db-migration")
	require.Contains(t, byID, "INC-1234")
	assert.True(t, byID["checkout-db-migration"].Matchers.Matches(page))
	assert.True(t, byID["checkout-db-migration"].Matchers.Matches(ticket))
	assert.True(t, byID["INC-1234"].Matchers.Matches(page))
	assert.False(t, byID["INC-1234"].Matchers.Matches(ticket), "the incident's silence mutes its page only")
	assert.True(t, byID["INC-1234"].UntilResolved)
}

// TestTicketsOffPagerExample: the routing file the README gives to keep
// tickets off the pager sends pages to "default" and every ticket, SLO or
// anomaly, whatever severity its spec sets, to "tickets", and keeps the
// built-in inhibition (a page holds back its SLO's ticket).
func TestTicketsOffPagerExample(t *testing.T) {
	const file = exampleDir + "/tickets-off-pager.yml"
	cfg, err := LoadConfig(file)
	require.NoError(t, err)
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{LabelAlertName: "SLOBurnRate-checkout-availability-page", LabelVigilSeverity: "page", LabelSeverity: "page", LabelSource: "slo", LabelService: "checkout", LabelSLO: "availability"}, "default"},
		{map[string]string{LabelAlertName: "SLOBurnRate-checkout-availability-page", LabelVigilSeverity: "page", LabelSeverity: "critical", LabelSource: "slo", LabelService: "checkout", LabelSLO: "availability"}, "default"},
		{map[string]string{LabelAlertName: "SLOBurnRate-checkout-availability-ticket", LabelVigilSeverity: "ticket", LabelSeverity: "ticket", LabelSource: "slo", LabelService: "checkout", LabelSLO: "availability"}, "tickets"},
		{map[string]string{LabelAlertName: "SLOBurnRate-checkout-availability-ticket", LabelVigilSeverity: "ticket", LabelSeverity: "critical", LabelSource: "slo", LabelService: "checkout", LabelSLO: "availability"}, "tickets"},
		{map[string]string{LabelAlertName: conventions.AnomalyAlertName, LabelVigilSeverity: "ticket", LabelSeverity: "ticket", LabelSource: "anomaly", LabelService: "checkout", LabelMetric: "error_ratio"}, "tickets"},
		{map[string]string{LabelAlertName: conventions.AnomalyAlertName, LabelVigilSeverity: "page", LabelSeverity: "page", LabelSource: "anomaly", LabelService: "checkout", LabelMetric: "error_ratio"}, "default"},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range cfg.Route.Match(tt.labels) {
			got = append(got, r.Receiver)
		}
		assert.Equal(t, []string{tt.want}, got, "%v", tt.labels)
	}
	require.Len(t, cfg.InhibitRules, 1, "the built-in inhibition")
	builtIn := DefaultConfig().InhibitRules[0]
	assert.Equal(t, builtIn.SourceMatchers.String(), cfg.InhibitRules[0].SourceMatchers.String())
	assert.Equal(t, builtIn.TargetMatchers.String(), cfg.InhibitRules[0].TargetMatchers.String())
	assert.Equal(t, builtIn.Equal, cfg.InhibitRules[0].Equal)
}
