//go:build race

package sloconnector

// raceEnabled reports that the race detector is on: its instrumentation
// allocates, so allocation counts are looser.
const raceEnabled = true
