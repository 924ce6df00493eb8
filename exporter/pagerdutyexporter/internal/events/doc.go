// Package events is the wire layer of the PagerDuty exporter: the Events API
// v2 request model, PagerDuty's documented limits, a builder that turns plain
// alert data into an event that PagerDuty will accept, an HTTP client that
// classifies PagerDuty's answers for exporterhelper's retry machinery, and a
// per-routing-key rate limiter.
//
// The package knows nothing of pdata or of the alert engine, so it can be
// tested against the fake server in internal/testutil/fakepagerduty alone.
//
// A routing key is a credential: anyone holding it can page the team. No
// error, log field or fmt verb produced by this package contains one.
//
// API reference: https://developer.pagerduty.com/docs/events-api-v2/overview/
// and https://developer.pagerduty.com/docs/events-api-v2/trigger-events/.
package events
