package amapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/testutil/amtooltest"
)

var t0 = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func alertOf(labels ...string) alerts.Alert {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return alerts.Alert{
		Labels: l, State: alerts.StateFiring, StartsAt: t0, Fingerprint: alerts.Fingerprint(l),
		Annotations: map[string]string{"summary": "burning", "slo.burn_rate.long": "14.4", "alert.dashboard_url": "https://grafana.example/d/slo"},
	}
}

var (
	page   = alertOf("alertname", "SLOBurnRate", "severity", "page", "vigil_severity", "page", "service_name", "checkout", "slo", "availability")
	ticket = alertOf("alertname", "SLOBurnRate", "severity", "ticket", "vigil_severity", "ticket", "service_name", "checkout", "slo", "availability")
	search = alertOf("alertname", "SLOBurnRate", "severity", "page", "vigil_severity", "page", "service_name", "search", "slo", "latency")
)

// server runs the API over an engine holding a page of checkout (which
// inhibits the ticket of the same SLO by the built-in rule), a page of
// search under a silence, and a silence of the silences file.
func server(t *testing.T) (*httptest.Server, *alerts.Engine, string) {
	t.Helper()
	e := alerts.NewEngine(nil, nil)
	for _, a := range []alerts.Alert{page, ticket, search} {
		e.Ingest(a, t0)
	}
	m, err := alerts.ParseMatcher(`service_name="search"`)
	require.NoError(t, err)
	id, err := e.SetSilence(context.Background(), alerts.Silence{
		Matchers: alerts.Matchers{m}, EndsAt: t0.Add(time.Hour), CreatedBy: "alice", Comment: "known",
	}, t0)
	require.NoError(t, err)
	fm, err := alerts.ParseMatcher(`service_name="billing"`)
	require.NoError(t, err)
	e.SetSilences([]*alerts.Silence{{ID: "maint", Matchers: alerts.Matchers{fm}, EndsAt: t0.Add(2 * time.Hour), Comment: "migration"}}, t0)
	mux := http.NewServeMux()
	New(Settings{Engine: e, Now: func() time.Time { return t0.Add(time.Minute) }, Started: t0, Version: "test",
		RoutingText: func() string { return "route: {receiver: default}\n" }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, e, id
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// alertsOf decodes and validates a GettableAlerts answer against the spec
// and returns "service/severity state".
func alertsOf(t *testing.T, data []byte) []string {
	t.Helper()
	var got models.GettableAlerts
	require.NoError(t, json.Unmarshal(data, &got), "%s", data)
	require.NoError(t, got.Validate(strfmt.Default))
	var out []string
	for _, a := range got {
		out = append(out, a.Labels["service_name"]+"/"+a.Labels["severity"]+" "+*a.Status.State)
	}
	return out
}

// TestGetAlerts covers the queries amtool and Grafana's Alertmanager data
// source send: Grafana's alert list asks active, silenced and inhibited
// alerts with filters; amtool alert query asks active alerts only
// (silenced=false&inhibited=false) unless -s / -i.
func TestGetAlerts(t *testing.T) {
	srv, _, _ := server(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"everything", "", []string{"checkout/page active", "search/page suppressed", "checkout/ticket suppressed"}},
		{"grafana: all states with a filter", "?active=true&silenced=true&inhibited=true&unprocessed=true&filter=" + url.QueryEscape(`service_name="checkout"`),
			[]string{"checkout/page active", "checkout/ticket suppressed"}},
		{"amtool: active only", "?active=true&silenced=false&inhibited=false&unprocessed=true", []string{"checkout/page active"}},
		{"suppressed only", "?active=false", []string{"search/page suppressed", "checkout/ticket suppressed"}},
		{"regex filter", "?filter=" + url.QueryEscape(`severity=~"pa.*"`) + "&filter=" + url.QueryEscape(`service_name!="search"`), []string{"checkout/page active"}},
		{"receiver", "?receiver=def.*", []string{"checkout/page active", "search/page suppressed", "checkout/ticket suppressed"}},
		{"other receiver", "?receiver=oncall", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, data := do(t, srv, http.MethodGet, "/api/v2/alerts"+tt.query, "")
			require.Equal(t, http.StatusOK, code, "%s", data)
			assert.ElementsMatch(t, tt.want, alertsOf(t, data))
		})
	}

	code, data := do(t, srv, http.MethodGet, "/api/v2/alerts?filter="+url.QueryEscape(`service_name="checkout"`)+"&filter="+url.QueryEscape(`severity="page"`), "")
	require.Equal(t, http.StatusOK, code)
	var got models.GettableAlerts
	require.NoError(t, json.Unmarshal(data, &got))
	require.Len(t, got, 1)
	a := got[0]
	assert.Equal(t, page.Fingerprint, *a.Fingerprint)
	assert.Equal(t, "14.4", a.Annotations["slo_burn_rate_long"], "annotations are named as labels")
	assert.Equal(t, "https://grafana.example/d/slo", string(a.GeneratorURL))
	assert.Equal(t, "default", *a.Receivers[0].Name)
	assert.Equal(t, t0, time.Time(*a.StartsAt).UTC())
	assert.Equal(t, t0.Add(alerts.DefaultResolveTimeout), time.Time(*a.EndsAt).UTC(),
		"a firing alert ends, as Alertmanager says, when it would resolve by timeout")
	assert.Equal(t, []string{}, a.Status.SilencedBy)
}

func TestBadRequests(t *testing.T) {
	srv, _, id := server(t)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"bool of the wrong type", "GET", "/api/v2/alerts?active=maybe", "", 422, `active in query must be of type bool: \"maybe\"`},
		{"filter that does not parse", "GET", "/api/v2/alerts?filter=" + url.QueryEscape(`service_name=~"(`), "", 400, "bad matcher format"},
		{"receiver regex that does not parse", "GET", "/api/v2/alerts/groups?receiver=(", "", 400, "failed to parse receiver param"},
		{"silence filter that does not parse", "GET", "/api/v2/silences?filter=nope", "", 400, "bad matcher format"},
		{"silence id that is no UUID", "GET", "/api/v2/silence/nope", "", 422, `silenceID in path must be of type strfmt.UUID: \"nope\"`},
		{"unknown silence", "GET", "/api/v2/silence/0f0e4f3c-2b7d-4d59-9a6c-58f6f1c2a001", "", 404, ""},
		{"expire unknown silence", "DELETE", "/api/v2/silence/0f0e4f3c-2b7d-4d59-9a6c-58f6f1c2a001", "", 404, ""},
		{"expire a silence of the file", "DELETE", "/api/v2/silence/" + alerts.FileSilenceID("maint"), "", 500, "read-only"},
		{"body no JSON", "POST", "/api/v2/silences", "{", 400, "parsing silence body from \\\"\\\" failed"},
		{"body missing fields", "POST", "/api/v2/silences", `{"matchers":[]}`, 422, "comment in body is required"},
		{"no matcher (the spec's minItems)", "POST", "/api/v2/silences", silenceBody("", t0, t0.Add(time.Hour)), 422, "matchers in body should have at least 1 items"},
		{"ends before it starts", "POST", "/api/v2/silences", silenceBody(`{"name":"service_name","value":"checkout","isRegex":false}`, t0.Add(2*time.Hour), t0.Add(time.Hour)), 400, "start time must be before end time"},
		{"ends in the past", "POST", "/api/v2/silences", silenceBody(`{"name":"service_name","value":"checkout","isRegex":false}`, t0.Add(-2*time.Hour), t0.Add(-time.Hour)), 400, "end time can't be in the past"},
		{"matches everything", "POST", "/api/v2/silences", silenceBody(`{"name":"service_name","value":".*","isRegex":true}`, t0, t0.Add(time.Hour)), 400, "at least one matcher must not match the empty string"},
		{"bad regex", "POST", "/api/v2/silences", silenceBody(`{"name":"service_name","value":"(","isRegex":true}`, t0, t0.Add(time.Hour)), 400, "invalid regular expression"},
		{"bad label name", "POST", "/api/v2/silences", silenceBody(`{"name":"1x","value":"a","isRegex":false}`, t0, t0.Add(time.Hour)), 400, `invalid label name \"1x\"`},
		{"update of an unknown silence", "POST", "/api/v2/silences", strings.Replace(silenceBody(`{"name":"service_name","value":"a","isRegex":false}`, t0, t0.Add(time.Hour)), "{", `{"id":"0f0e4f3c-2b7d-4d59-9a6c-58f6f1c2a001",`, 1), 404, "silence not found"},
		{"posting alerts", "POST", "/api/v2/alerts", "[]", 400, "Vigil does not take alerts through this API"},
		{"a silence body over 1 MiB", "POST", "/api/v2/silences", strings.Replace(silenceBody(`{"name":"service_name","value":"a","isRegex":false}`, t0, t0.Add(time.Hour)), `"testing"`, `"`+strings.Repeat("x", 2<<20)+`"`, 1), 413, "silence body larger than 1048576 bytes"},
		{"an existing silence is fine", "GET", "/api/v2/silence/" + id, "", 200, `"state":"active"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, data := do(t, srv, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.code, code, "%s", data)
			assert.Contains(t, string(data), tt.want)
		})
	}
	// Both times in the past, in order: only the end is wrong.
	code, data := do(t, srv, "POST", "/api/v2/silences", silenceBody(`{"name":"service_name","value":"checkout","isRegex":false}`, t0.Add(-2*time.Hour), t0.Add(-time.Hour)))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `"Failed to create silence: invalid silence: end time can't be in the past"`, string(data))
}

func silenceBody(matcher string, start, end time.Time) string {
	return `{"matchers":[` + matcher + `],"startsAt":"` + start.Format(time.RFC3339) + `","endsAt":"` + end.Format(time.RFC3339) +
		`","createdBy":"bob","comment":"testing"}`
}

// TestSilenceRoundTrip: the silence Grafana's silence editor posts
// (isEqual set) is listed back in the spec's shape, mutes its alert, and
// expires.
func TestSilenceRoundTrip(t *testing.T) {
	srv, e, _ := server(t)
	body := `{"matchers":[{"name":"slo","value":"avail.*","isRegex":true,"isEqual":true},{"name":"severity","value":"ticket","isRegex":false,"isEqual":false}],` +
		`"startsAt":"2026-11-21T19:00:00Z","endsAt":"2026-11-21T23:00:00Z","createdBy":"carol","comment":"INC-9 [until-resolved]"}`
	code, data := do(t, srv, http.MethodPost, "/api/v2/silences", body)
	require.Equal(t, http.StatusOK, code, "%s", data)
	var ok struct{ SilenceID string }
	require.NoError(t, json.Unmarshal(data, &ok))
	require.NotEmpty(t, ok.SilenceID)

	code, data = do(t, srv, http.MethodGet, "/api/v2/silences?filter="+url.QueryEscape(`slo=~"avail.*"`), "")
	require.Equal(t, http.StatusOK, code)
	var sils models.GettableSilences
	require.NoError(t, json.Unmarshal(data, &sils))
	require.NoError(t, sils.Validate(strfmt.Default))
	require.Len(t, sils, 1)
	s := sils[0]
	assert.Equal(t, ok.SilenceID, *s.ID)
	assert.Equal(t, "active", *s.Status.State)
	assert.Equal(t, t0.Add(time.Minute), time.Time(*s.StartsAt).UTC(), "a start in the past is now")
	require.Len(t, s.Matchers, 2)
	assert.True(t, *s.Matchers[0].IsRegex)
	assert.False(t, *s.Matchers[1].IsEqual)
	got, _ := e.SilenceByID(ok.SilenceID, t0.Add(time.Minute))
	assert.True(t, got.UntilResolved, "the comment marker makes it until_resolved")

	code, data = do(t, srv, http.MethodGet, "/api/v2/silences", "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(data, &sils))
	require.Len(t, sils, 3)
	var ends []time.Time
	for _, s := range sils {
		ends = append(ends, time.Time(*s.EndsAt))
	}
	assert.IsIncreasing(t, []int64{ends[0].Unix(), ends[1].Unix(), ends[2].Unix()}, "active silences, next to end first")
	file := sils[1]
	assert.Equal(t, alerts.FileSilenceID("maint"), *file.ID)
	assert.Equal(t, `[silences file, id "maint", read-only] migration`, *file.Comment)
	assert.Equal(t, t0, time.Time(*file.StartsAt).UTC(), "a silence of the file without a start starts when the file was read")
	assert.Equal(t, t0, time.Time(*file.UpdatedAt).UTC())

	code, _ = do(t, srv, http.MethodDelete, "/api/v2/silence/"+ok.SilenceID, "")
	require.Equal(t, http.StatusOK, code)
	code, data = do(t, srv, http.MethodGet, "/api/v2/silence/"+ok.SilenceID, "")
	require.Equal(t, http.StatusOK, code)
	var one models.GettableSilence
	require.NoError(t, json.Unmarshal(data, &one))
	assert.Equal(t, "expired", *one.Status.State)
}

// TestFileSilenceWithoutEnd: a silence of the file without an end is
// listed active with an end in the far future (the spec requires one, and
// amtool lists a silence as active by it), and an until_resolved one
// that ended with its alerts with that end.
func TestFileSilenceWithoutEnd(t *testing.T) {
	srv, e, _ := server(t)
	m, err := alerts.ParseMatcher(`service_name="billing"`)
	require.NoError(t, err)
	e.SetSilences([]*alerts.Silence{{ID: "INC-1234", Matchers: alerts.Matchers{m}, UntilResolved: true, Comment: "known"}}, t0)
	code, data := do(t, srv, http.MethodGet, "/api/v2/silence/"+alerts.FileSilenceID("INC-1234"), "")
	require.Equal(t, http.StatusOK, code, "%s", data)
	var one models.GettableSilence
	require.NoError(t, json.Unmarshal(data, &one))
	require.NoError(t, one.Validate(strfmt.Default))
	assert.Equal(t, "active", *one.Status.State)
	assert.Equal(t, noEnd, time.Time(*one.EndsAt).UTC())
	assert.Equal(t, t0, time.Time(*one.StartsAt).UTC())
}

func TestGroupsStatusReceiversHealth(t *testing.T) {
	srv, _, _ := server(t)
	// Grafana's alert groups view: active alerts, silenced and inhibited
	// ones left out.
	code, data := do(t, srv, http.MethodGet, "/api/v2/alerts/groups?silenced=false&inhibited=false&active=true", "")
	require.Equal(t, http.StatusOK, code, "%s", data)
	var groups models.AlertGroups
	require.NoError(t, json.Unmarshal(data, &groups))
	require.NoError(t, groups.Validate(strfmt.Default))
	require.Len(t, groups, 1)
	assert.Equal(t, models.LabelSet{"alertname": "SLOBurnRate", "service_name": "checkout", "slo": "availability"}, groups[0].Labels)
	assert.Equal(t, "default", *groups[0].Receiver.Name)
	require.Len(t, groups[0].Alerts, 1)

	code, data = do(t, srv, http.MethodGet, "/api/v2/status", "")
	require.Equal(t, http.StatusOK, code)
	var status models.AlertmanagerStatus
	require.NoError(t, json.Unmarshal(data, &status))
	require.NoError(t, status.Validate(strfmt.Default))
	assert.Equal(t, "route: {receiver: default}\n", *status.Config.Original)
	assert.Equal(t, "disabled", *status.Cluster.Status)
	assert.Equal(t, "test", *status.VersionInfo.Version)

	code, data = do(t, srv, http.MethodGet, "/api/v2/receivers", "")
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[{"name":"default"}]`, string(data))

	for _, p := range []string{"/-/healthy", "/-/ready"} {
		code, _ = do(t, srv, http.MethodGet, p, "")
		assert.Equal(t, http.StatusOK, code, p)
	}
}

// unwritableStore is a Store whose writes fail.
type unwritableStore struct{ *alerts.MemStore }

func (unwritableStore) Set(context.Context, string, []byte) error { return errors.New("store down") }

// TestSilenceWhenTheStoreFails: a silence whose write to the store fails
// still applies, and the API answers with its ID (the engine writes it
// later), so a client does not retry and make a second one.
func TestSilenceWhenTheStoreFails(t *testing.T) {
	e := alerts.NewEngine(nil, unwritableStore{alerts.NewMemStore()})
	mux := http.NewServeMux()
	New(Settings{Engine: e, Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	code, data := do(t, srv, http.MethodPost, "/api/v2/silences", silenceBody(`{"name":"service_name","value":"a","isRegex":false}`, t0, t0.Add(time.Hour)))
	require.Equal(t, http.StatusOK, code, "%s", data)
	var ok struct{ SilenceID string }
	require.NoError(t, json.Unmarshal(data, &ok))
	got, found := e.SilenceByID(ok.SilenceID, t0)
	require.True(t, found)
	assert.Equal(t, alerts.SilenceActive, got.State)
}

// amtool runs amtool at go.mod's Alertmanager version (amtooltest: the
// one the test suite builds, scripts/amtool/install.sh) against srv and returns what it printed
// on both streams and whether it failed; a machine without amtool fails
// the test rather than skipping it. Its client is the one generated from
// Alertmanager's OpenAPI spec, as in the pinned module's api/v2/client,
// so it reads an answer as every such client does.
func amtool(t *testing.T, srv *httptest.Server, args ...string) (string, error) {
	t.Helper()
	path := amtooltest.Path(t)
	out, err := exec.Command(path, append([]string{"--alertmanager.url=" + srv.URL}, args...)...).CombinedOutput()
	return string(out), err
}

// TestAmtoolShowsWhyNot: amtool prints the reason when the console
// refuses to expire or update a silence of the silences file. The
// expiry's reason was lost ("status 400: {}"): the spec gives DELETE no
// 400, so the generated client read none.
func TestAmtoolShowsWhyNot(t *testing.T) {
	srv, _, _ := server(t)
	id := alerts.FileSilenceID("maint")
	out, err := amtool(t, srv, "silence", "expire", id)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, "comes from the silences file and is read-only here; edit the file to change it")
	assert.NotContains(t, out, "does not match any response statuses")

	out, err = amtool(t, srv, "silence", "update", "--duration=4h", id)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, "comes from the silences file and is read-only here; edit the file to change it")
}

// TestSilenceTimesInUTC: silences are listed with their times in UTC,
// as Alertmanager lists them, whatever offset they were posted or
// written in the silences file with, so that `amtool silence query` does
// not mix +0100 and UTC rows.
func TestSilenceTimesInUTC(t *testing.T) {
	srv, e, _ := server(t)
	paris := time.FixedZone("CET", 3600)
	m, err := alerts.ParseMatcher(`service_name="billing"`)
	require.NoError(t, err)
	e.SetSilences([]*alerts.Silence{{ID: "maint", Matchers: alerts.Matchers{m}, StartsAt: t0.In(paris), EndsAt: t0.Add(2 * time.Hour).In(paris)}}, t0)
	body := `{"matchers":[{"name":"service_name","value":"checkout","isRegex":false}],` +
		`"startsAt":"2026-11-21T21:00:00+01:00","endsAt":"2026-11-22T00:00:00+01:00","createdBy":"bob","comment":"testing"}`
	code, data := do(t, srv, http.MethodPost, "/api/v2/silences", body)
	require.Equal(t, http.StatusOK, code, "%s", data)

	code, data = do(t, srv, http.MethodGet, "/api/v2/silences", "")
	require.Equal(t, http.StatusOK, code)
	var raw []struct{ StartsAt, EndsAt, UpdatedAt string }
	require.NoError(t, json.Unmarshal(data, &raw))
	require.Len(t, raw, 3)
	for _, s := range raw {
		for _, ts := range []string{s.StartsAt, s.EndsAt, s.UpdatedAt} {
			assert.True(t, strings.HasSuffix(ts, "Z"), "%s in %s", ts, data)
		}
	}
	assert.Contains(t, string(data), `"endsAt":"2026-11-21T23:00:00.000Z"`, "the posted silence's end, 00:00+01:00")
	assert.Contains(t, string(data), `"endsAt":"2026-11-21T22:00:00.000Z"`, "the file's silence's end, 23:00+01:00")
}

// TestOTelNameInAMatcher: a matcher written with the OpenTelemetry
// attribute's name (service.name) is refused saying, once, that label
// names have no dots and that Vigil's label is service_name: in a filter
// (amtool alert query and silence query send it as typed) and in a
// posted silence (amtool since 0.27 parses service.name=checkout into a
// matcher of the name "service.name" before posting it).
func TestOTelNameInAMatcher(t *testing.T) {
	srv, _, _ := server(t)
	const want = `bad matcher format: service.name="checkout": label names cannot contain '.'; Vigil's label for service.name is service_name`
	for _, path := range []string{"/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences"} {
		code, data := do(t, srv, http.MethodGet, path+"?filter="+url.QueryEscape(`service.name="checkout"`), "")
		assert.Equal(t, http.StatusBadRequest, code, path)
		assert.JSONEq(t, strconv.Quote(want), string(data), path)
	}
	code, data := do(t, srv, http.MethodPost, "/api/v2/silences", silenceBody(`{"name":"service.name","value":"checkout","isRegex":false}`, t0, t0.Add(time.Hour)))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, strconv.Quote(`failed to convert API silence to internal silence: invalid label name "service.name": label names cannot contain '.'; Vigil's label for service.name is service_name`), string(data))

	// amtool since 0.27 parses the matcher itself with the UTF-8 parser,
	// which takes the name, so it reaches the API as typed; amtool prints
	// the 400's body as a quoted string.
	out, err := amtool(t, srv, "alert", "query", "slo=availability", `service.name="checkout"`)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, "[GET /alerts][400] getAlertsBadRequest "+strconv.Quote(want))
	assert.Equal(t, 1, strings.Count(out, "bad matcher format"), "said once: %s", out)
}
