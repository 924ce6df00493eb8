//go:build !race

package sloconnector

// raceEnabled reports that the race detector is on.
const raceEnabled = false
