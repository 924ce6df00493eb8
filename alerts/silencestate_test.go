package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPISilenceLifecycle: a silence created through the API mutes the
// next notification, survives a restart through the store, and once
// expired lets the alert through.
func TestAPISilenceLifecycle(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	e := NewEngine(nil, store)
	id, err := e.SetSilence(ctx, Silence{
		Matchers: mustParse(t, `service_name="checkout"`), EndsAt: t0.Add(time.Hour), CreatedBy: "alice", Comment: "deploy",
	}, t0)
	require.NoError(t, err)
	require.NotEmpty(t, id)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketSearch}},
		{at: 5 * time.Second, want: []string{"trigger default Ticket/search"}},
	})

	restored := NewEngine(nil, store)
	require.NoError(t, restored.Restore(ctx, t0.Add(time.Minute)))
	got, ok := restored.SilenceByID(id, t0.Add(time.Minute))
	require.True(t, ok, "the silence survives a restart")
	assert.Equal(t, SilenceActive, got.State)
	assert.Equal(t, "alice", got.CreatedBy)
	assert.Equal(t, t0, got.StartsAt)
	runSteps(t, restored, []step{
		{at: time.Minute, ingest: []Alert{pageCheckout}},
		{at: time.Minute + 5*time.Second},
	})

	require.NoError(t, restored.ExpireSilence(ctx, id, t0.Add(2*time.Minute)))
	got, _ = restored.SilenceByID(id, t0.Add(2*time.Minute))
	assert.Equal(t, SilenceExpired, got.State)
	assert.Equal(t, t0.Add(2*time.Minute), got.EndsAt)
	require.NoError(t, restored.ExpireSilence(ctx, id, t0.Add(3*time.Minute)), "expiring twice is no error")
	runSteps(t, restored, []step{
		{at: 2*time.Minute + 10*time.Second, ingest: []Alert{pageCheckout}, want: []string{"trigger default Page/checkout"}},
	})

	// Expired silences are listed for SilenceRetention, then forgotten.
	restored.Flush(t0.Add(2*time.Minute + SilenceRetention + time.Second))
	_, ok = restored.SilenceByID(id, t0.Add(2*time.Minute+SilenceRetention+time.Second))
	assert.False(t, ok)
}

func TestSetSilenceErrors(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, nil)
	e.SetSilences([]*Silence{{ID: "maint", Matchers: mustParse(t, `service_name="search"`), EndsAt: t0.Add(time.Hour)}}, t0)
	tests := []struct {
		name string
		s    Silence
		want string
	}{
		{"no matcher", Silence{EndsAt: t0.Add(time.Hour)}, "invalid silence: at least one matcher required"},
		{"matches everything", Silence{Matchers: mustParse(t, `service_name=~".*"`), EndsAt: t0.Add(time.Hour)}, "at least one matcher must not match the empty string"},
		{"no end", Silence{Matchers: mustParse(t, `service_name="a"`)}, "invalid zero end timestamp"},
		{"ends before it starts", Silence{Matchers: mustParse(t, `service_name="a"`), StartsAt: t0.Add(2 * time.Hour), EndsAt: t0.Add(time.Hour)}, "start time must be before end time"},
		{"ends in the past", Silence{Matchers: mustParse(t, `service_name="a"`), EndsAt: t0.Add(-time.Hour)}, "end time can't be in the past"},
		{"unknown id", Silence{ID: "nope", Matchers: mustParse(t, `service_name="a"`), EndsAt: t0.Add(time.Hour)}, "nope: silence not found"},
		{"file silence", Silence{ID: FileSilenceID("maint"), Matchers: mustParse(t, `service_name="a"`), EndsAt: t0.Add(time.Hour)}, FileSilenceID("maint") + ": silence comes from the silences file and is read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.SetSilence(ctx, tt.s, t0)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	// 10:00 to 11:00 asked at noon: its end is in the past, and nothing
	// else is wrong (the start that becomes now is no fault of the
	// client's).
	_, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="a"`), StartsAt: t0.Add(-2 * time.Hour), EndsAt: t0.Add(-time.Hour)}, t0)
	assert.EqualError(t, err, "invalid silence: end time can't be in the past")
	// Both wrong: both said.
	_, err = e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="a"`), StartsAt: t0.Add(-time.Hour), EndsAt: t0.Add(-2 * time.Hour)}, t0)
	assert.EqualError(t, err, "invalid silence: start time must be before end time\nend time can't be in the past")
	assert.ErrorIs(t, e.ExpireSilence(ctx, FileSilenceID("maint"), t0), ErrSilenceReadOnly)
	assert.ErrorIs(t, e.ExpireSilence(ctx, "nope", t0), ErrSilenceNotFound)
}

// TestSilenceUpdate: as in Alertmanager, an update changes a silence in
// place when it keeps the matchers and an active silence's start (to the
// second), or moves a pending one's start to no earlier than now; any
// other update ends the old silence now, listed as expired, and is a new
// silence, as is an update of an expired one.
func TestSilenceUpdate(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, nil)
	s := Silence{Matchers: mustParse(t, `service_name="checkout"`), EndsAt: t0.Add(time.Hour)}
	id, err := e.SetSilence(ctx, s, t0)
	require.NoError(t, err)
	at := t0.Add(time.Minute)
	got, _ := e.SilenceByID(id, at)
	require.Equal(t, t0, got.StartsAt)

	// amtool silence update: the silence as read, a longer end.
	update := got.Silence
	update.StartsAt = got.StartsAt.Add(400 * time.Millisecond) // the API's rounding
	update.EndsAt, update.Comment = t0.Add(2*time.Hour), "longer"
	same, err := e.SetSilence(ctx, update, at)
	require.NoError(t, err)
	assert.Equal(t, id, same)
	got, _ = e.SilenceByID(id, at)
	assert.Equal(t, t0, got.StartsAt, "an active silence keeps its start")
	assert.Equal(t, t0.Add(2*time.Hour), got.EndsAt)
	assert.Equal(t, "longer", got.Comment)
	assert.Equal(t, at, got.UpdatedAt)

	// New matchers (Grafana's silence editor): a new silence from now, the
	// old one ended now.
	update.Matchers = mustParse(t, `service_name="checkout"`, `tier="1"`)
	at = t0.Add(2 * time.Minute)
	other, err := e.SetSilence(ctx, update, at)
	require.NoError(t, err)
	assert.NotEqual(t, id, other)
	old, _ := e.SilenceByID(id, at)
	assert.Equal(t, SilenceExpired, old.State)
	assert.Equal(t, at, old.EndsAt)
	assert.Equal(t, `{service_name="checkout"}`, old.Matchers.String(), "the old silence keeps its matchers")
	fresh, _ := e.SilenceByID(other, at)
	assert.Equal(t, SilenceActive, fresh.State)
	assert.Equal(t, at, fresh.StartsAt)

	// Another start for an active silence, or none: a new silence too.
	for _, start := range []time.Time{{}, t0.Add(90 * time.Second)} {
		cur, _ := e.SilenceByID(other, at)
		update := cur.Silence
		update.StartsAt = start
		next, err := e.SetSilence(ctx, update, t0.Add(3*time.Minute))
		require.NoError(t, err)
		assert.NotEqual(t, other, next, "start %v", start)
		other = next
	}

	// A pending silence moves its start in place, not into the past.
	pending := Silence{Matchers: mustParse(t, `service_name="search"`), StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)}
	pid, err := e.SetSilence(ctx, pending, t0)
	require.NoError(t, err)
	pending.ID, pending.StartsAt = pid, t0.Add(30*time.Minute)
	moved, err := e.SetSilence(ctx, pending, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, pid, moved)
	pending.StartsAt = t0
	started, err := e.SetSilence(ctx, pending, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.NotEqual(t, pid, started, "a pending silence asked to start in the past")
	p, _ := e.SilenceByID(pid, t0.Add(time.Minute))
	assert.Equal(t, SilenceExpired, p.State, "the pending silence it replaced never starts")

	// An expired silence: the update is a new one.
	require.NoError(t, e.ExpireSilence(ctx, id, t0.Add(4*time.Minute)))
	s.ID, s.EndsAt = id, t0.Add(3*time.Hour)
	again, err := e.SetSilence(ctx, s, t0.Add(5*time.Minute))
	require.NoError(t, err)
	assert.NotEqual(t, id, again)
}

// TestUntilResolvedThroughTheAPI: the comment marker makes an API silence
// end with the alerts it muted, so the next incident pages.
func TestUntilResolvedThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, nil)
	id, err := e.SetSilence(ctx, Silence{
		Matchers: mustParse(t, `slo="availability"`), EndsAt: t0.Add(7 * 24 * time.Hour), Comment: "INC-7 [Until-Resolved]",
	}, t0)
	require.NoError(t, err)
	got, _ := e.SilenceByID(id, t0)
	assert.True(t, got.UntilResolved)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout}},
		{at: 5 * time.Second},
		{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout)}},
		{at: 65 * time.Second},
		{at: 2 * time.Minute, ingest: []Alert{pageCheckout}},
		{at: 2*time.Minute + 5*time.Second, want: []string{"trigger default Page/checkout"}},
	})
	got, _ = e.SilenceByID(id, t0.Add(3*time.Minute))
	assert.Equal(t, SilenceExpired, got.State)
	assert.Equal(t, t0.Add(30*time.Second), got.EndsAt, "it ended at the flush that saw its alerts resolved")
}

// TestUntilResolvedOfAnInhibitedAlert: an until_resolved silence whose
// alert was also inhibited (the ticket under its page) still counts it as
// muted, and ends when the incident resolves: it does not stay in force,
// having recorded nothing, to mute the next incident's ticket.
func TestUntilResolvedOfAnInhibitedAlert(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, nil)
	id, err := e.SetSilence(ctx, Silence{
		Matchers: mustParse(t, `severity="ticket"`, `service_name="checkout"`), EndsAt: t0.Add(7 * 24 * time.Hour), Comment: "INC-8 [Until-Resolved]",
	}, t0)
	require.NoError(t, err)
	runSteps(t, e, []step{
		{at: 0, ingest: []Alert{pageCheckout, ticketCheckout}},
		{at: 5 * time.Second, want: []string{"trigger default Page/checkout"}},
		{at: 30 * time.Second, ingest: []Alert{resolved(pageCheckout), resolved(ticketCheckout)}},
		{at: 65 * time.Second, want: []string{"resolve default Page/checkout"}},
		{at: 2 * time.Minute, ingest: []Alert{ticketCheckout}},
		{at: 2*time.Minute + 5*time.Second, want: []string{"trigger default Ticket/checkout"}},
	})
	got, _ := e.SilenceByID(id, t0.Add(3*time.Minute))
	assert.Equal(t, SilenceExpired, got.State, "it ended with the incident")
}

func TestSilencesOrderAndFileSilences(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, nil)
	e.SetSilences([]*Silence{{ID: "maint", Matchers: mustParse(t, `service_name="search"`), EndsAt: t0.Add(3 * time.Hour)}}, t0)
	late, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="a"`), EndsAt: t0.Add(2 * time.Hour)}, t0)
	require.NoError(t, err)
	soon, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="b"`), EndsAt: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	pending, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="c"`), StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour)}, t0)
	require.NoError(t, err)
	gone, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="d"`), EndsAt: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.NoError(t, e.ExpireSilence(ctx, gone, t0))

	var ids []string
	var states []SilenceState
	for _, s := range e.Silences(t0) {
		ids = append(ids, s.ID)
		states = append(states, s.State)
	}
	assert.Equal(t, []string{soon, late, FileSilenceID("maint"), pending, gone}, ids)
	assert.Equal(t, []SilenceState{SilenceActive, SilenceActive, SilenceActive, SilencePending, SilenceExpired}, states)
	file, ok := e.SilenceByID(FileSilenceID("maint"), t0)
	require.True(t, ok)
	assert.True(t, file.FromFile)
	assert.Equal(t, "maint", file.FileID)
}

// TestAlertsStatus: the API's view of firing alerts says what holds each
// back, without changing what the next Flush sends.
func TestAlertsStatus(t *testing.T) {
	ctx := context.Background()
	cfg := parseTestConfig(t, `
receivers: [{name: oncall}, {name: tickets}]
route:
  receiver: oncall
  group_by: [service_name]
  routes:
    - matchers: ['severity="ticket"']
      receiver: tickets
inhibit_rules:
  - source_matchers: ['severity="page"']
    target_matchers: ['severity="ticket"']
    equal: [slo, service_name]
`)
	e := NewEngine(cfg, nil)
	for _, a := range []Alert{pageCheckout, ticketCheckout, ticketSearch} {
		e.Ingest(a, t0)
	}
	id, err := e.SetSilence(ctx, Silence{Matchers: mustParse(t, `service_name="search"`), EndsAt: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)

	byName := map[string]AlertStatus{}
	for _, st := range e.Alerts(t0) {
		byName[st.Alert.Labels[LabelAlertName]+"/"+st.Alert.Labels[LabelService]] = st
	}
	require.Len(t, byName, 3)
	assert.Equal(t, []string{"oncall"}, byName["Page/checkout"].Receivers)
	assert.False(t, func() bool { s := byName["Page/checkout"]; return s.Suppressed() }())
	assert.Equal(t, []string{pageCheckout.Fingerprint}, byName["Ticket/checkout"].InhibitedBy)
	assert.Equal(t, []string{"tickets"}, byName["Ticket/checkout"].Receivers)
	assert.Equal(t, []string{id}, byName["Ticket/search"].SilencedBy)

	groups := e.Groups(t0)
	require.Len(t, groups, 3)
	assert.Equal(t, map[string]string{"service_name": "checkout"}, groups[0].Labels)

	// Querying recorded nothing: the flush still sends the page alone.
	var got []string
	for _, n := range e.Flush(t0.Add(time.Minute)) {
		got = append(got, describe(n))
	}
	assert.Equal(t, []string{"trigger oncall Page/checkout"}, got)
}

// TestFileSilenceTimes: a silence of the file is listed as updated (and,
// without a start of its own, started) when it was first read as it is:
// a reload that keeps it keeps that time, one that changes it moves it.
func TestFileSilenceTimes(t *testing.T) {
	e := NewEngine(nil, nil)
	search := &Silence{ID: "maint", Matchers: mustParse(t, `service_name="search"`), Comment: "migration"}
	e.SetSilences([]*Silence{search}, t0)
	keep := *search
	e.SetSilences([]*Silence{&keep}, t0.Add(time.Hour))
	got, ok := e.SilenceByID(FileSilenceID("maint"), t0.Add(time.Hour))
	require.True(t, ok)
	assert.Equal(t, t0, got.UpdatedAt, "unchanged by the reload")
	assert.Equal(t, t0, got.StartsAt)
	changed := *search
	changed.Matchers = mustParse(t, `service_name="checkout"`)
	e.SetSilences([]*Silence{&changed}, t0.Add(2*time.Hour))
	got, _ = e.SilenceByID(FileSilenceID("maint"), t0.Add(2*time.Hour))
	assert.Equal(t, t0.Add(2*time.Hour), got.UpdatedAt, "its matchers changed")
	assert.Equal(t, t0.Add(2*time.Hour), got.StartsAt)
}

// TestResumeFileSilencesKeepsReadTimes: an engine that replaces another in
// the same process (the alertrouter's at a SIGHUP) and resumes its file
// silences lists them as first read when the other read them, not at the
// replacement, and keeps that time when it reads the same file again; a
// silence changed since is read anew.
func TestResumeFileSilencesKeepsReadTimes(t *testing.T) {
	old := NewEngine(nil, nil)
	maint := &Silence{ID: "maint", Matchers: mustParse(t, `service_name="search"`), Comment: "migration"}
	other := &Silence{ID: "other", Matchers: mustParse(t, `service_name="cart"`), EndsAt: t0.Add(48 * time.Hour)}
	old.SetSilences([]*Silence{maint, other}, t0)

	e := NewEngine(nil, nil)
	e.ResumeFileSilences(old.FileSilences(), t0.Add(time.Hour))
	got, ok := e.SilenceByID(FileSilenceID("maint"), t0.Add(time.Hour))
	require.True(t, ok)
	assert.Equal(t, t0, got.UpdatedAt, "first read by the engine replaced")
	assert.Equal(t, t0, got.StartsAt)
	assert.Equal(t, 2, e.FileSilences().Len())

	keep := *maint
	changed := *other
	changed.Comment = "extended"
	e.SetSilences([]*Silence{&keep, &changed}, t0.Add(2*time.Hour))
	got, _ = e.SilenceByID(FileSilenceID("maint"), t0.Add(2*time.Hour))
	assert.Equal(t, t0, got.StartsAt, "the file read again as it was")
	got, _ = e.SilenceByID(FileSilenceID("other"), t0.Add(2*time.Hour))
	assert.Equal(t, t0.Add(2*time.Hour), got.UpdatedAt, "its comment changed")
}

// TestSilenceTimesInUTC: a silence posted with an offset (+01:00) is kept
// and listed in UTC, as Alertmanager keeps silences, so a listing does
// not mix offsets; so are its update and expiry, whatever the clock's
// zone.
func TestSilenceTimesInUTC(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(nil, NewMemStore())
	paris := time.FixedZone("CET", 3600)
	now := t0.In(paris)
	id, err := e.SetSilence(ctx, Silence{
		Matchers: mustParse(t, `service_name="checkout"`), StartsAt: t0.Add(time.Hour).In(paris), EndsAt: t0.Add(2 * time.Hour).In(paris),
	}, now)
	require.NoError(t, err)
	got, _ := e.SilenceByID(id, now)
	assert.Equal(t, SilencePending, got.State)
	for name, at := range map[string]time.Time{"start": got.StartsAt, "end": got.EndsAt, "update": got.UpdatedAt} {
		assert.Equal(t, time.UTC, at.Location(), name)
	}
	assert.Equal(t, t0.Add(time.Hour), got.StartsAt)

	require.NoError(t, e.ExpireSilence(ctx, id, now.Add(time.Minute)))
	got, _ = e.SilenceByID(id, now.Add(time.Minute))
	assert.Equal(t, time.UTC, got.EndsAt.Location())
	assert.Equal(t, time.UTC, got.UpdatedAt.Location())
}
