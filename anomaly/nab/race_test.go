//go:build race

package nab

// raceEnabled reports that the race detector is on. TestCrossValidation
// skips itself then: instrumented, its detector loops (each job one
// detector over one file, sharing only read-only input) take seven times
// as long (257s instead of 35s on a two-core machine), and the concurrent
// code it runs, ScoreCandidates' workers and the score cache, runs under
// the race detector in TestCrossValidateSmall. scripts/test.sh runs this
// package once more without -race, so TestCrossValidation's assertions
// still run in `make test`.
const raceEnabled = true
