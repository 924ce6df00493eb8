package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// The SLO tests run the embedded default (the documented example's
// checkout availability SLO, 99.9%, file_storage) evaluating every second
// but checkpointing on its default interval (1m), so that only the
// checkpoint written at an alert transition can carry the page's state
// across a crash. Their traffic is driven by volume, not time: every event
// lies inside every burn-rate window but the 5m one, so the error ratio of
// all the spans sent is the burn rate of every alert pair (over the error
// budget, 0.1%): page pairs at 14.4 and 6, ticket pairs at 3 and 1.
const (
	burstSpans = 100 // all failing: a burn rate of 1000
	// pagedRatio dilutes the burst to a burn rate of 4.5: below both page
	// pairs, so the page resolves, and above both ticket pairs.
	pagedRatio = 0.0045
	// clearRatio is a burn rate of 0.8: below every pair.
	clearRatio = 0.0008
	// resolveBound is well under the alert router's 5m resolve timeout,
	// which is what resolves a page whose state a crash lost (~305s after
	// the restart); the resolve of a page whose state survived goes out at
	// the group's next group_interval (1m).
	resolveBound = 150 * time.Second
)

func sloOptions(fake *fakepagerduty.Server) vigiltest.Options {
	return vigiltest.Options{
		Args: []string{"--set=connectors::slo::evaluation_interval=1s"},
		Env:  pagingtest.PagerDutyEnv(fake),
	}
}

// burstUntilPaged sends the burst and waits for the page's trigger.
func burstUntilPaged(ctx context.Context, t *testing.T, fake *fakepagerduty.Server, spans *pagingtest.SpanSender) fakepagerduty.Event {
	t.Helper()
	spans.Send(ctx, t, burstSpans, true)
	pagingtest.WaitFor(t, fake, 90*time.Second, "the page", func(evs []fakepagerduty.Event) bool { return len(pagingtest.Pages(evs)) > 0 })
	return pagingtest.Pages(fake.Triggers())[0]
}

// diluteTo sends good spans until the spans sent so far, bad of them
// failing, fail at ratio; it returns how many it sent.
func diluteTo(ctx context.Context, t *testing.T, spans *pagingtest.SpanSender, bad, total int, ratio float64) int {
	t.Helper()
	good := int(float64(bad)/ratio) - total
	for sent := 0; sent < good; sent += 2000 {
		spans.Send(ctx, t, min(2000, good-sent), false)
	}
	return max(good, 0)
}

// TestCrashAfterPageResolvesPromptly kills the collector (SIGKILL) half
// a second after PagerDuty received the page, restarts it on the same
// storage and stops the errors: the page is not sent again, and its
// resolve comes about a group_interval after the recovery, not through
// the 5-minute resolve timeout. The checkpoint interval is a minute, so
// the page's state survives only through the checkpoint written at the
// alert transition.
func TestCrashAfterPageResolvesPromptly(t *testing.T) {
	fake := fakepagerduty.New(t)
	opts := sloOptions(fake)
	inst := vigiltest.Start(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	page := burstUntilPaged(ctx, t, fake, pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint()))
	time.Sleep(500 * time.Millisecond)
	inst.Kill()
	opts.StorageDir = inst.StorageDir
	inst = vigiltest.Start(t, opts)
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())

	good := diluteTo(ctx, t, spans, burstSpans, burstSpans, pagedRatio)
	recovered := time.Now()
	pagingtest.WaitFor(t, fake, resolveBound, "the page's resolve after the restart", pagingtest.Has("resolve", page.DedupKey))
	took := time.Since(recovered)
	t.Logf("SIGKILL 0.5s after the page; after the restart %d good spans; the page resolved %.1fs after the recovery (bound %v; the resolve timeout would take ~305s)",
		good, took.Seconds(), resolveBound)

	// Past the resolve nothing more goes out: no second page.
	time.Sleep(5 * time.Second)
	if n := fake.Count(page.DedupKey, "trigger"); n != 1 {
		t.Errorf("page triggers = %d, want 1 (the restart must not page again)", n)
	}
	if n := len(pagingtest.Pages(fake.Triggers())); n != 1 {
		t.Errorf("page alerts triggered = %d, want 1", n)
	}
	if n := fake.Count(page.DedupKey, "resolve"); n != 1 {
		t.Errorf("page resolves = %d, want 1", n)
	}
}

// TestOneIncidentPerProblem: a burst pages; as its error ratio falls
// below the page's thresholds the page resolves, and the ticket's
// condition, which the same burst still holds up, opens no second
// incident. Once the ticket's condition has cleared, a slow burn of its
// own (burn rate 5: ticket, no page) opens a ticket.
func TestOneIncidentPerProblem(t *testing.T) {
	fake := fakepagerduty.New(t)
	inst := vigiltest.Start(t, sloOptions(fake))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())

	page := burstUntilPaged(ctx, t, fake, spans)
	bad, total := burstSpans, burstSpans
	total += diluteTo(ctx, t, spans, bad, total, pagedRatio)
	pagingtest.WaitFor(t, fake, resolveBound, "the page's resolve", pagingtest.Has("resolve", page.DedupKey))
	// A ticket fired with the page's resolution would have reached
	// PagerDuty by now (the router's group_wait is 5s, the page's
	// resolve waits for its group_interval, 1m); wait a little more.
	time.Sleep(10 * time.Second)
	if tickets := pagingtest.Tickets(fake.Triggers()); len(tickets) != 0 {
		t.Fatalf("the burst that paged also opened %d ticket(s) (%s): one problem, two incidents", len(tickets), tickets[0].Payload.Summary)
	}

	// The burst's ticket condition clears; a few evaluations see it.
	total += diluteTo(ctx, t, spans, bad, total, clearRatio)
	time.Sleep(3 * time.Second)

	// A new slow burn: 0.5% of requests fail, until the ticket opens.
	slowSince := time.Now()
	deadline := slowSince.Add(2 * time.Minute)
	for len(pagingtest.Tickets(fake.Triggers())) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no ticket within 2m of a slow burn at 0.5%% (%d of %d spans failing)", bad, total)
		}
		spans.Send(ctx, t, 995, false)
		spans.Send(ctx, t, 5, true)
		bad, total = bad+5, total+1000
		time.Sleep(200 * time.Millisecond)
	}
	ticket := pagingtest.Tickets(fake.Triggers())[0]
	t.Logf("the slow burn opened a ticket %.1fs after it began (%d of %d spans failing): %s",
		time.Since(slowSince).Seconds(), bad, total, ticket.Payload.Summary)
	time.Sleep(5 * time.Second)
	if n := len(pagingtest.Tickets(fake.Triggers())); n != 1 {
		t.Errorf("ticket triggers = %d, want 1", n)
	}
	if n := len(pagingtest.Pages(fake.Triggers())); n != 1 {
		t.Errorf("page triggers = %d, want 1 (the slow burn is below the page's thresholds)", n)
	}
	if ticket.DedupKey == page.DedupKey {
		t.Errorf("the ticket shares the page's dedup key %q", ticket.DedupKey)
	}
}
