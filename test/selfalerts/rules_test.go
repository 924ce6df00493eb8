package selfalerts

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/serverproc"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func TestMain(m *testing.M) {
	// The tests' own requests (health checks, scrapes, Prometheus's API)
	// keep no idle keep-alive connection, whose goroutines goleak would
	// report.
	http.DefaultClient.Transport = &http.Transport{DisableKeepAlives: true}
	goleak.VerifyTestMain(m)
}

var (
	root      = vigiltest.RepoRoot()
	rulesFile = filepath.Join(root, "deploy", "prometheus", "rules", "vigil-self.rules.yaml")
	testsFile = filepath.Join(root, "deploy", "prometheus", "tests", "vigil-self.rules.test.yaml")
)

// job is the scrape job of Vigil's own telemetry every rule selects.
const job = "vigil"

// targetLabels are the labels Prometheus (or prometheus-operator) adds to
// every series of a target: no Vigil series carries them.
var targetLabels = map[string]bool{"job": true, "instance": true, "namespace": true, "pod": true, "service": true, "endpoint": true, "container": true}

// promParser parses PromQL as the Prometheus the rules target does.
var promParser = parser.NewParser(parser.Options{})

// alertRule is one alerting rule of the file, its expression parsed.
type alertRule struct {
	group string
	rule  rulefmt.Rule
	expr  parser.Expr
}

// loadRules parses the rules file with Prometheus's own loader (legacy
// metric and label names, as Prometheus 2.42 takes them) and returns its
// alerting rules; a recording rule is a failure, as the file is meant to
// hold alerts only.
func loadRules(t *testing.T) (*rulefmt.RuleGroups, []alertRule) {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.LegacyValidation, promParser, nil)
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	var out []alertRule
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: recording rule %s: the file holds alerts only", g.Name, r.Record)
				continue
			}
			expr, err := promParser.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %v", r.Alert, err)
			}
			out = append(out, alertRule{group: g.Name, rule: r, expr: expr})
		}
	}
	if len(out) == 0 {
		t.Fatal("no alerting rule in " + rulesFile)
	}
	return groups, out
}

// TestPromtool runs `promtool check rules` on the rules file and `promtool
// test rules` on its unit tests, as the test command's promtool (Debian's
// 2.42) does.
func TestPromtool(t *testing.T) {
	promtool := serverproc.Command(t, "promtool", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", rulesFile},
		{"test", "rules", testsFile},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertTestedBothWays reads the promtool unit tests: every alert
// of the rules file has a case where it fires and one where it is
// expected quiet, and no case names an alert the file does not have (a
// renamed alert would otherwise pass its old quiet cases for nothing).
func TestEveryAlertTestedBothWays(t *testing.T) {
	_, rules := loadRules(t)
	raw, err := os.ReadFile(testsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.RuleFiles) != 1 || filepath.Join(filepath.Dir(testsFile), file.RuleFiles[0]) != rulesFile {
		t.Errorf("rule_files = %v, want the one rules file %s", file.RuleFiles, rulesFile)
	}
	fires, quiet := map[string]int{}, map[string]int{}
	for _, tc := range file.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName]++
			} else {
				quiet[a.AlertName]++
			}
		}
	}
	names := map[string]bool{}
	for _, r := range rules {
		names[r.rule.Alert] = true
		if fires[r.rule.Alert] == 0 {
			t.Errorf("%s: no promtool case where it fires", r.rule.Alert)
		}
		if quiet[r.rule.Alert] == 0 {
			t.Errorf("%s: no promtool case where it stays quiet", r.rule.Alert)
		}
	}
	for name := range fires {
		if !names[name] {
			t.Errorf("the promtool tests expect %s, which the rules file does not have", name)
		}
	}
	for name := range quiet {
		if !names[name] {
			t.Errorf("the promtool tests expect %s quiet, which the rules file does not have", name)
		}
	}
}

// readmeRef is a pointer to a section of the top README in a description:
// `README: "Running a fleet", Storage.` or `README: SLOs.`.
var readmeRef = regexp.MustCompile(`README: (?:"([^"]+)"|([A-Za-z][A-Za-z ]*?)[,.])`)

// TestRulesShape checks what on-call receives from each alert: a unique
// name, a severity of page or ticket (the tiers Vigil's own SLO alerts
// use), a summary and a description naming a section of the top README
// that exists; and that every rule selects Vigil's telemetry by the job
// the docker-compose Prometheus gives it.
func TestRulesShape(t *testing.T) {
	_, rules := loadRules(t)
	headings := readmeHeadings(t)
	seen := map[string]bool{}
	for _, r := range rules {
		name := r.rule.Alert
		if seen[name] {
			t.Errorf("%s: two alerts of that name", name)
		}
		seen[name] = true
		if s := r.rule.Labels["severity"]; s != "page" && s != "ticket" {
			t.Errorf("%s: severity %q, want page or ticket", name, s)
		}
		if _, ok := r.rule.Labels["vigil_severity"]; ok {
			// The stack's Alertmanager inhibits vigil_severity="ticket"
			// alerts by vigil_severity="page" ones of `vigil slo rules`.
			t.Errorf("%s: vigil_severity is for the SLO alerts of `vigil slo rules`", name)
		}
		if !strings.HasPrefix(name, "Vigil") {
			t.Errorf("%s: the name does not say it is about Vigil", name)
		}
		if r.rule.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", name)
		}
		desc := r.rule.Annotations["description"]
		refs := readmeRef.FindAllStringSubmatch(desc, -1)
		if len(refs) == 0 {
			t.Errorf("%s: the description points at no README section (README: \"...\")", name)
		}
		for _, ref := range refs {
			section := ref[1] + ref[2]
			if !headings[section] {
				t.Errorf("%s: the description points at README section %q, which README.md does not have", name, section)
			}
		}
		for _, sel := range parser.ExtractSelectors(r.expr) {
			var jobs []string
			for _, m := range sel {
				if m.Name == "job" {
					jobs = append(jobs, m.String())
				}
			}
			if want := `job="` + job + `"`; len(jobs) != 1 || jobs[0] != want {
				t.Errorf("%s: selector %s selects job by %v, want %s", name, matchersString(sel), jobs, want)
			}
		}
	}

	// The docker-compose Prometheus loads the file and scrapes Vigil's
	// telemetry as that job.
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &prom); err != nil {
		t.Fatal(err)
	}
	loaded := false
	for _, glob := range prom.RuleFiles {
		if ok, _ := filepath.Match(glob, "/etc/prometheus/rules/"+filepath.Base(rulesFile)); ok {
			loaded = true
		}
	}
	if !loaded {
		t.Errorf("deploy/prometheus/prometheus.yml's rule_files %v do not load %s (mounted at /etc/prometheus/rules)", prom.RuleFiles, filepath.Base(rulesFile))
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == job {
			for _, s := range sc.StaticConfigs {
				targets = append(targets, s.Targets...)
			}
		}
	}
	if !slices.Contains(targets, "vigil:8888") {
		t.Errorf("deploy/prometheus/prometheus.yml: job %q scrapes %v, want Vigil's telemetry vigil:8888", job, targets)
	}
}

// readmeHeadings returns the section titles of the top README.
func readmeHeadings(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			out[strings.TrimSpace(h)] = true
		}
	}
	return out
}

func matchersString(ms []*labels.Matcher) string {
	s := make([]string, 0, len(ms))
	for _, m := range ms {
		s = append(s, m.String())
	}
	sort.Strings(s)
	return "{" + strings.Join(s, ", ") + "}"
}
