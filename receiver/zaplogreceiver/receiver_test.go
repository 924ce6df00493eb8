package zaplogreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver/internal/metadata"
)

// The receiver's own metrics, as metadata.yaml declares them.
const (
	metricLinesReceived  = "otelcol_zaplog_lines_received"
	metricParseErrors    = "otelcol_zaplog_parse_errors"
	metricLinesTruncated = "otelcol_zaplog_lines_truncated"
)

// rotatingFile is a zapcore.WriteSyncer over a file that can be rotated
// the way logrotate and lumberjack do it: rename, then create anew.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	n    int
}

func newRotatingFile(t *testing.T, path string) *rotatingFile {
	f, err := os.Create(path)
	require.NoError(t, err)
	rf := &rotatingFile{path: path, f: f}
	t.Cleanup(func() { _ = rf.f.Close() })
	return rf
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

func (r *rotatingFile) Sync() error { return nil }

func (r *rotatingFile) rotate(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NoError(t, r.f.Close())
	r.n++
	ext := filepath.Ext(r.path)
	require.NoError(t, os.Rename(r.path, fmt.Sprintf("%s-%d%s", strings.TrimSuffix(r.path, ext), r.n, ext)))
	f, err := os.Create(r.path)
	require.NoError(t, err)
	r.f = f
}

func zapTo(ws zapcore.WriteSyncer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, ws, zapcore.DebugLevel), zap.AddCaller())
}

type testReceiver struct {
	rcv  receiver.Logs
	tel  *componenttest.Telemetry
	impl *zaplogReceiver
}

func startReceiver(t *testing.T, cfg *Config, next *consumertest.LogsSink, host component.Host) *testReceiver {
	t.Helper()
	return startReceiverWith(t, cfg, next, host)
}

func startReceiverWith(t *testing.T, cfg *Config, next consumer.Logs, host component.Host) *testReceiver {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := receivertest.NewNopSettings(metadata.Type)
	// A fixed ID, as in a collector: the storage client is keyed by it.
	set.ID = component.NewID(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, rcv.Start(context.Background(), host))
	return &testReceiver{rcv: rcv, tel: tel, impl: rcv.(*zaplogReceiver)}
}

func (r *testReceiver) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.rcv.Shutdown(context.Background()))
}

// counter returns the receiver metric name by input.
func (r *testReceiver) counter(t *testing.T, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := r.tel.GetMetric(name)
	if err != nil {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is %T", name, m.Data)
	for _, dp := range sum.DataPoints {
		input, _ := dp.Attributes.Value(attrInput)
		out[input.AsString()] = dp.Value
	}
	return out
}

// records flattens a sink's logs, checking each resource on the way.
func records(t *testing.T, sink *consumertest.LogsSink) []plog.LogRecord {
	t.Helper()
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// seqOf returns the "seq" attribute of every record, in order.
func seqOf(t *testing.T, recs []plog.LogRecord) []int64 {
	t.Helper()
	out := make([]int64, 0, len(recs))
	for _, lr := range recs {
		v, ok := lr.Attributes().Get("seq")
		require.True(t, ok, "record without seq: %v", lr.Body().AsRaw())
		out = append(out, v.Int())
	}
	return out
}

// assertExactlyOnce checks that seq values 0..n-1 each arrived once.
func assertExactlyOnce(t *testing.T, seqs []int64, n int) {
	t.Helper()
	seen := make(map[int64]int, n)
	for _, s := range seqs {
		seen[s]++
	}
	var missing, repeated []int64
	for i := range int64(n) {
		switch seen[i] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			repeated = append(repeated, i)
		}
	}
	assert.Empty(t, missing, "lost lines")
	assert.Empty(t, repeated, "repeated lines")
	assert.Len(t, seqs, n)
}

func fileConfig(dir string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Include = []string{filepath.Join(dir, "*.log")}
	cfg.StartAt = "beginning"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.ForceFlushPeriod = 100 * time.Millisecond
	cfg.ServiceName = "shop"
	return cfg
}

// TestFileRotation writes zap lines to a file that is rotated (renamed
// and created anew) three times while the receiver reads, and checks every
// line arrives exactly once, parsed, with its file path.
func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	out := newRotatingFile(t, path)
	logger := zapTo(out)
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, fileConfig(dir), sink, nil)

	const perFile, files = 300, 4
	for f := range files {
		for i := range perFile {
			logger.Info("order placed", zap.Int("seq", f*perFile+i))
		}
		time.Sleep(50 * time.Millisecond)
		if f < files-1 {
			out.rotate(t)
		}
	}
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= perFile*files }, 20*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a repeat would arrive now
	r.stop(t)

	recs := records(t, sink)
	assertExactlyOnce(t, seqOf(t, recs), perFile*files)
	paths := map[string]bool{}
	for _, lr := range recs {
		assert.Equal(t, "order placed", lr.Body().Str())
		assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
		assert.NotZero(t, lr.Timestamp())
		assert.NotZero(t, lr.ObservedTimestamp())
		p, ok := lr.Attributes().Get(AttrLogFilePath)
		require.True(t, ok)
		paths[p.Str()] = true
	}
	assert.Contains(t, paths, path)
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			svc, _ := ld.ResourceLogs().At(i).Resource().Attributes().Get(AttrServiceName)
			assert.Equal(t, "shop", svc.Str())
		}
	}
	assert.Equal(t, map[string]int64{inputFile: perFile * files}, r.counter(t, metricLinesReceived))
	assert.Empty(t, r.counter(t, metricParseErrors))
}

// TestFileBadInput checks file edge cases: a huge line is truncated and
// marked, garbage is kept raw and counted, and a last line without its
// newline is read after force_flush_period.
func TestFileBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(dir)
	cfg.MaxLogSize = 256
	huge := `{"level":"info","msg":"` + strings.Repeat("x", 1000) + `"}`
	content := strings.Join([]string{
		`{"level":"info","msg":"first","seq":0}`,
		huge,
		"\x00\x01 binary garbage",
		`{"level":"warn","msg":"after","seq":1}`,
		`{"level":"error","msg":"no newline","seq":2}`,
	}, "\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.log"), []byte(content), 0o600))
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 5 }, 10*time.Second, 20*time.Millisecond)
	r.stop(t)

	recs := records(t, sink)
	require.Len(t, recs, 5)
	assert.Equal(t, "first", recs[0].Body().Str())
	assert.Equal(t, huge[:256]+TruncationMarker, recs[1].Body().Str())
	truncated, _ := recs[1].Attributes().Get(AttrTruncated)
	assert.True(t, truncated.Bool())
	assert.Equal(t, "\x00\x01 binary garbage", recs[2].Body().Str())
	perr, ok := recs[2].Attributes().Get(AttrParseError)
	require.True(t, ok)
	assert.Contains(t, perr.Str(), "not a zap record")
	assert.Equal(t, "after", recs[3].Body().Str())
	assert.Equal(t, "no newline", recs[4].Body().Str())
	assert.Equal(t, plog.SeverityNumberError, recs[4].SeverityNumber())
	assert.Equal(t, map[string]int64{inputFile: 5}, r.counter(t, metricLinesReceived))
	assert.Equal(t, map[string]int64{inputFile: 1}, r.counter(t, metricParseErrors))
	assert.Equal(t, map[string]int64{inputFile: 1}, r.counter(t, metricLinesTruncated))
}

// storageHost offers extensions to a receiver as the collector does.
type storageHost struct {
	exts map[component.ID]component.Component
}

func (r *zaplogReceiver) httpAddr() string { return r.httpLn.Addr().String() }

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// startFileStorage starts contrib's file_storage extension on dir.
func startFileStorage(t *testing.T, id component.ID, dir string) extension.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext
}

// TestRestartResumes stops the receiver and its file_storage extension in
// the middle of a stream, keeps writing, starts both again with start_at
// end, and checks every line arrived exactly once across the two runs.
func TestRestartResumes(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	storageID := component.MustNewIDWithName("file_storage", "zaplog")
	cfg := fileConfig(dir)
	cfg.StorageID = &storageID
	out := newRotatingFile(t, filepath.Join(dir, "app.log"))
	logger := zapTo(out)

	const total = 1500
	seq := 0
	write := func(n int) {
		for range n {
			logger.Info("tick", zap.Int("seq", seq))
			seq++
		}
	}

	ext := startFileStorage(t, storageID, stateDir)
	first := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, first, storageHost{map[component.ID]component.Component{storageID: ext}})
	write(500)
	require.Eventually(t, func() bool { return first.LogRecordCount() >= 200 }, 10*time.Second, 5*time.Millisecond)
	write(300) // some of these are read before the stop, some not
	r.stop(t)
	require.NoError(t, ext.Shutdown(context.Background()))

	write(400) // written while the collector is down
	out.rotate(t)
	write(total - seq)

	cfg.StartAt = "end" // the stored offsets must win over start_at
	ext = startFileStorage(t, storageID, stateDir)
	second := new(consumertest.LogsSink)
	r = startReceiver(t, cfg, second, storageHost{map[component.ID]component.Component{storageID: ext}})
	require.Eventually(t, func() bool { return first.LogRecordCount()+second.LogRecordCount() >= total }, 20*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	r.stop(t)
	require.NoError(t, ext.Shutdown(context.Background()))

	seqs := append(seqOf(t, records(t, first)), seqOf(t, records(t, second))...)
	assertExactlyOnce(t, seqs, total)
	assert.Positive(t, second.LogRecordCount(), "the second run read nothing")
}

func TestMissingStorageExtension(t *testing.T) {
	cfg := fileConfig(t.TempDir())
	id := component.MustNewID("file_storage")
	cfg.StorageID = &id
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.ErrorContains(t, rcv.Start(context.Background(), componenttest.NewNopHost()), `storage extension "file_storage" not found`)
	require.NoError(t, rcv.Shutdown(context.Background()))
	require.NoError(t, rcv.Shutdown(context.Background()), "a second Shutdown is harmless")
}

// TestTCP sends records over two connections, including a truncated line
// and a last line without newline, and checks every record and counter.
func TestTCP(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.TCP = &TCPConfig{Endpoint: "127.0.0.1:0"}
	cfg.MaxLogSize = 128
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	addr := r.impl.tcp.Addr().String()

	const perConn = 200
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if !assert.NoError(t, err) {
				return
			}
			defer conn.Close()
			logger := zapTo(zapcore.AddSync(conn))
			for i := range perConn {
				logger.Info("via tcp", zap.Int("seq", c*perConn+i))
			}
		}()
	}
	wg.Wait()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(conn, `{"level":"info","msg":"`+strings.Repeat("y", 300)+"\"}\n"+`{"level":"info","msg":"last","svc":1}`)
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 2*perConn+2 }, 10*time.Second, 10*time.Millisecond)
	r.stop(t)

	recs := records(t, sink)
	var seqRecs []plog.LogRecord
	var others []string
	for _, lr := range recs {
		if _, ok := lr.Attributes().Get("seq"); ok {
			assert.Equal(t, "via tcp", lr.Body().Str())
			seqRecs = append(seqRecs, lr)
			continue
		}
		others = append(others, lr.Body().Str())
	}
	assertExactlyOnce(t, seqOf(t, seqRecs), 2*perConn)
	assert.Equal(t, []string{(`{"level":"info","msg":"` + strings.Repeat("y", 300))[:128] + TruncationMarker, "last"}, others)
	assert.Equal(t, map[string]int64{inputTCP: 2*perConn + 2}, r.counter(t, metricLinesReceived))
	assert.Equal(t, map[string]int64{inputTCP: 1}, r.counter(t, metricLinesTruncated))
}

func gzipped(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestHTTP posts NDJSON bodies and bad requests and checks the status,
// the message and what reached the pipeline for each.
func TestHTTP(t *testing.T) {
	body := `{"level":"info","ts":1795292399.5,"msg":"one","service.name":"cart"}` + "\n" +
		"not json at all\n" +
		`{"level":"error","msg":"three"}`
	for _, tc := range []struct {
		name        string
		method      string
		contentType string
		encoding    string
		body        []byte
		consumerErr error
		maxBody     int64
		wantStatus  int
		wantBody    string // substring
		wantRecords int
	}{
		{"ndjson", http.MethodPost, "application/x-ndjson", "", []byte(body), nil, 0, http.StatusOK, `{"records":3,"parse_errors":1,"truncated":0}`, 3},
		{"no content type", http.MethodPost, "", "", []byte(body), nil, 0, http.StatusOK, `"records":3`, 3},
		{"gzip", http.MethodPost, "application/json; charset=utf-8", "gzip", gzipped(t, body), nil, 0, http.StatusOK, `"records":3`, 3},
		{"wrong method", http.MethodGet, "", "", nil, nil, 0, http.StatusMethodNotAllowed, "method GET not allowed", 0},
		{"wrong content type", http.MethodPost, "image/png", "", []byte(body), nil, 0, http.StatusUnsupportedMediaType, `unsupported Content-Type "image/png"`, 0},
		{"wrong encoding", http.MethodPost, "", "br", []byte(body), nil, 0, http.StatusUnsupportedMediaType, `unsupported Content-Encoding "br"`, 0},
		{"bad gzip", http.MethodPost, "", "gzip", []byte("not gzip"), nil, 0, http.StatusBadRequest, "bad gzip body", 0},
		{"empty body", http.MethodPost, "", "", []byte("\n\n"), nil, 0, http.StatusBadRequest, "no records", 0},
		{"pipeline busy", http.MethodPost, "", "", []byte(body), errors.New("memory limit"), 0, http.StatusServiceUnavailable, "retry", 0},
		{"pipeline rejects", http.MethodPost, "", "", []byte(body), consumererror.NewPermanent(errors.New("bad data")), 0, http.StatusBadRequest, "rejected", 0},
		{"body too large", http.MethodPost, "", "", []byte(strings.Repeat("{}\n", 400)), nil, 1024, http.StatusRequestEntityTooLarge, "too large", 0},
		{"gzip too large", http.MethodPost, "", "gzip", gzipped(t, strings.Repeat("\n", 4096)), nil, 1024, http.StatusRequestEntityTooLarge, "too large", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.HTTP = &HTTPConfig{Endpoint: "127.0.0.1:0"}
			sink := new(consumertest.LogsSink)
			var next consumer.Logs = sink
			if tc.consumerErr != nil {
				next = consumertest.NewErr(tc.consumerErr)
			}
			r := startReceiverWith(t, cfg, next, nil)
			defer r.stop(t)
			if tc.maxBody > 0 {
				r.impl.maxBody = tc.maxBody
			}
			url := "http://" + r.impl.httpAddr() + "/v1/zaplog"
			req, err := http.NewRequest(tc.method, url, bytes.NewReader(tc.body))
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tc.wantStatus, resp.StatusCode, string(got))
			assert.Contains(t, string(got), tc.wantBody)
			assert.Equal(t, tc.wantRecords, sink.LogRecordCount())
			if tc.wantRecords == 0 {
				return
			}
			ld := sink.AllLogs()[0]
			require.Equal(t, 2, ld.ResourceLogs().Len(), "one resource per service")
			svc, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get(AttrServiceName)
			assert.Equal(t, "cart", svc.Str())
			assert.Equal(t, 0, ld.ResourceLogs().At(1).Resource().Attributes().Len())
			recs := records(t, sink)
			assert.Equal(t, "one", recs[0].Body().Str())
			assert.Equal(t, int64(1795292399500000000), int64(recs[0].Timestamp()))
			assert.Equal(t, "not json at all", recs[1].Body().Str())
			assert.Equal(t, "three", recs[2].Body().Str())
			assert.Equal(t, map[string]int64{inputHTTP: 3}, r.counter(t, metricLinesReceived))
			assert.Equal(t, map[string]int64{inputHTTP: 1}, r.counter(t, metricParseErrors))
		})
	}
}

// TestFileConsole reads zap's development console output from a file:
// stack trace lines join their record, including the last record, which
// waits for force_flush_period since more stack lines could still come.
func TestFileConsole(t *testing.T) {
	dir := t.TempDir()
	cfg := zap.NewDevelopmentConfig()
	cfg.OutputPaths = []string{filepath.Join(dir, "dev.log")}
	logger, err := cfg.Build()
	require.NoError(t, err)
	logger.Info("first", zap.Int("seq", 0))
	logger.Warn("careful", zap.Int("seq", 1)) // development: stack from warn
	logger.Named("jobs").Error("failed", zap.Int("seq", 2))
	require.NoError(t, logger.Sync())

	sink := new(consumertest.LogsSink)
	r := startReceiver(t, fileConfig(dir), sink, nil)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 3 }, 10*time.Second, 20*time.Millisecond)
	r.stop(t)

	recs := records(t, sink)
	require.Len(t, recs, 3)
	assert.Equal(t, []int64{0, 1, 2}, seqOf(t, recs))
	for i, want := range []struct {
		body  string
		sev   plog.SeverityNumber
		stack bool
	}{{"first", plog.SeverityNumberInfo, false}, {"careful", plog.SeverityNumberWarn, true}, {"failed", plog.SeverityNumberError, true}} {
		lr := recs[i]
		assert.Equal(t, want.body, lr.Body().Str())
		assert.Equal(t, want.sev, lr.SeverityNumber())
		_, perr := lr.Attributes().Get(AttrParseError)
		assert.False(t, perr)
		stack, ok := lr.Attributes().Get(AttrExceptionStacktrace)
		assert.Equal(t, want.stack, ok)
		if ok {
			assert.True(t, strings.HasPrefix(stack.Str(), "github.com/vigil-otel/vigil/receiver/zaplogreceiver.TestFileConsole"), stack.Str())
		}
	}
	name, _ := recs[2].Attributes().Get(AttrLoggerName)
	assert.Equal(t, "jobs", name.Str())
}

// TestLifecycle creates the receiver from its factory and shuts it down
// without starting it, and checks the factory's identity.
func TestLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())
	assert.ErrorContains(t, f.CreateDefaultConfig().(*Config).Validate(), "no input")
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.HTTP = &HTTPConfig{Endpoint: "127.0.0.1:0"}
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Shutdown(context.Background()))
}

// TestFileCopyTruncate rotates the way logrotate's copytruncate does: the
// file is copied away and truncated in place, then written again.
func TestFileCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer f.Close()
	logger := zapTo(zapcore.AddSync(f))
	cfg := fileConfig(dir)
	cfg.Include = []string{path} // the copy is not read again
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)

	for i := range 100 {
		logger.Info("before", zap.Int("seq", i))
	}
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 100 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, f.Truncate(0)) // O_APPEND: the next write lands at 0
	for i := 100; i < 130; i++ {
		logger.Info("after", zap.Int("seq", i))
	}
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 130 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	r.stop(t)
	assertExactlyOnce(t, seqOf(t, records(t, sink)), 130)
}

// TestTCPFlushesQuietConnection checks that records without an end — a
// console record that could still get stack lines and a last line without
// newline — arrive after force_flush_period while the connection stays open.
func TestTCPFlushesQuietConnection(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.TCP = &TCPConfig{Endpoint: "127.0.0.1:0"}
	cfg.ForceFlushPeriod = 50 * time.Millisecond
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)

	conn, err := net.Dial("tcp", r.impl.tcp.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "2026-11-21T20:12:39.123Z\tERROR\tmain.go:10\tboom\nmain.main\n\t/src/main.go:10\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 1 }, 5*time.Second, 10*time.Millisecond)
	_, err = io.WriteString(conn, `{"level":"info","msg":"no newline yet"}`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 5*time.Second, 10*time.Millisecond)

	recs := records(t, sink)
	assert.Equal(t, "boom", recs[0].Body().Str())
	stack, _ := recs[0].Attributes().Get(AttrExceptionStacktrace)
	assert.Equal(t, "main.main\n\t/src/main.go:10", stack.Str())
	assert.Equal(t, "no newline yet", recs[1].Body().Str())
	assert.Equal(t, map[string]int64{inputTCP: 2}, r.counter(t, metricLinesReceived))
}

// TestResourceAttributes reads a file with records of two services (one
// named by the receiver's service_name, one by the records' service.name
// field) and posts a body over HTTP: every resource carries the resource
// option's attributes that have a value, and no other.
func TestResourceAttributes(t *testing.T) {
	dir := t.TempDir()
	cfg := fileConfig(dir)
	cfg.Resource = map[string]string{
		"service.namespace":           "shop",
		"deployment.environment.name": "staging",
		"service.version":             "", // ${env:X:-} with X unset
	}
	cfg.HTTP = &HTTPConfig{Endpoint: "127.0.0.1:0"}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.log"), []byte(
		`{"level":"info","msg":"a","seq":0}`+"\n"+
			`{"level":"info","msg":"b","seq":1,"service.name":"cart"}`+"\n"), 0o600))
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, cfg, sink, nil)
	defer r.stop(t)
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= 2 }, 10*time.Second, 10*time.Millisecond)
	resp, err := http.Post("http://"+r.impl.httpAddr(), "application/x-ndjson", strings.NewReader(`{"level":"info","msg":"c","seq":2}`+"\n"))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got := map[string]map[string]any{}
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			lrs := rl.ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				got[lrs.At(k).Body().Str()] = rl.Resource().Attributes().AsRaw()
			}
		}
	}
	want := func(service string) map[string]any {
		return map[string]any{"service.name": service, "service.namespace": "shop", "deployment.environment.name": "staging"}
	}
	assert.Equal(t, map[string]map[string]any{"a": want("shop"), "b": want("cart"), "c": want("shop")}, got)
}
