package zaplogreceiver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// testTime has every digit down to the nanosecond set, so any precision a
// parser drops shows.
var testTime = time.Date(2026, 11, 21, 20, 12, 39, 123456789, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                         { return c.t }
func (c fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// buildZap builds a logger from a zap.Config exactly as zap.NewProduction
// and zap.NewDevelopment do (Config.Build), writing to a file; read returns
// what it wrote.
func buildZap(t *testing.T, cfg zap.Config, opts ...zap.Option) (*zap.Logger, func() []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "zap.log")
	cfg.OutputPaths = []string{path}
	cfg.ErrorOutputPaths = []string{"stderr"}
	logger, err := cfg.Build(append([]zap.Option{zap.WithClock(fixedClock{testTime})}, opts...)...)
	require.NoError(t, err)
	return logger, func() []byte {
		_ = logger.Sync()
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		return data
	}
}

// parseAll splits data into records the way every input does and parses them.
func parseAll(t *testing.T, p *Parser, data []byte) ([]plog.LogRecord, []Result) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	sc.Split(splitRecords(p.format, true))
	var recs []plog.LogRecord
	var results []Result
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		lr := plog.NewLogRecord()
		results = append(results, p.Parse(sc.Bytes(), lr))
		recs = append(recs, lr)
	}
	require.NoError(t, sc.Err())
	return recs, results
}

func mustParser(t testing.TB, mutate func(*ParserConfig)) *Parser {
	t.Helper()
	cfg := createDefaultConfig().(*Config).ParserConfig
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := NewParser(cfg)
	require.NoError(t, err)
	return p
}

// line returns the line number of its caller, for caller assertions.
func line() int64 {
	_, _, l, _ := runtime.Caller(1)
	return int64(l)
}

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// TestProductionJSON checks every field of records written by zap's
// production config (NewProduction): fields of every type, With, Named,
// errors with stack traces and trace context from an OpenTelemetry span.
func TestProductionJSON(t *testing.T) {
	logger, read := buildZap(t, zap.NewProductionConfig())
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTraceID, SpanID: testSpanID, TraceFlags: trace.FlagsSampled})

	api := logger.Named("api").With(zap.String("request_id", "r-1"))
	infoLine := line() + 1
	api.Info("hello \"world\"",
		zap.Int("count", 42),
		zap.Int64("neg", -7),
		zap.Uint64("big", math.MaxUint64),
		zap.Float64("ratio", 0.25),
		zap.Float32("f32", 1.5),
		zap.Bool("ok", true),
		zap.Duration("took", 1500*time.Millisecond),
		zap.Time("at", time.Unix(1700000000, 500000000)),
		zap.Strings("tags", []string{"a", "b"}),
		zap.Ints("ids", []int{1, 2}),
		zap.Any("meta", map[string]any{"k": "v", "n": 1, "nested": map[string]any{"x": true}, "list": []any{1, "two", 3.5}}),
		zap.Binary("raw", []byte{1, 2, 3}),
		zap.String("text", "tab\tnewline\nquote\"back\\slash ü€😀"),
		zap.Any("nothing", nil),
		zap.Stringer("trace_id", sc.TraceID()),
		zap.Stringer("span_id", sc.SpanID()),
		zap.String("trace_flags", sc.TraceFlags().String()),
		zap.Namespace("ns"),
		zap.Int("inner", 1),
	)
	errLine := line() + 1
	logger.Error("failed", zap.Error(verboseError{}))
	objLine := line() + 1
	logger.Warn("more types",
		zap.Object("user", userObject{name: "ada", age: 36}),
		zap.Reflect("point", struct {
			X int     `json:"x"`
			Y float64 `json:"y"`
		}{1, 2.5}),
		zap.Complex128("c", complex(1, 2)),
		zap.Errors("errs", []error{errors.New("a"), errors.New("b")}),
		zap.NamedError("cause", errors.New("disk full")),
		zap.ByteString("bs", []byte("bytes")),
		zap.Bools("flags", []bool{true, false}),
		zap.Float64s("fs", []float64{0.5, 2}),
		zap.Uint8("u8", 255),
	)

	p := mustParser(t, nil)
	recs, results := parseAll(t, p, read())
	require.Len(t, recs, 3)
	for i, res := range results {
		require.NoError(t, res.Err, "record %d", i)
		assert.Empty(t, res.ServiceName)
	}

	info := recs[0]
	assert.Equal(t, "hello \"world\"", info.Body().Str())
	assert.Equal(t, plog.SeverityNumberInfo, info.SeverityNumber())
	assert.Equal(t, "info", info.SeverityText())
	assertTimeWithin(t, info.Timestamp(), testTime, 250*time.Nanosecond)
	assert.Equal(t, pcommon.TraceID(testTraceID), info.TraceID())
	assert.Equal(t, pcommon.SpanID(testSpanID), info.SpanID())
	assert.Equal(t, plog.LogRecordFlags(1), info.Flags())
	assert.Equal(t, map[string]any{
		AttrLoggerName:   "api",
		AttrCodeFilepath: "zaplogreceiver/parser_test.go",
		AttrCodeLineno:   infoLine,
		"request_id":     "r-1",
		"count":          int64(42),
		"neg":            int64(-7),
		"big":            float64(math.MaxUint64),
		"ratio":          0.25,
		"f32":            1.5,
		"ok":             true,
		"took":           1.5,
		"at":             1700000000.5,
		"tags":           []any{"a", "b"},
		"ids":            []any{int64(1), int64(2)},
		"meta":           map[string]any{"k": "v", "n": int64(1), "nested": map[string]any{"x": true}, "list": []any{int64(1), "two", 3.5}},
		"raw":            "AQID",
		"text":           "tab\tnewline\nquote\"back\\slash ü€😀",
		"nothing":        nil,
		"ns":             map[string]any{"inner": int64(1)},
	}, info.Attributes().AsRaw())

	failed := recs[1]
	assert.Equal(t, "failed", failed.Body().Str())
	assert.Equal(t, plog.SeverityNumberError, failed.SeverityNumber())
	assert.Equal(t, "error", failed.SeverityText())
	assert.True(t, failed.TraceID().IsEmpty())
	attrs := failed.Attributes().AsRaw()
	stack, _ := attrs[AttrExceptionStacktrace].(string)
	assert.True(t, strings.HasPrefix(stack, "github.com/vigil-otel/vigil/receiver/zaplogreceiver.TestProductionJSON\n\t"), stack)
	delete(attrs, AttrExceptionStacktrace)
	assert.Equal(t, map[string]any{
		AttrCodeFilepath: "zaplogreceiver/parser_test.go",
		AttrCodeLineno:   errLine,
		"error":          "boom",
		"errorVerbose":   "boom\nmain.cause\n\t/src/cause.go:7",
	}, attrs)

	more := recs[2]
	assert.Equal(t, "more types", more.Body().Str())
	assert.Equal(t, plog.SeverityNumberWarn, more.SeverityNumber())
	assert.Equal(t, map[string]any{
		AttrCodeFilepath: "zaplogreceiver/parser_test.go",
		AttrCodeLineno:   objLine,
		"user":           map[string]any{"name": "ada", "age": int64(36)},
		"point":          map[string]any{"x": int64(1), "y": 2.5},
		"c":              "1+2i",
		"errs":           []any{map[string]any{"error": "a"}, map[string]any{"error": "b"}},
		"cause":          "disk full",
		"bs":             "bytes",
		"flags":          []any{true, false},
		"fs":             []any{0.5, int64(2)},
		"u8":             int64(255),
	}, more.Attributes().AsRaw())
}

// verboseError formats with a stack under %+v, as github.com/pkg/errors
// errors do; zap then adds an errorVerbose field.
type verboseError struct{}

func (verboseError) Error() string { return "boom" }

func (e verboseError) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		_, _ = io.WriteString(s, "boom\nmain.cause\n\t/src/cause.go:7")
		return
	}
	_, _ = io.WriteString(s, e.Error())
}

type userObject struct {
	name string
	age  int
}

func (u userObject) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("name", u.name)
	enc.AddInt("age", u.age)
	return nil
}

func assertTimeWithin(t *testing.T, got pcommon.Timestamp, want time.Time, tolerance time.Duration) {
	t.Helper()
	d := got.AsTime().Sub(want)
	assert.True(t, d >= -tolerance && d <= tolerance, "timestamp %s is %s from %s", got.AsTime().Format(time.RFC3339Nano), d, want.Format(time.RFC3339Nano))
}

// TestProductionSampling checks that zap's production sampler's output
// (first 100 per second, then every 100th) arrives record for record.
func TestProductionSampling(t *testing.T) {
	logger, read := buildZap(t, zap.NewProductionConfig())
	for i := range 250 {
		logger.Info("repeated", zap.Int("i", i))
	}
	recs, results := parseAll(t, mustParser(t, nil), read())
	require.Len(t, recs, 101)
	want := make([]int64, 0, 101)
	for i := range 100 {
		want = append(want, int64(i))
	}
	want = append(want, 199)
	for i, lr := range recs {
		require.NoError(t, results[i].Err)
		assert.Equal(t, "repeated", lr.Body().Str())
		assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
		assertTimeWithin(t, lr.Timestamp(), testTime, 250*time.Nanosecond)
		attrs := lr.Attributes().AsRaw()
		assert.Equal(t, want[i], attrs["i"])
		assert.Equal(t, "zaplogreceiver/parser_test.go", attrs[AttrCodeFilepath])
		assert.Len(t, attrs, 3, "i, code.filepath, code.lineno")
	}
}

// TestDevelopment checks zap's development config, both with its console
// encoder (the default: tab-separated, stack trace on the following lines)
// and with the JSON encoder (one-letter keys, capital levels, ISO8601).
func TestDevelopment(t *testing.T) {
	for _, encoding := range []string{"console", "json"} {
		t.Run(encoding, func(t *testing.T) {
			cfg := zap.NewDevelopmentConfig()
			cfg.Encoding = encoding
			logger, read := buildZap(t, cfg)
			named := logger.Named("worker")
			debugLine := line() + 1
			named.Debug("starting up", zap.Int("n", 3), zap.String("trace_id", testTraceID.String()))
			warnLine := line() + 1
			logger.Warn("disk\tlow")
			dpanicLine := line() + 1
			require.Panics(t, func() { logger.DPanic("bad state", zap.Bool("fatal", false)) })

			recs, results := parseAll(t, mustParser(t, nil), read())
			require.Len(t, recs, 3)
			for i, res := range results {
				require.NoError(t, res.Err, "record %d: %s", i, recs[i].Body().AsString())
				// ISO8601 keeps milliseconds.
				assert.Equal(t, testTime.Truncate(time.Millisecond), recs[i].Timestamp().AsTime(), "record %d", i)
			}

			assert.Equal(t, "starting up", recs[0].Body().Str())
			assert.Equal(t, plog.SeverityNumberDebug, recs[0].SeverityNumber())
			assert.Equal(t, "debug", recs[0].SeverityText())
			assert.Equal(t, pcommon.TraceID(testTraceID), recs[0].TraceID())
			assert.Equal(t, map[string]any{
				AttrLoggerName:   "worker",
				AttrCodeFilepath: "zaplogreceiver/parser_test.go",
				AttrCodeLineno:   debugLine,
				"n":              int64(3),
			}, recs[0].Attributes().AsRaw())

			for i, want := range []struct {
				body     string
				severity plog.SeverityNumber
				text     string
				line     int64
				attrs    map[string]any
			}{
				{"disk\tlow", plog.SeverityNumberWarn, "warn", warnLine, map[string]any{}},
				{"bad state", plog.SeverityNumberFatal, "dpanic", dpanicLine, map[string]any{"fatal": false}},
			} {
				lr := recs[i+1]
				assert.Equal(t, want.body, lr.Body().Str())
				assert.Equal(t, want.severity, lr.SeverityNumber())
				assert.Equal(t, want.text, lr.SeverityText())
				attrs := lr.Attributes().AsRaw()
				stack, _ := attrs[AttrExceptionStacktrace].(string)
				assert.True(t, strings.HasPrefix(stack, "github.com/vigil-otel/vigil/receiver/zaplogreceiver.TestDevelopment"), "stack: %q", stack)
				assert.Contains(t, stack, "\n\t")
				assert.False(t, strings.HasSuffix(stack, "\n"))
				delete(attrs, AttrExceptionStacktrace)
				want.attrs[AttrCodeFilepath] = "zaplogreceiver/parser_test.go"
				want.attrs[AttrCodeLineno] = want.line
				assert.Equal(t, want.attrs, attrs)
			}
		})
	}
}

// TestCustomKeys checks a zapcore.EncoderConfig with every key renamed,
// the function key set, colour levels and full callers, for both encoders.
func TestCustomKeys(t *testing.T) {
	ec := zapcore.EncoderConfig{
		TimeKey: "time", LevelKey: "severity", NameKey: "component", CallerKey: "src",
		FunctionKey: "func", MessageKey: "message", StacktraceKey: "trace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.CapitalColorLevelEncoder,
		EncodeTime:     zapcore.RFC3339NanoTimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.FullCallerEncoder,
	}
	parserCfg := func(c *ParserConfig) {
		c.Keys.TimeKey, c.Keys.LevelKey, c.Keys.NameKey = "time", "severity", "component"
		c.Keys.CallerKey, c.Keys.FunctionKey = "src", "func"
		c.Keys.MessageKey, c.Keys.StacktraceKey = "message", "trace"
		c.Keys.TraceIDKey, c.Keys.SpanIDKey = "tid", "sid"
		c.Keys.ServiceNameKey = "svc"
	}
	_, file, _, _ := runtime.Caller(0)
	for _, enc := range []struct {
		name string
		new  func(zapcore.EncoderConfig) zapcore.Encoder
	}{{"json", zapcore.NewJSONEncoder}, {"console", zapcore.NewConsoleEncoder}} {
		t.Run(enc.name, func(t *testing.T) {
			var buf bytes.Buffer
			core := zapcore.NewCore(enc.new(ec), zapcore.AddSync(&buf), zapcore.DebugLevel)
			logger := zap.New(core, zap.WithClock(fixedClock{testTime}), zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)).Named("db")
			errLine := line() + 1
			logger.Error("query failed", zap.Duration("took", time.Second), zap.String("tid", testTraceID.String()),
				zap.String("sid", testSpanID.String()), zap.String("svc", "billing"), zap.String("trace_id", "kept"))

			recs, results := parseAll(t, mustParser(t, parserCfg), buf.Bytes())
			require.Len(t, recs, 1)
			require.NoError(t, results[0].Err, recs[0].Body().AsString())
			assert.Equal(t, "billing", results[0].ServiceName)
			lr := recs[0]
			assert.Equal(t, "query failed", lr.Body().Str())
			assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
			assert.Equal(t, "error", lr.SeverityText())
			assert.Equal(t, testTime, lr.Timestamp().AsTime())
			assert.Equal(t, pcommon.TraceID(testTraceID), lr.TraceID())
			assert.Equal(t, pcommon.SpanID(testSpanID), lr.SpanID())
			attrs := lr.Attributes().AsRaw()
			stack, _ := attrs[AttrExceptionStacktrace].(string)
			assert.True(t, strings.HasPrefix(stack, "github.com/vigil-otel/vigil/receiver/zaplogreceiver.TestCustomKeys"), stack)
			delete(attrs, AttrExceptionStacktrace)
			assert.Equal(t, map[string]any{
				AttrLoggerName:   "db",
				AttrCodeFilepath: file,
				AttrCodeLineno:   errLine,
				AttrCodeFunction: "github.com/vigil-otel/vigil/receiver/zaplogreceiver.TestCustomKeys.func2",
				"took":           "1s",
				"trace_id":       "kept",
			}, attrs)
		})
	}
}

// exactNanos is the test's own oracle for "no precision lost below zap's":
// the exact value of the decimal zap printed, in nanoseconds, truncated.
func exactNanos(t *testing.T, printed string, unit int64) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(printed)
	require.True(t, ok, printed)
	r.Mul(r, new(big.Rat).SetInt64(unit))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	return q.Int64()
}

// TestTimeEncoders covers every time encoder zap offers, plus integer epoch
// seconds and milliseconds, each detected and configured, in both encoders.
func TestTimeEncoders(t *testing.T) {
	intSeconds := func(t time.Time, enc zapcore.PrimitiveArrayEncoder) { enc.AppendInt64(t.Unix()) }
	intMillis := func(t time.Time, enc zapcore.PrimitiveArrayEncoder) { enc.AppendInt64(t.UnixMilli()) }
	for _, tc := range []struct {
		name    string
		encoder zapcore.TimeEncoder
		config  string
		unit    int64 // ns per unit for numbers; 0 for strings
		// precision is zap's own: a float64 of epoch seconds or
		// milliseconds near 2026 resolves about 240ns.
		precision time.Duration
	}{
		{"epoch", zapcore.EpochTimeEncoder, TimeEncodingEpoch, 1e9, 250},
		{"millis", zapcore.EpochMillisTimeEncoder, TimeEncodingMillis, 1e6, 250},
		{"nanos", zapcore.EpochNanosTimeEncoder, TimeEncodingNanos, 1, 0},
		{"int_seconds", intSeconds, TimeEncodingEpoch, 1e9, time.Second},
		{"int_millis", intMillis, TimeEncodingMillis, 1e6, time.Millisecond},
		{"iso8601", zapcore.ISO8601TimeEncoder, TimeEncodingISO8601, 0, time.Millisecond},
		{"rfc3339", zapcore.RFC3339TimeEncoder, TimeEncodingRFC3339, 0, time.Second},
		{"rfc3339nano", zapcore.RFC3339NanoTimeEncoder, TimeEncodingRFC3339Nano, 0, 1},
	} {
		for _, encName := range []string{"json", "console"} {
			for _, configured := range []string{TimeEncodingAuto, tc.config} {
				t.Run(tc.name+"/"+encName+"/"+configured, func(t *testing.T) {
					ec := zap.NewProductionEncoderConfig()
					ec.EncodeTime = tc.encoder
					var enc zapcore.Encoder
					if encName == "json" {
						enc = zapcore.NewJSONEncoder(ec)
					} else {
						enc = zapcore.NewConsoleEncoder(ec)
					}
					var buf bytes.Buffer
					when := testTime.In(time.FixedZone("CET", 3600))
					zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zapcore.DebugLevel), zap.WithClock(fixedClock{when})).Info("tick")

					recs, results := parseAll(t, mustParser(t, func(c *ParserConfig) { c.TimeEncoding = configured }), buf.Bytes())
					require.Len(t, recs, 1)
					require.NoError(t, results[0].Err)
					assert.Equal(t, "tick", recs[0].Body().Str())
					assert.Equal(t, plog.SeverityNumberInfo, recs[0].SeverityNumber())
					assert.Equal(t, "info", recs[0].SeverityText())
					assert.Empty(t, recs[0].Attributes().AsRaw(), "no caller, no fields")
					got := int64(recs[0].Timestamp())
					if tc.unit == 0 {
						assert.Equal(t, testTime.Truncate(tc.precision).UnixNano(), got)
						return
					}
					printed := consoleOrJSONTime(t, encName, buf.Bytes())
					assert.Equal(t, exactNanos(t, printed, tc.unit), got, "zap printed %s", printed)
					assertTimeWithin(t, recs[0].Timestamp(), testTime.Truncate(tc.precision), tc.precision)
				})
			}
		}
	}
}

// consoleOrJSONTime returns the time exactly as zap printed it.
func consoleOrJSONTime(t *testing.T, enc string, line []byte) string {
	t.Helper()
	if enc == "console" {
		return string(line[:bytes.IndexByte(line, '\t')])
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	return string(m["ts"].(json.Number))
}
