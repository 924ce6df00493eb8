package vigiltest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestStartChoosesNewPortsWhenOneIsTaken: a port that was free when chosen
// but taken before vigil binds it (another test process got there first)
// costs a retry with new ports, not a failed test.
func TestStartChoosesNewPortsWhenOneIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	pickPort = func(t testing.TB) int {
		calls++
		if calls == 1 { // the first instance's OTLP gRPC port
			return taken.Addr().(*net.TCPAddr).Port
		}
		return FreePort(t)
	}
	defer func() { pickPort = FreePort }()

	inst := Start(t, Options{})
	if inst.Ports.OTLPGRPC == taken.Addr().(*net.TCPAddr).Port {
		t.Fatalf("the running instance kept the taken port %d", inst.Ports.OTLPGRPC)
	}
	if calls != 12 {
		t.Fatalf("ports chosen %d times, want 12 (6 per attempt, 2 attempts)", calls)
	}
	if inst.Exited() {
		t.Fatalf("instance not running:\n%s", inst.Log())
	}
	if strings.Contains(inst.Log(), "address already in use") {
		t.Fatalf("the running instance's log reports a port clash:\n%s", inst.Log())
	}
}

// TestFreePortInRange: with VIGIL_TEST_PORTS set, ports come from that
// range only.
func TestFreePortInRange(t *testing.T) {
	t.Setenv("VIGIL_TEST_PORTS", "30000-30999")
	for range 5 {
		if p := FreePort(t); p < 30000 || p > 30999 {
			t.Fatalf("FreePort = %d, outside VIGIL_TEST_PORTS", p)
		}
	}
	for _, bad := range []string{"30000", "a-b", "30999-30000", "0-10", "1-70000"} {
		if _, _, err := portRange(bad); err == nil {
			t.Errorf("portRange(%q) accepted", bad)
		}
	}
}

// TestNewServerListensOnTheProbedPort: with VIGIL_TEST_PORTS set, the
// server listens on the port of that range it probed, without freeing it
// in between (another process could take it): here the range has one port.
func TestNewServerListensOnTheProbedPort(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	t.Setenv("VIGIL_TEST_PORTS", fmt.Sprintf("%d-%d", port, port))
	srv := NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	if want := fmt.Sprintf("http://127.0.0.1:%d", port); srv.URL != want {
		t.Fatalf("server at %s, want %s", srv.URL, want)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
