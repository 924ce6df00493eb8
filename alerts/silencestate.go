package alerts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SilenceState is a silence's state, named as in Alertmanager's API.
type SilenceState string

// Silence states.
const (
	SilencePending SilenceState = "pending"
	SilenceActive  SilenceState = "active"
	SilenceExpired SilenceState = "expired"
)

// fileSilenceNamespace derives the IDs of the silences file's silences.
var fileSilenceNamespace = uuid.MustParse("6f0f3c1e-8d43-4b8e-9a59-6c2f1f5b7e21")

// FileSilenceID is the ID under which the silence of the silences file
// with id is shown (SilenceStatus.ID): a UUID, as Alertmanager's API
// requires, derived from the file's id so that it is the same on every
// run and every node.
func FileSilenceID(id string) string {
	return uuid.NewSHA1(fileSilenceNamespace, []byte(id)).String()
}

const ( // UntilResolvedMarker in a silence's comment makes a silence created
	// through the API an until_resolved one (see Silence.UntilResolved):
	// amtool, Grafana and Alertmanager's API have no field for it, but
	// every one of them takes a comment. Matched case-insensitively;
	// endsAt stays an upper bound.
	UntilResolvedMarker = "[until-resolved]"
	// SilenceRetention is how long an expired silence is still listed, as
	// Alertmanager's default --data.retention.
	SilenceRetention = 120 * time.Hour
)

var (
	// ErrSilenceNotFound: no silence has the ID.
	ErrSilenceNotFound = errors.New("silence not found")
	// ErrSilenceReadOnly: the silence comes from the silences file.
	ErrSilenceReadOnly = errors.New("silence comes from the silences file and is read-only here; edit the file to change it")
	// ErrInvalidSilence wraps what is wrong with a silence to create.
	ErrInvalidSilence = errors.New("invalid silence")
)

// SilenceStatus is a silence as the API and the status page show it.
type SilenceStatus struct {
	// Silence is a copy; its ID is FileSilenceID of the file's id for a
	// silence of the file. EndsAt of an until_resolved silence that ended
	// with its alerts is when it ended.
	Silence
	State SilenceState
	// FromFile marks a silence of the silences file, read-only here; FileID
	// is its id in the file.
	FromFile bool
	FileID   string
}

// fileSilenceRead is when a silence of the file was first read with
// content.
type fileSilenceRead struct {
	at      time.Time
	content string
}

// content is what a silence says, to tell a silence of the file changed.
func (s *Silence) content() string {
	return fmt.Sprintf("%s|%v|%v|%v|%q|%q", s.Matchers.String(), s.StartsAt.UnixNano(), s.EndsAt.UnixNano(), s.UntilResolved, s.CreatedBy, s.Comment)
}

// storedSilence is a silence created through the API, as stored.
type storedSilence struct {
	Matchers  []storedMatcher `json:"matchers"`
	StartsAt  time.Time       `json:"starts_at"`
	EndsAt    time.Time       `json:"ends_at"`
	Until     bool            `json:"until_resolved,omitempty"`
	CreatedBy string          `json:"created_by"`
	Comment   string          `json:"comment"`
	UpdatedAt time.Time       `json:"updated_at"`
}

type storedMatcher struct {
	Type  MatchType `json:"type"`
	Name  string    `json:"name"`
	Value string    `json:"value"`
}

func storeSilence(s *Silence) storedSilence {
	out := storedSilence{
		StartsAt: s.StartsAt, EndsAt: s.EndsAt, Until: s.UntilResolved,
		CreatedBy: s.CreatedBy, Comment: s.Comment, UpdatedAt: s.UpdatedAt,
	}
	for _, m := range s.Matchers {
		out.Matchers = append(out.Matchers, storedMatcher{Type: m.Type, Name: m.Name, Value: m.Value})
	}
	return out
}

func (st storedSilence) silence(id string) (*Silence, error) {
	s := &Silence{
		ID: id, StartsAt: st.StartsAt, EndsAt: st.EndsAt, UntilResolved: st.Until,
		CreatedBy: st.CreatedBy, Comment: st.Comment, UpdatedAt: st.UpdatedAt,
	}
	for _, m := range st.Matchers {
		matcher, err := NewMatcher(m.Type, m.Name, m.Value)
		if err != nil {
			return nil, err
		}
		s.Matchers = append(s.Matchers, matcher)
	}
	return s, nil
}

// allSilences lists the silences of the file, then those of the API by ID.
func (e *Engine) allSilences() []*Silence {
	out := make([]*Silence, 0, len(e.silences)+len(e.apiSilences))
	out = append(out, e.silences...)
	for _, id := range slices.Sorted(maps.Keys(e.apiSilences)) {
		out = append(out, e.apiSilences[id])
	}
	return out
}

// collectSilences forgets API silences expired longer than SilenceRetention.
func (e *Engine) collectSilences(now time.Time) {
	for id, s := range e.apiSilences {
		if end := e.silenceEnd(s); !end.IsZero() && now.Sub(end) > SilenceRetention {
			delete(e.apiSilences, id)
			delete(e.silState, id)
			e.silDirty = true
		}
	}
}

// silenceEnd is when s ends: EndsAt, or earlier when it is an
// until_resolved silence whose alerts resolved.
func (e *Engine) silenceEnd(s *Silence) time.Time {
	if rec := e.silState[s.ID]; s.UntilResolved && rec != nil && !rec.ExpiredAt.IsZero() {
		if s.EndsAt.IsZero() || rec.ExpiredAt.Before(s.EndsAt) {
			return rec.ExpiredAt
		}
	}
	return s.EndsAt
}

// status returns the status of s at now.
func (e *Engine) status(s *Silence, fromFile bool, now time.Time) SilenceStatus {
	st := SilenceStatus{Silence: *s, FromFile: fromFile}
	st.Matchers = slices.Clone(s.Matchers)
	st.EndsAt = e.silenceEnd(s)
	if fromFile {
		st.ID, st.FileID = FileSilenceID(s.ID), s.ID
		// A silence of the file is as old as this process's first
		// reading of it as it is.
		st.UpdatedAt = e.fileRead[s.ID].at
		if st.StartsAt.IsZero() {
			st.StartsAt = st.UpdatedAt
		}
	}
	switch {
	case !st.EndsAt.IsZero() && !now.Before(st.EndsAt):
		st.State = SilenceExpired
	case !s.StartsAt.IsZero() && now.Before(s.StartsAt):
		st.State = SilencePending
	default:
		st.State = SilenceActive
	}
	return st
}

// Silences returns every silence, of the file and of the API, with its
// state at now: active ones first (next to end first), then pending ones
// (next to start first), then expired ones (most recent first), the order
// of Alertmanager's API.
func (e *Engine) Silences(now time.Time) []SilenceStatus {
	e.mu.Lock()
	out := make([]SilenceStatus, 0, len(e.silences)+len(e.apiSilences))
	for _, s := range e.silences {
		out = append(out, e.status(s, true, now))
	}
	for _, s := range e.apiSilences {
		out = append(out, e.status(s, false, now))
	}
	e.mu.Unlock()
	order := map[SilenceState]int{SilenceActive: 0, SilencePending: 1, SilenceExpired: 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.State != b.State {
			return order[a.State] < order[b.State]
		}
		var less, greater bool
		switch a.State {
		case SilenceActive:
			less, greater = endBefore(a.EndsAt, b.EndsAt), endBefore(b.EndsAt, a.EndsAt)
		case SilencePending:
			less, greater = a.StartsAt.Before(b.StartsAt), b.StartsAt.Before(a.StartsAt)
		default:
			less, greater = a.EndsAt.After(b.EndsAt), b.EndsAt.After(a.EndsAt)
		}
		if less || greater {
			return less
		}
		return a.ID < b.ID
	})
	return out
}

// endBefore orders end times with zero (no end) last.
func endBefore(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return !a.IsZero() && b.IsZero()
	}
	return a.Before(b)
}

// SilenceByID returns the silence with id (FileSilenceID for one of the
// file) at now.
func (e *Engine) SilenceByID(id string, now time.Time) (SilenceStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.apiSilences[id]; s != nil {
		return e.status(s, false, now), true
	}
	if s := e.fileSilence(id); s != nil {
		return e.status(s, true, now), true
	}
	return SilenceStatus{}, false
}

// fileSilence returns the silence of the file whose FileSilenceID is id.
func (e *Engine) fileSilence(id string) *Silence {
	for _, s := range e.silences {
		if FileSilenceID(s.ID) == id {
			return s
		}
	}
	return nil
}

// validateSilence checks a silence to be stored, as Alertmanager checks
// one posted to its API, and says everything that is wrong (Alertmanager
// says the first). requested is the start asked for: the order of start
// and end is the client's, before a start in the past becomes now, so a
// silence asked for 10:00 to 11:00 at noon is refused for its end alone.
func validateSilence(s *Silence, requested, now time.Time) error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one matcher required"))
	} else if !slices.ContainsFunc(s.Matchers, func(m *Matcher) bool { return !m.Matches("") }) {
		// A silence whose every matcher matches the empty string would
		// mute every alert.
		errs = append(errs, errors.New("at least one matcher must not match the empty string"))
	}
	if s.EndsAt.IsZero() {
		errs = append(errs, errors.New("invalid zero end timestamp"))
	} else {
		if !requested.Before(s.EndsAt) {
			errs = append(errs, errors.New("start time must be before end time"))
		}
		if s.EndsAt.Before(now) {
			errs = append(errs, errors.New("end time can't be in the past"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSilence, errors.Join(errs...))
	}
	return nil
}

// SetSilence creates a silence through the API (s.ID empty), or updates
// the one with s.ID, and persists it before it returns. It returns the
// silence's ID. As in Alertmanager, an update changes the silence in
// place only when it keeps the matchers and, for an active silence, the
// start (to the second) and an end not past, or, for a pending one, a
// start not past; otherwise the old silence ends now (an expired one
// stays as it ended) and the update is a new silence, so the record of
// what was muted when stays true. A zero start means now; a start in the
// past of a new silence means now. A comment holding UntilResolvedMarker
// makes an until_resolved silence. Its times are kept in UTC. The new
// silences apply at the next Flush.
//
// Errors: ErrInvalidSilence (with what is wrong), ErrSilenceNotFound,
// ErrSilenceReadOnly, or a persistence failure (the silence applies anyway
// and is written at the next successful write).
func (e *Engine) SetSilence(ctx context.Context, s Silence, now time.Time) (string, error) {
	s.Matchers = slices.Clone(s.Matchers)
	// Kept in UTC whatever offset the client wrote, as Alertmanager keeps
	// them: a silence posted with +01:00 was listed with it, among others
	// in UTC.
	now, s.StartsAt, s.EndsAt = now.UTC(), s.StartsAt.UTC(), s.EndsAt.UTC()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	requested := s.StartsAt
	if s.StartsAt.Before(now) {
		s.StartsAt = now
	}
	s.UntilResolved = strings.Contains(strings.ToLower(s.Comment), UntilResolvedMarker)
	s.UpdatedAt = now
	if err := validateSilence(&s, requested, now); err != nil {
		return "", err
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	if s.ID != "" {
		if e.fileSilence(s.ID) != nil {
			e.mu.Unlock()
			return "", fmt.Errorf("%s: %w", s.ID, ErrSilenceReadOnly)
		}
		old := e.apiSilences[s.ID]
		if old == nil {
			e.mu.Unlock()
			return "", fmt.Errorf("%s: %w", s.ID, ErrSilenceNotFound)
		}
		switch state := e.status(old, false, now).State; {
		case !canUpdate(old, state, &s, requested, now):
			if state != SilenceExpired {
				e.expireLocked(old, state, now)
			}
			s.ID = ""
		case state == SilenceActive:
			s.StartsAt = old.StartsAt
		}
	}
	if s.ID == "" {
		s.ID = uuid.NewString()
	}
	e.apiSilences[s.ID] = &s
	e.silDirty = true
	e.mu.Unlock()
	return s.ID, e.persistSilences(ctx)
}

// ExpireSilence ends the API silence with id at now (a pending one never
// starts) and persists it. Expiring an expired silence does nothing.
// Errors: ErrSilenceNotFound, ErrSilenceReadOnly, or a persistence failure.
func (e *Engine) ExpireSilence(ctx context.Context, id string, now time.Time) error {
	now = now.UTC()
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	s := e.apiSilences[id]
	if s == nil {
		readOnly := e.fileSilence(id) != nil
		e.mu.Unlock()
		if readOnly {
			return fmt.Errorf("%s: %w", id, ErrSilenceReadOnly)
		}
		return fmt.Errorf("%s: %w", id, ErrSilenceNotFound)
	}
	state := e.status(s, false, now).State
	if state == SilenceExpired {
		e.mu.Unlock()
		return nil
	}
	e.expireLocked(s, state, now)
	e.mu.Unlock()
	return e.persistSilences(ctx)
}

// expireLocked ends the API silence s, active or pending (which then
// never starts), at now; e.mu held.
func (e *Engine) expireLocked(s *Silence, state SilenceState, now time.Time) {
	if state == SilencePending {
		s.StartsAt = now
	}
	s.EndsAt, s.UpdatedAt = now, now
	e.silDirty = true
}

// canUpdate reports whether update, asking to start at requested, may
// change old (in state at now) in place, as Alertmanager's silences
// decide: same matchers, and an active silence keeps its start (to the
// second: the API's times are rounded) and does not end in the past, a
// pending one does not start in the past.
func canUpdate(old *Silence, state SilenceState, update *Silence, requested, now time.Time) bool {
	if old.Matchers.String() != update.Matchers.String() {
		return false
	}
	switch state {
	case SilenceActive:
		return old.StartsAt.Unix() == requested.Unix() && !update.EndsAt.Before(now)
	case SilencePending:
		return !requested.Before(now)
	}
	return false
}
