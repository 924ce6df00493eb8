package kubernetes

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// storageTypes are the exporters that store telemetry (full.yaml's
// backends): ClickHouse, Loki, Sentry and Prometheus remote write.
var storageTypes = []string{"clickhouse", "loki", "sentry", "prometheus_remote_write"}

// TestFleetStoresWhatTheSingleNodeStores renders the fleet with
// config.base full (testdata/values/fleet-full.yaml) and the same values
// as one node (--set mode=single), and reads the configuration each
// workload runs as the collector merges it (`vigil print-config` on the
// pod's arguments and environment): every signal the single node sends to
// a storage backend (zap log files aside, which the fleet does not read),
// the evaluators send to the same backend, with the same settings and the
// backends' values; their queues are on the StatefulSet's volume, kept
// when an evaluator is scaled in. The gateways run what they run without
// config.base full.
func TestFleetStoresWhatTheSingleNodeStores(t *testing.T) {
	bin := vigiltest.Binary(t)
	var fleetFull, fleet valuesCase
	for _, c := range cases() {
		switch c.name {
		case "fleet-full":
			fleetFull = c
		case "fleet":
			fleet = c
		}
	}
	objs := decodeObjects(t, renderCase(t, fleetFull))
	singleOut, err := helm(t, append(templateArgs(fleetFull, "vigil"), "--set", "mode=single")...)
	if err != nil {
		t.Fatal(err)
	}
	singleObjs := decodeObjects(t, singleOut)

	evaluator := find(objs, "StatefulSet", "vigil-evaluator")
	single := find(singleObjs, "Deployment", "vigil")
	if evaluator == nil || single == nil {
		t.Fatal("no evaluator StatefulSet or single-node Deployment rendered")
	}
	evalCfg := printConfig(t, bin, objs, evaluator)
	singleCfg := printConfig(t, bin, singleObjs, single)

	// The same routes to storage.
	want := storageRoutes(singleCfg)
	for route := range want {
		if strings.Contains(route, " zaplog ") {
			delete(want, route)
		}
	}
	got := storageRoutes(evalCfg)
	if len(want) == 0 {
		t.Fatal("the single node on full.yaml stores nothing: the comparison is void")
	}
	if !maps.Equal(got, want) {
		t.Errorf("the evaluators store\n  %s\nthe single node\n  %s", strings.Join(sortedKeys(got), "\n  "), strings.Join(sortedKeys(want), "\n  "))
	}

	// The same exporters, every setting (print-config shows them with
	// their defaults) and the backends' values resolved; remote write to
	// the same endpoint and a write-ahead log on the volume (its other
	// settings are remote-write.yaml's, held to full.yaml's rules by
	// collector/shippedconfigs_test.go).
	for id, e := range exportersMap(singleCfg) {
		typ, _, _ := strings.Cut(id, "/")
		if !slices.Contains(storageTypes, typ) {
			continue
		}
		ee, ok := exportersMap(evalCfg)[id]
		switch {
		case !ok:
			t.Errorf("the evaluators have no exporter %s", id)
		case typ == "prometheus_remote_write":
			for _, path := range [][]string{{"http", "endpoint"}, {"wal", "directory"}} {
				if g, w := get(ee, path...), get(e, path...); g != w || g == nil {
					t.Errorf("%s::%s: the evaluators' %v, the single node's %v", id, strings.Join(path, "::"), g, w)
				}
			}
		case !reflect.DeepEqual(ee, e):
			t.Errorf("exporter %s differs:\nevaluators:  %v\nsingle node: %v", id, ee, e)
		}
	}
	for path, want := range map[string]string{
		"clickhouse::endpoint":                    "tcp://clickhouse.db:9000",
		"clickhouse::database":                    "telemetry",
		"loki::endpoint":                          "http://loki.logging:3100",
		"loki::tenant_id":                         "team-a",
		"prometheus_remote_write::http::endpoint": "http://mimir.monitoring:8080/api/v1/push",
	} {
		if got := get(exportersMap(evalCfg), strings.Split(path, "::")...); got != want {
			t.Errorf("the evaluators' %s = %v, want %s (backends.*)", path, got, want)
		}
	}

	// The queues are on the evaluator's own volume, kept when it is
	// scaled in.
	ctr := list(podSpec(evaluator)["containers"])[0].(map[string]any)
	dir := envValue(ctr, "VIGIL_STORAGE_DIR")
	if got := get(evalCfg, "extensions", "file_storage", "directory"); got != dir || dir == "" {
		t.Errorf("file_storage::directory = %v, VIGIL_STORAGE_DIR = %q", got, dir)
	}
	for _, id := range []string{"clickhouse", "loki", "sentry"} {
		if got := get(exportersMap(evalCfg), id, "sending_queue", "storage"); got != "file_storage" {
			t.Errorf("%s::sending_queue::storage = %v, want file_storage", id, got)
		}
	}
	if !slices.ContainsFunc(list(ctr["volumeMounts"]), func(m any) bool {
		return get(m, "name") == "data" && get(m, "mountPath") == dir
	}) {
		t.Errorf("no volume data mounted at %s", dir)
	}
	if !slices.ContainsFunc(list(get(evaluator, "spec", "volumeClaimTemplates")), func(c any) bool {
		return get(c, "metadata", "name") == "data"
	}) {
		t.Error("the evaluators' data volume is not the StatefulSet's claim template")
	}
	for _, when := range []string{"whenScaled", "whenDeleted"} {
		if got := get(evaluator, "spec", "persistentVolumeClaimRetentionPolicy", when); got != "Retain" {
			t.Errorf("persistentVolumeClaimRetentionPolicy.%s = %v, want Retain: an evaluator's queues wait on its volume", when, got)
		}
	}

	// The gateways do not change with config.base.
	plain := decodeObjects(t, renderCase(t, fleet))
	if a, b := get(find(objs, "ConfigMap", "vigil-gateway-config"), "data"), get(find(plain, "ConfigMap", "vigil-gateway-config"), "data"); a == nil || !reflect.DeepEqual(a, b) {
		t.Errorf("the gateways' ConfigMap differs with config.base full")
	}
	gw, plainGW := find(objs, "Deployment", "vigil-gateway"), find(plain, "Deployment", "vigil-gateway")
	if gw == nil || plainGW == nil {
		t.Fatal("no gateway Deployment rendered")
	}
	gwCtr, plainCtr := list(podSpec(gw)["containers"])[0], list(podSpec(plainGW)["containers"])[0]
	for _, field := range []string{"args", "env"} {
		if !reflect.DeepEqual(get(gwCtr, field), get(plainCtr, field)) {
			t.Errorf("the gateway's %s differ with config.base full:\n%v\n%v", field, get(gwCtr, field), get(plainCtr, field))
		}
	}
}

// printConfig is the configuration a workload's Vigil container runs, as
// `vigil print-config` merges and resolves it (validating it too).
func printConfig(t *testing.T, bin string, objs []object, o object) map[string]any {
	t.Helper()
	spec := podSpec(o)
	args, env := materialize(t, objs, o, spec, list(spec["containers"])[0].(map[string]any))
	cmd := exec.Command(bin, append([]string{"print-config", "--mode=unredacted", "--format=json"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = os.Environ()
	for name, value := range env {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: vigil print-config %s: %v\n%s", o, strings.Join(args, " "), err, stderr.String())
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("%s: print-config's output: %v\n%s", o, err, out)
	}
	return cfg
}

func exportersMap(cfg map[string]any) map[string]any {
	m, _ := get(cfg, "exporters").(map[string]any)
	return m
}

// storageRoutes lists what a configuration stores where: "<signal>
// <receiver> -> <exporter>" for every pipeline's receiver and storage
// exporter.
func storageRoutes(cfg map[string]any) map[string]bool {
	routes := map[string]bool{}
	pipelines, _ := get(cfg, "service", "pipelines").(map[string]any)
	for name, p := range pipelines {
		signal, _, _ := strings.Cut(name, "/")
		for _, e := range list(get(p, "exporters")) {
			typ, _, _ := strings.Cut(str(e), "/")
			if !slices.Contains(storageTypes, typ) {
				continue
			}
			for _, r := range list(get(p, "receivers")) {
				routes[fmt.Sprintf("%s %s -> %s", signal, str(r), str(e))] = true
			}
		}
	}
	return routes
}

func sortedKeys(m map[string]bool) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}

// TestQueuesHaveTheirStorage reads the configuration every workload of
// every case runs (`vigil print-config`): each exporter's persistent
// queue names a storage extension the configuration enables. `vigil
// validate` does not check it; the collector refuses to start without it
// ("no storage client extension found"), as an evaluator on evaluator.yaml
// did with a receiver of alerting.receivers, whose exporter the chart
// queued on file_storage.
func TestQueuesHaveTheirStorage(t *testing.T) {
	bin := vigiltest.Binary(t)
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, renderCase(t, c))
			for _, o := range objs {
				if podSpec(o) == nil || o.kind() == "StatefulSet" && strings.HasSuffix(o.name(), "-redis") {
					continue
				}
				cfg := printConfig(t, bin, objs, o)
				enabled := list(get(cfg, "service", "extensions"))
				for id, e := range exportersMap(cfg) {
					storage := get(e, "sending_queue", "storage")
					if storage != nil && !slices.Contains(enabled, storage) {
						t.Errorf("%s: exporter %s queues on %v, which service::extensions %v does not enable", o, id, storage, enabled)
					}
				}
			}
		})
	}
}
