package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// typicalLogs is an ordinary request: 2,000 log records with a dozen
// attributes each, one of them a small map.
func typicalLogs(b *testing.B) (protoBody, jsonBody []byte) {
	logs := plog.NewLogs()
	sl := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := range 2000 {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(fmt.Sprintf("request %d served in %dms", i, i%300))
		for k := range 11 {
			lr.Attributes().PutStr(fmt.Sprintf("attr.%d", k), "some value of a usual length")
		}
		m := lr.Attributes().PutEmptyMap("http")
		m.PutInt("status", 200)
		m.PutEmptySlice("hosts").FromRaw([]any{"a", "b"})
	}
	var err error
	if protoBody, err = (&plog.ProtoMarshaler{}).MarshalLogs(logs); err != nil {
		b.Fatal(err)
	}
	if jsonBody, err = (&plog.JSONMarshaler{}).MarshalLogs(logs); err != nil {
		b.Fatal(err)
	}
	return protoBody, jsonBody
}

// BenchmarkScan prints the scans' throughput (MB/s) on an ordinary request
// and on the million-level attack (refused at level 65, so it costs what
// its first bytes cost).
func BenchmarkScan(b *testing.B) {
	protoBody, jsonBody := typicalLogs(b)
	s := NewScanner(defaultMaxDepth)
	for _, tc := range []struct {
		name string
		body []byte
		scan func([]byte) *Refusal
	}{
		{"proto/typical", protoBody, func(body []byte) *Refusal { return s.Proto(body, LogsRequest) }},
		{"json/typical", jsonBody, s.JSON},
		{"proto/attack-1M-kvlist", deepotlp.Proto(deepotlp.LogBody, deepotlp.KVList, 1_000_000), func(body []byte) *Refusal { return s.Proto(body, LogsRequest) }},
		{"json/attack-300k-kvlist", deepotlp.JSON(deepotlp.LogBody, deepotlp.KVList, 300_000), s.JSON},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.scan(tc.body)
			}
		})
	}
}

// BenchmarkDecodeAmplification prints how many bytes pdata allocates per
// byte of protobuf for requests the guard lets through, worst shapes
// first: the bound on memory per request is this factor times the body
// limit (20 MiB over HTTP, 4 MiB over gRPC by default).
func BenchmarkDecodeAmplification(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty values in one array", wideArray(1_000_000)},
		{"empty log records", emptyRecords(1_000_000)},
		{"64-deep chains, repeated", repeated(deepotlp.Proto(deepotlp.LogBody, deepotlp.KVList, defaultMaxDepth), 2000)},
		{"typical", func() []byte { p, _ := typicalLogs(b); return p }()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if err := NewScanner(defaultMaxDepth).Proto(tc.body, LogsRequest); err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n := 0
			for b.Loop() {
				if _, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(tc.body); err != nil {
					b.Fatal(err)
				}
				n++
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n)/float64(len(tc.body)), "alloc-B/wire-B")
			b.ReportMetric(float64(len(tc.body)), "wire-B")
		})
	}
}

// wideArray is a log body holding one array of n empty values: two bytes
// of protobuf each.
func wideArray(n int) []byte {
	array := bytes.Repeat([]byte{0x0a, 0x00}, n) // ArrayValue.values: empty AnyValue
	anyValue := append([]byte{0x2a}, binary.AppendUvarint(nil, uint64(len(array)))...)
	anyValue = append(anyValue, array...)
	lr := append([]byte{0x2a}, binary.AppendUvarint(nil, uint64(len(anyValue)))...)
	lr = append(lr, anyValue...)
	sl := append([]byte{0x12}, binary.AppendUvarint(nil, uint64(len(lr)))...)
	sl = append(sl, lr...)
	rl := append([]byte{0x12}, binary.AppendUvarint(nil, uint64(len(sl)))...)
	rl = append(rl, sl...)
	req := append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(rl)))...)
	return append(req, rl...)
}

// repeated concatenates n copies of an export request: the same request
// with n resource entries.
func repeated(req []byte, n int) []byte { return bytes.Repeat(req, n) }

// emptyRecords is one scope holding n empty log records: two bytes each.
func emptyRecords(n int) []byte {
	sl := bytes.Repeat([]byte{0x12, 0x00}, n) // ScopeLogs.log_records: empty LogRecord
	rl := append([]byte{0x12}, binary.AppendUvarint(nil, uint64(len(sl)))...)
	rl = append(rl, sl...)
	req := append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(rl)))...)
	return append(req, rl...)
}
