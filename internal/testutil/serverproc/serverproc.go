// Package serverproc runs a real server's process in a test: it finds the
// binary an install script put in the cache (or a Debian package put on the
// PATH), starts the process with its output captured, waits until it
// answers, starts it again on new ports when a port chosen free was taken
// before the server could bind it, and kills it when the test ends.
//
// A missing binary fails the test with the command that installs it: the
// test command (make test) installs every server, so a missing one is a
// broken setup, never a reason to skip.
package serverproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// InstallCommand is what installs every server the tests use.
const InstallCommand = "scripts/install-test-deps.sh"

// CachedBinary returns testutil.CacheDir()/rel, failing the test with the
// script that installs it (a path from the repository root) when it is
// missing.
func CachedBinary(t testing.TB, rel, installScript string) string {
	t.Helper()
	path := filepath.Join(testutil.CacheDir(), rel)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not installed (%v): run %s (or %s, which runs it) with the same VIGIL_CACHE_DIR",
			filepath.Base(path), err, installScript, InstallCommand)
	}
	return path
}

// Command returns the path of a command a Debian package installs, failing
// the test with the package to install when it is not on the PATH.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run %s (Debian package %s)", name, InstallCommand, debianPackage)
	}
	return path
}

// Process is one run of a server.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *vigiltest.SyncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

// Start starts cmd with its stdout and stderr captured. When the test ends
// the process is killed and waited for, and its output is logged if the
// test failed. The process is also killed if the test binary dies first
// (a timeout's panic), so no server outlives its test.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{name: name, cmd: cmd, out: &vigiltest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeathSignal(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return p
}

// Output returns what the process has written to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill kills the process and waits until it has exited.
func (p *Process) Kill() {
	if exited, _ := p.Exited(); !exited {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// Stop sends sig and waits up to timeout for the process to exit, then
// kills it. It returns an error when the process had to be killed or exited
// with a failure other than by sig.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) error {
	if exited, err := p.Exited(); exited {
		return fmt.Errorf("%s had already exited: %v", p.name, err)
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not exit within %v of %v; killed", p.name, timeout, sig)
	}
	var exitErr *exec.ExitError
	if p.err == nil || (errors.As(p.err, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signal() == sig) {
		return nil
	}
	return fmt.Errorf("%s exited: %v", p.name, p.err)
}

// errExited marks a WaitReady failure because the process ended.
var errExited = errors.New("exited")

// WaitReady calls ready every 100ms until it returns nil (nil), the process
// exits, or timeout passes.
func (p *Process) WaitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if exited, exitErr := p.Exited(); exited {
			return fmt.Errorf("%s %w before it was ready (%v); last check: %v", p.name, errExited, exitErr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %v", p.name, timeout, err)
		}
		select {
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// portTaken reports whether a server's output says a port it was told to
// bind was taken.
func portTaken(output string) bool {
	return strings.Contains(output, "address already in use")
}

// StartOnFreePorts starts a server on nPorts free loopback ports and waits
// until it is ready. FreePort cannot rule out that another process takes a
// port before the server binds it (tests run in parallel), so when the
// server exits saying an address is in use it is started again on new
// ports, up to three times. command builds the server's command for the
// ports; ready checks it (it is called again until it returns nil). It
// fails the test, with the server's output, when the server does not
// become ready within timeout.
func StartOnFreePorts(t testing.TB, name string, nPorts int, timeout time.Duration,
	command func(ports []int) *exec.Cmd, ready func(ports []int) error,
) (*Process, []int) {
	t.Helper()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		ports := make([]int, nPorts)
		for i := range ports {
			ports[i] = vigiltest.FreePort(t)
		}
		p := Start(t, name, command(ports))
		err := p.WaitReady(timeout, func() error { return ready(ports) })
		if err == nil {
			return p, ports
		}
		if errors.Is(err, errExited) && portTaken(p.Output()) && attempt < attempts {
			t.Logf("%s: a port was taken before it could bind it; starting it again on new ports", name)
			continue
		}
		t.Fatal(err) // the cleanup Start registered logs the output
	}
}
