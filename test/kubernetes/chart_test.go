// Package kubernetes tests Vigil's Helm chart (deploy/helm/vigil) and the
// plain manifests rendered from it (deploy/kubernetes) the way a platform
// team meets them: helm lint and helm template on every values file, the
// schema refusing bad values, every rendered object applied in server-side
// dry run to a real kube-apiserver (internal/testutil/kubetest), each
// component's rendered configuration validated by the vigil binary, and
// the rendered objects read for probes, limits, security context and
// secrets.
package kubernetes

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/secretscan"
)

func TestChartLintAndTemplate(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, f := range c.files {
				args = append(args, "-f", f)
			}
			if _, err := helm(t, args...); err != nil {
				t.Fatal(err)
			}
			objs := decodeObjects(t, renderCase(t, c))
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.kind()]++
			}
			want := map[string]int{"Deployment": 1, "ConfigMap": 1}
			if c.fleet {
				// Gateways and evaluators; Redis unless external.
				want = map[string]int{"Deployment": 1, "StatefulSet": 1, "ConfigMap": 2}
			}
			for kind, n := range want {
				if kinds[kind] < n {
					t.Errorf("rendered %d %s, want at least %d (all: %v)", kinds[kind], kind, n, kinds)
				}
			}
		})
	}
}

// TestBadValuesRefused renders each testdata/bad file: the schema (or,
// where a schema cannot say it, the template) must refuse it with the
// message on the file's first line ("# want: ...").
func TestBadValuesRefused(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad values files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(raw), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line %q: want a '# want: message' line", first)
			}
			out, err := helm(t, "template", "vigil", chartDir, "-f", f)
			if err == nil {
				t.Fatalf("helm template accepted %s:\n%.500s", f, out)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("helm's error lacks %q:\n%v", want, err)
			}
		})
	}
}

// TestWorkloadsHardened reads every rendered workload: probes on the
// health check, a memory limit, memory_limiter and GOMEMLIMIT derived from
// it, non-root, read-only root filesystem, no privilege escalation.
func TestWorkloadsHardened(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			workloads := 0
			for _, o := range objs {
				spec := podSpec(o)
				if spec == nil {
					continue
				}
				workloads++
				if get(spec, "securityContext", "runAsNonRoot") != true {
					t.Errorf("%s: pod securityContext.runAsNonRoot is not true", o)
				}
				for _, cv := range list(spec["containers"]) {
					checkContainer(t, o, objs, cv.(map[string]any))
				}
			}
			if workloads == 0 {
				t.Fatal("no workload rendered")
			}
		})
	}
}

func checkContainer(t *testing.T, o object, objs []object, ctr map[string]any) {
	t.Helper()
	where := o.String() + " container " + str(ctr["name"])
	sc := get(ctr, "securityContext")
	for key, want := range map[string]any{"runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false} {
		if got := get(sc, key); got != want {
			t.Errorf("%s: securityContext.%s = %v, want %v", where, key, got, want)
		}
	}
	if drop := list(get(sc, "capabilities", "drop")); !slices.Contains(drop, any("ALL")) {
		t.Errorf("%s: capabilities.drop = %v, want ALL", where, drop)
	}
	limit := str(get(ctr, "resources", "limits", "memory"))
	if limit == "" {
		t.Errorf("%s: no memory limit", where)
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if get(ctr, probe) == nil {
			t.Errorf("%s: no %s", where, probe)
		}
	}
	if str(ctr["name"]) != "vigil" {
		return
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		if port := get(ctr, probe, "httpGet", "port"); port != "health" {
			t.Errorf("%s: %s on port %v, want the health_check port (health)", where, probe, port)
		}
	}
	if !slices.ContainsFunc(list(ctr["ports"]), func(p any) bool {
		return get(p, "name") == "health" && get(p, "containerPort") == 13133
	}) {
		t.Errorf("%s: port health is not 13133, health_check's", where)
	}

	// memory_limiter follows the limit (80% and a 20% spike) and
	// GOMEMLIMIT is its soft limit, as collector/memory.go sets it.
	limitMiB := mebibytes(t, limit)
	wantLimit := limitMiB * 80 / 100
	if got, want := envValue(ctr, "GOMEMLIMIT"), strconv.Itoa(wantLimit-limitMiB*20/100)+"MiB"; got != want {
		t.Errorf("%s: GOMEMLIMIT = %q with a %s limit, want %s (the memory_limiter's soft limit)", where, got, limit, want)
	}
	overlay := configOf(t, objs, o, "kubernetes.yaml")
	ml := get(overlay, "processors", "memory_limiter")
	if get(ml, "limit_mib") != wantLimit || get(ml, "spike_limit_mib") != limitMiB*20/100 {
		t.Errorf("%s: memory_limiter %v with a %s limit, want limit_mib %d, spike_limit_mib %d", where, ml, limit, wantLimit, limitMiB*20/100)
	}
}

func mebibytes(t *testing.T, q string) int {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)(Mi|Gi)$`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("memory limit %q: not Mi or Gi", q)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "Gi" {
		n *= 1024
	}
	return n
}

func envValue(ctr map[string]any, name string) string {
	for _, e := range list(ctr["env"]) {
		if get(e, "name") == name {
			return str(get(e, "value"))
		}
	}
	return ""
}

// configMapOf returns the configuration ConfigMap a workload mounts.
func configMapOf(t testing.TB, objs []object, workload object) object {
	t.Helper()
	for _, v := range list(podSpec(workload)["volumes"]) {
		if get(v, "name") == "config" {
			name := str(get(v, "configMap", "name"))
			if cm := find(objs, "ConfigMap", name); cm != nil {
				return cm
			}
			t.Fatalf("%s mounts ConfigMap %s, which is not rendered", workload, name)
		}
	}
	t.Fatalf("%s mounts no config volume", workload)
	return nil
}

// configOf parses one file of a workload's configuration ConfigMap.
func configOf(t testing.TB, objs []object, workload object, file string) map[string]any {
	t.Helper()
	cm := configMapOf(t, objs, workload)
	var out map[string]any
	if err := yaml.Unmarshal([]byte(str(get(cm, "data", file))), &out); err != nil {
		t.Fatalf("%s %s: %v", cm, file, err)
	}
	return out
}

// TestNoSecretsInConfigMaps renders every case and checks no ConfigMap
// holds a credential: secrets reach the pods only from Secrets, and the
// configurations name them as ${env:...} references.
func TestNoSecretsInConfigMaps(t *testing.T) {
	secretKey := regexp.MustCompile(`(?i)(password|routing_key|dsn|token|secret|api_key)$`)
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			for _, o := range objs {
				if o.kind() != "ConfigMap" {
					continue
				}
				data, _ := get(o, "data").(map[string]any)
				for file, v := range data {
					text := str(v)
					if found := secretscan.Find(text); len(found) > 0 {
						t.Errorf("%s %s: looks like a secret: %q", o, file, found)
					}
					if !strings.HasSuffix(file, ".yaml") || !strings.Contains(o.name(), "-config") {
						continue
					}
					var cfg map[string]any
					if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
						t.Fatalf("%s %s: %v", o, file, err)
					}
					walk(cfg, "", func(path string, v any) {
						s, isString := v.(string)
						if !secretKey.MatchString(path) || !isString || s == "" || loadBalancingKey.MatchString(path) {
							return
						}
						if !strings.HasPrefix(s, "${env:") {
							t.Errorf("%s %s: %s = %q, want an ${env:...} reference to a Secret's key", o, file, path, s)
						}
					})
				}
			}
			// The workloads take every such variable from a Secret.
			for _, o := range objs {
				for _, cv := range list(podSpec(o)["containers"]) {
					for _, e := range list(get(cv, "env")) {
						name := str(get(e, "name"))
						if secretKey.MatchString(name) && get(e, "valueFrom", "secretKeyRef") == nil {
							t.Errorf("%s: env %s does not come from a Secret", o, name)
						}
					}
				}
			}
		})
	}
}

// loadBalancingKey is the load_balancing exporter's routing_key, which
// names what to route by, not a credential.
var loadBalancingKey = regexp.MustCompile(`^exporters::(load_?balancing)(/[^:]+)?::routing_key$`)

// walk calls fn for every leaf of a decoded YAML tree with its path
// (a::b::c, as the collector names keys).
func walk(v any, path string, fn func(path string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "::" + k
			}
			walk(child, p, fn)
		}
	case []any:
		for i, child := range v {
			walk(child, path+"::"+strconv.Itoa(i), fn)
		}
	default:
		fn(path, v)
	}
}

// TestChartFilesInStep checks the chart's copies of shipped files are the
// files themselves: files/config/ holds collector/config/'s configurations,
// files/dashboards/ dashboards/json/'s dashboards and files/prometheus/
// the alerts on Vigil's own health (deploy/prometheus/rules/vigil-self.rules.yaml;
// not the SLO rules next to it, which are the examples'). The chart can only
// read files inside itself, so they are copied; -update copies them again.
// The chart's own gateway.yaml (and an evaluator.yaml) may stand in only
// while collector/config has none: from the day it ships one, the copy of
// the shipped file replaces the chart's.
func TestChartFilesInStep(t *testing.T) {
	pairs := []struct{ src, dst, glob string }{
		{filepath.Join(root, "collector", "config"), filepath.Join(chartDir, "files", "config"), "*.yaml"},
		{filepath.Join(root, "dashboards", "json"), filepath.Join(chartDir, "files", "dashboards"), "*.json"},
		{filepath.Join(root, "deploy", "prometheus", "rules"), filepath.Join(chartDir, "files", "prometheus"), "vigil-self.rules.yaml"},
	}
	chartOwn := map[string]bool{"gateway.yaml": true, "evaluator.yaml": true}
	for _, p := range pairs {
		srcs, _ := filepath.Glob(filepath.Join(p.src, p.glob))
		dsts, _ := filepath.Glob(filepath.Join(p.dst, p.glob))
		if len(srcs) == 0 {
			t.Fatalf("no %s in %s", p.glob, p.src)
		}
		shipped := map[string]bool{}
		for _, src := range srcs {
			name := filepath.Base(src)
			shipped[name] = true
			want, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(p.dst, name)
			got, err := os.ReadFile(dst)
			if *update {
				if err := os.WriteFile(dst, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err != nil || string(got) != string(want) {
				t.Errorf("%s differs from %s: run go test ./test/kubernetes -run InStep -update", rel(dst), rel(src))
			}
		}
		for _, dst := range dsts {
			name := filepath.Base(dst)
			if shipped[name] || (p.glob == "*.yaml" && chartOwn[name]) {
				continue
			}
			if *update {
				if err := os.Remove(dst); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s has no source in %s: run go test ./test/kubernetes -run InStep -update", rel(dst), rel(p.src))
		}
	}
}

func rel(path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}

// TestPlainManifestsInStep checks deploy/kubernetes/vigil.yaml, the
// manifests of `kubectl apply -k deploy/kubernetes`, is the chart's
// single-node shape rendered with deploy/kubernetes/values.yaml; -update
// renders it again.
func TestPlainManifestsInStep(t *testing.T) {
	var plain valuesCase
	for _, c := range cases() {
		if c.name == "plain-manifests" {
			plain = c
		}
	}
	want := renderCase(t, plain)
	path := filepath.Join(root, "deploy", "kubernetes", "vigil.yaml")
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s is not the chart's rendering: run go test ./test/kubernetes -run InStep -update", rel(path))
	}
	objs := decodeObjects(t, want)
	if find(objs, "Secret", "vigil-console") != nil {
		t.Error("the plain manifests hold a generated console token; they must name a Secret the user creates")
	}
}

// TestConsoleGuarded checks the console of every case: exposed through a
// Service, it listens on all of the pod's addresses and the configuration
// puts an authenticator in front of it; not exposed, it stays on the pod's
// loopback.
func TestConsoleGuarded(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			exposed := find(objs, "Service", "vigil-console") != nil
			for _, o := range objs {
				spec := podSpec(o)
				if spec == nil || strings.HasSuffix(o.name(), "-gateway") || strings.HasSuffix(o.name(), "-redis") {
					continue
				}
				ctr := list(spec["containers"])[0].(map[string]any)
				endpoint := envValue(ctr, "VIGIL_CONSOLE_ENDPOINT")
				if want := map[bool]string{true: "0.0.0.0:9094", false: "127.0.0.1:9094"}[exposed]; endpoint != want {
					t.Errorf("%s: VIGIL_CONSOLE_ENDPOINT = %q with the console Service %v, want %s", o, endpoint, exposed, want)
				}
				base := configOf(t, objs, o, "base.yaml")
				if get(base, "connectors", "alertrouter", "console") == nil {
					// The shipped configuration serves no console yet: the
					// chart adds no authenticator to a console that is not
					// there (vigil validate would refuse it).
					t.Logf("%s: the shipped configuration has no alertrouter::console", o)
					continue
				}
				overlay := configOf(t, objs, o, "kubernetes.yaml")
				auth := str(get(overlay, "connectors", "alertrouter", "console", "auth", "authenticator"))
				if !exposed {
					if auth != "" {
						t.Errorf("%s: a loopback console with authenticator %q", o, auth)
					}
					continue
				}
				if auth == "" || get(overlay, "extensions", auth) == nil {
					t.Errorf("%s: the exposed console has authenticator %q, configured: %v", o, auth, get(overlay, "extensions"))
				}
				if !slices.Contains(list(get(overlay, "service", "extensions")), any(auth)) {
					t.Errorf("%s: authenticator %s is not in service::extensions", o, auth)
				}
			}
		})
	}
}
