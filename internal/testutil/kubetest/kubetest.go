// Package kubetest runs a real Kubernetes API server in tests: etcd and
// kube-apiserver, built by scripts/kube/install.sh, on free loopback ports
// with certificates generated for the test, and hands out a kubeconfig and
// the kubectl and helm binaries installed beside them. It is enough for
// `kubectl apply --dry-run=server`, server-side validation of a Helm
// chart's manifests and anything else the API server does alone; there is
// no scheduler, controller manager or kubelet, so nothing runs pods.
package kubetest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/serverproc"
)

// The versions scripts/kube/install.sh installs; keep the two in step.
const (
	KubeVersion    = "v1.35.4" // kube-apiserver
	EtcdVersion    = "v3.6.17"
	KubectlVersion = "v1.35.2"
	HelmVersion    = "v4.1.4"
)

const installScript = "scripts/kube/install.sh"

// Binaries are the paths of the cached binaries.
type Binaries struct {
	APIServer, Etcd, Kubectl, Helm string
}

// FindBinaries returns the binaries scripts/kube/install.sh caches under
// $VIGIL_CACHE_DIR/kube, failing the test with that script when one is
// missing.
func FindBinaries(t testing.TB) Binaries {
	t.Helper()
	return Binaries{
		APIServer: serverproc.CachedBinary(t, filepath.Join("kube", "kube-apiserver-"+KubeVersion), installScript),
		Etcd:      serverproc.CachedBinary(t, filepath.Join("kube", "etcd-"+EtcdVersion), installScript),
		Kubectl:   serverproc.CachedBinary(t, filepath.Join("kube", "kubectl-"+KubectlVersion), installScript),
		Helm:      serverproc.CachedBinary(t, filepath.Join("kube", "helm-"+HelmVersion), installScript),
	}
}

// Cluster is a running API server with its etcd.
type Cluster struct {
	// URL is the API server's, https://127.0.0.1:port.
	URL string
	// Kubeconfig is the path of a kubeconfig whose current context is an
	// admin (group system:masters) of this API server.
	Kubeconfig string
	// Kubectl and Helm are the binaries' paths; run them with Command,
	// which points them at this cluster.
	Kubectl, Helm string

	dir string
}

// Start starts etcd and kube-apiserver, waits until /readyz answers and
// writes the kubeconfig. Both processes are killed when the test ends.
// Starting takes a few seconds (more on a busy machine).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bins := FindBinaries(t)
	dir := t.TempDir()
	certs, err := writePKI(dir)
	if err != nil {
		t.Fatalf("generating certificates: %v", err)
	}

	etcdData := filepath.Join(dir, "etcd")
	_, etcdPorts := serverproc.StartOnFreePorts(t, "etcd", 2, 60*time.Second,
		func(ports []int) *exec.Cmd {
			// A retry must not find a half-initialized data dir.
			_ = os.RemoveAll(etcdData)
			client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
			peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
			return exec.Command(bins.Etcd,
				"--name=vigil-test",
				"--data-dir="+etcdData,
				"--listen-client-urls="+client,
				"--advertise-client-urls="+client,
				"--listen-peer-urls="+peer,
				"--initial-advertise-peer-urls="+peer,
				"--initial-cluster=vigil-test="+peer,
				"--log-level=warn",
				"--unsafe-no-fsync", // test data: speed over durability
			)
		},
		func(ports []int) error {
			return get(plainClient, "http://127.0.0.1:"+strconv.Itoa(ports[0])+"/health")
		})

	client, err := adminClient(certs)
	if err != nil {
		t.Fatal(err)
	}
	_, apiPorts := serverproc.StartOnFreePorts(t, "kube-apiserver", 1, 120*time.Second,
		func(ports []int) *exec.Cmd {
			return exec.Command(bins.APIServer,
				"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(etcdPorts[0]),
				"--bind-address=127.0.0.1",
				"--advertise-address=127.0.0.1",
				"--secure-port="+strconv.Itoa(ports[0]),
				"--cert-dir="+dir,
				"--tls-cert-file="+certs.servingCert,
				"--tls-private-key-file="+certs.servingKey,
				"--client-ca-file="+certs.caCert,
				"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
				"--service-account-key-file="+certs.serviceAccountPub,
				"--service-account-signing-key-file="+certs.serviceAccountKey,
				"--authorization-mode=RBAC",
				// The admission plugin wants the token controller, which does
				// not run here, before it admits a pod's service account.
				"--disable-admission-plugins=ServiceAccount",
				// A setting the Service IP allocator needs; nothing is routed.
				"--service-cluster-ip-range=10.0.0.0/24",
				// Do not publish 127.0.0.1 as the kubernetes Service's endpoint.
				"--endpoint-reconciler-type=none",
				"--profiling=false",
			)
		},
		func(ports []int) error {
			return get(client, "https://127.0.0.1:"+strconv.Itoa(ports[0])+"/readyz")
		})

	c := &Cluster{
		URL:        "https://127.0.0.1:" + strconv.Itoa(apiPorts[0]),
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		Kubectl:    bins.Kubectl,
		Helm:       bins.Helm,
		dir:        dir,
	}
	if err := c.writeKubeconfig(certs); err != nil {
		t.Fatal(err)
	}
	return c
}

// Env returns the process environment with KUBECONFIG pointing at the
// cluster, and kubectl's and helm's caches and settings in the test's
// temporary directory rather than the user's home.
func (c *Cluster) Env() []string {
	return append(os.Environ(),
		"KUBECONFIG="+c.Kubeconfig,
		"KUBECACHEDIR="+filepath.Join(c.dir, "kubectl-cache"),
		"HELM_CACHE_HOME="+filepath.Join(c.dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.dir, "helm", "config"),
		"HELM_DATA_HOME="+filepath.Join(c.dir, "helm", "data"),
	)
}

// Command returns a command that runs bin (c.Kubectl, c.Helm or any
// other client) with args against the cluster (see Env).
func (c *Cluster) Command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = c.Env()
	return cmd
}

// Run runs Command(bin, args...) and returns its combined output; a
// failure's error includes the output.
func (c *Cluster) Run(bin string, args ...string) (string, error) {
	out, err := c.Command(bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %v: %w\n%s", filepath.Base(bin), args, err, out)
	}
	return string(out), nil
}

func (c *Cluster) writeKubeconfig(certs *pki) error {
	data := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		return base64.StdEncoding.EncodeToString(b), err
	}
	ca, err := data(certs.caCert)
	if err != nil {
		return err
	}
	cert, err := data(certs.adminCert)
	if err != nil {
		return err
	}
	key, err := data(certs.adminKey)
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: vigil-test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: vigil-test-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: vigil-test
  context:
    cluster: vigil-test
    user: vigil-test-admin
    namespace: default
current-context: vigil-test
`, c.URL, ca, cert, key)
	return os.WriteFile(c.Kubeconfig, []byte(config), 0o600)
}

// plainClient keeps no idle connection (and goroutine) after a check.
var plainClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// adminClient is an HTTP client that trusts the test CA and presents the
// admin certificate.
func adminClient(certs *pki) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(certs.adminCert, certs.adminKey)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(certs.caCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}},
			DisableKeepAlives: true,
		},
	}, nil
}

func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}
