// Package redistest runs a real Redis (Debian's redis-server) in tests, on
// a free loopback port with its files in the test's temporary directory,
// and can restart it on the same port, as a fleet test does to its shared
// store mid-run.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/serverproc"
)

// Options configure a Server. The zero value is an in-memory Redis that
// keeps nothing across a restart.
type Options struct {
	// AppendOnly turns on the append-only file (fsync every second), so
	// what was written survives Restart.
	AppendOnly bool
	// Args are further redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
}

// Server is a redis-server on loopback.
type Server struct {
	// Addr is host:port, the same across restarts.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	port int
	opts Options
	proc *serverproc.Process
}

// Start runs redis-server on a free loopback port and waits until it
// answers PING. It is killed when the test ends. A missing redis-server
// fails the test.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		t:    t,
		bin:  serverproc.Command(t, "redis-server", "redis-server"),
		dir:  t.TempDir(),
		opts: opts,
	}
	proc, ports := serverproc.StartOnFreePorts(t, "redis-server", 1, 20*time.Second,
		func(ports []int) *exec.Cmd { return s.command(ports[0]) },
		func(ports []int) error { return ping(addr(ports[0])) })
	s.proc, s.port, s.Addr = proc, ports[0], addr(ports[0])
	return s
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func (s *Server) command(port int) *exec.Cmd {
	appendonly := "no"
	if s.opts.AppendOnly {
		appendonly = "yes"
	}
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", s.dir,
		"--save", "", // no RDB snapshots: with AppendOnly the AOF is the persistence
		"--appendonly", appendonly,
		"--appendfsync", "everysec",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", "", // log to stdout, captured
		"--pidfile", filepath.Join(s.dir, "redis.pid"),
	}
	return exec.Command(s.bin, append(args, s.opts.Args...)...)
}

// Stop shuts Redis down the way a service manager does (SIGTERM: it writes
// its append-only file and exits) and waits for it to exit.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.proc.Stop(syscall.SIGTERM, 20*time.Second); err != nil {
		s.t.Fatalf("stopping redis-server: %v", err)
	}
}

// Kill kills Redis at once (SIGKILL), as a crash would.
func (s *Server) Kill() { s.proc.Kill() }

// Restart stops Redis (if it is running) and starts it again on the same
// port and directory, waiting until it answers PING. Clients see their
// connections closed and, for a moment, connections refused.
func (s *Server) Restart() {
	s.t.Helper()
	if exited, _ := s.proc.Exited(); !exited {
		s.Stop()
	}
	s.proc = serverproc.Start(s.t, "redis-server", s.command(s.port))
	if err := s.proc.WaitReady(20*time.Second, func() error { return ping(s.Addr) }); err != nil {
		s.t.Fatalf("restarting redis-server on %s: %v", s.Addr, err)
	}
}

func ping(addr string) error {
	reply, err := Do(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING: %q", reply)
	}
	return nil
}

// Do sends one command to the Redis at addr on a new connection and
// returns its reply: a status or bulk string as is, an integer in decimal,
// a nil bulk string as ErrNil, an error reply as an error. It is a check
// for tests, not a client (it reads no arrays).
func (s *Server) Do(args ...string) (string, error) { return Do(s.Addr, args...) }

// ErrNil is Do's error for Redis's nil reply.
var ErrNil = errors.New("redis: nil")

// Do is Server.Do for any address.
func Do(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("redis: empty reply")
	}
	switch body := line[1:]; line[0] {
	case '+', ':':
		return body, nil
	case '-':
		return "", errors.New("redis: " + body)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return "", fmt.Errorf("redis: bad bulk length %q", body)
		}
		if n < 0 {
			return "", ErrNil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("redis: unsupported reply %q", line)
	}
}
