package pagerdutyexporter

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

func TestTriggerThenResolve(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey, mutate: func(c *Config) {
		c.DashboardURLTemplate = "https://grafana.example/d/vigil-slo?var-service={{ .Labels.service | urlquery }}&var-slo={{ .Labels.slo | urlquery }}"
		c.RunbookURLTemplate = "https://runbooks.example/{{ .Labels.service }}/{{ .Labels.slo }}"
		c.TraceSearchURLTemplate = `https://grafana.example/explore?traces={{ range $i, $id := .TraceIDs }}{{ if $i }},{{ end }}{{ $id }}{{ end }}`
		c.ClientURL = "https://grafana.example/"
	}})
	firing := sloEvent("fp-checkout-page", "page", "firing")
	// 1500 three-byte runes: over PagerDuty's 1024-character limit.
	firing.body = strings.Repeat("é", 700) + strings.Repeat("€", 800)
	firing.attrs["slo.error_budget.remaining"] = "0.42"
	firing.attrs["alert.trace_ids"] = "4bf92f3577b34da6a3ce929d0e0e4736,00f067aa0ba902b7a3ce929d0e0e4736"
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
		{"service label detail", p.CustomDetails["service"], "checkout"},
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

	// Still firing: re-reported on every evaluation, never re-triggered.
	h.consume(t, sloEvent("fp-checkout-page", "page", "firing"))
	h.consume(t, sloEvent("fp-checkout-page", "page", "resolved"))
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
	ev := sloEvent("fp-links", "page", "firing")
	ev.attrs["alert.dashboard_url"] = "https://grafana.example/from-event"
	ev.attrs["alert.runbook_url"] = "not a url"
	h.consume(t, ev)
	h.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-links"))
	links := fake.Triggers()[0].Links
	if len(links) != 1 || links[0].Href != "https://grafana.example/from-event" {
		t.Errorf("links = %+v, want only the event's dashboard URL (the bad runbook URL dropped)", links)
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
	}{
		{
			name:       "400 is permanent, counted and not retried",
			reply:      fakepagerduty.Reply{Status: http.StatusBadRequest, Message: "Event object is invalid", Errors: []string{"payload.summary is missing"}},
			times:      1,
			wantFailed: map[string]string{attrAction: "trigger", attrReason: string(events.ReasonInvalidEvent)},
			wantReqs:   1,
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
			h.consume(t, sloEvent("fp-fail", "page", "firing"))
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
	var evs []event
	for i := range alertsN {
		ev := sloEvent(fmt.Sprintf("fp-storm-%02d", i), "page", "firing")
		ev.attrs["alert.name"] = fmt.Sprintf("SLOBurnRate-svc%02d", i)
		evs = append(evs, ev)
	}
	h.consume(t, evs...)
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

// TestRestart: a new exporter over the same storage neither re-triggers an
// open incident nor loses its resolve.
func TestRestart(t *testing.T) {
	tests := []struct {
		name string
		// after the restart
		reReport bool
	}{
		{name: "alert re-reported then resolved", reReport: true},
		{name: "only the resolve arrives after the restart", reReport: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			store := t.TempDir()
			first := startExporter(t, fake, options{key: testKey, storeDir: store})
			first.consume(t, sloEvent("fp-restart", "page", "firing"))
			first.waitFor(t, 10*time.Second, "trigger", count("trigger", "fp-restart"))
			first.stop(t)

			second := startExporter(t, fake, options{key: testKey, storeDir: store})
			if tt.reReport {
				second.consume(t, sloEvent("fp-restart", "page", "firing"))
				time.Sleep(1500 * time.Millisecond) // several flushes
				if n := fake.Count("fp-restart", "trigger"); n != 1 {
					t.Fatalf("triggers after restart = %d, want 1", n)
				}
			}
			second.consume(t, sloEvent("fp-restart", "page", "resolved"))
			second.waitFor(t, 10*time.Second, "resolve", count("resolve", "fp-restart"))
			if n := fake.Count("fp-restart", "trigger"); n != 1 {
				t.Errorf("triggers = %d, want 1", n)
			}
		})
	}
}

// TestSilenceThenExpiry: a silence holds the trigger back; when it ends
// with the alert still firing, the trigger goes out.
func TestSilenceThenExpiry(t *testing.T) {
	fake := fakepagerduty.New(t)
	ends := time.Now().Add(2 * time.Second).UTC()
	silences := writeFile(t, "silences.yml", fmt.Sprintf(`
silences:
  - id: checkout-maintenance
    matchers: ['service="checkout"']
    ends_at: %s
    created_by: test
`, ends.Format(time.RFC3339Nano)))
	h := startExporter(t, fake, options{key: testKey, silences: silences})
	h.consume(t, sloEvent("fp-silenced", "page", "firing"))
	time.Sleep(time.Second)
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("requests while silenced = %d, want 0", n)
	}
	// The connector re-reports the still-firing alert.
	h.consume(t, sloEvent("fp-silenced", "page", "firing"))
	h.waitFor(t, 10*time.Second, "trigger after the silence", count("trigger", "fp-silenced"))
	if at := fake.Triggers()[0].ReceivedAt; at.Before(ends) {
		t.Errorf("trigger at %v, before the silence ended at %v", at, ends)
	}
}

// TestPageInhibitsTicket: with the default inhibition rule, a firing page
// holds back the ticket of the same SLO and service, until it resolves.
func TestPageInhibitsTicket(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey})
	h.consume(t, sloEvent("fp-page", "page", "firing"), sloEvent("fp-ticket", "ticket", "firing"))
	h.waitFor(t, 10*time.Second, "page", count("trigger", "fp-page"))
	time.Sleep(time.Second)
	if n := fake.Count("fp-ticket", "trigger"); n != 0 {
		t.Fatalf("ticket triggers while the page fires = %d, want 0", n)
	}
	h.consume(t, sloEvent("fp-page", "page", "resolved"), sloEvent("fp-ticket", "ticket", "firing"))
	h.waitFor(t, 10*time.Second, "page resolve and ticket", func(evs []fakepagerduty.Event) bool {
		return count("resolve", "fp-page")(evs) && count("trigger", "fp-ticket")(evs)
	})
	if sev := fake.Triggers()[1].Payload.Severity; sev != "warning" {
		t.Errorf("ticket severity = %q, want warning", sev)
	}
}

// TestNoRoutingKeyLogs: with no routing key (the embedded default without
// PAGERDUTY_ROUTING_KEY) notifications go to the log, none to PagerDuty.
func TestNoRoutingKeyLogs(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{routing: "-", mutate: func(c *Config) {}})
	h.consume(t, sloEvent("fp-log", "page", "firing"))
	// The built-in routing waits DefaultGroupWait before the first flush.
	deadline := time.Now().Add(alerts.DefaultGroupWait + 5*time.Second)
	for !h.logged("alert notification") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !h.logged("alert notification") {
		t.Fatal("no alert notification in the log")
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("requests to PagerDuty = %d, want 0", n)
	}
	if got := h.waitCounter(t, metricEventsSent, map[string]string{attrReceiver: alerts.DefaultReceiverName}, 1); got != 1 {
		t.Errorf("sent{receiver=default} = %d, want 1", got)
	}
}

func TestNonAlertRecordsIgnored(t *testing.T) {
	fake := fakepagerduty.New(t)
	h := startExporter(t, fake, options{key: testKey})
	h.consume(t,
		event{body: "GET /cart 200", attrs: map[string]string{"http.route": "/cart"}},
		event{body: "broken", attrs: map[string]string{"alert.name": "X", "alert.state": "exploded"}},
	)
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
	routing := `
receivers:
  - name: oncall
    pagerduty: {}
  - name: audit
    log: {}
route:
  receiver: oncall
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: ['severity="ticket"']
      receiver: audit
`
	h := startExporter(t, fake, options{key: testKey, routing: routing})
	h.consume(t, sloEvent("fp-leak-1", "page", "firing"))
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Requests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h.consume(t, sloEvent("fp-leak-2", "page", "firing"), event{body: "t", attrs: map[string]string{
		"alert.name": "other", "alert.state": "firing", "alert.severity": "ticket", "service.name": "cart", "slo.name": "latency",
	}})
	h.waitFor(t, 10*time.Second, "second trigger", count("trigger", "fp-leak-2"))
	for !h.logged("alert notification") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
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

	if !h.logged("PagerDuty rejected the event") || !h.logged("alert notification") {
		t.Fatalf("the test did not reach the logging paths; logs: %v", h.logs.All())
	}
	for _, entry := range h.logs.All() {
		text := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(text, testKey) {
			t.Errorf("log entry leaks the routing key: %s", text)
		}
	}
}
