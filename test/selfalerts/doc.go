// Package selfalerts tests Vigil's alerting rules on its own health,
// deploy/prometheus/rules/vigil-self.rules.yaml:
//
//   - promtool check rules, and promtool test rules on
//     deploy/prometheus/tests/vigil-self.rules.test.yaml, where every alert
//     has a case that fires it and one that keeps it quiet;
//   - the rules' shape: a severity of page or ticket, a summary and a
//     description that names a section of the top README that exists, and
//     the job "vigil" that the docker-compose Prometheus scrapes;
//   - every selector of every rule (parsed with Prometheus's PromQL
//     parser), its name and label matchers, matches a series the built
//     binary exports on its telemetry endpoint once the conditions the
//     rules watch have been provoked (an exporter that never answers, a
//     notifier PagerDuty refuses, one that is down, a zap line that is no
//     zap record, ...), and every otelcol_ name a description gives is
//     exported: a renamed metric or label breaks the test;
//   - one alert end to end: a real Prometheus (Debian's 2.42) scraping a
//     Vigil whose exporter points at a closed port, with the whole rules
//     file loaded (every rule evaluates without error) and
//     VigilExporterSendFailing's `for` shortened, shows the alert firing
//     for that exporter through its API.
//
// promtool and prometheus come from the Debian package prometheus and
// redis-server from redis-server (scripts/install-test-deps.sh installs
// them); a missing one fails the tests. Set VIGIL_BINARY to test a
// prebuilt binary.
package selfalerts
