package main

import (
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// Settings of the Go runtime's memory management for the collector
// process. A collector's garbage is almost all short-lived request data
// (decoded batches), so at GOGC=100 the garbage collector runs every time
// the heap doubles a small live set: over a tenth of the CPU at load.
const (
	// memoryLimitRatio is GOMEMLIMIT as a share of the memory the process
	// may use (its cgroup's limit, else the machine's): 60%, the soft
	// limit of the memory_limiter in the shipped configurations (limit
	// 80%, spike 20%). Near it the garbage collector works as hard as it
	// must, before the memory_limiter starts refusing data.
	memoryLimitRatio = 0.6
	// gcPercent is GOGC when the environment sets none: the heap may grow
	// to five times the live data between collections rather than twice,
	// a quarter of the collections. bench/compare.sh measured 388k →
	// 465k spans per CPU-second for 40 MiB more resident memory; the
	// memory limit above caps the growth.
	gcPercent = 400
)

// tuneMemory sets the memory limit and GC target, each unless the
// environment sets it (GOMEMLIMIT, or AUTOMEMLIMIT=off; GOGC).
func tuneMemory() {
	// The error is a cgroup or /proc/meminfo that cannot be read: the
	// runtime's defaults then stay, which is what every Go program has.
	_, _ = memlimit.SetGoMemLimitWithOpts(
		memlimit.WithRatio(memoryLimitRatio),
		memlimit.WithProvider(memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)),
	)
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}
