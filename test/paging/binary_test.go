package paging

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// notifyWait bounds how long a notification may take through the binary:
// the default group_wait (5s), a flush tick and the exporter queue.
const notifyWait = 30 * time.Second

// resolveWait bounds a resolve: it goes out at the group's next
// group_interval after the trigger (10s in pagingtest.LogsConfig, 1m by default).
const resolveWait = 90 * time.Second

// TestAlertEventsThroughBinary sends alert events as OTLP log records into
// the binary and checks PagerDuty sees exactly one trigger per alert and its
// resolve, also when the collector is killed mid-incident.
func TestAlertEventsThroughBinary(t *testing.T) {
	tests := []struct {
		name string
		kill bool
		// killAfterResolve kills once the resolve is in and before it
		// goes out (the group's next interval, 10s after the trigger).
		killAfterResolve bool
	}{
		{name: "one trigger then the resolve"},
		{name: "SIGKILL and restart during the incident", kill: true},
		{name: "SIGKILL and restart while the resolve waits", killAfterResolve: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakepagerduty.New(t)
			cfg := pagingtest.LogsConfig(t, fake)
			inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})
			sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
			const fp = "e2e-checkout-availability-page"
			sender.Send(t, fp, "firing")
			pagingtest.WaitFor(t, fake, notifyWait, "the trigger", pagingtest.Has("trigger", fp))

			if tt.killAfterResolve {
				// The source says resolved once, as the slo and anomaly
				// connectors do; the router stores that within a flush
				// interval (1s) and dies before the group's next interval.
				sender.Send(t, fp, "resolved")
				time.Sleep(2 * time.Second)
				inst.Kill()
				inst = vigiltest.Start(t, vigiltest.Options{
					Args: []string{"--config", cfg}, StorageDir: inst.StorageDir,
				})
				// Within the group wait of the restarted router, not at
				// its resolve timeout (5m): nobody will say it again.
				pagingtest.WaitFor(t, fake, notifyWait, "the resolve after the restart", pagingtest.Has("resolve", fp))
				if n := fake.Count(fp, "trigger"); n != 1 {
					t.Errorf("triggers = %d, want exactly 1", n)
				}
				return
			}
			if tt.kill {
				// Kill during the incident, not in the milliseconds between
				// PagerDuty's answer and the notification log's write: a crash
				// there sends the trigger again by design (PagerDuty folds it
				// into the open incident by its dedup_key).
				time.Sleep(time.Second)
				inst.Kill()
				inst = vigiltest.Start(t, vigiltest.Options{
					Args: []string{"--config", cfg}, StorageDir: inst.StorageDir,
				})
				sender = pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
			}
			// The source re-reports the still-firing alert; past the
			// group wait and several flushes, nothing more goes out.
			sender.Send(t, fp, "firing")
			time.Sleep(8 * time.Second)
			if n := fake.Count(fp, "trigger"); n != 1 {
				t.Fatalf("triggers = %d, want exactly 1", n)
			}
			sender.Send(t, fp, "resolved")
			pagingtest.WaitFor(t, fake, resolveWait, "the resolve", pagingtest.Has("resolve", fp))
			if n := fake.Count(fp, "trigger"); n != 1 {
				t.Errorf("triggers = %d, want exactly 1", n)
			}
			for _, r := range fake.Requests() {
				if r.Status != 202 {
					t.Errorf("the fake answered %d: %v", r.Status, r.Errors)
				}
			}
			if strings.Contains(inst.Log(), pagingtest.RoutingKey) {
				t.Errorf("the collector's log contains the routing key")
			}
		})
	}
}

// TestSLOChainThroughBinary is the core promise end to end, on the embedded
// default: spans in, a page out, a resolve when it is over. An error burst
// on the documented example's availability SLO (checkout, 99.9%) pages
// exactly once; the collector is then killed (SIGKILL) and restarted on the
// same storage mid-incident, which must not page again; recovery then
// resolves the page.
//
// Recovery is driven by volume rather than time: good requests dilute the
// burst until every window's error ratio is 0.45%, a burn rate of 4.5. That
// is below both page conditions (14.4 and 6), so the page resolves without
// waiting half an hour for the burst to leave the 30m window, and above the
// ticket's 3; the ticket's condition comes from the burst that paged, so
// no ticket opens, neither while the page fires nor after: one problem,
// one incident (test/reliability also checks that a later slow burn opens
// a ticket).
func TestSLOChainThroughBinary(t *testing.T) {
	fake := fakepagerduty.New(t)
	opts := vigiltest.Options{
		Args: []string{
			// Evaluate every second and checkpoint every second, so that the
			// kill below finds the incident already in storage.
			"--set=connectors::slo::evaluation_interval=1s",
			"--set=connectors::slo::checkpoint_interval=1s",
		},
		Env: pagingtest.PagerDutyEnv(fake),
	}
	inst := vigiltest.Start(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The burst: every request fails, 50 per second, until the page.
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	bad := 0
	deadline := time.Now().Add(90 * time.Second)
	for len(pagingtest.Pages(fake.Triggers())) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no page within 90s of the burst's start; %d bad spans sent", bad)
		}
		spans.Send(ctx, t, 5, true)
		bad += 5
		time.Sleep(100 * time.Millisecond)
	}
	page := pagingtest.Pages(fake.Triggers())[0]
	if page.Payload.Source != "checkout" || page.Payload.CustomDetails["slo"] != "availability" {
		t.Errorf("page source %q, slo %v; want checkout/availability", page.Payload.Source, page.Payload.CustomDetails["slo"])
	}
	checkPageLinks(t, inst, page)

	// Mid-incident crash: the checkpoint and the notification log survive.
	time.Sleep(2 * time.Second)
	inst.Kill()
	// The same storage, fresh ports: a port the killed process freed may
	// be taken by another process before the restart binds it.
	opts.StorageDir = inst.StorageDir
	inst = vigiltest.Start(t, opts)
	spans = pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())

	// Recovery: enough good requests for an error ratio of 0.45%.
	good := int(float64(bad)/0.0045) - bad
	for sent := 0; sent < good; sent += 2000 {
		spans.Send(ctx, t, min(2000, good-sent), false)
	}
	pagingtest.WaitFor(t, fake, resolveWait+notifyWait, "the page's resolve", pagingtest.Has("resolve", page.DedupKey))
	// A ticket fired with the page's resolution would be out by now (the
	// resolve waits for the group_interval, a new group for group_wait).
	time.Sleep(5 * time.Second)

	if n := len(pagingtest.Pages(fake.Triggers())); n != 1 {
		t.Errorf("page triggers = %d, want 1 (the restart must not page again)", n)
	}
	if n := fake.Count(page.DedupKey, "resolve"); n != 1 {
		t.Errorf("page resolves = %d, want 1", n)
	}
	for _, ev := range fake.Triggers() {
		if ev.Payload.Severity == "warning" {
			t.Errorf("a ticket for the burst that paged: %s (one problem, one incident)", ev.Payload.Summary)
		}
	}
	t.Logf("burst: %d bad spans; recovery: %d good spans; events: %d", bad, good, len(fake.Events()))
}

// checkPageLinks: the default page carries what on-call needs without
// any link template configured: the SLO's runbook (its spec's
// runbook_url), the console's firing alerts (client_url and a link, at
// VIGIL_CONSOLE_URL, by default the console's own listener), the console's
// silence form filled with the alert's labels, and what the SLO promises
// (its description) in custom_details; and its summary says how much data
// the budget figure comes from.
func checkPageLinks(t *testing.T, inst *vigiltest.Instance, page fakepagerduty.Event) {
	t.Helper()
	console := inst.ConsoleURL()
	if page.ClientURL != console+"/#alerts" {
		t.Errorf("client_url = %q, want the console's firing alerts %s/#alerts", page.ClientURL, console)
	}
	// A fresh instance: the budget figure comes from the seconds of data
	// it holds, and the summary says so.
	if !regexp.MustCompile(`of the budget left, over the \d+m of data seen of its 30d window`).MatchString(page.Payload.Summary) {
		t.Errorf("summary %q does not say how much data its budget figure comes from", page.Payload.Summary)
	}
	if got := page.Payload.CustomDetails["slo.description"]; got != "Checkout requests succeed." {
		t.Errorf("custom_details[slo.description] = %v, want the spec's description", got)
	}
	links := map[string]string{}
	for _, l := range page.Links {
		links[l.Text] = l.Href
	}
	if links["Runbook"] != "https://runbooks.example.com/checkout/availability" {
		t.Errorf("runbook link %q, want the spec's runbook_url; links %+v", links["Runbook"], page.Links)
	}
	if links["Vigil console"] != console+"/#alerts" {
		t.Errorf("console link %q, want %s/#alerts", links["Vigil console"], console)
	}
	silence, ok := links["Silence in Vigil"]
	if !ok || !strings.HasPrefix(silence, console+"/?silence=") {
		t.Fatalf("silence link %q, want the console's silence form; links %+v", silence, page.Links)
	}
	// The link opens the console's silence form filled with the alert's
	// matchers.
	resp, err := http.Get(strings.TrimSuffix(silence, "#new-silence"))
	if err != nil {
		t.Fatalf("GET the silence link: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`service_name=&#34;checkout&#34;`, `slo=&#34;availability&#34;`, `vigil_severity=&#34;page&#34;`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("the silence link's page (status %d) has no %s in its form", resp.StatusCode, want)
		}
	}
}

// TestRateLimitStormThroughBinary fires more alerts at once than PagerDuty
// takes in a minute while PagerDuty answers 429 to the first requests:
// every alert is triggered exactly once in the end, and no minute ever
// holds more than PagerDuty's 120 requests for the routing key.
func TestRateLimitStormThroughBinary(t *testing.T) {
	const (
		alertsN  = 150
		throttle = 20
		limit    = 120 // events.RateLimitEvents
	)
	fake := fakepagerduty.New(t)
	fake.RespondNext(throttle, fakepagerduty.Reply{Status: 429, RetryAfter: "1"})
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", pagingtest.LogsConfig(t, fake)}})
	sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
	for i := range alertsN {
		sender.SendNamed(t, fmt.Sprintf("storm-%03d", i), fmt.Sprintf("storm-fp-%03d", i), "firing")
	}
	// 120 go out in the first minute, the rest once the window frees.
	pagingtest.WaitFor(t, fake, 3*time.Minute, "every trigger", func(evs []fakepagerduty.Event) bool { return len(evs) >= alertsN })
	time.Sleep(2 * time.Second)
	counts := fake.CountsByDedupKey()
	if len(counts) != alertsN {
		t.Errorf("alerts triggered = %d, want %d", len(counts), alertsN)
	}
	for key, c := range counts {
		if c["trigger"] != 1 {
			t.Errorf("%s: %d triggers, want 1", key, c["trigger"])
		}
	}
	reqs := fake.Requests()
	timeline := map[int]int{} // requests per 10s since the first one
	for _, r := range reqs {
		timeline[int(r.Time.Sub(reqs[0].Time)/(10*time.Second))*10]++
	}
	t.Logf("requests per 10s since the first: %v", timeline)
	if got := fake.MaxInWindow(pagingtest.RoutingKey, time.Minute); got > limit {
		t.Errorf("requests in one minute = %d, PagerDuty's limit is %d", got, limit)
	}
	if n := len(fake.Requests()); n != alertsN+throttle {
		t.Errorf("requests = %d, want %d (every alert once, plus one retry per 429)", n, alertsN+throttle)
	}
}
