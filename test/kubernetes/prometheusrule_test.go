package kubernetes

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// TestPrometheusRuleIsTheRulesFile renders every values case: with
// prometheusRule.enabled the chart renders one PrometheusRule whose spec
// Prometheus's own rule loader takes (as prometheus-operator hands it to
// Prometheus) and whose groups are those of
// deploy/prometheus/rules/vigil-self.rules.yaml, rule for rule; without
// it, none. The rules select Vigil by its job, so the ServiceMonitor must
// give every Service it scrapes that job: its jobLabel names a label
// every such Service has, with the job the rules select as its value.
func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	want, errs := rulefmt.ParseFile(filepath.Join(root, "deploy", "prometheus", "rules", "vigil-self.rules.yaml"), false, model.LegacyValidation, p, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	jobs := map[string]bool{}
	for _, g := range want.Groups {
		for _, r := range g.Rules {
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %v", r.Alert, err)
			}
			for _, sel := range parser.ExtractSelectors(expr) {
				for _, m := range sel {
					if m.Name == "job" {
						jobs[m.Value] = true
					}
				}
			}
		}
	}
	if len(jobs) != 1 {
		t.Fatalf("the rules select the jobs %v, want one", jobs)
	}
	var job string
	for j := range jobs {
		job = j
	}

	enabledSomewhere := false
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			var rules []object
			for _, o := range objs {
				if o.kind() == "PrometheusRule" {
					rules = append(rules, o)
				}
			}
			if valueOf(t, c, "prometheusRule", "enabled") != true {
				if len(rules) > 0 {
					t.Errorf("prometheusRule is off, but the chart renders %v", rules)
				}
				return
			}
			enabledSomewhere = true
			if len(rules) != 1 {
				t.Fatalf("prometheusRule.enabled renders %d PrometheusRules, want 1", len(rules))
			}
			spec, err := yaml.Marshal(rules[0]["spec"])
			if err != nil {
				t.Fatal(err)
			}
			got, errs := rulefmt.Parse(spec, false, model.LegacyValidation, p, nil)
			for _, err := range errs {
				t.Errorf("%s's spec: %v", rules[0], err)
			}
			if got != nil && !reflect.DeepEqual(got.Groups, want.Groups) {
				t.Errorf("%s's rule groups differ from deploy/prometheus/rules/vigil-self.rules.yaml's:\n%s", rules[0], spec)
			}
			for k, v := range mapOf(valueOf(t, c, "prometheusRule", "labels")) {
				if str(get(rules[0], "metadata", "labels", k)) != str(v) {
					t.Errorf("%s: label %s = %q, want %q (prometheusRule.labels)", rules[0], k, get(rules[0], "metadata", "labels", k), v)
				}
			}

			// The ServiceMonitor gives the Services' job.
			monitor := find(objs, "ServiceMonitor", "vigil")
			if monitor == nil {
				t.Fatal("prometheusRule is on without the ServiceMonitor: nothing scrapes Vigil as the rules' job")
			}
			jobLabel := str(get(monitor, "spec", "jobLabel"))
			selector := mapOf(get(monitor, "spec", "selector", "matchLabels"))
			scraped := 0
			for _, o := range objs {
				if o.kind() != "Service" || !labelsMatch(mapOf(get(o, "metadata", "labels")), selector) {
					continue
				}
				scraped++
				if got := str(get(o, "metadata", "labels", jobLabel)); jobLabel == "" || got != job {
					t.Errorf("%s, scraped by the ServiceMonitor, gets the job %q (jobLabel %q), want %q, which the rules select", o, got, jobLabel, job)
				}
			}
			if scraped == 0 {
				t.Errorf("the ServiceMonitor selects no Service (%v)", selector)
			}
		})
	}
	if !enabledSomewhere {
		t.Error("no values case turns prometheusRule on")
	}
}

// valueOf returns the value at path a case renders with: the last of the
// chart's values.yaml and the case's files that sets it.
func valueOf(t *testing.T, c valuesCase, path ...string) any {
	t.Helper()
	var v any
	for _, f := range append([]string{filepath.Join(chartDir, "values.yaml")}, c.files...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var values map[string]any
		if err := yaml.Unmarshal(raw, &values); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := get(values, path...); got != nil {
			v = got
		}
	}
	return v
}

func mapOf(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case object:
		return m
	}
	return nil
}

// labelsMatch reports whether labels has every key and value of selector.
func labelsMatch(labels, selector map[string]any) bool {
	for k, v := range selector {
		if str(labels[k]) != str(v) {
			return false
		}
	}
	return len(selector) > 0
}
