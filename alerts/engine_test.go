package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is a Saturday, so time-interval scenarios can start in a weekend.
var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func alertOf(name string, labels ...string) Alert {
	l := map[string]string{LabelAlertName: name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return Alert{Labels: l, State: StateFiring, Fingerprint: Fingerprint(l)}
}

func resolved(a Alert) Alert {
	a.State = StateResolved
	return a
}

// Alerts of the scenarios: a page and its ticket for one SLO of checkout, a
// ticket of another service, and two alerts that differ only outside
// group_by.
var (
	pageCheckout   = alertOf("Page", "severity", "page", "vigil_severity", "page", "slo", "availability", "service_name", "checkout")
	ticketCheckout = alertOf("Ticket", "severity", "ticket", "vigil_severity", "ticket", "slo", "availability", "service_name", "checkout")
	ticketSearch   = alertOf("Ticket", "severity", "ticket", "vigil_severity", "ticket", "slo", "availability", "service_name", "search")
	euAlert        = alertOf("Regional", "service_name", "edge", "region", "eu")
	usAlert        = alertOf("Regional", "service_name", "edge", "region", "us")
)

// step happens at t0+at: ingest, then Flush, whose notifications (as
// "action receiver alertname/service", the receiver as
// "receiver/integration" for a named integration) must equal want; each
// is then reported to MarkSending and MarkSent, as failed when failSends
// or when its integration is in failAt. A notification in refuse (as
// described) is then reported refused by its receiver (MarkRefused), as
// after a persistent queue took it; one in refuseInFlight, before
// MarkSent is told it was handed over.
type step struct {
	at             time.Duration
	ingest         []Alert
	silences       []*Silence
	failSends      bool
	failAt         []string
	refuse         []string
	refuseInFlight []string
	want           []string
}

func describe(n Notification) string {
	to := n.Receiver
	if n.Integration != "" {
		to += "/" + n.Integration
	}
	return fmt.Sprintf("%s %s %s/%s", n.Action, to, n.Alert.Labels[LabelAlertName], n.Alert.Labels[LabelService])
}

func runSteps(t *testing.T, e *Engine, steps []step) {
	t.Helper()
	for _, s := range steps {
		now := t0.Add(s.at)
		if s.silences != nil {
			e.SetSilences(s.silences, now)
		}
		for _, a := range s.ingest {
			e.Ingest(a, now)
		}
		var got []string
		for _, n := range e.Flush(now) {
			got = append(got, describe(n))
			require.NoError(t, e.MarkSending(context.Background(), n))
			var sendErr error
			if s.failSends || slices.Contains(s.failAt, n.Integration) {
				sendErr = errors.New("503 from receiver")
			}
			if slices.Contains(s.refuseInFlight, describe(n)) {
				changed, err := e.MarkRefused(context.Background(), readBack(n))
				require.NoError(t, err)
				require.True(t, changed, "refusing %s in flight", describe(n))
			}
			require.NoError(t, e.MarkSent(context.Background(), n, sendErr))
			if slices.Contains(s.refuse, describe(n)) {
				changed, err := e.MarkRefused(context.Background(), readBack(n))
				require.NoError(t, err)
				require.True(t, changed, "refusing %s", describe(n))
			}
		}
		assert.Equal(t, s.want, got, "at +%v", s.at)
	}
}

func parseTestConfig(t *testing.T, yml string) *Config {
	t.Helper()
	if yml == "" {
		return DefaultConfig()
	}
	cfg, err := ParseConfig("test.yml", []byte(yml))
	require.NoError(t, err)
	return cfg
}

const fastRepeatConfig = `
global: {resolve_timeout: 1h}
receivers: [{name: oncall}]
route: {receiver: oncall, repeat_interval: 10m}
`

const weekendConfig = `
global: {resolve_timeout: 72h}
receivers: [{name: oncall}, {name: tickets}]
route:
  receiver: oncall
  routes:
    - matchers: ['severity="ticket"']
      receiver: tickets
      mute_time_intervals: [weekends]
    - matchers: ['severity="page"']
      receiver: oncall
      active_time_intervals: [office]
time_intervals:
  - name: weekends
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
  - name: office
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/Paris
`

func TestEngineScenarios(t *testing.T) {
	silence := func(id string, start, end time.Duration, untilResolved bool, matchers ...string) *Silence {
		s := &Silence{ID: id, Matchers: mustParse(t, matchers...), UntilResolved: untilResolved}
		if start != 0 {
			s.StartsAt = t0.Add(start)
		}
		if end != 0 {
			s.EndsAt = t0.Add(end)
		}
		return s
	}
	tests := []struct {
		name   string
		config string
		steps  []step
	}{
		{
			name: "group_wait delays the first trigger, then re-reports are deduplicated",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 4 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 65 * time.Second, ingest: []Alert{pageCheckout}},
			},
		},
		{
			name: "an alert joining a notified group waits for group_interval, yet is its own notification",
			steps: []step{
				{at: 0, ingest: []Alert{euAlert}},
				{at: 5 * time.Second, want: []string{"trigger default Regional/edge"}},
				{at: 10 * time.Second, ingest: []Alert{euAlert, usAlert}},
				{at: 64 * time.Second, ingest: []Alert{euAlert, usAlert}},
				{at: 65 * time.Second, want: []string{"trigger default Regional/edge"}},
			},
		},
		{
			name: "group_by ... makes each alert its own group, so none waits for another's interval",
			config: `
receivers: [{name: oncall}]
route: {receiver: oncall, group_by: ['...']}
`,
			steps: []step{
				{at: 0, ingest: []Alert{euAlert}},
				{at: 5 * time.Second, want: []string{"trigger oncall Regional/edge"}},
				{at: 10 * time.Second, ingest: []Alert{euAlert, usAlert}},
				{at: 15 * time.Second, want: []string{"trigger oncall Regional/edge"}},
			},
		},
		{
			name:   "repeat_interval re-sends the trigger of a still-firing alert",
			config: fastRepeatConfig,
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger oncall Page/checkout"}},
				{at: 5*time.Minute + 5*time.Second, ingest: []Alert{pageCheckout}},
				{at: 10*time.Minute + 5*time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger oncall Page/checkout"}},
			},
		},
		{
			name: "a resolve goes out at the next group interval",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 65 * time.Second, want: []string{"resolve default Page/checkout"}},
				{at: 125 * time.Second},
			},
		},
		{
			name: "an alert resolved within group_wait sends nothing",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 2 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 5 * time.Second},
				{at: 65 * time.Second},
			},
		},
		{
			name: "a resolve for an alert never seen is dropped",
			steps: []step{
				{at: 0, ingest: []Alert{resolved(pageCheckout)}},
				{at: 5 * time.Second},
			},
		},
		{
			name: "an alert no longer reported is resolved after resolve_timeout",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 4*time.Minute + 59*time.Second},
				// Stale from +5m; the resolve waits for the group's next
				// interval like any other.
				{at: 5*time.Minute + 58*time.Second},
				{at: 5*time.Minute + 59*time.Second, want: []string{"resolve default Page/checkout"}},
			},
		},
		{
			name: "a failed send is retried at the next group interval, not forgotten",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}},
				{at: 5 * time.Second, failSends: true, want: []string{"trigger default Page/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 65 * time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default Page/checkout"}},
				{at: 125 * time.Second, ingest: []Alert{pageCheckout}},
			},
		},
		{
			name: "a page inhibits the ticket of the same slo and service only",
			steps: []step{
				{at: 0, ingest: []Alert{ticketCheckout, pageCheckout, ticketSearch}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout", "trigger default Ticket/search"}},
			},
		},
		{
			name: "when the page resolves, the still-firing ticket goes out",
			steps: []step{
				{at: 0, ingest: []Alert{ticketCheckout, pageCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout), ticketCheckout}},
				{at: 65 * time.Second, want: []string{"resolve default Page/checkout", "trigger default Ticket/checkout"}},
			},
		},
		{
			name: "a triggered ticket later inhibited stays open, is not repeated, and still gets its resolve",
			steps: []step{
				{at: 0, ingest: []Alert{ticketCheckout}},
				{at: 5 * time.Second, want: []string{"trigger default Ticket/checkout"}},
				{at: 10 * time.Second, ingest: []Alert{pageCheckout, ticketCheckout}},
				{at: 15 * time.Second, want: []string{"trigger default Page/checkout"}},
				{at: 65 * time.Second, ingest: []Alert{pageCheckout, resolved(ticketCheckout)}, want: []string{"resolve default Ticket/checkout"}},
			},
		},
		{
			name: "a silence holds the trigger until it ends with the alert still firing",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}, silences: []*Silence{silence("maint", 0, 2*time.Minute, false, `service_name="checkout"`)}},
				{at: 5 * time.Second},
				{at: 65 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 125 * time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default Page/checkout"}},
			},
		},
		{
			name: "a silence not yet started mutes nothing",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}, silences: []*Silence{silence("later", time.Hour, 2*time.Hour, false, `service_name="checkout"`)}},
				{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
		},
		{
			name: "an until_resolved silence ends when its alert resolves, so the next incident pages",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}, silences: []*Silence{silence("INC-1", 0, 0, true, `slo="availability"`)}},
				{at: 5 * time.Second},
				{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
				{at: 65 * time.Second},
				{at: 100 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 105 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
		},
		{
			name: "an until_resolved silence holds while any alert it matches fires",
			steps: []step{
				{at: 0, ingest: []Alert{pageCheckout}, silences: []*Silence{silence("INC-2", 0, 0, true, `slo="availability"`)}},
				{at: 5 * time.Second},
				{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout), ticketSearch}},
				{at: 65 * time.Second, ingest: []Alert{ticketSearch}},
				{at: 100 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 125 * time.Second, ingest: []Alert{pageCheckout, ticketSearch}},
				{at: 130 * time.Second, ingest: []Alert{resolved(pageCheckout), resolved(ticketSearch)}},
				{at: 185 * time.Second},
				{at: 200 * time.Second, ingest: []Alert{pageCheckout}},
				{at: 205 * time.Second, want: []string{"trigger default Page/checkout"}},
			},
		},
		{
			name:   "mute_time_intervals hold tickets over the weekend; active_time_intervals hold pages outside office hours",
			config: weekendConfig,
			steps: []step{
				{at: 0, ingest: []Alert{ticketSearch, pageCheckout}},
				{at: 5 * time.Second},
				// Monday 00:05 UTC: the weekend is over, office hours
				// (09:00 Paris = 08:00 UTC) have not begun.
				{at: 28*time.Hour + 5*time.Minute, ingest: []Alert{ticketSearch, pageCheckout}, want: []string{"trigger tickets Ticket/search"}},
				// Monday 08:05 UTC is 09:05 in Paris; the ticket's trigger
				// is repeated too, repeat_interval (4h) having passed.
				{at: 36*time.Hour + 5*time.Minute, ingest: []Alert{ticketSearch, pageCheckout}, want: []string{"trigger tickets Ticket/search", "trigger oncall Page/checkout"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, NewEngine(parseTestConfig(t, tt.config), NewMemStore()), tt.steps)
		})
	}
}

// TestReReportKeepsStart: a firing alert re-reported keeps the start of
// its first report, with or without a start of its own (an alert posted
// through the API without startsAt), as Alertmanager merges re-posted
// alerts; an earlier start moves it back.
func TestReReportKeepsStart(t *testing.T) {
	e := NewEngine(nil, nil)
	startOf := func() time.Time {
		t.Helper()
		got := e.Alerts(t0.Add(time.Hour))
		require.Len(t, got, 1)
		return got[0].Alert.StartsAt
	}
	e.Ingest(pageCheckout, t0)
	assert.Equal(t, t0, startOf(), "no start: the first report's time")
	e.Ingest(pageCheckout, t0.Add(time.Minute))
	assert.Equal(t, t0, startOf(), "re-reported without a start")
	later := pageCheckout
	later.StartsAt = t0.Add(30 * time.Second)
	e.Ingest(later, t0.Add(2*time.Minute))
	assert.Equal(t, t0, startOf(), "re-reported with a later start")
	earlier := pageCheckout
	earlier.StartsAt = t0.Add(-time.Minute)
	e.Ingest(earlier, t0.Add(3*time.Minute))
	assert.Equal(t, t0.Add(-time.Minute), startOf(), "re-reported with an earlier start")
}

// TestFiringAfterTimeoutStartsAnew: an alert the engine resolved because
// its source fell quiet for resolve_timeout, reported firing again with
// the start its source always gave, fires anew with a start after the
// resolve's end, so that receivers do not take its trigger for one older
// than the resolve they got (the pagerduty exporter drops those).
func TestFiringAfterTimeoutStartsAnew(t *testing.T) {
	e := NewEngine(nil, nil)
	page := pageCheckout
	page.StartsAt = t0
	var sent []Notification
	flush := func(now time.Time) {
		for _, n := range e.Flush(now) {
			require.NoError(t, e.MarkSending(context.Background(), n))
			require.NoError(t, e.MarkSent(context.Background(), n, nil))
			sent = append(sent, n)
		}
	}
	e.Ingest(page, t0)
	flush(t0.Add(time.Minute))
	quiet := t0.Add(time.Minute + DefaultResolveTimeout + time.Minute)
	flush(quiet)
	e.Ingest(page, quiet.Add(time.Minute))
	flush(quiet.Add(2 * time.Minute))
	require.Len(t, sent, 3, "trigger, resolve at the timeout, trigger again: %v", sent)
	resolve, again := sent[1], sent[2]
	require.Equal(t, ActionResolve, resolve.Action)
	require.Equal(t, ActionTrigger, again.Action)
	assert.True(t, again.Alert.StartsAt.After(resolve.Alert.EndsAt),
		"the new firing starts at %v, not after the resolve's end %v", again.Alert.StartsAt, resolve.Alert.EndsAt)
	assert.Equal(t, quiet.Add(time.Minute), again.Alert.StartsAt)
}

// TestResolveKeepsStart: a resolve of an alert the engine holds firing
// ends the firing its trigger announced: it keeps that start when its
// own is later (a source's new episode whose earlier resolve was lost;
// sources say which episode a resolve ends) or missing, and takes its
// own when earlier, as a firing report does.
func TestResolveKeepsStart(t *testing.T) {
	tests := []struct {
		name        string
		resolveFrom time.Duration // the resolve's start, from t0; 0: none
		want        time.Duration
	}{
		{"no start of its own", 0, 0},
		{"a later start", 10 * time.Minute, 0},
		{"an earlier start", -time.Hour, -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(nil, nil)
			flush := func(now time.Time) []Notification {
				t.Helper()
				out := e.Flush(now)
				for _, n := range out {
					require.NoError(t, e.MarkSending(context.Background(), n))
					require.NoError(t, e.MarkSent(context.Background(), n, nil))
				}
				return out
			}
			e.Ingest(pageCheckout, t0)
			trigger := flush(t0.Add(DefaultGroupWait))
			require.Len(t, trigger, 1)
			assert.Equal(t, t0, trigger[0].Alert.StartsAt)
			resolved := pageCheckout.Clone()
			resolved.State = StateResolved
			if tt.resolveFrom != 0 {
				resolved.StartsAt = t0.Add(tt.resolveFrom)
			}
			e.Ingest(resolved, t0.Add(20*time.Minute))
			got := flush(t0.Add(20 * time.Minute))
			require.Len(t, got, 1)
			assert.Equal(t, ActionResolve, got[0].Action)
			assert.Equal(t, t0.Add(tt.want), got[0].Alert.StartsAt)
			assert.Equal(t, t0.Add(20*time.Minute), got[0].Alert.EndsAt)
		})
	}
}
