package events

import "time"

// Limits PagerDuty documents for Events API v2. Each one is enforced here
// rather than left to PagerDuty, because an event PagerDuty rejects is a page
// nobody receives.
const (
	// DefaultEndpoint is the Events API v2 enqueue URL.
	// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
	DefaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

	// RoutingKeyLength is the length of an integration ("routing") key.
	// PagerDuty answers 400 "Length of 'routing_key' is incorrect (should be
	// 32 characters)" to any other length. Service integration keys are 32
	// lowercase hex digits; Event Orchestration and global routing keys start
	// with "R0" and mix upper-case letters and digits, so the accepted
	// alphabet is ASCII letters and digits.
	// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
	// https://support.pagerduty.com/main/docs/event-orchestration
	RoutingKeyLength = 32

	// MaxDedupKeyLength is the longest dedup_key PagerDuty accepts, in
	// characters.
	// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
	MaxDedupKeyLength = 255

	// MaxSummaryLength is the longest payload.summary PagerDuty accepts, in
	// characters.
	// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
	MaxSummaryLength = 1024

	// MaxEventBytes is the largest encoded event PagerDuty accepts. The docs
	// say "512 KB"; the smaller reading (512,000 bytes, the value Alertmanager
	// uses too) is the one that is safe under both.
	// https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
	MaxEventBytes = 512000

	// RateLimitEvents events per RateLimitWindow is PagerDuty's throttle per
	// integration key; above it PagerDuty answers 429.
	// https://developer.pagerduty.com/docs/events-api-v2/overview/#api-limits
	// https://community.pagerduty.com/forum/t/monitoring-api-rate-limiting/3318
	RateLimitEvents = 120

	// RateLimitWindow is the window RateLimitEvents applies to.
	RateLimitWindow = time.Minute
)
