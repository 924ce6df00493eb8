package kubernetes

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/kubetest"
)

// TestAppliedToAPIServer starts a real kube-apiserver and etcd and, for
// every values case, applies every rendered object with
// `kubectl apply --dry-run=server`: the API server's own validation and
// admission take each one (unknown fields are refused, not dropped). The
// ServiceMonitor and PrometheusRule CRDs are prometheus-operator's own
// (operatorCRDs, from its Go module), so those objects are checked
// against the operator's schema. Then the fleet is
// installed for real with helm: bad values fail at `helm install`, and an
// upgrade keeps the console token the chart generated.
func TestAppliedToAPIServer(t *testing.T) {
	cluster := kubetest.Start(t)
	kubectl := func(args ...string) string {
		t.Helper()
		out, err := cluster.Run(cluster.Kubectl, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, crd := range operatorCRDs(t) {
		kubectl("apply", "-f", crd)
	}
	kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	kubectl("create", "namespace", "vigil")

	applied := regexp.MustCompile(`(?m)^\S+ (created|configured|unchanged) \(server dry run\)$`)
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			manifests := renderCase(t, c)
			file := filepath.Join(t.TempDir(), "manifests.yaml")
			if err := os.WriteFile(file, []byte(manifests), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := cluster.Run(cluster.Kubectl, "apply", "--dry-run=server", "--namespace", "vigil", "-f", file)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeObjects(t, manifests)
			if got := len(applied.FindAllString(out, -1)); got != len(objs) {
				t.Errorf("the API server took %d of %d objects:\n%s", got, len(objs), out)
			}
		})
	}

	t.Run("kubectl apply -k deploy/kubernetes", func(t *testing.T) {
		out, err := cluster.Run(cluster.Kubectl, "apply", "--dry-run=server", "-k", filepath.Join(root, "deploy", "kubernetes"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"namespace/vigil", "deployment.apps/vigil", "service/vigil-console", "persistentvolumeclaim/vigil-data"} {
			if !strings.Contains(out, want+" ") {
				t.Errorf("kubectl apply -k output lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("helm install", func(t *testing.T) {
		helmRun := func(args ...string) (string, error) {
			return cluster.Run(cluster.Helm, args...)
		}
		bad := filepath.Join("testdata", "bad", "console-open.yaml")
		if out, err := helmRun("install", "bad", chartDir, "--namespace", "vigil", "-f", bad); err == nil {
			t.Errorf("helm install accepted %s:\n%s", bad, out)
		} else if !strings.Contains(err.Error(), "'/console/auth/type': value must be one of") {
			t.Errorf("helm install's error does not say what is wrong:\n%v", err)
		}

		fleet := filepath.Join(chartDir, "values-fleet.yaml")
		out, err := helmRun("install", "vigil", chartDir, "--namespace", "vigil", "-f", fleet)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"STATUS: deployed", "http://vigil-gateway.vigil.svc:4318"} {
			if !strings.Contains(out, want) {
				t.Errorf("helm install output lacks %q:\n%s", want, out)
			}
		}
		token := kubectl("get", "secret", "--namespace", "vigil", "vigil-console", "-o", "jsonpath={.data.token}")
		if len(token) < 40 {
			t.Fatalf("console token %q: want a generated token", token)
		}
		if _, err := helmRun("upgrade", "vigil", chartDir, "--namespace", "vigil", "-f", fleet, "--set", "evaluator.replicas=5"); err != nil {
			t.Fatal(err)
		}
		if again := kubectl("get", "secret", "--namespace", "vigil", "vigil-console", "-o", "jsonpath={.data.token}"); again != token {
			t.Errorf("helm upgrade changed the console token")
		}
		if replicas := kubectl("get", "statefulset", "--namespace", "vigil", "vigil-evaluator", "-o", "jsonpath={.spec.replicas}"); replicas != "5" {
			t.Errorf("evaluator replicas after upgrade = %s, want 5", replicas)
		}

		// The API server's RBAC lets the gateways' service account do what
		// the k8s resolver does (watch the evaluators' EndpointSlices) and
		// nothing else.
		as := "--as=system:serviceaccount:vigil:vigil"
		for _, tt := range []struct {
			verb, resource string
			want           string
		}{
			{"list", "endpointslices.discovery.k8s.io", "yes"},
			{"watch", "endpointslices.discovery.k8s.io", "yes"},
			{"get", "secrets", "no"},
			{"list", "pods", "no"},
			{"create", "endpointslices.discovery.k8s.io", "no"},
		} {
			out, _ := cluster.Run(cluster.Kubectl, "auth", "can-i", tt.verb, tt.resource, "--namespace", "vigil", as)
			if got := strings.TrimSpace(strings.Split(out, "\n")[0]); got != tt.want {
				t.Errorf("can the gateways %s %s? %q, want %s", tt.verb, tt.resource, got, tt.want)
			}
		}
	})
}

// operatorModule is the prometheus-operator release whose CRDs the chart's
// ServiceMonitor and PrometheusRule are checked against.
const operatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

// operatorCRDs returns the paths of prometheus-operator's own
// ServiceMonitor and PrometheusRule CRDs, from its Go module
// (example/prometheus-operator-crd), downloaded through the Go module
// proxy and checked against the checksum database as any module is,
// rather than copied into this repository.
func operatorCRDs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", operatorModule)
	cmd.Dir = t.TempDir() // outside this module: go.mod and go.sum stay as they are
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v\n%s", operatorModule, err, out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Error != "" || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v %s\n%s", operatorModule, err, mod.Error, out)
	}
	var paths []string
	for _, kind := range []string{"servicemonitors", "prometheusrules"} {
		paths = append(paths, filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml"))
	}
	return paths
}
