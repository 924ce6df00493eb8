package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// shippedConfig is the part of a configuration the reliability rules read.
type shippedConfig struct {
	Extensions map[string]any            `yaml:"extensions"`
	Receivers  map[string]map[string]any `yaml:"receivers"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// typeOf is a component ID's type ("otlp" for "otlp/agents").
func typeOf(id string) string { t, _, _ := strings.Cut(id, "/"); return t }

// get walks nested maps by key.
func get(m any, keys ...string) (any, bool) {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil, false
		}
		if m, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return m, true
}

// storageExporters are the exporters whose backend may be down: each must
// keep its data on disk, wait out any outage, and never block its
// pipeline (which also feeds SLO evaluation and paging) when its queue is
// full.
var storageExporters = []string{"clickhouse", "loki", "sentry"}

// shippedConfigFiles lists every configuration Vigil ships: those in
// collector/config, the Helm chart's (its copies of those and its own
// gateway) and the Kafka gateway.
func shippedConfigFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("config", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped configs: %v", err)
	}
	chart, err := filepath.Glob(filepath.Join("..", "deploy", "helm", "vigil", "files", "config", "*.yaml"))
	if err != nil || len(chart) == 0 {
		t.Fatalf("no chart configs: %v", err)
	}
	files = append(files, chart...)
	files = append(files, filepath.Join("..", "deploy", "kafka", "gateway.yaml"))
	return files
}

// TestShippedConfigsFollowTheReliabilityRules reads every configuration
// in collector/config, the Helm chart's (its copies of those and its own
// gateway) and the Kafka gateway, and checks the rules README's Reliability section
// states: every OTLP listener behind the otlp_guard middleware; no batch
// processor (it holds acknowledged records in memory: the exporters batch
// in their queues); remote write through its write-ahead log, one
// request at a time in order, waiting out any outage, without the
// target_info series (two writers); storage
// exporters queued on disk, retrying without a time limit, never
// blocking; the health check in component-status form, answering 200
// while an exporter is degraded.
func TestShippedConfigsFollowTheReliabilityRules(t *testing.T) {
	files := shippedConfigFiles(t)
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var cfg shippedConfig
			if err := yaml.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			// An overlay (remote-write.yaml, storage.yaml) adds to another
			// file, which carries the listeners, the guard and the health
			// check.
			overlay := cfg.Receivers == nil
			if !overlay {
				checkGuard(t, cfg)
			}
			for name, p := range cfg.Service.Pipelines {
				if i := slices.IndexFunc(p.Processors, func(id string) bool { return typeOf(id) == "batch" }); i >= 0 {
					t.Errorf("pipeline %s has the batch processor %s: it answers before the records are on disk", name, p.Processors[i])
				}
			}
			for id, e := range cfg.Exporters {
				switch typ := typeOf(id); {
				case typ == "prometheus_remote_write" || typ == "prometheusremotewrite":
					if _, ok := get(e, "wal", "directory"); !ok {
						t.Errorf("%s has no wal::directory: samples would wait in memory", id)
					}
					if v, _ := get(e, "remote_write_queue", "enabled"); v != false {
						t.Errorf("%s: remote_write_queue::enabled must be false, or samples are answered before they reach the write-ahead log", id)
					}
					// Prometheus refuses a series' samples out of time order.
					if v, _ := get(e, "max_batch_request_parallelism"); v != 1 {
						t.Errorf("%s: max_batch_request_parallelism must be 1: several requests at once reorder the log's samples, which Prometheus refuses (out of order)", id)
					}
					if v, _ := get(e, "wal", "buffer_size"); v != 1 {
						t.Errorf("%s: wal::buffer_size must be 1: a restart during a larger batch sends its delivered part again, Prometheus refuses it, and the log never gets past it", id)
					}
					if v, _ := get(e, "retry_on_failure", "max_elapsed_time"); v != 0 {
						t.Errorf("%s: retry_on_failure::max_elapsed_time must be 0: a request given up after an outage is sent again after later ones, out of order", id)
					}
					if v, _ := get(e, "target_info", "enabled"); v != false {
						t.Errorf("%s: target_info::enabled must be false: a service's own metrics and the RED metrics of its spans write its target_info series at different times, out of order", id)
					}
				case slices.Contains(storageExporters, typ):
					if v, _ := get(e, "sending_queue", "storage"); v == nil {
						t.Errorf("%s: sending_queue::storage is not set: its queue is in memory", id)
					}
					if v, _ := get(e, "sending_queue", "block_on_overflow"); v != false {
						t.Errorf("%s: sending_queue::block_on_overflow must be false: a full queue would stall the pipeline and paging with it", id)
					}
					if v, _ := get(e, "retry_on_failure", "max_elapsed_time"); v != 0 {
						t.Errorf("%s: retry_on_failure::max_elapsed_time must be 0: an outage longer than the limit drops queued data", id)
					}
				}
			}
			if overlay {
				return
			}
			hc, ok := cfg.Extensions["health_check"]
			if !ok {
				t.Fatal("no health_check")
			}
			if _, ok := get(hc, "http", "endpoint"); !ok {
				t.Error("health_check is not in the component-status form (http::endpoint)")
			}
			if v, _ := get(hc, "component_health", "include_recoverable_errors"); v != false {
				t.Error("health_check::component_health::include_recoverable_errors must be false: a storage outage is no reason to fail the check")
			}
		})
	}
}

// checkGuard: otlp_guard is enabled and every gRPC and HTTP server of
// every receiver lists it first among its middlewares.
func checkGuard(t *testing.T, cfg shippedConfig) {
	t.Helper()
	if _, ok := cfg.Extensions["otlp_guard"]; !ok || !slices.Contains(cfg.Service.Extensions, "otlp_guard") {
		t.Error("the otlp_guard extension is not defined and enabled")
	}
	for id, r := range cfg.Receivers {
		protocols, ok := r["protocols"].(map[string]any)
		if !ok {
			continue
		}
		for proto, server := range protocols {
			mw, _ := get(server, "middlewares")
			list, _ := mw.([]any)
			if len(list) == 0 {
				t.Errorf("receiver %s, %s: no middlewares; want [{id: otlp_guard}]", id, proto)
				continue
			}
			if first, _ := get(list[0], "id"); first != "otlp_guard" {
				t.Errorf("receiver %s, %s: first middleware is %v, want otlp_guard", id, proto, first)
			}
		}
	}
}

// TestShippedLoadBalancingRoutesEverySignalByService: every load_balancing
// exporter in collector/config and the Helm chart's copies routes by
// routing_key: attributes on service.name alone, which contrib's exporter
// hashes to the same key ("service.name=<name>|") for spans, logs and
// metrics. routing_key: service hashes "<name>" for logs and metrics but
// "service.name=<name>|" for spans, so a service's signals would reach
// different evaluators, and an SLO on its metrics would be accounted
// where its lease is not (test/fleet,
// TestFleetRoutesEverySignalOfAServiceToOneEvaluator).
func TestShippedLoadBalancingRoutesEverySignalByService(t *testing.T) {
	var files []string
	for _, dir := range []string{"config", filepath.Join("..", "deploy", "helm", "vigil", "files", "config")} {
		found, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(found) == 0 {
			t.Fatalf("no configs in %s: %v", dir, err)
		}
		files = append(files, found...)
	}
	seen := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cfg shippedConfig
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for id, e := range cfg.Exporters {
			if typ := typeOf(id); typ != "load_balancing" && typ != "loadbalancing" {
				continue
			}
			seen++
			if key, _ := get(e, "routing_key"); key != "attributes" {
				t.Errorf("%s: %s routes by routing_key %v, want attributes (on service.name)", file, id, key)
			}
			attrs, _ := get(e, "routing_attributes")
			if list, _ := attrs.([]any); len(list) != 1 || list[0] != "service.name" {
				t.Errorf("%s: %s has routing_attributes %v, want [service.name]", file, id, attrs)
			}
		}
	}
	if seen < 2 {
		t.Errorf("%d load_balancing exporters in the shipped configs, want the gateway's and the chart's copy", seen)
	}
}

// TestShippedConfigsLogErrorsOnOneLine checks that every shipped
// configuration that sets up Vigil's own logs (overlays do not) turns off
// zap's stack trace under error lines: operators read those lines, and a
// trace of the collector's functions under each one buries them.
func TestShippedConfigsLogErrorsOnOneLine(t *testing.T) {
	files := shippedConfigFiles(t)
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(cfg, "service", "telemetry", "logs"); !ok {
			continue
		}
		checked++
		if v, _ := get(cfg, "service", "telemetry", "logs", "disable_stacktrace"); v != true {
			t.Errorf("%s: service::telemetry::logs::disable_stacktrace is %v, want true", file, v)
		}
	}
	if checked < 9 {
		t.Errorf("%d configurations set up Vigil's logs, want the 9 shipped ones (4 in collector/config, 4 in the chart, the Kafka gateway)", checked)
	}
}
