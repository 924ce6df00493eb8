package serverproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeServerEnv makes the test binary a tiny HTTP server on the port it
// names: a server to start, stop and collide with.
const fakeServerEnv = "SERVERPROC_FAKE_SERVER_PORT"

func TestMain(m *testing.M) {
	if port := os.Getenv(fakeServerEnv); port != "" {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Println(err) // "bind: address already in use" when taken
			os.Exit(1)
		}
		_ = http.Serve(l, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func fakeServer(port int) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fakeServerEnv+"="+strconv.Itoa(port))
	return cmd
}

func answers(port int) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func TestStartOnFreePortsStartsAgainWhenAPortWasTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	attempts := 0
	p, ports := StartOnFreePorts(t, "fake", 1, 20*time.Second,
		func(ports []int) *exec.Cmd {
			attempts++
			if attempts == 1 {
				// Lose the race FreePort cannot rule out: bind a port
				// someone else took, and be checked on it.
				ports[0] = takenPort
			}
			return fakeServer(ports[0])
		},
		func(ports []int) error { return answers(ports[0]) })
	if attempts != 2 {
		t.Errorf("started %d times, want 2", attempts)
	}
	if ports[0] == takenPort {
		t.Errorf("ended on the taken port %d", takenPort)
	}
	if err := answers(ports[0]); err != nil {
		t.Errorf("server does not answer on %d: %v", ports[0], err)
	}
	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if exited, _ := p.Exited(); !exited {
		t.Error("process still running after Stop")
	}
}

func TestWaitReadyReportsAnExitWithTheReason(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	p := Start(t, "fake", fakeServer(port))
	err = p.WaitReady(20*time.Second, func() error { return fmt.Errorf("not yet") })
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("WaitReady = %v, want an exit", err)
	}
	if !portTaken(p.Output()) {
		t.Errorf("output does not say the port was taken: %q", p.Output())
	}
}
