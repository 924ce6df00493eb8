package serverproc

import "syscall"

// setParentDeathSignal makes the kernel kill the server when the test
// process dies.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
