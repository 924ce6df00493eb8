// Package latency is the time-to-page harness of the alert path (alertrouter connector and pagerduty exporter):
// `go test -v ./test/latency` sends one error burst
// (50 spans/s, every request failing, on the documented example SLO
// checkout/availability) into the built binary and prints how long the page
// takes to reach a local PagerDuty server through Vigil, and through
// Prometheus and Alertmanager with default settings. It fails if Vigil
// takes longer than 30s or the Alertmanager path never pages.
package latency
