// Package dashboards builds Vigil's Grafana dashboards as typed code with
// the Grafana Foundation SDK, together with the provisioning files of the
// compose stack. Dashboards select their data sources through variables
// (one per plugin type), so they load into any Grafana: the compose
// stack's, or one that takes them from ConfigMaps through its sidecar
// (the Helm chart).
//
// One file per dashboard: service overview (RED per service and
// operation with anomaly bands), SLOs, anomalies, alerts (ClickHouse
// history), logs (Loki), traces (ClickHouse) and Vigil's own health. The
// generated JSON and provisioning YAML are committed under json/ and
// provisioning/; `go generate ./dashboards` rewrites them and a golden test
// fails while they are stale.
//
// Every query names only what Vigil produces: metric names come from the
// conventions package, the span_metrics connector and the collector's own
// telemetry, and the tests parse every PromQL expression, run every
// ClickHouse query on the exporter's schema and check every LogQL query's
// shape.
package dashboards

//go:generate go run ./cmd/gendashboards -out .
