// Package amapi serves the subset of Alertmanager's API v2 that amtool,
// Grafana's Alertmanager data source and Karma use, over Vigil's alert
// engine: status, receivers, alerts, alert groups and silences, with
// /-/healthy and /-/ready.
//
// Request and response bodies are Alertmanager's own OpenAPI types
// (api/v2/models, generated from its openapi.yaml), validated with their
// Validate methods, and errors take Alertmanager's status codes and
// shapes: a parameter of the wrong type or a body that breaks the spec is
// go-openapi's {"code", "message"} (400, 422), a request the API cannot
// carry out is a JSON string saying why (400, 404, 500: a DELETE, whose
// spec has no 400, says why with a 500).
//
// The handlers are written here rather than mounted through Alertmanager's
// generated restapi server: that server comes with go-openapi's runtime,
// spec loader and analysis (a dependency tree several times this package)
// to parse seven query parameters, which take a few lines each here.
package amapi // import "github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/amapi"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	oaerrors "github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	"github.com/prometheus/alertmanager/api/v2/models"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/matchers"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/labelname"
)

// maxBody bounds a request body: a silence is a few hundred bytes.
const maxBody = 1 << 20

// noEnd is the end the API gives a silence of the silences file that has
// none (it lasts while the file holds it): the spec requires an end, and
// amtool lists a silence by it, so an active one must end in the future.
var noEnd = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// Settings configure the API.
type Settings struct {
	// Engine is the alert engine whose state the API shows and changes.
	Engine *alerts.Engine
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Started is when the router started (status uptime).
	Started time.Time
	// Version is Vigil's version (status versionInfo).
	Version string
	// RoutingText returns the routing configuration as YAML, for the
	// status's config.original.
	RoutingText func() string
	// Ready reports whether the router runs (/-/ready); nil means always.
	Ready func() bool
	// Alerts lists the firing alerts and their groups; nil means the
	// Engine's. In a fleet it adds the other evaluators' alerts.
	Alerts Lister
}

// Lister lists firing alerts and their groups at now, as the engine's
// Alerts and Groups do.
type Lister interface {
	Alerts(ctx context.Context, now time.Time) []alerts.AlertStatus
	Groups(ctx context.Context, now time.Time) []alerts.GroupStatus
}

// engineAlerts lists the alerts of one engine.
type engineAlerts struct{ e *alerts.Engine }

func (l engineAlerts) Alerts(_ context.Context, now time.Time) []alerts.AlertStatus {
	return l.e.Alerts(now)
}

func (l engineAlerts) Groups(_ context.Context, now time.Time) []alerts.GroupStatus {
	return l.e.Groups(now)
}

// API is the Alertmanager API v2 over an engine.
type API struct {
	s   Settings
	mux *http.ServeMux
}

// New returns the API; Register mounts it.
func New(s Settings) *API {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Alerts == nil {
		s.Alerts = engineAlerts{s.Engine}
	}
	a := &API{s: s}
	return a
}

// Register mounts the API's routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v2/status", a.getStatus)
	mux.HandleFunc("GET /api/v2/receivers", a.getReceivers)
	mux.HandleFunc("GET /api/v2/alerts", a.getAlerts)
	mux.HandleFunc("POST /api/v2/alerts", a.postAlerts)
	mux.HandleFunc("GET /api/v2/alerts/groups", a.getAlertGroups)
	mux.HandleFunc("GET /api/v2/silences", a.getSilences)
	mux.HandleFunc("POST /api/v2/silences", a.postSilences)
	mux.HandleFunc("GET /api/v2/silence/{silenceID}", a.getSilence)
	mux.HandleFunc("DELETE /api/v2/silence/{silenceID}", a.deleteSilence)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "OK") })
	mux.HandleFunc("HEAD /-/healthy", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /-/ready", a.ready)
	mux.HandleFunc("HEAD /-/ready", a.ready)
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	if a.s.Ready != nil && !a.s.Ready() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, "OK")
	}
}

// reply writes v as JSON with status code.
func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers with a message as Alertmanager's handlers do: a JSON string.
func fail(w http.ResponseWriter, code int, format string, args ...any) {
	reply(w, code, fmt.Sprintf(format, args...))
}

func (a *API) getStatus(w http.ResponseWriter, _ *http.Request) {
	uptime := strfmt.DateTime(a.s.Started)
	original := ""
	if a.s.RoutingText != nil {
		original = a.s.RoutingText()
	}
	version, empty, goVersion := a.s.Version, "", runtime.Version()
	disabled := models.ClusterStatusStatusDisabled
	reply(w, http.StatusOK, &models.AlertmanagerStatus{
		Uptime: &uptime,
		VersionInfo: &models.VersionInfo{
			Version: &version, Revision: &empty, Branch: &empty,
			BuildUser: &empty, BuildDate: &empty, GoVersion: &goVersion,
		},
		Config: &models.AlertmanagerConfig{Original: &original},
		// One node: Alertmanager reports "disabled" when it runs without
		// a cluster.
		Cluster: &models.ClusterStatus{Status: &disabled, Peers: []*models.PeerStatus{}},
	})
}

func (a *API) getReceivers(w http.ResponseWriter, _ *http.Request) {
	out := []*models.Receiver{}
	for _, r := range a.s.Engine.Config().Receivers {
		out = append(out, &models.Receiver{Name: &r.Name})
	}
	reply(w, http.StatusOK, out)
}

// postAlerts refuses alerts from outside: Vigil's alerts come from its
// own connectors, through the collector's pipelines, and an alert posted
// here would bypass them. Alertmanager answers a request its API does not
// support with 400 and a message too.
func (a *API) postAlerts(w http.ResponseWriter, _ *http.Request) {
	fail(w, http.StatusBadRequest, "Vigil does not take alerts through this API: its alerts are alert events on the collector's logs pipelines (see DESIGN.md, \"Alert events\")")
}

// alertQuery holds the parameters of GET /api/v2/alerts and
// /api/v2/alerts/groups, with the spec's defaults.
type alertQuery struct {
	filter                                          []*amlabels.Matcher
	receiver                                        *regexp.Regexp
	active, silenced, inhibited, unprocessed, muted bool
}

// parseAlertQuery reads the query as the spec's generated parameter
// binders do. A query parameter of the wrong type is go-openapi's 400; a
// filter or receiver that does not parse is Alertmanager's 400 message.
func parseAlertQuery(w http.ResponseWriter, r *http.Request) (*alertQuery, bool) {
	q := r.URL.Query()
	out := &alertQuery{active: true, silenced: true, inhibited: true, unprocessed: true, muted: true}
	var errs []error
	for name, dst := range map[string]*bool{
		"active": &out.active, "silenced": &out.silenced, "inhibited": &out.inhibited,
		"unprocessed": &out.unprocessed, "muted": &out.muted,
	} {
		vals := q[name]
		if len(vals) == 0 || vals[len(vals)-1] == "" {
			continue
		}
		raw := vals[len(vals)-1]
		v, err := strconv.ParseBool(raw)
		if err != nil {
			errs = append(errs, oaerrors.InvalidType(name, "query", "bool", raw))
			continue
		}
		*dst = v
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return compareStrings(a.Error(), b.Error()) })
		oaerrors.ServeError(w, r, oaerrors.CompositeValidationError(errs...))
		return nil, false
	}
	matchers, err := parseFilter(q["filter"])
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return nil, false
	}
	out.filter = matchers
	if raw := q.Get("receiver"); raw != "" {
		re, err := regexp.Compile("^(?:" + raw + ")$")
		if err != nil {
			fail(w, http.StatusBadRequest, "failed to parse receiver param: %v", err)
			return nil, false
		}
		out.receiver = re
	}
	return out, true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseFilter parses filter matchers, one matcher per value, as
// Alertmanager's API does, with its classic parser (package matchers says
// why, and what its errors add).
func parseFilter(filter []string) ([]*amlabels.Matcher, error) {
	out := make([]*amlabels.Matcher, 0, len(filter))
	for _, f := range filter {
		m, err := matchers.Parse(f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// keep reports whether an alert passes the query, as Alertmanager's
// alertFilter decides: matchers on labels, then the state flags.
// Every alert the engine holds has been routed, so none is unprocessed.
func (q *alertQuery) keep(st *alerts.AlertStatus) bool {
	for _, m := range q.filter {
		if !m.Matches(st.Alert.Labels[m.Name]) {
			return false
		}
	}
	if q.receiver != nil && !slices.ContainsFunc(st.Receivers, q.receiver.MatchString) {
		return false
	}
	switch {
	case !q.active && !st.Suppressed():
		return false
	case !q.silenced && len(st.SilencedBy) > 0:
		return false
	case !q.inhibited && len(st.InhibitedBy) > 0:
		return false
	case !q.muted && len(st.MutedBy) > 0:
		return false
	}
	return true
}

func (a *API) getAlerts(w http.ResponseWriter, r *http.Request) {
	q, ok := parseAlertQuery(w, r)
	if !ok {
		return
	}
	out := models.GettableAlerts{}
	for _, st := range a.s.Alerts.Alerts(r.Context(), a.s.Now()) {
		if q.keep(&st) {
			out = append(out, gettableAlert(&st))
		}
	}
	reply(w, http.StatusOK, out)
}

func (a *API) getAlertGroups(w http.ResponseWriter, r *http.Request) {
	q, ok := parseAlertQuery(w, r)
	if !ok {
		return
	}
	out := models.AlertGroups{}
	for _, g := range a.s.Alerts.Groups(r.Context(), a.s.Now()) {
		if q.receiver != nil && !q.receiver.MatchString(g.Receiver) {
			continue
		}
		receiver := g.Receiver
		group := &models.AlertGroup{
			Labels:   models.LabelSet(maps.Clone(g.Labels)),
			Receiver: &models.ReceiverReference{Name: &receiver},
			Alerts:   []*models.GettableAlert{},
		}
		for _, st := range g.Alerts {
			if q.keep(&st) {
				group.Alerts = append(group.Alerts, gettableAlert(&st))
			}
		}
		if len(group.Alerts) > 0 {
			out = append(out, group)
		}
	}
	reply(w, http.StatusOK, out)
}

// gettableAlert is an alert in the spec's shape. Annotations are named as
// label names (dots become underscores), as Alertmanager requires of
// annotations, so that a tool may post them back anywhere.
func gettableAlert(st *alerts.AlertStatus) *models.GettableAlert {
	a := st.Alert
	fp := a.Fingerprint
	starts := strfmt.DateTime(a.StartsAt)
	// A firing alert has no end yet: as Alertmanager does, the API says
	// when it resolves by timeout unless reported again.
	ends := strfmt.DateTime(a.EndsAt)
	if a.EndsAt.IsZero() {
		ends = strfmt.DateTime(st.ResolvesBy)
	}
	updated := strfmt.DateTime(st.UpdatedAt)
	state := models.AlertStatusStateActive
	if st.Suppressed() {
		state = models.AlertStatusStateSuppressed
	}
	annotations := models.LabelSet{}
	for k, v := range a.Annotations {
		if name := labelname.Sanitize(k); name != "" {
			annotations[name] = v
		}
	}
	out := &models.GettableAlert{
		Annotations: annotations,
		StartsAt:    &starts,
		EndsAt:      &ends,
		UpdatedAt:   &updated,
		Fingerprint: &fp,
		Receivers:   []*models.ReceiverReference{},
		Status: &models.AlertStatus{
			State:       &state,
			SilencedBy:  nonNil(st.SilencedBy),
			InhibitedBy: nonNil(st.InhibitedBy),
			MutedBy:     nonNil(st.MutedBy),
		},
		Alert: models.Alert{
			Labels:       models.LabelSet(maps.Clone(a.Labels)),
			GeneratorURL: strfmt.URI(a.Annotations[conventions.AttrAlertDashboardURL]),
		},
	}
	for _, name := range st.Receivers {
		out.Receivers = append(out.Receivers, &models.ReceiverReference{Name: &name})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) getSilences(w http.ResponseWriter, r *http.Request) {
	matchers, err := parseFilter(r.URL.Query()["filter"])
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	out := models.GettableSilences{}
	for _, s := range a.s.Engine.Silences(a.s.Now()) {
		if silenceHasMatchers(&s, matchers) {
			out = append(out, gettableSilence(&s))
		}
	}
	reply(w, http.StatusOK, out)
}

// silenceHasMatchers reports whether, for every filter matcher, the
// silence has a matcher with the same name, type and value, as
// Alertmanager filters silences.
func silenceHasMatchers(s *alerts.SilenceStatus, filter []*amlabels.Matcher) bool {
	for _, f := range filter {
		if !slices.ContainsFunc(s.Matchers, func(m *alerts.Matcher) bool {
			return m.Name == f.Name && m.Type == f.Type && m.Value == f.Value
		}) {
			return false
		}
	}
	return true
}

// gettableSilence is a silence in the spec's shape, its times in UTC as
// Alertmanager gives them (the silences file may write another offset).
// A silence of the silences file says so in its comment: it can only be
// changed there.
func gettableSilence(s *alerts.SilenceStatus) *models.GettableSilence {
	id, state := s.ID, string(s.State)
	end := s.EndsAt
	if end.IsZero() {
		end = noEnd
	}
	starts, ends, updated := strfmt.DateTime(s.StartsAt.UTC()), strfmt.DateTime(end.UTC()), strfmt.DateTime(s.UpdatedAt.UTC())
	comment, createdBy := s.Comment, s.CreatedBy
	if s.FromFile {
		comment = fmt.Sprintf("[silences file, id %q, read-only] %s", s.FileID, s.Comment)
		if createdBy == "" {
			createdBy = "silences file"
		}
	}
	out := &models.GettableSilence{
		ID:        &id,
		Status:    &models.SilenceStatus{State: &state},
		UpdatedAt: &updated,
		Silence: models.Silence{
			Comment: &comment, CreatedBy: &createdBy, StartsAt: &starts, EndsAt: &ends,
			Matchers: models.Matchers{},
		},
	}
	for _, m := range s.Matchers {
		name, value := m.Name, m.Value
		isEqual := m.Type == amlabels.MatchEqual || m.Type == amlabels.MatchRegexp
		isRegex := m.Type == amlabels.MatchRegexp || m.Type == amlabels.MatchNotRegexp
		out.Matchers = append(out.Matchers, &models.Matcher{Name: &name, Value: &value, IsEqual: &isEqual, IsRegex: &isRegex})
	}
	return out
}

// silenceID reads the path's silence ID, which the spec declares a UUID.
func silenceID(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw := r.PathValue("silenceID")
	if err := uuid.Validate(raw); err != nil || !strfmt.IsUUID(raw) {
		oaerrors.ServeError(w, r, oaerrors.InvalidType("silenceID", "path", "strfmt.UUID", raw))
		return "", false
	}
	return raw, true
}

func (a *API) getSilence(w http.ResponseWriter, r *http.Request) {
	id, ok := silenceID(w, r)
	if !ok {
		return
	}
	s, found := a.s.Engine.SilenceByID(id, a.s.Now())
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	reply(w, http.StatusOK, gettableSilence(&s))
}

func (a *API) deleteSilence(w http.ResponseWriter, r *http.Request) {
	id, ok := silenceID(w, r)
	if !ok {
		return
	}
	err := a.s.Engine.ExpireSilence(r.Context(), id, a.s.Now())
	switch {
	case errors.Is(err, alerts.ErrSilenceNotFound):
		w.WriteHeader(http.StatusNotFound)
	case err != nil:
		// A silence of the silences file (ErrSilenceReadOnly) too: the
		// spec gives DELETE only 200, 404 and 500, and the clients
		// generated from it (amtool, Grafana) read a message from a 500
		// alone; a 400 reached amtool as "status 400: {}", the reason
		// lost. Alertmanager answers its own failed expiries so.
		fail(w, http.StatusInternalServerError, "%v", err)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// postSilencesOK is the body of a 200 to POST /api/v2/silences; the spec
// defines it inline, so its Go type lives in the generated operations
// package, which this package does not take in (see the package doc).
type postSilencesOK struct {
	SilenceID string `json:"silenceID"`
}

func (a *API) postSilences(w http.ResponseWriter, r *http.Request) {
	var body models.PostableSilence
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&body); err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			fail(w, http.StatusRequestEntityTooLarge, "silence body larger than %d bytes", maxBody)
			return
		}
		// go-openapi's words for a body that is no JSON of the type.
		oaerrors.ServeError(w, r, oaerrors.NewParseError("silence", "body", "", err))
		return
	}
	if err := body.Validate(strfmt.Default); err != nil {
		oaerrors.ServeError(w, r, err)
		return
	}
	s, err := fromPostable(&body)
	if err != nil {
		fail(w, http.StatusBadRequest, "failed to convert API silence to internal silence: %v", err)
		return
	}
	id, err := a.s.Engine.SetSilence(r.Context(), s, a.s.Now())
	switch {
	case errors.Is(err, alerts.ErrSilenceNotFound):
		fail(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, alerts.ErrInvalidSilence), errors.Is(err, alerts.ErrSilenceReadOnly):
		fail(w, http.StatusBadRequest, "Failed to create silence: %v", err)
	case err != nil && id == "":
		fail(w, http.StatusInternalServerError, "%v", err)
	default:
		// Also when only its write to the store failed: the silence
		// applies, the engine writes it at its next successful write,
		// and a client retrying with the ID it did not get would make a
		// second one.
		reply(w, http.StatusOK, postSilencesOK{SilenceID: id})
	}
}

// fromPostable converts a validated PostableSilence (every required field
// present) to the engine's silence.
func fromPostable(p *models.PostableSilence) (alerts.Silence, error) {
	s := alerts.Silence{
		ID: p.ID, Comment: *p.Comment, CreatedBy: *p.CreatedBy,
		StartsAt: time.Time(*p.StartsAt), EndsAt: time.Time(*p.EndsAt),
	}
	for _, m := range p.Matchers {
		t := amlabels.MatchEqual
		isEqual := m.IsEqual == nil || *m.IsEqual
		switch {
		case *m.IsRegex && isEqual:
			t = amlabels.MatchRegexp
		case *m.IsRegex:
			t = amlabels.MatchNotRegexp
		case !isEqual:
			t = amlabels.MatchNotEqual
		}
		// A name amtool's UTF-8 parser took (service.name) says which
		// label was meant.
		if err := matchers.CheckName(*m.Name); err != nil {
			return alerts.Silence{}, err
		}
		matcher, err := alerts.NewMatcher(t, *m.Name, *m.Value)
		if err != nil {
			return alerts.Silence{}, err
		}
		s.Matchers = append(s.Matchers, matcher)
	}
	return s, nil
}
