package zaplog

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// TestBinaryCrashReport runs the built binary on the shipped full.yaml
// (every storage backend down but Sentry, a fake; a file exporter added to
// the logs pipeline to read the records back), with the service's identity
// in the VIGIL_ZAPLOG_* variables, and a real Go service (testdata/crashsvc)
// that logs with zap and dies of an index out of range, its stderr going to
// the file the zaplog receiver reads. The zap line and the crash report
// must be two records of the service with its resource, the crash one
// FATAL record, and reach Sentry as a fatal event whose frames are the
// service's, with its environment and release.
func TestBinaryCrashReport(t *testing.T) {
	svc := filepath.Join(t.TempDir(), "crashsvc")
	build := exec.Command("go", "build", "-o", svc, "./testdata/crashsvc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the service: %v\n%s", err, out)
	}

	fake := fakesentry.New(t, fakesentry.Project{ID: "42", Key: "c0ffee00c0ffee00c0ffee00c0ffee00"})
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	logDir := t.TempDir()
	out := filepath.Join(t.TempDir(), "logs.jsonl")
	vigiltest.Start(t, vigiltest.Options{
		Args: []string{
			"--config", filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml"),
			"--set=exporters::file::path=" + out,
			"--set=exporters::file::flush_interval=100ms",
			"--set=service::pipelines::logs::exporters=[clickhouse,loki,sentry,file]",
		},
		Env: map[string]string{
			"CLICKHOUSE_ENDPOINT":            "tcp://" + down(),
			"LOKI_ENDPOINT":                  "http://" + down(),
			"PROMETHEUS_REMOTE_WRITE_URL":    "http://" + down() + "/api/v1/write",
			"SENTRY_DSN":                     fake.DSN("42"),
			"VIGIL_PPROF_ENDPOINT":           down(),
			"VIGIL_ZAPLOG_INCLUDE":           filepath.Join(logDir, "*.log"),
			"VIGIL_ZAPLOG_SERVICE_NAME":      "orders",
			"VIGIL_ZAPLOG_SERVICE_NAMESPACE": "shop",
			"VIGIL_ZAPLOG_SERVICE_VERSION":   "1.4.2",
			"VIGIL_ZAPLOG_ENVIRONMENT":       "staging",
		},
	})
	// full.yaml starts at the end of the files there at start; a file
	// created after the first poll is read from its beginning.
	time.Sleep(time.Second)

	logFile, err := os.OpenFile(filepath.Join(logDir, "orders.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(svc)
	run.Stderr = logFile
	err = run.Run()
	_ = logFile.Close()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("the service ended with %v, want exit status 2", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := fake.WaitEvents(ctx, 1)
	if err != nil {
		t.Fatalf("%v; requests: %+v", err, fake.Requests())
	}
	var recs []record
	if err := vigiltest.Eventually(ctx, func() error {
		recs = readRecords(t, out)
		if len(recs) < 2 {
			return errors.New("fewer than 2 records written")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a record too many would be written now
	recs = readRecords(t, out)

	if len(recs) != 2 {
		for _, r := range recs {
			t.Logf("record: %q", r.lr.Body().AsString())
		}
		t.Fatalf("%d records, want the zap line and the crash report", len(recs))
	}
	wantResource := map[string]any{
		"service.name": "orders", "service.namespace": "shop", "service.version": "1.4.2",
		"deployment.environment.name": "staging",
	}
	for _, r := range recs {
		for k, v := range wantResource {
			if r.resource[k] != v {
				t.Errorf("record %q: resource %s = %v, want %v", r.lr.Body().AsString(), k, r.resource[k], v)
			}
		}
	}
	if b := recs[0].lr.Body().AsString(); b != "order placed" {
		t.Errorf("first record %q, want the zap line", b)
	}
	crash := recs[1].lr
	attrs := crash.Attributes().AsRaw()
	stack, _ := attrs[zaplogreceiver.AttrExceptionStacktrace].(string)
	switch {
	case crash.SeverityNumber() != plog.SeverityNumberFatal:
		t.Errorf("crash severity %v", crash.SeverityNumber())
	case crash.Body().AsString() != "panic: runtime error: index out of range [5] with length 3":
		t.Errorf("crash body %q", crash.Body().AsString())
	case attrs[zaplogreceiver.AttrExceptionType] != "runtime.Error":
		t.Errorf("exception.type %v", attrs[zaplogreceiver.AttrExceptionType])
	case !strings.HasPrefix(stack, "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.lookupInventory(...)\n\t"):
		t.Errorf("exception.stacktrace %q", stack)
	}

	ev := events[0]
	if ev.Level != "fatal" || ev.Environment != "staging" || ev.Release != "1.4.2" {
		t.Errorf("event level %q, environment %q, release %q; want fatal, staging, 1.4.2", ev.Level, ev.Environment, ev.Release)
	}
	if len(ev.Exceptions) != 1 {
		t.Fatalf("event exceptions: %s", ev.Raw)
	}
	exc := ev.Exceptions[0]
	if exc.Type != "runtime.Error" || exc.Value != "runtime error: index out of range [5] with length 3" {
		t.Errorf("exception %q: %q", exc.Type, exc.Value)
	}
	frames := exc.Frames()
	if len(frames) != 2 {
		t.Fatalf("frames %+v, want main.main then main.lookupInventory", frames)
	}
	for i, want := range []struct {
		function string
		line     int
	}{{"main", 23}, {"lookupInventory", 15}} {
		f := frames[i]
		if f.Module != "main" || f.Function != want.function || f.Lineno != want.line || !strings.HasSuffix(f.AbsPath, "testdata/crashsvc/main.go") || !f.InApp {
			t.Errorf("frame %d %+v, want main.%s at crashsvc/main.go:%d, in app", i, f, want.function, want.line)
		}
	}
}

type record struct {
	lr       plog.LogRecord
	resource map[string]any
}

// readRecords reads the file exporter's output.
func readRecords(t *testing.T, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	var um plog.JSONUnmarshaler
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			continue // a line the exporter is still writing
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, record{lrs.At(k), rl.Resource().Attributes().AsRaw()})
				}
			}
		}
	}
	return out
}
