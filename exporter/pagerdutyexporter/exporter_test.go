package pagerdutyexporter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

func TestTriggerThenResolve(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey, mutate: func(c *Config) {
		c.DashboardURLTemplate = "https://grafana.example/d/vigil-slo?var-service={{ .Labels.service_name | urlquery }}&var-slo={{ .Labels.slo | urlquery }}"
		c.RunbookURLTemplate = "https://runbooks.example/{{ .Labels.service_name }}/{{ .Labels.slo }}"
		c.TraceSearchURLTemplate = `https://grafana.example/explore?traces={{ range $i, $id := .TraceIDs }}{{ if $i }},{{ end }}{{ $id }}{{ end }}`
		c.ClientURL = "https://grafana.example/"
	}})
	firing := note("fp-checkout-page", "page", "firing")
	// 1500 three-byte runes: over PagerDuty's 1024-character limit.
	firing.Alert.Annotations[alerts.AnnotationSummary] = strings.Repeat("é", 700) + strings.Repeat("€", 800)
	firing.Alert.Annotations["slo.error_budget.remaining"] = "0.42"
	firing.Alert.Annotations["alert.trace_ids"] = "4bf92f3577b34da6a3ce929d0e0e4736,00f067aa0ba902b7a3ce929d0e0e4736"
	h.consume(t, firing)
	h.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-checkout-page"))

	trig := fake.Triggers()
	if len(trig) != 1 {
		t.Fatalf("triggers = %d, want 1", len(trig))
	}
	ev := trig[0]
	p := ev.Payload
	tests := []struct {
		name      string
		got, want any
	}{
		{"dedup_key", ev.DedupKey, "fp-checkout-page"},
		{"severity", p.Severity, "critical"},
		{"source", p.Source, "checkout"},
		{"component", p.Component, "checkout"},
		{"group", p.Group, "availability"},
		{"class", p.Class, "slo"},
		{"client", ev.Client, "Vigil"},
		{"client_url", ev.ClientURL, "https://grafana.example/"},
		{"summary length", utf8.RuneCountInString(p.Summary), 1024},
		{"summary valid UTF-8", utf8.ValidString(p.Summary), true},
		{"summary cut mark", strings.HasSuffix(p.Summary, events.Ellipsis), true},
		{"burn rate detail", p.CustomDetails["slo.burn_rate.long"], 14.9},
		{"budget detail", p.CustomDetails["slo.error_budget.remaining"], 0.42},
		{"trace IDs detail", fmt.Sprint(p.CustomDetails["alert.trace_ids"]), "[4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7a3ce929d0e0e4736]"},
		{"service label detail", p.CustomDetails["service_name"], "checkout"},
		{"links", len(ev.Links), 3},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	wantLinks := map[string]string{
		"Dashboard":     "https://grafana.example/d/vigil-slo?var-service=checkout&var-slo=availability",
		"Runbook":       "https://runbooks.example/checkout/availability",
		"Sample traces": "https://grafana.example/explore?traces=4bf92f3577b34da6a3ce929d0e0e4736,00f067aa0ba902b7a3ce929d0e0e4736",
	}
	for _, l := range ev.Links {
		if wantLinks[l.Text] != l.Href {
			t.Errorf("link %q = %q, want %q", l.Text, l.Href, wantLinks[l.Text])
		}
	}

	h.consume(t, note("fp-checkout-page", "page", "resolved"))
	h.waitFor(t, 10*time.Second, "resolve", count("resolve", "fp-checkout-page"))
	counts := fake.CountsByDedupKey()["fp-checkout-page"]
	if counts["trigger"] != 1 || counts["resolve"] != 1 {
		t.Errorf("events for fp-checkout-page = %v, want one trigger and one resolve", counts)
	}
	if got := h.waitCounter(t, metricEventsSent, map[string]string{attrAction: "trigger"}, 1); got != 1 {
		t.Errorf("%s{action=trigger} = %d, want 1", metricEventsSent, got)
	}
	if got := h.waitCounter(t, metricEventsSent, map[string]string{attrAction: "resolve"}, 1); got != 1 {
		t.Errorf("%s{action=resolve} = %d, want 1", metricEventsSent, got)
	}
}

func TestEventAnnotationLinksWin(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey, mutate: func(c *Config) {
		c.DashboardURLTemplate = "https://grafana.example/from-template"
	}})
	n := note("fp-links", "page", "firing")
	n.Alert.Annotations["alert.dashboard_url"] = "https://grafana.example/from-event"
	n.Alert.Annotations["alert.runbook_url"] = "not a url"
	h.consume(t, n)
	h.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-links"))
	links := fake.Triggers()[0].Links
	if len(links) != 1 || links[0].Href != "https://grafana.example/from-event" {
		t.Errorf("links = %+v, want only the event's dashboard URL (the bad runbook URL dropped)", links)
	}
}

// TestConsoleLinks: with console_url, a trigger tells on-call where to
// look and how to mute it: client_url and the link "Vigil console" are the
// console's firing alerts, "Silence in Vigil" its silence form filled with
// the alert's labels; the SLO's description is a custom detail. The fake
// holds the event to PagerDuty's published format (absolute URLs).
func TestConsoleLinks(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey, mutate: func(c *Config) {
		c.ConsoleURL = "https://vigil.example/console/"
	}})
	firing := note("fp-console", "ticket", "firing")
	firing.Alert.Annotations["alert.runbook_url"] = "https://runbooks.example/checkout/availability"
	firing.Alert.Annotations["slo.description"] = "Checkout requests succeed."
	h.consume(t, firing)
	h.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-console"))
	ev := fake.Triggers()[0]
	if ev.ClientURL != "https://vigil.example/console/#alerts" {
		t.Errorf("client_url = %q, want the console's firing alerts", ev.ClientURL)
	}
	silence := "https://vigil.example/console/?silence=" + url.QueryEscape(
		`alertname="SLOBurnRate-checkout-availability-ticket", service_name="checkout", severity="ticket", slo="availability", source="slo"`) + "#new-silence"
	want := []fakepagerduty.Link{
		{Href: "https://runbooks.example/checkout/availability", Text: "Runbook"},
		{Href: "https://vigil.example/console/#alerts", Text: "Vigil console"},
		{Href: silence, Text: "Silence in Vigil"},
	}
	if !reflect.DeepEqual(ev.Links, want) {
		t.Errorf("links =\n%+v\nwant\n%+v", ev.Links, want)
	}
	if got := ev.Payload.CustomDetails["slo.description"]; got != "Checkout requests succeed." {
		t.Errorf("custom_details[slo.description] = %v, want the SLO's description", got)
	}
	if ev.Payload.Severity != "warning" {
		t.Errorf("a ticket's severity = %q, want warning (low urgency under PagerDuty's dynamic notifications)", ev.Payload.Severity)
	}
}

// TestClientURLWinsOverConsole: an explicit client_url is kept; the
// console is still linked.
func TestClientURLWinsOverConsole(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey, mutate: func(c *Config) {
		c.ConsoleURL = "http://127.0.0.1:9094"
		c.ClientURL = "https://grafana.example/"
	}})
	h.consume(t, note("fp-client", "page", "firing"))
	h.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-client"))
	ev := fake.Triggers()[0]
	if ev.ClientURL != "https://grafana.example/" {
		t.Errorf("client_url = %q, want the configured one", ev.ClientURL)
	}
	if len(ev.Links) != 2 || ev.Links[0].Href != "http://127.0.0.1:9094/#alerts" {
		t.Errorf("links = %+v, want the console's two", ev.Links)
	}
}

func TestFailureClassification(t *testing.T) {
	tests := []struct {
		name        string
		reply       fakepagerduty.Reply
		times       int
		wantTrigger int
		wantFailed  map[string]string // attributes of the failed count, nil for none
		wantRetried string            // reason of retried attempts, "" for none
		wantReqs    int
		// wantRefused: the handover (no queue) returns a permanent error,
		// for the alert router to send the notification again later.
		wantRefused bool
	}{
		{
			name:        "400 is permanent, counted, not retried, and returned",
			reply:       fakepagerduty.Reply{Status: http.StatusBadRequest, Message: "Event object is invalid", Errors: []string{"payload.summary is missing"}},
			times:       1,
			wantFailed:  map[string]string{attrAction: "trigger", attrReason: string(events.ReasonInvalidEvent)},
			wantReqs:    1,
			wantRefused: true,
		},
		{
			name:        "500 is retried until accepted",
			reply:       fakepagerduty.Reply{Status: http.StatusInternalServerError},
			times:       2,
			wantTrigger: 1,
			wantRetried: string(events.ReasonServerError),
			wantReqs:    3,
		},
		{
			name:        "429 with Retry-After is retried after the delay",
			reply:       fakepagerduty.Reply{Status: http.StatusTooManyRequests, RetryAfter: "1"},
			times:       1,
			wantTrigger: 1,
			wantRetried: string(events.ReasonRateLimited),
			wantReqs:    2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			fake.RespondNext(tt.times, tt.reply)
			h := startExporter(t, fake, options{key: testKey})
			err := h.exp.ConsumeLogs(context.Background(), logsOf([]alerts.Notification{note("fp-fail", "page", "firing")}))
			if tt.wantRefused != (err != nil && consumererror.IsPermanent(err)) {
				t.Fatalf("handover error %v, want a permanent one: %v", err, tt.wantRefused)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(fake.Requests()) < tt.wantReqs && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			// Give a wrongly retried 400 the time to show up.
			time.Sleep(500 * time.Millisecond)
			reqs := fake.Requests()
			if len(reqs) != tt.wantReqs {
				t.Fatalf("requests = %d (%+v), want %d", len(reqs), reqs, tt.wantReqs)
			}
			if got := len(fake.Triggers()); got != tt.wantTrigger {
				t.Errorf("accepted triggers = %d, want %d", got, tt.wantTrigger)
			}
			if tt.reply.RetryAfter != "" {
				if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 900*time.Millisecond {
					t.Errorf("retry came %v after the 429, want at least Retry-After (1s)", gap)
				}
			}
			if tt.wantFailed != nil {
				if got := h.waitCounter(t, metricEventsFailed, tt.wantFailed, 1); got != 1 {
					t.Errorf("%s%v = %d, want 1", metricEventsFailed, tt.wantFailed, got)
				}
				if !h.logged("PagerDuty rejected the event") {
					t.Errorf("the permanent failure was not logged")
				}
			} else if got := h.waitCounter(t, metricEventsFailed, nil, 0); got != 0 {
				t.Errorf("%s = %d, want 0", metricEventsFailed, got)
			}
			if tt.wantRetried != "" {
				if got := h.waitCounter(t, metricEventsRetried, map[string]string{attrReason: tt.wantRetried}, int64(tt.times)); got != int64(tt.times) {
					t.Errorf("%s{reason=%s} = %d, want %d", metricEventsRetried, tt.wantRetried, got, tt.times)
				}
			}
		})
	}
}

func (h *harness) logged(msg string) bool {
	for _, e := range h.logs.All() {
		if strings.HasPrefix(e.Message, msg) {
			return true
		}
	}
	return false
}

// TestRateLimitStorm: PagerDuty throttles with 429 while many alerts fire.
// Every event is delivered in the end, exactly once, and no window ever
// holds more requests than the client-side limit.
func TestRateLimitStorm(t *testing.T) {
	const (
		alertsN = 16
		limit   = 5
		window  = time.Second
	)
	fake := fakepagerduty.New(t)
	fake.RespondNext(6, fakepagerduty.Reply{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	// A 100ms guard as the real limiter has a 1s one: the limiter stamps a
	// request when it leaves, the fake when it arrives.
	limiter, err := events.NewLimiter(events.LimiterSettings{Events: limit, Window: window + 100*time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := startExporter(t, fake, options{key: testKey, limiter: limiter})
	// One request of many notifications: a 429 part-way through retries
	// only the rest, so nothing PagerDuty took is sent twice.
	var notes []alerts.Notification
	for i := range alertsN {
		notes = append(notes, note(fmt.Sprintf("fp-storm-%02d", i), "page", "firing"))
	}
	h.consume(t, notes...)
	h.waitFor(t, 30*time.Second, "every trigger", func(got []fakepagerduty.Event) bool { return len(got) >= alertsN })
	time.Sleep(300 * time.Millisecond)
	counts := fake.CountsByDedupKey()
	if len(counts) != alertsN {
		t.Errorf("distinct dedup keys = %d, want %d", len(counts), alertsN)
	}
	for key, c := range counts {
		if c["trigger"] != 1 {
			t.Errorf("%s: %d triggers, want 1", key, c["trigger"])
		}
	}
	if got := fake.MaxInWindow(testKey, window); got > limit {
		t.Errorf("max requests in a %v window = %d, want ≤ %d", window, got, limit)
	}
	if got := h.waitCounter(t, metricEventsRetried, map[string]string{attrReason: string(events.ReasonRateLimited)}, 6); got != 6 {
		t.Errorf("retried{rate_limited} = %d, want 6", got)
	}
}

// TestPersistentQueueAcrossRestart: with sending_queue::storage, a
// handover returns once the event is on disk; an exporter stopped while
// PagerDuty fails keeps the event, and the next one over the same storage
// sends it, once.
func TestPersistentQueueAcrossRestart(t *testing.T) {
	fake := fakepagerduty.New(t)
	fake.RespondNext(1, fakepagerduty.Reply{Status: http.StatusServiceUnavailable})
	store := t.TempDir()
	slowRetry := func(c *Config) { c.RetryConfig.InitialInterval = time.Minute; c.RetryConfig.MaxInterval = time.Minute }
	first := startExporter(t, fake, options{key: testKey, storeDir: store, mutate: slowRetry})
	first.consume(t, note("fp-queued", "page", "firing"))
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Requests()) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Stopped while the event waits out its backoff.
	first.stop(t)
	if n := len(fake.Triggers()); n != 0 {
		t.Fatalf("accepted triggers before the restart = %d, want 0", n)
	}

	second := startExporter(t, fake, options{key: testKey, storeDir: store})
	second.waitFor(t, 10*time.Second, "the queued trigger", count("trigger", "fp-queued"))
	time.Sleep(300 * time.Millisecond)
	if n := fake.Count("fp-queued", "trigger"); n != 1 {
		t.Errorf("triggers = %d, want exactly 1", n)
	}
}

// TestStaleTriggerDropped: a trigger that reaches the exporter after the
// resolve of the same alert (notified before it, overtaken in a parallel
// queue) is dropped; the alert firing again, notified after the resolve,
// triggers, also with the start its source gave the first time (an alert
// resolved at resolve_timeout and then re-sent).
func TestStaleTriggerDropped(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey})
	trigger := note("fp-order", "page", "firing")
	resolve := note("fp-order", "page", "resolved")
	trigger.At = resolve.At.Add(-time.Minute)
	h.consume(t, resolve, trigger)
	if got := h.waitCounter(t, metricRecordsIgnored, map[string]string{attrReason: reasonStale}, 1); got != 1 {
		t.Errorf("ignored{stale_trigger} = %d, want 1", got)
	}
	next := note("fp-order", "page", "firing")
	next.Alert.StartsAt = trigger.Alert.StartsAt
	next.At = resolve.At.Add(time.Minute)
	h.consume(t, next)
	counts := fake.CountsByDedupKey()["fp-order"]
	if counts["resolve"] != 1 || counts["trigger"] != 1 {
		t.Errorf("events = %v, want the resolve and only the trigger notified after it", counts)
	}
}

// TestNoRoutingKeyLogs: with no routing key (the embedded default without
// PAGERDUTY_ROUTING_KEY) notifications go to the log, none to PagerDuty.
func TestNoRoutingKeyLogs(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{})
	h.consume(t, note("fp-log", "page", "firing"))
	if !h.logged("alert notification") {
		t.Fatal("no alert notification in the log")
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("requests to PagerDuty = %d, want 0", n)
	}
	if got := h.waitCounter(t, metricEventsSent, map[string]string{attrReceiver: "oncall"}, 1); got != 1 {
		t.Errorf("sent{receiver=oncall} = %d, want 1", got)
	}
}

func TestNonAlertRecordsIgnored(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey})
	if err := h.exp.ConsumeLogs(context.Background(), logsOf(nil,
		map[string]string{"http.route": "/cart"},
		map[string]string{"alert.name": "X", "alert.state": "exploded"},
	)); err != nil {
		t.Fatal(err)
	}
	if got := h.waitCounter(t, metricRecordsIgnored, map[string]string{attrReason: "not_alert"}, 1); got != 1 {
		t.Errorf("ignored{not_alert} = %d, want 1", got)
	}
	if got := h.waitCounter(t, metricRecordsIgnored, map[string]string{attrReason: "invalid"}, 1); got != 1 {
		t.Errorf("ignored{invalid} = %d, want 1", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

// TestRoutingKeyNeverLeaks drives every path that logs or counts (accepted,
// 400 and 500 answers that echo the key back, the log receiver) and checks
// the key appears in no log entry, field or metric attribute.
func TestRoutingKeyNeverLeaks(t *testing.T) {
	fake := fakepagerduty.New(t)
	fake.RespondNext(1, fakepagerduty.Reply{Status: http.StatusInternalServerError, Message: "upstream said: routing_key " + testKey})
	fake.RespondNext(1, fakepagerduty.Reply{Status: http.StatusBadRequest, Message: "bad event for " + testKey, Errors: []string{"routing_key " + testKey + " unknown"}})
	h := startExporter(t, fake, options{key: testKey})
	// Retried after the 500, then refused: the handover returns the 400.
	err := h.exp.ConsumeLogs(context.Background(), logsOf([]alerts.Notification{note("fp-leak-1", "page", "firing")}))
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("handover error %v: want the refusal, without the routing key", err)
	}
	h.consume(t, note("fp-leak-2", "page", "firing"))
	h.waitFor(t, 10*time.Second, "second trigger", count("trigger", "fp-leak-2"))
	// The log path of an exporter without a key, over the same logger.
	logOnly := startExporter(t, fake, options{})
	logOnly.consume(t, note("fp-leak-3", "ticket", "firing"))
	for _, name := range []string{metricEventsSent, metricEventsRetried, metricEventsFailed} {
		m, err := h.tel.GetMetric(name)
		if err != nil {
			t.Errorf("metric %s: %v", name, err)
		}
		if strings.Contains(fmt.Sprintf("%+v", m), testKey) {
			t.Errorf("metric %s leaks the routing key", name)
		}
	}
	h.stop(t)

	logOnly.stop(t)
	if !h.logged("PagerDuty rejected the event") || !logOnly.logged("alert notification") {
		t.Fatalf("the test did not reach the logging paths; logs: %v", h.logs.All())
	}
	for _, entry := range append(h.logs.All(), logOnly.logs.All()...) {
		text := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(text, testKey) {
			t.Errorf("log entry leaks the routing key: %s", text)
		}
	}
}
