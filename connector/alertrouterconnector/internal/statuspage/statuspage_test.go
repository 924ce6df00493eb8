package statuspage

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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
