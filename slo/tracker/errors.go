package tracker

import "errors"

// Reasons Record refuses events. Each refusal is also counted in Stats, so
// a caller may ignore the error without losing track of the loss.
var (
	// ErrUnknownSLO: no SLO of the tracker has the ID.
	ErrUnknownSLO = errors.New("tracker: unknown SLO")
	// ErrTooLate: the event ended longer ago than Options.LateTolerance.
	ErrTooLate = errors.New("tracker: event ended too long ago")
	// ErrInFuture: the event ends further ahead than Options.FutureTolerance.
	ErrInFuture = errors.New("tracker: event ends in the future")
	// ErrGroupLimit: the event starts a new GroupBy series but the SLO
	// already has MaxGroups of them.
	ErrGroupLimit = errors.New("tracker: too many groups")
	// ErrGroupArity: the number of group values differs from the SLO's
	// GroupBy attributes.
	ErrGroupArity = errors.New("tracker: group values do not match group_by")
)
