package zaplogreceiver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// crashFixture reads a crash report that a real Go 1.26 program printed
// (testdata/crash/README.md says how each was made).
func crashFixture(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "crash", name+".txt"))
	require.NoError(t, err)
	return string(data)
}

// crashWant is what the record of a crash report holds.
type crashWant struct {
	fixture  string
	body     string
	typ, msg string
	exitCode int64 // 0: no process.exit.code
}

var crashWants = []crashWant{
	{"index", "panic: runtime error: index out of range [5] with length 3", "runtime.Error", "runtime error: index out of range [5] with length 3", 0},
	{"gorun", "panic: runtime error: index out of range [5] with length 3", "runtime.Error", "runtime error: index out of range [5] with length 3", 2},
	{"nil", "panic: runtime error: invalid memory address or nil pointer dereference", "runtime.Error", "runtime error: invalid memory address or nil pointer dereference", 0},
	{"none", "panic: runtime error: index out of range [5] with length 3", "runtime.Error", "runtime error: index out of range [5] with length 3", 0},
	{"mapwrites", "fatal error: concurrent map writes", "fatal error", "concurrent map writes", 0},
	{"deadlock", "fatal error: all goroutines are asleep - deadlock!", "fatal error", "all goroutines are asleep - deadlock!", 0},
	{"overflow", "fatal error: stack overflow", "fatal error", "stack overflow", 0},
	{"repanic", "panic: assignment to entry in nil map [recovered]", "panic", "assignment to entry in nil map", 0},
	{"samepanic", "panic: charge failed [recovered, repanicked]", "panic", "charge failed", 0},
	{"multiline", "panic: first line\n\tsecond line", "panic", "first line\nsecond line", 0},
	{"code", "panic: main.Code(42)", "main.Code", "42", 0},
	{"struct", "panic: (*main.T) 0xfa98600e008", "*main.T", "(*main.T) 0xfa98600e008", 0},
	{"goroutine-all", "panic: in a goroutine", "panic", "in a goroutine", 0},
	{"quit", "SIGQUIT: quit", "SIGQUIT", "quit", 0},
}

// reportText is a fixture as exception.stacktrace holds it: without the
// "exit status" line of go run and the final newline.
func reportText(fixture string) string {
	text := strings.TrimRight(fixture, "\n")
	if i := strings.LastIndex(text, "\nexit status "); i >= 0 {
		text = text[:i]
	}
	return text
}

func checkCrash(t *testing.T, w crashWant, lr plog.LogRecord, stack string) {
	t.Helper()
	assert.Equal(t, plog.SeverityNumberFatal, lr.SeverityNumber())
	assert.Equal(t, "FATAL", lr.SeverityText())
	assert.Equal(t, w.body, lr.Body().Str())
	want := map[string]any{
		AttrExceptionType:       w.typ,
		AttrExceptionMessage:    w.msg,
		AttrExceptionStacktrace: stack,
	}
	if w.exitCode != 0 {
		want[AttrProcessExitCode] = w.exitCode
	}
	assert.Equal(t, want, lr.Attributes().AsRaw())
}

// TestCrashReports reads real crash reports among zap JSON lines, among
// console records, and with format json: each is one FATAL record, the lines
// around it unchanged.
func TestCrashReports(t *testing.T) {
	console := "2026-01-01T00:00:00.000Z\tERROR\tmain.go:10\tboom\nmain.main\n\t/src/main.go:10\n"
	for _, w := range crashWants {
		report := crashFixture(t, w.fixture)
		for _, tc := range []struct {
			name, format, before, after string
		}{
			{"among json", FormatAuto, `{"level":"info","msg":"around"}` + "\n", `{"level":"info","msg":"around"}` + "\n"},
			{"format json", FormatJSON, `{"level":"info","msg":"around"}` + "\n", `{"level":"info","msg":"around"}` + "\n"},
			{"among console", FormatAuto, console, console},
			{"format console", FormatConsole, console, console},
			{"alone", FormatAuto, "", ""},
		} {
			t.Run(w.fixture+"/"+tc.name, func(t *testing.T) {
				p := mustParser(t, func(c *ParserConfig) { c.Format = tc.format })
				recs, results := parseAll(t, p, []byte(tc.before+report+tc.after))
				n := 1
				if tc.before != "" {
					n = 3
				}
				require.Len(t, recs, n, "%v", bodies(recs))
				for _, res := range results {
					require.NoError(t, res.Err)
				}
				crash := recs[0]
				if n == 3 {
					crash = recs[1]
					assert.NotEqual(t, plog.SeverityNumberFatal, recs[0].SeverityNumber())
					assert.Equal(t, recs[0].Body().Str(), recs[2].Body().Str())
					if tc.before == console {
						st, _ := recs[0].Attributes().Get(AttrExceptionStacktrace)
						assert.Equal(t, "main.main\n\t/src/main.go:10", st.Str(), "the console record took no crash line")
					}
				}
				checkCrash(t, w, crash, reportText(report))
			})
		}
	}
}

func bodies(recs []plog.LogRecord) []string {
	out := make([]string, len(recs))
	for i, lr := range recs {
		out[i] = lr.Body().AsString()
	}
	return out
}

// splitAll cuts input with splitRecords as a stream whose end is final.
func splitAll(t *testing.T, format, input string) []string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(input))
	sc.Split(splitRecords(format, true))
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	require.NoError(t, sc.Err())
	return got
}

// TestSplitCrashReportEnds checks where a crash report ends: at a line that
// is not part of a report (a blank line followed by other text, a zap JSON
// or console line, another crash's head after the goroutines), with "exit
// status N" (included), or at the end of the data.
func TestSplitCrashReportEnds(t *testing.T) {
	const (
		head  = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:5 +0x1d\n"
		other = "\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/src/main.go:9 +0x2\ncreated by main.main in goroutine 1\n\t/src/main.go:4 +0x3\n"
		con   = "2026-01-01T00:00:00.000Z\tINFO\tmain.go:10\tstarted"
	)
	report := strings.TrimSuffix(head, "\n")
	for _, tc := range []struct {
		name  string
		input string
		want  []string
	}{
		{"end of data", head, []string{report}},
		{"end of data without newline", strings.TrimSuffix(head, "\n"), []string{report}},
		{"zap json after", head + `{"level":"info"}` + "\n", []string{report, `{"level":"info"}`}},
		{"console line after", head + con + "\n", []string{report, con}},
		{"exit status", head + "exit status 2\n" + "restarting\n", []string{report + "\nexit status 2", "restarting"}},
		{"blank then text", head + "\nrestarting\n", []string{report, "", "restarting"}},
		{"text right after", head + "service exited\n", []string{report, "service exited"}},
		{"more goroutines", head + other + "\n{}\n", []string{head + strings.TrimSuffix(other, "\n"), "", "{}"}},
		{"another crash", head + "panic: again\n\ngoroutine 1 [running]:\n", []string{report, "panic: again\n\ngoroutine 1 [running]:"}},
		{"another crash after a blank", head + "\npanic: again\n", []string{report, "", "panic: again"}},
		{"signal line", "panic: runtime error: x\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:1\n{}\n",
			[]string{"panic: runtime error: x\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:1", "{}"}},
		{"panic alone (GOTRACEBACK=none)", "panic: boom\n{}\n", []string{"panic: boom", "{}"}},
		{"runtime lines then fatal error", "runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x1, 0x2})\n\t/go/src/runtime/panic.go:1 +0x48\n{}\n",
			[]string{"runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x1, 0x2})\n\t/go/src/runtime/panic.go:1 +0x48", "{}"}},
		{"runtime line alone", "runtime: note\nhello\n", []string{"runtime: note", "hello"}},
		{"signal dump", "SIGQUIT: quit\nPC=0x40866e m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.mcall()\n\t/go/src/runtime/asm_amd64.s:1 +0x1\n\nrax    0x0\nrbx    0x5\n{}\n",
			[]string{"SIGQUIT: quit\nPC=0x40866e m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.mcall()\n\t/go/src/runtime/asm_amd64.s:1 +0x1\n\nrax    0x0\nrbx    0x5", "{}"}},
		{"signal-like line", "SIGTERM: shutting down\nbye\n", []string{"SIGTERM: shutting down", "bye"}},
		{"a console record does not take a crash", con + "\nmain.main\n\t/src/main.go:10\n" + head, []string{con + "\nmain.main\n\t/src/main.go:10", report}},
		{"console record then crash", con + "\n" + head, []string{con, report}},
		// The rest of a report cut at max_log_size starts in the middle of a
		// line: the stack lines after it keep it one token.
		{"rest of a cut report", "ive]:\nmain.worker()\n\t/src/main.go:9 +0x2\n\ngoroutine 8 [select]:\nmain.w()\n\t/a.go:1\n{}\n",
			[]string{"ive]:\nmain.worker()\n\t/src/main.go:9 +0x2\n\ngoroutine 8 [select]:\nmain.w()\n\t/a.go:1", "{}"}},
		{"plain lines stay apart", "hello\nworld\n\tindented\n", []string{"hello", "world", "\tindented"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, splitAll(t, FormatAuto, tc.input))
		})
	}
}

// TestSplitWaitsForTheEnd checks that, for files, the end of the data read
// so far ends nothing: the writer may be in the middle of a line or of a
// crash report. stanza's flush hands the data over after force_flush_period.
func TestSplitWaitsForTheEnd(t *testing.T) {
	report := crashFixture(t, "index")
	for _, data := range []string{
		report,                       // more goroutines may follow
		report[:len(report)/2],       // in the middle of a line
		"panic: boom\n",              // the goroutines not yet written
		`{"level":"info","msg":"pa`,  // a line being written
		"SIGQUIT: quit\n",            // is a "PC=" line coming?
		"runtime: out of memory\n",   // is a "fatal error:" line coming?
		"ts\tINFO\tmsg\n",            // stack lines may follow
		"ts\tINFO\tmsg\nmain.main\n", // more stack lines may follow
	} {
		file := splitRecords(FormatAuto, false)
		adv, tok, err := file([]byte(data), true)
		require.NoError(t, err)
		assert.Zero(t, adv, "%q", data)
		assert.Nil(t, tok, "%q", data)

		stream := splitRecords(FormatAuto, true)
		adv, tok, err = stream([]byte(data), true)
		require.NoError(t, err)
		assert.Equal(t, len(data), adv, "%q", data)
		assert.Equal(t, strings.TrimRight(data, "\n"), string(tok))
	}
	// What is complete goes at once.
	file := splitRecords(FormatAuto, false)
	adv, tok, err := file([]byte("{\"a\":1}\n{\"b\""), true)
	require.NoError(t, err)
	assert.Equal(t, 8, adv)
	assert.Equal(t, `{"a":1}`, string(tok))
	adv, tok, err = file([]byte("panic: boom\n{\"b\""), true)
	require.NoError(t, err)
	assert.Equal(t, 12, adv)
	assert.Equal(t, "panic: boom", string(tok))
}

// manyGoroutines is a crash report with n goroutines (GOTRACEBACK=all), in
// the form of testdata/crash/goroutine-all.txt.
func manyGoroutines(n int) string {
	var b strings.Builder
	b.WriteString("panic: with many goroutines\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/crashgen/main.go:80 +0x498\n")
	for i := range n {
		fmt.Fprintf(&b, "\ngoroutine %d [select (no cases)]:\nmain.main.func5()\n\t/tmp/crashgen/main.go:77 +0xf\ncreated by main.main in goroutine 1\n\t/tmp/crashgen/main.go:77 +0x46b\n", i+6)
	}
	return b.String()
}

// TestParseTruncatedCrash checks a report cut at max_log_size: its whole
// lines are read, the stack ends with the truncation marker.
func TestParseTruncatedCrash(t *testing.T) {
	report := manyGoroutines(100)
	cut := []byte(report[:2000])
	lr := plog.NewLogRecord()
	res := mustParser(t, nil).ParseTruncated(cut, lr)
	require.NoError(t, res.Err)
	assert.Equal(t, "panic: with many goroutines", lr.Body().Str())
	assert.Equal(t, plog.SeverityNumberFatal, lr.SeverityNumber())
	st, _ := lr.Attributes().Get(AttrExceptionStacktrace)
	lastLine := string(cut[:bytes.LastIndexByte(cut, '\n')])
	assert.Equal(t, lastLine+"\n"+TruncationMarker, st.Str())
	tr, _ := lr.Attributes().Get(AttrTruncated)
	assert.True(t, tr.Bool())
}

// appendFile appends s to the file at path.
func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// crashRecord returns the one record of recs with severity FATAL.
func crashRecord(t *testing.T, recs []plog.LogRecord) plog.LogRecord {
	t.Helper()
	var found []plog.LogRecord
	for _, lr := range recs {
		if lr.SeverityNumber() == plog.SeverityNumberFatal {
			found = append(found, lr)
		}
	}
	require.Len(t, found, 1, "crash records among %q", bodies(recs))
	return found[0]
}

// TestFileCrashWrittenSlowly writes a crash report the way the runtime
// does, in many writes, here spread over several polls, after zap lines of
// the service: it must arrive as one record, with the receiver's service
// name, once force_flush_period has passed after its last line (nothing
// follows a crash), and the next zap line after it.
func TestFileCrashWrittenSlowly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := fileConfig(dir)
	cfg.ForceFlushPeriod = 300 * time.Millisecond
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)

	appendFile(t, path, `{"level":"info","msg":"before","seq":0}`+"\n")
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 1 }, 10*time.Second, 10*time.Millisecond)
	report := crashFixture(t, "goroutine-all")
	for i := 0; i < len(report); i += 17 { // through lines and line ends
		appendFile(t, path, report[i:min(i+17, len(report))])
		time.Sleep(5 * time.Millisecond)
		if i%(17*4) == 0 {
			time.Sleep(3 * cfg.PollInterval)
		}
	}
	wrote := time.Now()
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 10*time.Second, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(wrote), cfg.ForceFlushPeriod, "the report was taken as ended before force_flush_period")
	appendFile(t, path, `{"level":"info","msg":"after","seq":1}`+"\n")
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 3 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(3 * cfg.PollInterval)

	recs := records(t, sink)
	require.Len(t, recs, 3, "%q", bodies(recs))
	assert.Equal(t, []string{"before", "panic: in a goroutine", "after"}, bodies(recs))
	lr := crashRecord(t, recs)
	st, _ := lr.Attributes().Get(AttrExceptionStacktrace)
	assert.Equal(t, reportText(report), st.Str())
	p, _ := lr.Attributes().Get(AttrLogFilePath)
	assert.Equal(t, path, p.Str())
	svc, _ := sink.AllLogs()[1].ResourceLogs().At(0).Resource().Attributes().Get(AttrServiceName)
	assert.Equal(t, "shop", svc.Str())
	assert.Equal(t, map[string]int64{inputFile: 3}, r.counter(t, metricLinesReceived))
	assert.Empty(t, r.counter(t, metricParseErrors))
}

// TestFilePartialLineWaits checks that a line being written is not read in
// two halves: the file consumer reaches the end of the file in the middle
// of it, and only force_flush_period without new data makes it complete.
func TestFilePartialLineWaits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := fileConfig(dir)
	cfg.ForceFlushPeriod = 2 * time.Second
	appendFile(t, path, `{"level":"info","msg":"whole","seq":0}`+"\n"+`{"level":"info","msg":"part`)
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 1 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(10 * cfg.PollInterval)
	appendFile(t, path, `ly written","seq":1}`+"\n")
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 2 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(5 * cfg.PollInterval)
	assert.Equal(t, []string{"whole", "partly written"}, bodies(records(t, sink)))
	assert.Empty(t, r.counter(t, metricParseErrors))
}

// TestFileEndWithoutFlushPeriod: with force_flush_period 0 the end of a
// file ends its last record (a console record that could still get stack
// lines, a crash report of a service that died), which otherwise would
// never be read.
func TestFileEndWithoutFlushPeriod(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := fileConfig(dir)
	cfg.ForceFlushPeriod = 0
	appendFile(t, path, `{"level":"info","msg":"before","seq":0}`+"\n"+crashFixture(t, "mapwrites"))
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 2 }, 10*time.Second, 10*time.Millisecond,
		"the crash report at the end of the file was never read")
	assert.Equal(t, "before", bodies(records(t, sink))[0])
}

// TestFileCrashRestart stops the collector while a crash report is half
// written and starts it again on the same storage once the rest is there:
// the report arrives once, whole, and nothing before it again.
func TestFileCrashRestart(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "app.log")
	storageID := component.MustNewIDWithName("file_storage", "zaplog")
	cfg := fileConfig(dir)
	cfg.StorageID = &storageID
	cfg.ForceFlushPeriod = 5 * time.Second // longer than the stop
	report := crashFixture(t, "mapwrites")
	half := len(report) / 2

	appendFile(t, path, `{"level":"info","msg":"before","seq":0}`+"\n"+report[:half])
	ext := startFileStorage(t, storageID, stateDir)
	first := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, first, storageHost{map[component.ID]component.Component{storageID: ext}})
	require.Eventually(t, func() bool { return first.LogRecordCount() >= 1 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(5 * cfg.PollInterval)
	r.stop(t)
	require.NoError(t, ext.Shutdown(context.Background()))

	appendFile(t, path, report[half:]+`{"level":"info","msg":"after","seq":1}`+"\n")
	ext = startFileStorage(t, storageID, stateDir)
	second := new(consumertest.LogsSink)
	r = startReceiver(t, cfg, second, storageHost{map[component.ID]component.Component{storageID: ext}})
	require.Eventually(t, func() bool { return second.LogRecordCount() >= 2 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(5 * cfg.PollInterval)
	r.stop(t)
	require.NoError(t, ext.Shutdown(context.Background()))

	assert.Equal(t, []string{"before"}, bodies(records(t, first)))
	recs := records(t, second)
	assert.Equal(t, []string{"fatal error: concurrent map writes", "after"}, bodies(recs))
	st, _ := crashRecord(t, recs).Attributes().Get(AttrExceptionStacktrace)
	assert.Equal(t, reportText(report), st.Str())
}

// TestCrashLongerThanMaxLogSize reads a crash report of 10,000 goroutines
// (1.3 MB) with max_log_size 64 KiB, from a file and over TCP: one record,
// cut, its stack trace marked; the rest of the report is skipped, not read
// as records of its own; the zap line after it is read.
func TestCrashLongerThanMaxLogSize(t *testing.T) {
	report := manyGoroutines(10000)
	require.Greater(t, len(report), 1<<20)
	input := `{"level":"info","msg":"before"}` + "\n" + report + `{"level":"info","msg":"after"}` + "\n"
	const maxLogSize = 64 << 10
	check := func(t *testing.T, r *testReceiver, sink *consumertest.LogsSink, input string) {
		t.Helper()
		require.Eventually(t, func() bool { return sink.LogRecordCount() >= 3 }, 20*time.Second, 10*time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		recs := records(t, sink)
		require.Equal(t, []string{"before", "panic: with many goroutines", "after"}, bodies(recs))
		lr := recs[1]
		st, _ := lr.Attributes().Get(AttrExceptionStacktrace)
		assert.LessOrEqual(t, len(st.Str()), maxLogSize+len(TruncationMarker)+1)
		assert.Greater(t, len(st.Str()), maxLogSize-200)
		kept, ok := strings.CutSuffix(st.Str(), "\n"+TruncationMarker)
		require.True(t, ok, "no marker at the end")
		assert.True(t, strings.HasPrefix(report, kept), "the stack is not the report's beginning")
		assert.Equal(t, byte('\n'), report[len(kept)], "cut inside a line")
		tr, _ := lr.Attributes().Get(AttrTruncated)
		assert.True(t, tr.Bool())
		assert.Equal(t, int64(1), sum(r.counter(t, metricLinesTruncated)))
		assert.Equal(t, int64(3), sum(r.counter(t, metricLinesReceived)))
		assert.Empty(t, r.counter(t, metricParseErrors))
	}
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		appendFile(t, filepath.Join(dir, "app.log"), input)
		cfg := fileConfig(dir)
		cfg.MaxLogSize = maxLogSize
		sink := new(consumertest.LogsSink)
		r := startReceiver(t, cfg, sink, nil)
		defer r.stop(t)
		check(t, r, sink, input)
	})
	t.Run("tcp", func(t *testing.T) {
		cfg := createDefaultConfig().(*Config)
		cfg.TCP = &TCPConfig{Endpoint: "127.0.0.1:0"}
		cfg.MaxLogSize = maxLogSize
		sink := new(consumertest.LogsSink)
		r := startReceiver(t, cfg, sink, nil)
		defer r.stop(t)
		conn, err := net.Dial("tcp", r.impl.tcp.Addr().String())
		require.NoError(t, err)
		_, err = io.WriteString(conn, input)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		check(t, r, sink, input)
	})
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestTCPEndlessLineBoundedMemory streams 64 MB without a newline over TCP
// with max_log_size 1 KiB: the connection's buffer must stay near the
// limit, not grow with the line (it doubled with every read before).
func TestTCPEndlessLineBoundedMemory(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.TCP = &TCPConfig{Endpoint: "127.0.0.1:0"}
	cfg.MaxLogSize = 1024
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)
	conn, err := net.Dial("tcp", r.impl.tcp.Addr().String())
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte("y"), 64<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 1024 {
		_, err = conn.Write(chunk)
		require.NoError(t, err)
	}
	_, err = io.WriteString(conn, "\n{\"level\":\"info\",\"msg\":\"next\"}\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 2 }, 20*time.Second, 10*time.Millisecond)
	runtime.ReadMemStats(&after)
	require.NoError(t, conn.Close())
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated while 64 MiB streamed")
	assert.Equal(t, []string{strings.Repeat("y", 1024) + TruncationMarker, "next"}, bodies(records(t, sink)))
}

// TestCrashReportHostileShapes reads reports of near 1 MiB built to be slow:
// hundreds of thousands of blank lines between goroutines, a panic value of
// 100,000 lines. Each must be read in linear time (the blank lines were
// looked through once per blank line, the value's lines appended one by
// one: 20 s for the second before).
func TestCrashReportHostileShapes(t *testing.T) {
	for _, in := range []string{
		"panic: x\n" + strings.Repeat("\n", 900000) + "goroutine 1 [running]:\n",
		"panic: x\n" + strings.Repeat("\t/a.go:1\n", 100000),
		strings.Repeat("runtime: x\n", 90000),
	} {
		start := time.Now()
		recs, _ := parseAll(t, mustParser(t, nil), []byte(in))
		assert.NotEmpty(t, recs)
		assert.Less(t, time.Since(start), 5*time.Second)
	}
}

// TestHeadlessDump checks goroutine stacks whose crash report's head was
// not read (a collector started with start_at: end in the middle of a
// report) stay one record, kept as read, with the reason.
func TestHeadlessDump(t *testing.T) {
	report := crashFixture(t, "goroutine-all")
	rest := report[strings.Index(report, "goroutine 19"):]
	for _, input := range []string{rest, report[strings.Index(report, "running]:"):]} {
		recs, results := parseAll(t, mustParser(t, nil), []byte(input+`{"level":"info","msg":"after"}`+"\n"))
		require.Len(t, recs, 2, "%q", bodies(recs))
		require.ErrorIs(t, results[0].Err, errHeadlessDump)
		assert.Equal(t, strings.TrimRight(input, "\n"), recs[0].Body().Str())
		assert.Equal(t, "after", recs[1].Body().Str())
	}
}
