package kubernetes

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestRenderedConfigsValidate runs `vigil validate` on the configuration
// each rendered workload runs: its args (--config base.yaml --config
// kubernetes.yaml [--config extra.yaml]), the files of the ConfigMaps it
// mounts and its environment, with /etc/vigil moved into a temporary
// directory and every Secret key replaced by a stand-in value.
func TestRenderedConfigsValidate(t *testing.T) {
	bin := vigiltest.Binary(t)
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			validated := 0
			for _, o := range objs {
				spec := podSpec(o)
				if spec == nil {
					continue
				}
				for _, cv := range list(spec["containers"]) {
					if get(cv, "name") != "vigil" {
						continue
					}
					validateWorkload(t, bin, objs, o, spec, cv.(map[string]any))
					validated++
				}
			}
			want := 1
			if c.fleet {
				want = 2
			}
			if validated != want {
				t.Errorf("validated %d Vigil workloads, want %d", validated, want)
			}
		})
	}
}

func validateWorkload(t *testing.T, bin string, objs []object, o object, spec, ctr map[string]any) {
	t.Helper()
	args, env := materialize(t, objs, o, spec, ctr)
	cmd := exec.Command(bin, append([]string{"validate"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = os.Environ()
	for name, value := range env {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: vigil validate %s: %v\n%s", o, strings.Join(args, " "), err, out)
	}
}

// TestSingleNodeStarts runs the default values' single node as its pod
// would run it (configuration, environment) and waits for its health
// check: what validate cannot see (the merged configuration building and
// starting every component) works too.
func TestSingleNodeStarts(t *testing.T) {
	objs := decodeObjects(t, renderCase(t, cases()[0]))
	o := find(objs, "Deployment", "vigil")
	if o == nil {
		t.Fatal("no Deployment vigil rendered")
	}
	spec := podSpec(o)
	args, env := materialize(t, objs, o, spec, list(spec["containers"])[0].(map[string]any))
	// Ports and storage of the test, not of the pod.
	delete(env, "VIGIL_STORAGE_DIR")
	env["VIGIL_CONSOLE_ENDPOINT"] = fmt.Sprintf("127.0.0.1:%d", vigiltest.FreePort(t))
	inst := vigiltest.Start(t, vigiltest.Options{Args: args, Env: env})
	if _, err := vigiltest.Scrape(inst.TelemetryURL()); err != nil {
		t.Errorf("the single node's telemetry: %v", err)
	}

	if get(configOf(t, objs, o, "base.yaml"), "connectors", "alertrouter", "console") == nil {
		t.Log("the shipped configuration serves no console: its auth is not checked")
		return
	}
	// The console Service is on: the console answers only with the token
	// of the Secret (materialize's stand-in).
	url := "http://" + env["VIGIL_CONSOLE_ENDPOINT"] + "/api/v2/status"
	for _, tt := range []struct {
		name, authorization string
		want                int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a wrong token", "Bearer not-the-token", http.StatusUnauthorized},
		{"the Secret's token", "Bearer " + standInConsoleToken, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tt.authorization != "" {
			req.Header.Set("Authorization", tt.authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("console: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("console with %s: %s, want %d", tt.name, resp.Status, tt.want)
		}
	}
}

// standInConsoleToken is the console token materialize writes for the
// Secret volume.
const standInConsoleToken = "stand-in-console-token-0123456789"

// materialize writes the ConfigMaps a workload's Vigil container mounts
// into a temporary directory standing for /etc/vigil and returns the
// container's arguments and environment there, with every Secret key
// replaced by a stand-in shaped like the real thing (the exporters check
// the shape).
func materialize(t *testing.T, objs []object, o object, spec, ctr map[string]any) (args []string, env map[string]string) {
	t.Helper()
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc", "vigil") + "/"
	local := func(s string) string { return strings.ReplaceAll(s, "/etc/vigil/", etc) }

	volumes := map[string]string{}
	secretItems := map[string][]any{}
	for _, v := range list(spec["volumes"]) {
		if name := str(get(v, "configMap", "name")); name != "" {
			volumes[str(get(v, "name"))] = name
		}
		if get(v, "secret") != nil {
			secretItems[str(get(v, "name"))] = list(get(v, "secret", "items"))
		}
	}
	for _, m := range list(ctr["volumeMounts"]) {
		if items, ok := secretItems[str(get(m, "name"))]; ok {
			// A Secret's files (the console's token or htpasswd): stand-ins.
			mount := local(str(get(m, "mountPath")) + "/")
			if err := os.MkdirAll(mount, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, item := range items {
				content := standInConsoleToken
				if str(get(item, "key")) == "htpasswd" {
					content = "oncall:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" // "password"
				}
				if err := os.WriteFile(filepath.Join(mount, str(get(item, "path"))), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		cmName, ok := volumes[str(get(m, "name"))]
		if !ok {
			continue
		}
		cm := find(objs, "ConfigMap", cmName)
		if cm == nil {
			// A ConfigMap of the user's (existingConfigMap): not rendered.
			t.Fatalf("%s mounts ConfigMap %s, which the chart does not render", o, cmName)
		}
		mount := local(str(get(m, "mountPath")) + "/")
		if err := os.MkdirAll(mount, 0o755); err != nil {
			t.Fatal(err)
		}
		data, _ := get(cm, "data").(map[string]any)
		for file, content := range data {
			// Paths in the configuration (the routing file, the console's
			// credentials) move with /etc/vigil.
			if err := os.WriteFile(filepath.Join(mount, file), []byte(local(str(content))), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, a := range list(ctr["args"]) {
		args = append(args, local(str(a)))
	}
	env = map[string]string{}
	for _, e := range list(ctr["env"]) {
		name := str(get(e, "name"))
		value := local(str(get(e, "value")))
		switch {
		case get(e, "valueFrom", "secretKeyRef") != nil:
			switch {
			case strings.HasPrefix(name, "PAGERDUTY_ROUTING_KEY"):
				value = "0123456789abcdef0123456789abcdef"
			case name == "SENTRY_DSN":
				value = "https://public@sentry.example.com/1"
			case name == "VIGIL_WEBHOOK_URL":
				value = "https://hooks.example.com/vigil"
			default:
				value = "stand-in-for-a-secret"
			}
		case get(e, "valueFrom", "fieldRef") != nil:
			value = "vigil-0"
		}
		env[name] = value
	}
	return args, env
}
