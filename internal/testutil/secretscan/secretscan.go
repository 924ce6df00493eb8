// Package secretscan finds credentials in text that must not hold any:
// generated dashboards and provisioning files, rendered Kubernetes
// ConfigMaps. Secrets belong in environment references (${CLICKHOUSE_PASSWORD},
// ${env:PAGERDUTY_ROUTING_KEY}) filled from a secret store, never in files.
package secretscan

import "regexp"

// patterns match values that look like credentials: a key named like a
// secret with a literal (non-variable) value, in JSON or YAML; bearer and
// basic Authorization values; URLs with a password; Sentry DSNs with a key.
var patterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)"(password|passwd|secret|token|api_?key|routing_?key|auth|dsn)"\s*:\s*"[^"$]`),
	regexp.MustCompile(`(?im)^\s*(password|passwd|secret|token|api_?key|routing_?key|dsn)\s*:\s*["']?[^"'$\s{]`),
	regexp.MustCompile(`(?i)bearer\s+[a-z0-9._-]{8,}`),
	regexp.MustCompile(`(?i)basic\s+[a-z0-9+/=]{12,}`),
	regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s"'@:]+:[^@/\s"']+@`),
	regexp.MustCompile(`\b[a-f0-9]{32}@[a-z0-9.-]+/\d+`),
}

// notSecret matches YAML lines whose key is named like a secret but whose
// value is a keyword: the load_balancing exporter's routing_key says what
// to route by (service, traceID, ...), it is no PagerDuty key.
var notSecret = regexp.MustCompile(`(?im)^\s*routing_?key\s*:\s*["']?(service|traceID|metric|resource|streamID|attributes)["']?\s*$`)

// Find returns every credential-like substring of text.
func Find(text string) []string {
	text = notSecret.ReplaceAllString(text, "")
	var out []string
	for _, re := range patterns {
		out = append(out, re.FindAllString(text, -1)...)
	}
	return out
}
