package kubernetes

import (
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
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc", "vigil") + "/"
	local := func(s string) string { return strings.ReplaceAll(s, "/etc/vigil/", etc) }

	// Every ConfigMap the pod mounts, at its mount path.
	volumes := map[string]string{}
	for _, v := range list(spec["volumes"]) {
		if name := str(get(v, "configMap", "name")); name != "" {
			volumes[str(get(v, "name"))] = name
		}
	}
	for _, m := range list(ctr["volumeMounts"]) {
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
			if err := os.WriteFile(filepath.Join(mount, file), []byte(str(content)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	args := []string{"validate"}
	for _, a := range list(ctr["args"]) {
		args = append(args, local(str(a)))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for _, e := range list(ctr["env"]) {
		name := str(get(e, "name"))
		value := local(str(get(e, "value")))
		switch {
		case get(e, "valueFrom", "secretKeyRef") != nil:
			// Stand-ins shaped like the real thing, as the exporters
			// check the shape.
			switch {
			case strings.HasPrefix(name, "PAGERDUTY_ROUTING_KEY"):
				value = "0123456789abcdef0123456789abcdef"
			case name == "SENTRY_DSN":
				value = "https://public@sentry.example.com/1"
			default:
				value = "stand-in-for-a-secret"
			}
		case get(e, "valueFrom", "fieldRef") != nil:
			value = "vigil-0"
		}
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: vigil %s: %v\n%s", o, strings.Join(args, " "), err, out)
	}
}
