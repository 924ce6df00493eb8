package fleet

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/kubetest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Membership through contrib's k8s resolver, against a real
// kube-apiserver (internal/testutil/kubetest; nothing runs pods there).
//
// How the resolver gets its client (loadbalancingexporter v0.159.0,
// resolver_k8s.go newInClusterClient): controller-runtime's
// config.GetConfig, which takes a --kubeconfig flag (the collector has
// none), else the file KUBECONFIG names, else the in-cluster service
// account, else ~/.kube/config. So a gateway outside a cluster follows
// KUBECONFIG. Here that kubeconfig holds a token of the chart's gateway
// service account, bound to the chart's own Role (rendered with helm from
// deploy/helm/vigil, values-fleet.yaml): the test also shows that Role is
// all the resolver needs.
//
// The resolver turns each address of the EndpointSlices labelled with the
// Service's name into address:port for every port of its `ports`, the
// same ports for all. Evaluators on one host therefore listen on one port
// at several loopback addresses (127.0.0.2, .3, .4: all of 127/8 is
// loopback on Linux). The API server refuses loopback IPs in an IPv4
// EndpointSlice (ValidateEndpointIP), so the slice is of addressType FQDN,
// whose addresses need only be DNS names: "127.0.0.2" is one, and the
// resolver, which ignores the address type, dials it as an IP.

// evaluatorService is the chart's evaluator Service name for release
// "vigil", which its gateway Role lets the gateway watch.
const evaluatorService = "vigil-evaluator"

// loopbackAddrs are the evaluators' addresses.
var loopbackAddrs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// commonPort returns a port free on every address.
func commonPort(t *testing.T, addrs []string) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		free := true
		for _, a := range addrs[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		ln.Close()
		if free {
			return port
		}
	}
	t.Fatal("no port free on every loopback address")
	return 0
}

// gatewayKubeconfig applies the chart's gateway service account, Role
// and RoleBinding, and writes a kubeconfig holding a token of that
// service account.
func gatewayKubeconfig(t *testing.T, cluster *kubetest.Cluster) string {
	t.Helper()
	chart := filepath.Join(vigiltest.RepoRoot(), "deploy", "helm", "vigil")
	rendered, err := cluster.Run(cluster.Helm, "template", "vigil", chart, "--namespace", "default",
		"-f", filepath.Join(chart, "values-fleet.yaml"),
		"--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rbac []string
	for _, doc := range strings.Split(rendered, "\n---") {
		for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding"} {
			if strings.Contains(doc, "\nkind: "+kind+"\n") {
				rbac = append(rbac, doc)
			}
		}
	}
	if len(rbac) != 3 {
		t.Fatalf("the chart rendered %d of the gateway's service account, Role and RoleBinding:\n%s", len(rbac), rendered)
	}
	apply := cluster.Command(cluster.Kubectl, "apply", "-f", "-")
	apply.Stdin = strings.NewReader(strings.Join(rbac, "\n---\n"))
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply of the chart's RBAC: %v\n%s", err, out)
	}
	token, err := cluster.Run(cluster.Kubectl, "create", "token", "vigil", "--duration=1h")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cluster.Run(cluster.Kubectl, "config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gateway.kubeconfig")
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: gateway
  user:
    token: %s
contexts:
- name: gateway
  context: {cluster: test, user: gateway, namespace: default}
current-context: gateway
`, cluster.URL, strings.TrimSpace(ca), strings.TrimSpace(token))
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyEndpoints sets the evaluator Service's EndpointSlice to addrs.
func applyEndpoints(t *testing.T, cluster *kubetest.Cluster, addrs []string) {
	t.Helper()
	var eps strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&eps, "  - addresses: [%q]\n    conditions: {ready: true}\n", a)
	}
	slice := fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-loopback
  namespace: default
  labels:
    kubernetes.io/service-name: %s
addressType: FQDN
ports:
  - name: otlp-grpc
    port: 4317
endpoints:
%s`, evaluatorService, evaluatorService, eps.String())
	apply := cluster.Command(cluster.Kubectl, "apply", "-f", "-")
	apply.Stdin = strings.NewReader(slice)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply of the EndpointSlice: %v\n%s\n%s", err, out, slice)
	}
}

// TestK8sResolverMembership: a gateway whose load_balancing exporter
// follows the evaluators' EndpointSlice through the k8s resolver, as the
// chart configures it. Three evaluators own the services between them; a
// burning service pages once; its evaluator's endpoint is removed from
// the slice (the pod is no longer ready): within seconds the gateway
// routes the service elsewhere and the new owner reports it, with no
// second trigger; on recovery the page resolves once.
func TestK8sResolverMembership(t *testing.T) {
	cluster := kubetest.Start(t)
	kubeconfig := gatewayKubeconfig(t, cluster)
	port := commonPort(t, loopbackAddrs)
	applyEndpoints(t, cluster, loopbackAddrs)

	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 12 {
		services = append(services, serviceName(i))
	}
	f := newFleet(t, redis.Addr, services)
	byAddr := map[string]*vigiltest.Instance{}
	var evs []*vigiltest.Instance
	for _, a := range loopbackAddrs {
		e := f.startEvaluatorEnv(map[string]string{"VIGIL_OTLP_GRPC_ENDPOINT": net.JoinHostPort(a, strconv.Itoa(port))})
		byAddr[a] = e
		evs = append(evs, e)
	}
	gw := vigiltest.Start(t, vigiltest.Options{
		Args: []string{
			"--config", configPath("gateway.yaml"),
			// The chart's resolver (templates/_helpers.tpl, vigil.resolver),
			// with IPs rather than StatefulSet host names.
			"--set=exporters::load_balancing::resolver::static=null",
			"--set=exporters::load_balancing::resolver::k8s::service=" + evaluatorService + ".default",
			fmt.Sprintf("--set=exporters::load_balancing::resolver::k8s::ports=[%d]", port),
		},
		Env: map[string]string{"KUBECONFIG": kubeconfig},
	})
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	owners := map[*vigiltest.Instance]int{}
	for _, s := range services {
		g, b := y.get(s)
		owners[f.owner(s, float64(g+b), evs, 30*time.Second)]++
	}
	if len(owners) < 2 {
		t.Fatalf("the gateway spread 12 services over %d of 3 evaluators: the resolver did not list them all", len(owners))
	}

	const hot = "svc-04"
	dedup := burstUntilPaged(t, f, c, y, hot)
	g, b := y.get(hot)
	owner := f.owner(hot, float64(g+b), evs, 20*time.Second)
	var rest []string
	for a, e := range byAddr {
		if e != owner {
			rest = append(rest, a)
		}
	}
	removed := time.Now()
	applyEndpoints(t, cluster, rest)
	var survivors []*vigiltest.Instance
	for _, a := range rest {
		survivors = append(survivors, byAddr[a])
	}
	// Keep burning while the service moves: no second page.
	var next *vigiltest.Instance
	waitFor(t, 30*time.Second, hot+" reported by another evaluator", func() bool {
		c.mustSend(t, hot, 5, true)
		y.add(hot, 5, true)
		for _, e := range survivors {
			if _, bad, found, err := sloEvents(e, hot); err == nil && found && bad > 0 {
				next = e
				return true
			}
		}
		return false
	})
	moved := time.Since(removed)
	t.Logf("%s moved %.1fs after its evaluator's endpoint was removed", hot, moved.Seconds())
	g, b = y.get(hot)
	if o := f.owner(hot, float64(g+b), survivors, 20*time.Second); o != next {
		t.Fatalf("%s is reported by two survivors", hot)
	}
	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 0 {
		t.Fatalf("%s: %d triggers and %d resolves after the move while still burning; want 1 and 0", hot, triggers, resolves)
	}
	recoverService(t, c, y, hot)
	waitFor(t, 2*notifyWait, "the page's resolve", func() bool { return f.fake.Count(dedup, "resolve") > 0 })
	time.Sleep(3 * time.Second)
	if _, triggers, resolves := pages(f.fake, hot); triggers != 1 || resolves != 1 {
		t.Errorf("%s: %d page triggers, %d resolves; want 1 and 1", hot, triggers, resolves)
	}
}
