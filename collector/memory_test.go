package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneMemory: without GOGC and GOMEMLIMIT in the environment the
// collector sets both; with them it leaves the runtime's values alone.
func TestTuneMemory(t *testing.T) {
	restore := func(gc int, limit int64) {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	}
	defer restore(debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64))
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "AUTOMEMLIMIT"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Cleanup(func() { os.Setenv(k, v) })
			os.Unsetenv(k)
		}
	}

	tuneMemory()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC = %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got == math.MaxInt64 || got <= 0 {
		t.Errorf("memory limit = %d, want a share of the machine's memory", got)
	}

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	tuneMemory()
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("GOGC = %d with GOGC=150 in the environment, want it untouched", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("memory limit = %d with GOMEMLIMIT in the environment, want it untouched", got)
	}
}
