// Package test holds Vigil's tests of the whole built binary, one folder
// per topic: the binary and its CLI on the embedded default (binary), SLO
// and anomaly alerting (slo, anomaly), paging through PagerDuty and
// Alertmanager (paging), time to page (latency), the storage paths
// (loki, sentry, zaplog), and a fleet of gateways and evaluators over a
// shared Redis (fleet). Each starts bin/vigil (or $VIGIL_BINARY) through
// internal/testutil/vigiltest on loopback ports of its own.
package test
