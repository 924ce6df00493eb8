// Package paging runs the alert path (alertrouter connector, pagerduty exporter) through the built vigil
// binary: alert events and spans go in over OTLP from the OpenTelemetry Go
// SDK, and what comes out is checked at the strict PagerDuty fake
// (internal/testutil/fakepagerduty) or, through real Prometheus and Alertmanager, at
// the same fake. Its tests only; set VIGIL_BINARY to test a prebuilt binary.
package paging
