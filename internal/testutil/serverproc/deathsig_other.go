//go:build !linux

package serverproc

import "syscall"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal: a server there outlives a test binary that dies.
func setParentDeathSignal(*syscall.SysProcAttr) {}
