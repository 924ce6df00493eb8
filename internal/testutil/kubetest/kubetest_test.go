package kubetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const manifests = `apiVersion: v1
kind: ConfigMap
metadata:
  name: vigil-config
data:
  config.yaml: |
    receivers: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vigil-gateway
  labels: {app.kubernetes.io/name: vigil}
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/name: vigil}
  template:
    metadata:
      labels: {app.kubernetes.io/name: vigil}
    spec:
      containers:
      - name: vigil
        image: vigil:test
        args: ["--config=/etc/vigil/config.yaml"]
        ports:
        - {name: otlp-grpc, containerPort: 4317}
        volumeMounts:
        - {name: config, mountPath: /etc/vigil}
      volumes:
      - name: config
        configMap: {name: vigil-config}
`

func TestServerSideDryRun(t *testing.T) {
	c := Start(t)
	file := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(file, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(c.Kubectl, "apply", "--dry-run=server", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"configmap/vigil-config created (server dry run)", "deployment.apps/vigil-gateway created (server dry run)"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply output lacks %q:\n%s", want, out)
		}
	}

	// The server, not the client, rejects what its schema does not allow.
	bad := strings.Replace(manifests, "replicas: 2", "replicas: two", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Run(c.Kubectl, "apply", "--dry-run=server", "-f", file); err == nil {
		t.Errorf("a Deployment with replicas: two was accepted:\n%s", out)
	}

	// Dry runs leave nothing behind.
	out, err = c.Run(c.Kubectl, "get", "configmap", "vigil-config", "--ignore-not-found", "-o", "name")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("kubectl get after a dry run = %q, %v; want nothing", out, err)
	}

	out, err = c.Run(c.Kubectl, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Server Version: "+KubeVersion) {
		t.Errorf("kubectl version does not report the server as %s:\n%s", KubeVersion, out)
	}
}

func TestHelm(t *testing.T) {
	c := Start(t)
	out, err := c.Run(c.Helm, "version", "--short")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, HelmVersion) {
		t.Errorf("helm version --short = %q, want %s…", out, HelmVersion)
	}

	// A minimal chart through the API server's validation.
	chart := filepath.Join(t.TempDir(), "mini")
	files := map[string]string{
		"Chart.yaml":               "apiVersion: v2\nname: mini\nversion: 0.1.0\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  key: {{ .Values.key | quote }}\n",
		"values.yaml":              "key: value\n",
	}
	for name, content := range files {
		path := filepath.Join(chart, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.Run(c.Helm, "install", "mini", chart, "--dry-run=server"); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "name: mini-config") {
		t.Errorf("helm install --dry-run=server output lacks the rendered ConfigMap:\n%s", out)
	}
}
