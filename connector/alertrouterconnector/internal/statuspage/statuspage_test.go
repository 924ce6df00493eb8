package statuspage

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/statusboard"
)

var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*httptest.Server, *alerts.Engine) {
	t.Helper()
	e := alerts.NewEngine(nil, nil)
	labels := map[string]string{"alertname": "SLOBurnRate-checkout-availability-page", "severity": "page", "service_name": "checkout", "slo": "availability"}
	e.Ingest(alerts.Alert{
		Labels: labels, State: alerts.StateFiring, StartsAt: t0.Add(-10 * time.Minute), Fingerprint: alerts.Fingerprint(labels),
		Annotations: map[string]string{
			"summary": "checkout availability: budget burning 14.9x", "alert.runbook_url": "https://runbooks.example/checkout",
			"alert.dashboard_url": "javascript:alert(1)", "alert.trace_ids": "4bf92f3577b34da6a3ce929d0e0e4736,00f067aa0ba902b7",
		},
	}, t0)
	b := statusboard.New()
	for i := range 60 {
		b.PublishSLOs("slo", []statusboard.SLO{{
			Name: "availability", Service: "checkout", Objective: 0.999, Period: 30 * 24 * time.Hour,
			BudgetRemaining: 0.8 - float64(i)/100, At: t0.Add(time.Duration(i-60) * time.Minute),
			BurnRates: []statusboard.BurnRate{{Window: 5 * time.Minute, Rate: 14.9}, {Window: time.Hour, Rate: 0.5}},
			Alerts:    []statusboard.SLOAlert{{Severity: "page", Firing: true, Since: t0.Add(-10 * time.Minute)}, {Severity: "ticket"}},
		}})
	}
	b.PublishAnomalies("anomaly", statusboard.Anomalies{Watched: 8, Flagged: []statusboard.Anomaly{
		{Metric: "error_ratio", Service: "checkout", Operation: "POST /pay", Value: 0.3, Expected: 0.01, Lower: 0, Upper: 0.05, Score: 0.93, Reason: "above_band", Since: t0.Add(-5 * time.Minute)},
	}})
	mux := http.NewServeMux()
	New(Settings{Engine: e, Board: b, Now: func() time.Time { return t0 }, TraceURL: "https://grafana.example/explore?traceId={trace_id}"}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, e
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// post posts a form and returns the answer itself, not where it
// redirects to.
func post(t *testing.T, srv *httptest.Server, path string, form url.Values) *http.Response {
	t.Helper()
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(srv.URL+path, form)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestPageShowsState(t *testing.T) {
	srv, _ := setup(t)
	code, body := get(t, srv, "/")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`<title>(1) Vigil on-call</title>`,
		`data-alert="SLOBurnRate-checkout-availability-page"`,
		`checkout availability: budget burning 14.9x`,
		`href="https://runbooks.example/checkout"`,
		`href="https://grafana.example/explore?traceId=4bf92f3577b34da6a3ce929d0e0e4736"`,
		`data-slo="checkout/availability"`, `page firing`, `objective <b>99.9%</b>`, `budget left <b class="">21.00%</b>`,
		`<span class="hot">5m 14.90×</span>`, `<span class="">1h 0.50×</span>`, `<polyline points="`,
		`data-anomaly="checkout/error_ratio"`, `1 flagged of 8 series watched`, `above_band`,
		`No silences.`,
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "javascript:", "only http(s) links")
	assert.NotContains(t, body, "<script", "the page runs no script")
}

func TestSilenceFromThePage(t *testing.T) {
	srv, e := setup(t)
	resp := post(t, srv, "/silences", url.Values{
		"matchers": {`service_name="checkout", slo="availability"`}, "duration": {"1d"}, "created_by": {"dave"},
		"comment": {"INC-42"}, "until_resolved": {"1"},
	})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/?done=created#silences", resp.Header.Get("Location"))
	sils := e.Silences(t0)
	require.Len(t, sils, 1)
	s := sils[0]
	assert.Equal(t, "[until-resolved] INC-42", s.Comment)
	assert.True(t, s.UntilResolved)
	assert.Equal(t, t0.Add(24*time.Hour), s.EndsAt)
	assert.Equal(t, `{service_name="checkout",slo="availability"}`, s.Matchers.String())

	_, body := get(t, srv, "/?done=created")
	assert.Contains(t, body, `data-silence="`+s.ID+`"`)
	assert.Contains(t, body, "Silence created")
	assert.Contains(t, body, `<span class="badge quiet">silenced</span>`, "the alert shows as silenced")

	resp = post(t, srv, "/silences/"+s.ID+"/expire", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, _ := e.SilenceByID(s.ID, t0)
	assert.Equal(t, alerts.SilenceExpired, got.State)

	resp = post(t, srv, "/silences/no-such-id/expire", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestBadForm(t *testing.T) {
	srv, e := setup(t)
	resp := post(t, srv, "/silences", url.Values{"matchers": {`service_name=~"(`}, "duration": {"soon"}, "comment": {"x"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	page := string(body)
	assert.Contains(t, page, "Silence not created")
	assert.Contains(t, page, "matchers:")
	assert.Contains(t, page, `duration &#34;soon&#34;: want a positive duration`)
	assert.Contains(t, page, "created by: say who you are")
	assert.Contains(t, page, `value="soon"`, "what was typed is kept")
	assert.Empty(t, e.Silences(t0))

	resp = post(t, srv, "/silences", url.Values{"matchers": {`service_name=~".*"`}, "duration": {"1h"}, "comment": {"x"}, "created_by": {"y"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "at least one matcher must not match the empty string")
}

// TestFormWithAnOTelName: the form's matchers with the attribute's name
// (service.name) are refused saying that Vigil's label is service_name.
func TestFormWithAnOTelName(t *testing.T) {
	srv, e := setup(t)
	resp := post(t, srv, "/silences", url.Values{"matchers": {`service.name="checkout", slo="availability"`}, "duration": {"1h"}, "comment": {"x"}, "created_by": {"y"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, html.UnescapeString(string(body)), `matchers: bad matcher format: service.name="checkout": label names cannot contain '.'; Vigil's label for service.name is service_name`)
	assert.Empty(t, e.Silences(t0))
}

func TestBudgetChart(t *testing.T) {
	period := time.Hour
	c := budgetChart([]statusboard.Point{{At: t0.Add(-time.Hour), Value: 1}, {At: t0.Add(-30 * time.Minute), Value: 0}, {At: t0, Value: -1}}, period, t0)
	// x spans the period, y the budget from 1 (top) to -1 (bottom).
	assert.Equal(t, "0,2 120,30 240,58", c.Points)
	assert.Equal(t, 30.0, c.ZeroY)
	assert.Equal(t, "-100%", c.Low)
	assert.True(t, strings.HasPrefix(c.From, "-1h"))
	assert.Empty(t, budgetChart(nil, period, t0).Points)

	// A history shorter than the period spans the chart, and says so.
	short := budgetChart([]statusboard.Point{{At: t0.Add(-10 * time.Minute), Value: 1}, {At: t0, Value: 0.5}}, 30*24*time.Hour, t0)
	assert.Equal(t, "0,2 240,30", short.Points)
	assert.Equal(t, "-10m (since start)", short.From)
}

// TestPageShowsTheFleet: in a fleet the page lists the alerts, SLOs and
// flagged series other evaluators publish beside this one's.
func TestPageShowsTheFleet(t *testing.T) {
	e := alerts.NewEngine(nil, nil)
	local := map[string]string{"alertname": "SLOBurnRate-checkout-availability-page", "severity": "page", "service_name": "checkout", "slo": "availability"}
	e.Ingest(alerts.Alert{Labels: local, State: alerts.StateFiring, StartsAt: t0, Fingerprint: alerts.Fingerprint(local)}, t0)
	b := statusboard.New()
	b.PublishSLOs("slo", []statusboard.SLO{{Name: "availability", Service: "checkout", Objective: 0.999, Period: time.Hour, BudgetRemaining: 0.5, At: t0}})
	b.PublishAnomalies("anomaly", statusboard.Anomalies{Watched: 2})
	remote := map[string]string{"alertname": "SLOBurnRate-search-latency-ticket", "severity": "ticket", "service_name": "search", "slo": "latency"}
	remoteAlert := alerts.AlertStatus{Alert: alerts.Alert{Labels: remote, State: alerts.StateFiring, StartsAt: t0, Fingerprint: alerts.Fingerprint(remote)}, UpdatedAt: t0}
	mux := http.NewServeMux()
	New(Settings{
		Engine: e, Board: b, Now: func() time.Time { return t0 },
		Alerts: func(_ context.Context, now time.Time) []alerts.AlertStatus {
			return append(e.Alerts(now), remoteAlert)
		},
		Fleet: func(context.Context, time.Time) []statusboard.Snapshot {
			return []statusboard.Snapshot{{
				SLOs:      []statusboard.SLO{{Name: "latency", Service: "search", Objective: 0.99, Period: time.Hour, BudgetRemaining: 0.25, At: t0}},
				Anomalies: []statusboard.Anomaly{{Metric: "calls", Service: "search", Score: 0.9, Reason: "above_band", Since: t0}},
				Watched:   5,
			}}
		},
	}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	code, body := get(t, srv, "/")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`<title>(2) Vigil on-call</title>`,
		`data-alert="SLOBurnRate-checkout-availability-page"`, `data-alert="SLOBurnRate-search-latency-ticket"`,
		`data-slo="checkout/availability"`, `data-slo="search/latency"`,
		`data-anomaly="search/calls"`, `1 flagged of 7 series watched`,
	} {
		assert.Contains(t, body, want)
	}
}

// sloAlert is a firing alert of the checkout availability SLO at tier,
// labelled as the alert-event codec labels the slo connector's events.
func sloAlert(tier string) alerts.Alert {
	labels := map[string]string{
		"alertname": "SLOBurnRate-checkout-availability-" + tier, "severity": tier, "vigil_severity": tier,
		"source": "slo", "service_name": "checkout", "slo": "availability",
	}
	return alerts.Alert{Labels: labels, State: alerts.StateFiring, StartsAt: t0.Add(-10 * time.Minute), Fingerprint: alerts.Fingerprint(labels)}
}

func pageOver(t *testing.T, e *alerts.Engine) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	New(Settings{Engine: e, Board: statusboard.New(), Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestInhibitedBySays: an inhibited alert says which alert inhibits it,
// linked to it on the page, and a silenced one links its silence's row.
func TestInhibitedBySays(t *testing.T) {
	e := alerts.NewEngine(nil, nil)
	page, ticket := sloAlert("page"), sloAlert("ticket")
	e.Ingest(page, t0)
	e.Ingest(ticket, t0)
	srv := pageOver(t, e)
	_, body := get(t, srv, "/")
	ticketDiv := regexp.MustCompile(`(?s)<div class="alert ticket suppressed" id="alert-` + ticket.Fingerprint + `".*?</div>`).FindString(body)
	require.NotEmpty(t, ticketDiv, body)
	assert.Contains(t, ticketDiv, `<span class="badge quiet">inhibited</span>`)
	assert.Contains(t, ticketDiv, `by <a href="#alert-`+page.Fingerprint+`" class="inhibited-by">SLOBurnRate-checkout-availability-page</a>`)
	assert.Contains(t, body, `id="alert-`+page.Fingerprint+`"`, "the link leads to the page's alert")

	m, err := alerts.ParseMatcher(`slo="availability"`)
	require.NoError(t, err)
	id, err := e.SetSilence(context.Background(), alerts.Silence{Matchers: alerts.Matchers{m}, EndsAt: t0.Add(time.Hour), CreatedBy: "x", Comment: "y"}, t0)
	require.NoError(t, err)
	_, body = get(t, srv, "/")
	short, _, _ := strings.Cut(id, "-")
	assert.Contains(t, body, `by <a href="#silence-`+id+`" class="silenced-by">`+short+`</a>`)
	assert.Contains(t, body, `id="silence-`+id+`"`)
}

// TestSilenceListShowsWhatItMatches: each silence not expired says how
// many firing alerts its matchers select now, so a typo
// (service_name="chekout") shows as matching none beside one that mutes
// the checkout alerts; a pending silence shows when it starts as well as
// when it ends.
func TestSilenceListShowsWhatItMatches(t *testing.T) {
	ctx := context.Background()
	e := alerts.NewEngine(nil, nil)
	e.Ingest(sloAlert("page"), t0)
	e.Ingest(sloAlert("ticket"), t0)
	srv := pageOver(t, e)
	set := func(matcher string, start, end time.Time) string {
		m, err := alerts.ParseMatcher(matcher)
		require.NoError(t, err)
		id, err := e.SetSilence(ctx, alerts.Silence{Matchers: alerts.Matchers{m}, StartsAt: start, EndsAt: end, CreatedBy: "x", Comment: "y"}, t0)
		require.NoError(t, err)
		return id
	}
	typo := set(`service_name="chekout"`, t0, t0.Add(time.Hour))
	works := set(`service_name="checkout"`, t0, t0.Add(2*time.Hour))
	later := set(`slo="availability"`, t0.Add(30*time.Minute), t0.Add(3*time.Hour))
	expired := set(`slo="availability"`, t0, t0.Add(4*time.Hour))
	require.NoError(t, e.ExpireSilence(ctx, expired, t0))

	_, body := get(t, srv, "/")
	row := func(id string) string {
		r := regexp.MustCompile(`(?s)<tr data-silence="` + id + `".*?</tr>`).FindString(body)
		require.NotEmpty(t, r, "no row of %s in\n%s", id, body)
		return r
	}
	assert.Contains(t, row(typo), `<td class="matched"><span class="none"`)
	assert.Contains(t, row(typo), `0: none firing`)
	assert.Contains(t, row(works), `<td class="matched"><b>2</b> <span class="muted">muted</span></td>`)
	assert.Contains(t, row(later), `<td class="matched"><b>2</b></td>`, "a pending silence matches, it mutes nothing yet")
	assert.Contains(t, row(later), `starts 2026-11-21 20:30 UTC<div class="muted">in 30m</div>ends 2026-11-21 23:00 UTC`)
	assert.Contains(t, row(works), `ends 2026-11-21 22:00 UTC`)
	assert.NotContains(t, row(works), `starts`)
	assert.Contains(t, row(expired), `<td class="matched"><span class="muted">—</span></td>`)
	assert.Contains(t, row(expired), `ended 2026-11-21 20:00 UTC`)
}

// TestSilenceThisCoversBothTiers: "silence…" on an alert fills the form
// with the labels that identify the problem, not those of its tier
// (severity, vigil_severity, and an SLO alert's default name, which ends
// with the tier), so the silence covers the page and the ticket alike.
func TestSilenceThisCoversBothTiers(t *testing.T) {
	for _, tier := range []string{"page", "ticket"} {
		assert.Equal(t, `service_name="checkout", slo="availability", source="slo"`, silenceMatchers(sloAlert(tier).Labels), tier)
	}
	// A name of its own (an SLO policy's, an anomaly alert's) is kept;
	// a user's severity goes with the tier's.
	assert.Equal(t, `alertname="CheckoutDown", service_name="checkout", slo="availability"`,
		silenceMatchers(map[string]string{"alertname": "CheckoutDown", "severity": "critical", "vigil_severity": "page", "service_name": "checkout", "slo": "availability"}))

	e := alerts.NewEngine(nil, nil)
	e.Ingest(sloAlert("ticket"), t0)
	srv := pageOver(t, e)
	_, body := get(t, srv, "/")
	href := regexp.MustCompile(`href="(/\?silence=[^"]*)#new-silence"`).FindStringSubmatch(body)
	require.NotNil(t, href, body)
	_, form := get(t, srv, html.UnescapeString(href[1]))
	assert.Contains(t, form, `name="matchers" value="service_name=&#34;checkout&#34;, slo=&#34;availability&#34;, source=&#34;slo&#34;"`)

	// The silence made from it mutes the page as well as the ticket.
	matchers, err := amlabels.ParseMatchers(silenceMatchers(sloAlert("ticket").Labels))
	require.NoError(t, err)
	assert.True(t, alerts.Matchers(matchers).Matches(sloAlert("page").Labels))
}

// TestBudgetWordedWithDataSeen: a budget computed over a few minutes of
// data says so, in the words of the alerts' summaries (slo.DataSeen), in
// place of the period: -1900% over two minutes read as a month's
// spending alarmed on a fresh instance. A budget whose data covers the
// period, or whose start is unknown (a peer that does not send it), shows
// the period as before.
func TestBudgetWordedWithDataSeen(t *testing.T) {
	b := statusboard.New()
	month := 30 * 24 * time.Hour
	b.PublishSLOs("slo", []statusboard.SLO{
		{Name: "fresh", Service: "checkout", Objective: 0.999, Period: month, BudgetRemaining: -19, DataSince: t0.Add(-2*time.Minute - 30*time.Second), At: t0.Add(-10 * time.Second)},
		{Name: "mature", Service: "checkout", Objective: 0.999, Period: month, BudgetRemaining: 0.4, DataSince: t0.Add(-29 * 24 * time.Hour), At: t0},
		{Name: "unknown", Service: "checkout", Objective: 0.999, Period: month, BudgetRemaining: 0.9, At: t0},
	})
	mux := http.NewServeMux()
	New(Settings{Engine: alerts.NewEngine(nil, nil), Board: b, Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	code, body := get(t, srv, "/")
	require.Equal(t, http.StatusOK, code)

	fresh := sloCard(t, body, "checkout/fresh")
	assert.Regexp(t, `budget left <b class="neg">-1900.00%</b></span>\s*<span class="muted data-seen"[^>]*>over the 2m of data seen of its 30d window</span>`, fresh,
		"worded as of its evaluation (2m20s), not of the page's now")
	assert.NotContains(t, fresh, "over 30d")
	for _, name := range []string{"checkout/mature", "checkout/unknown"} {
		card := sloCard(t, body, name)
		assert.Contains(t, card, `<span class="muted">over 30d</span>`, name)
		assert.NotContains(t, card, "data seen", name)
	}
}

// sloCard is the HTML of the SLO card of service/name.
func sloCard(t *testing.T, body, slo string) string {
	t.Helper()
	_, card, ok := strings.Cut(body, `data-slo="`+slo+`"`)
	require.True(t, ok, "no card for %s", slo)
	card, _, _ = strings.Cut(card, `data-slo="`)
	card, _, _ = strings.Cut(card, `</section>`)
	return card
}
