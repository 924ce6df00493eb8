//go:generate go tool mdatagen metadata.yaml

// Package webhookexporter implements the `webhook` exporter: it sends the
// alert router's notifications as Alertmanager's webhook payload (version
// "4") to any URL, so every tool that takes Alertmanager webhooks (chat
// bridges, incident tools, ticketing) takes Vigil's alerts unchanged.
//
// It sits on a receiver pipeline of the alertrouter connector, like the
// pagerduty exporter: the router decides when to notify; this exporter
// only builds the request, classifies the answer and sends. Queueing and
// retries are exporterhelper's (sending_queue, retry_on_failure): 429 and
// 5xx are retried, honouring Retry-After; other 4xx are permanent, and go
// back to the alert router, which sends the notification again at its
// group's next flush (internal/refusal behind a persistent queue).
//
// The payload is Alertmanager's own type (template.Data, as its webhook
// notifier embeds it): receiver, status, alerts (status, labels,
// annotations, startsAt, endsAt, generatorURL, fingerprint), groupLabels,
// commonLabels, commonAnnotations, externalURL, plus version, groupKey
// and truncatedAlerts. The notifications of one request that share a
// group key go in one message; the router hands over one notification per
// request (each alert is its own notification, see package alerts), so a
// message normally carries one alert. Annotation names are made label
// names (slo.burn_rate.long becomes slo_burn_rate_long), as Alertmanager
// requires of annotations. generatorURL is the alert's dashboard link.
//
// The URL often holds a token (chat webhooks): errors and logs name only
// its scheme and host.
package webhookexporter // import "github.com/vigil-otel/vigil/exporter/webhookexporter"
