// Package console tests the alert router's console through the built
// vigil binary on its embedded default, as on-call uses it: Debian's
// amtool against the Alertmanager API (list alerts, silence, expire,
// across a restart), with notifications checked at the strict PagerDuty
// fake, and headless Chromium on the status page while an SLO burns (a
// screenshot kept as a test artifact: go test -artifacts). Set
// VIGIL_BINARY to test a prebuilt binary.
package console
