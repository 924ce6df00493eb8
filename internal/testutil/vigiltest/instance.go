package vigiltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Ports are the loopback addresses an instance listens on, all free ports
// chosen at start so tests can run side by side.
type Ports struct {
	OTLPGRPC   int
	OTLPHTTP   int
	Prometheus int // the prometheus exporter (:8889 by default)
	Telemetry  int // the collector's own metrics (:8888 by default)
	Health     int // health_check (:13133 by default)
	Console    int // the alert router's console (127.0.0.1:9094 by default)
}

// Options configure an instance.
type Options struct {
	// Args are extra command-line arguments (--config, --set, ...). With no
	// --config the embedded default runs.
	Args []string
	// Env is added to the environment (after the port variables, so it can
	// override them).
	Env map[string]string
	// StorageDir is VIGIL_STORAGE_DIR; a fresh temporary folder when empty.
	StorageDir string
	// Ports to use; zero fields get free ports. A restart on the same
	// StorageDir is "the same" collector with fresh ports; reuse an
	// instance's Ports only when a client must find the restarted process
	// at the old address: a port the killed process freed can be taken by
	// another process before the new one binds it, and Start chooses again
	// only the ports it picked.
	Ports Ports
}

// Instance is one running vigil process.
type Instance struct {
	Ports      Ports
	StorageDir string
	cmd        *exec.Cmd
	log        *SyncBuffer
	done       chan struct{}
	waitErr    error
}

// Start runs the binary and waits until its health check answers. The
// process is killed at the end of the test if still running.
func Start(t testing.TB, opts Options) *Instance {
	t.Helper()
	storage := opts.StorageDir
	if storage == "" {
		storage = t.TempDir()
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		p, picked := opts.Ports, false
		for _, port := range []*int{&p.OTLPGRPC, &p.OTLPHTTP, &p.Prometheus, &p.Telemetry, &p.Health, &p.Console} {
			if *port == 0 {
				*port = pickPort(t)
				picked = true
			}
		}
		inst := launch(t, opts.Args, opts.Env, p, storage)
		err := inst.WaitHealthy(60 * time.Second)
		if err == nil {
			return inst
		}
		// FreePort can only say a port was free a moment ago; another test
		// process, or an outgoing connection's ephemeral port, may take it
		// before vigil binds. Ports chosen here are chosen again; ports the
		// test fixed are its to keep, and a clash on them is a failure.
		if picked && attempt < attempts && inst.Exited() && strings.Contains(inst.Log(), "address already in use") {
			t.Logf("vigil lost a free port before binding it (attempt %d of %d); choosing new ports", attempt, attempts)
			continue
		}
		t.Fatalf("vigil did not become healthy: %v\noutput:\n%s", err, inst.Log())
	}
}

// launch starts the binary on ports p and registers its cleanup.
func launch(t testing.TB, args []string, extraEnv map[string]string, p Ports, storage string) *Instance {
	t.Helper()
	env := map[string]string{
		"VIGIL_OTLP_GRPC_ENDPOINT":  addr(p.OTLPGRPC),
		"VIGIL_OTLP_HTTP_ENDPOINT":  addr(p.OTLPHTTP),
		"VIGIL_PROMETHEUS_ENDPOINT": addr(p.Prometheus),
		"VIGIL_TELEMETRY_HOST":      "127.0.0.1",
		"VIGIL_TELEMETRY_PORT":      strconv.Itoa(p.Telemetry),
		"VIGIL_HEALTH_ENDPOINT":     addr(p.Health),
		"VIGIL_CONSOLE_ENDPOINT":    addr(p.Console),
		"VIGIL_STORAGE_DIR":         storage,
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	if hasConfig(args) {
		// A test's own configuration gets the collector's metrics on the
		// instance's telemetry port, as the embedded default has them, so
		// Scrape works without every test repeating the reader.
		args = append(append([]string(nil), args...), telemetryConfig(p.Telemetry))
	}
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir() // the binary must not depend on its working directory
	inst := &Instance{Ports: p, StorageDir: storage, cmd: cmd, log: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = inst.log
	cmd.Stderr = inst.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting vigil: %v", err)
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.done)
	}()
	t.Cleanup(func() {
		inst.Kill()
		if t.Failed() {
			t.Logf("vigil output:\n%s", inst.Log())
		}
	})
	return inst
}

// WaitHealthy polls the health check until it answers 200.
func (i *Instance) WaitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := fmt.Sprintf("http://127.0.0.1:%d/", i.Ports.Health)
	for time.Now().Before(deadline) {
		select {
		case <-i.done:
			return fmt.Errorf("process exited: %v", i.waitErr)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("timed out")
}

// Pid is the process ID.
func (i *Instance) Pid() int { return i.cmd.Process.Pid }

// Log returns everything the process wrote so far.
func (i *Instance) Log() string { return i.log.String() }

// Stop sends sig and waits up to timeout for the process to exit. It returns
// how long the exit took and the process's exit error (nil for status 0).
func (i *Instance) Stop(sig syscall.Signal, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := i.cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	select {
	case <-i.done:
		return time.Since(start), i.waitErr
	case <-time.After(timeout):
		return time.Since(start), fmt.Errorf("still running %v after %v", i.cmd.Process.Pid, timeout)
	}
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (i *Instance) Kill() {
	select {
	case <-i.done:
	default:
		_ = i.cmd.Process.Kill()
		<-i.done
	}
}

// Exited reports whether the process has ended.
func (i *Instance) Exited() bool {
	select {
	case <-i.done:
		return true
	default:
		return false
	}
}

// OTLPGRPCEndpoint is host:port of the OTLP gRPC receiver.
func (i *Instance) OTLPGRPCEndpoint() string { return addr(i.Ports.OTLPGRPC) }

// OTLPHTTPEndpoint is host:port of the OTLP HTTP receiver.
func (i *Instance) OTLPHTTPEndpoint() string { return addr(i.Ports.OTLPHTTP) }

// TelemetryURL is the URL of the collector's own metrics.
func (i *Instance) TelemetryURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", i.Ports.Telemetry)
}

// ConsoleURL is the base URL of the alert console (Alertmanager API v2
// and status page) of the embedded default and of configurations that
// read VIGIL_CONSOLE_ENDPOINT.
func (i *Instance) ConsoleURL() string { return "http://" + addr(i.Ports.Console) }

// PrometheusURL is the URL of the prometheus exporter's metrics.
func (i *Instance) PrometheusURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", i.Ports.Prometheus)
}

// pickPort chooses the ports Start was not given; a test replaces it to
// lose the race FreePort cannot rule out.
var pickPort = FreePort

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago:
// one the kernel picks, or, when VIGIL_TEST_PORTS is set ("30000-30999"),
// one of that range, for machines where tests may only listen there. It
// is for ports another process must listen on (vigil, Prometheus, ...);
// a listener of the test process itself comes from FreeListener, which
// keeps the port instead of freeing it for anyone to take.
func FreePort(t testing.TB) int {
	t.Helper()
	l := FreeListener(t)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeListener listens on a port FreePort would choose and returns the
// listener, closed when the test ends (closing it earlier is fine).
func FreeListener(t testing.TB) net.Listener {
	t.Helper()
	if r := os.Getenv("VIGIL_TEST_PORTS"); r != "" {
		lo, hi, err := portRange(r)
		if err != nil {
			t.Fatalf("VIGIL_TEST_PORTS: %v", err)
		}
		// Random order, so concurrent test processes rarely try the same
		// port first.
		for _, i := range rand.Perm(hi - lo + 1) {
			if l, err := net.Listen("tcp", addr(lo+i)); err == nil {
				t.Cleanup(func() { _ = l.Close() })
				return l
			}
		}
		t.Fatalf("free port: none free in VIGIL_TEST_PORTS=%s", r)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// NewServer is httptest.NewServer on a listener of FreeListener's,
// closed when the test ends.
func NewServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = FreeListener(t)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// portRange parses "lo-hi".
func portRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		lo, err = strconv.Atoi(strings.TrimSpace(a))
	}
	if ok && err == nil {
		hi, err = strconv.Atoi(strings.TrimSpace(b))
	}
	if !ok || err != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q: want a port range lo-hi", s)
	}
	return lo, hi, nil
}

// WriteFile writes a file into dir and returns its path; a small helper for
// configs and specs written by tests.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Eventually polls cond every 100ms until it returns nil or ctx ends, and
// returns the last error.
func Eventually(ctx context.Context, cond func() error) error {
	var err error
	for {
		if err = cond(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers: a
// process's stdout and stderr, and the test reading them.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hasConfig reports whether args name a configuration (--config or -c).
func hasConfig(args []string) bool {
	for _, a := range args {
		if a == "--config" || a == "-c" || strings.HasPrefix(a, "--config=") {
			return true
		}
	}
	return false
}

// telemetryConfig is a --config layered over a test's own that serves the
// collector's metrics on 127.0.0.1:port (configurations merge in order;
// the reader list replaces any earlier one).
func telemetryConfig(port int) string {
	return fmt.Sprintf("--config=yaml:service::telemetry::metrics::readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", port)
}
