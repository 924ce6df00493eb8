package redistest

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPingAndRestartLosesInMemoryData(t *testing.T) {
	s := Start(t, Options{})
	if reply, err := s.Do("PING"); err != nil || reply != "PONG" {
		t.Fatalf("PING = %q, %v", reply, err)
	}
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr
	s.Restart()
	if s.Addr != addr {
		t.Fatalf("address changed across restart: %s → %s", addr, s.Addr)
	}
	if _, err := s.Do("GET", "k"); !errors.Is(err, ErrNil) {
		t.Fatalf("GET after restart without persistence: err = %v, want ErrNil", err)
	}
}

func TestAppendOnlySurvivesRestart(t *testing.T) {
	s := Start(t, Options{AppendOnly: true})
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if got, err := s.Do("GET", "k"); err != nil || got != "v" {
		t.Fatalf("GET after restart = %q, %v; want v", got, err)
	}
}

func TestStoppedServerRefusesConnections(t *testing.T) {
	s := Start(t, Options{})
	s.Kill()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING succeeded after Kill")
	}
	s.Restart()
	if reply, err := s.Do("PING"); err != nil || reply != "PONG" {
		t.Fatalf("PING after Restart = %q, %v", reply, err)
	}
}
