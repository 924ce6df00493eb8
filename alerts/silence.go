package alerts

import "time"

// Silence mutes the alerts its matchers select from StartsAt until EndsAt,
// or, with UntilResolved, until the alerts it muted have resolved. Silences
// live in their own file, apart from the routing config, because on-call
// edits them during incidents; see ParseSilences.
type Silence struct {
	ID       string
	Matchers Matchers
	// StartsAt is when the silence begins; zero means it is already active.
	StartsAt time.Time
	// EndsAt ends the silence; with UntilResolved it is an optional upper
	// bound (zero means none).
	EndsAt time.Time
	// UntilResolved ends the silence once every alert it muted has resolved
	// and no alert it matches is firing, so "mute this known incident" does
	// not need a guess at its duration, and the next incident of the same
	// alert pages again.
	UntilResolved bool
	CreatedBy     string
	Comment       string
	// UpdatedAt is when a silence created through the API last changed;
	// zero for silences of the file.
	UpdatedAt time.Time
}

// ActiveAt reports whether the silence is in force at now by its times
// alone; the engine also ends UntilResolved silences when their alerts
// resolve.
func (s *Silence) ActiveAt(now time.Time) bool {
	if !s.StartsAt.IsZero() && now.Before(s.StartsAt) {
		return false
	}
	return s.EndsAt.IsZero() || now.Before(s.EndsAt)
}
