package redislog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// deadClient is a client of a port nothing listens on that dials once per
// command and does not retry: each command fails and makes go-redis print
// one "redis: connection pool: failed to dial after 1 attempts: ...".
func deadClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:            fmt.Sprintf("127.0.0.1:%d", vigiltest.FreePort(t)),
		DialerRetries:   1,
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialFailures counts the entries of logs that report a failed dial, and
// fails the test if one is not at warn level.
func dialFailures(t *testing.T, logs *observer.ObservedLogs) int {
	t.Helper()
	n := 0
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "failed to dial") {
			n++
			if e.Level != zapcore.WarnLevel {
				t.Errorf("%q logged at %s, want warn", e.Message, e.Level)
			}
		}
	}
	return n
}

// TestLinesGoToTheLatestUser: a command that cannot reach Redis makes
// go-redis print a line, which lands at warn level in the logger of the
// latest component to Use it; once that one releases, in the earlier one's;
// once all have, still in the last one's.
func TestLinesGoToTheLatestUser(t *testing.T) {
	coreA, logsA := observer.New(zapcore.DebugLevel)
	coreB, logsB := observer.New(zapcore.DebugLevel)
	c := deadClient(t)
	fail := func() {
		t.Helper()
		if err := c.Get(context.Background(), "k").Err(); err == nil {
			t.Fatal("GET on a dead Redis succeeded")
		}
	}
	releaseA := Use(zap.New(coreA))
	releaseB := Use(zap.New(coreB))

	fail()
	if a, b := dialFailures(t, logsA), dialFailures(t, logsB); a != 0 || b != 1 {
		t.Fatalf("dial failures logged by a and b: %d and %d, want 0 and 1 (b is the latest)", a, b)
	}
	releaseB()
	releaseB() // twice is harmless
	fail()
	if a, b := dialFailures(t, logsA), dialFailures(t, logsB); a != 1 || b != 1 {
		t.Fatalf("after b's release: %d and %d, want 1 and 1", a, b)
	}
	releaseA()
	fail()
	if a := dialFailures(t, logsA); a != 2 {
		t.Fatalf("after every release a logged %d, want 2: the last one keeps the lines", a)
	}
}

// TestNothingOnStderr runs a command against a dead Redis in a process of
// its own and reads what that process writes: go-redis's line is in the zap
// output, and stderr stays empty (without Use, go-redis prints it there
// raw).
func TestNothingOnStderr(t *testing.T) {
	if os.Getenv("REDISLOG_CHILD") == "1" {
		logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(os.Stdout), zapcore.DebugLevel))
		defer Use(logger)()
		_ = deadClient(t).Ping(context.Background()).Err()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNothingOnStderr$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REDISLOG_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q, want nothing", stderr.String())
	}
	if !strings.Contains(stdout.String(), `"level":"warn"`) || !strings.Contains(stdout.String(), "failed to dial") {
		t.Errorf("zap output %q has no warn line of the failed dial", stdout.String())
	}
}
