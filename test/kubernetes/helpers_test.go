package kubernetes

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/kubetest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// update rewrites the chart's copies of shipped files and the plain
// manifests instead of comparing them:
//
//	go test ./test/kubernetes -run 'InStep' -update
var update = flag.Bool("update", false, "rewrite the chart's copies of shipped files and deploy/kubernetes/vigil.yaml")

var (
	root     = vigiltest.RepoRoot()
	chartDir = filepath.Join(root, "deploy", "helm", "vigil")
)

// valuesCase is one way to install the chart: the values files given to
// helm after the chart's own values.yaml.
type valuesCase struct {
	name   string
	files  []string
	fleet  bool
	sample bool // renders the chart's console token Secret (random)
}

// cases are the values files every check runs on: the two shapes as a
// new user installs them, and the variants the test data covers.
func cases() []valuesCase {
	return []valuesCase{
		{name: "default", sample: true},
		{name: "fleet", files: []string{filepath.Join(chartDir, "values-fleet.yaml")}, fleet: true, sample: true},
		{name: "single-full", files: []string{filepath.Join("testdata", "values", "single-full.yaml")}},
		{name: "fleet-full", files: []string{filepath.Join(chartDir, "values-fleet.yaml"), filepath.Join("testdata", "values", "fleet-full.yaml")}, fleet: true},
		{name: "fleet-dns-external-redis", files: []string{filepath.Join(chartDir, "values-fleet.yaml"), filepath.Join("testdata", "values", "fleet-dns-external-redis.yaml")}, fleet: true},
		{name: "plain-manifests", files: []string{filepath.Join(root, "deploy", "kubernetes", "values.yaml")}},
	}
}

// helmBinary is the cached helm (scripts/kube/install.sh).
func helmBinary(t testing.TB) string {
	t.Helper()
	return kubetest.FindBinaries(t).Helm
}

// helm runs helm with its caches and settings in a temporary directory
// and returns stdout; a failure's error holds stderr.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		// No cluster: lookup returns nothing and nothing is contacted.
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// templateArgs are the arguments of `helm template` for a case.
func templateArgs(c valuesCase, namespace string) []string {
	args := []string{"template", "vigil", chartDir, "--namespace", namespace}
	for _, f := range c.files {
		args = append(args, "-f", f)
	}
	return args
}

// renderCase renders the chart for a case in namespace "vigil".
func renderCase(t testing.TB, c valuesCase) string {
	t.Helper()
	out, err := helm(t, templateArgs(c, "vigil")...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { s, _ := get(o, "metadata", "name").(string); return s }
func (o object) String() string {
	return o.kind() + "/" + o.name()
}

// decodeObjects splits a multi-document YAML stream into objects.
func decodeObjects(t testing.TB, manifests string) []object {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(manifests))
	var out []object
	for {
		// Into a plain map: yaml.v3 would give nested maps the named type.
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("rendered manifests: %v", err)
		}
		if o != nil {
			out = append(out, object(o))
		}
	}
}

// get walks nested maps by key.
func get(v any, path ...string) any {
	for _, k := range path {
		var m map[string]any
		switch t := v.(type) {
		case object:
			m = t
		case map[string]any:
			m = t
		default:
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string { s, _ := v.(string); return s }

// podTemplate returns the pod spec of a workload, or nil.
func podSpec(o object) map[string]any {
	switch o.kind() {
	case "Deployment", "StatefulSet", "DaemonSet":
		m, _ := get(o, "spec", "template", "spec").(map[string]any)
		return m
	}
	return nil
}

func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	return nil
}
