package sentryexporter

import (
	"bufio"
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// zaplogScope is the instrumentation scope of the records the zaplog
// receiver makes.
const zaplogScope = "github.com/vigil-otel/vigil/receiver/zaplogreceiver"

// zaplogTrial returns the zap JSON lines of testdata/zaplog_trial.jsonl,
// logged by the user trial's service (zap production config, file output),
// as the zaplog receiver turns them into records: recovered panics (nil
// map, nil pointer), two "charge failed for order N" errors with the same
// error and stack, a recovered panic (nil map) of a -trimpath build.
func zaplogTrial(t *testing.T) []plog.Logs {
	t.Helper()
	b, err := os.ReadFile("testdata/zaplog_trial.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	parser, err := zaplogreceiver.NewParser(zaplogreceiver.DefaultParserConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out []plog.Logs
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(zaplogScope)
		res := parser.Parse(sc.Bytes(), sl.LogRecords().AppendEmpty())
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		rl.Resource().Attributes().PutStr("service.name", res.ServiceName)
		out = append(out, ld)
	}
	return out
}

// TestLogGroupingIgnoresVolatileText: error logs of one statement whose
// message carries an ID group into one issue (user trial: "charge failed
// for order 1001" and "... 1002" made two); the event keeps the message.
func TestLogGroupingIgnoresVolatileText(t *testing.T) {
	logs := zaplogTrial(t)
	a := LogsToEvents(logs[2], testSettings())[0].Event
	b := LogsToEvents(logs[3], testSettings())[0].Event
	if a.Exception[0].Type != "charge failed for order 1001" || b.Exception[0].Type != "charge failed for order 1002" {
		t.Errorf("exception types %q, %q: the event should keep the message", a.Exception[0].Type, b.Exception[0].Type)
	}
	if a.Exception[0].Value != "payment declined: insufficient_funds" {
		t.Errorf("exception value %q", a.Exception[0].Value)
	}
	want := []string{"orders", "charge failed for order <int>", "main.handle"}
	if !reflect.DeepEqual(a.Fingerprint, want) || !reflect.DeepEqual(b.Fingerprint, want) {
		t.Errorf("fingerprints %v and %v, want both %v", a.Fingerprint, b.Fingerprint, want)
	}
}

// TestLogErrorKind: a log's kind of error is its exception.type, else its
// error.type, else its message parametrised.
func TestLogErrorKind(t *testing.T) {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, attrs := range []map[string]any{
		{"exception.type": "*main.ErrPaymentDeclined", "error.type": "declined"},
		{"error.type": "declined"},
		{},
		{"exception.type": "*errors.errorString"},
	} {
		lr := records.AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.Body().SetStr("charge failed for order 1001")
		if err := lr.Attributes().FromRaw(attrs); err != nil {
			t.Fatal(err)
		}
		lr.Attributes().PutStr("code.function", "main.charge")
	}
	events := LogsToEvents(ld, testSettings())
	for i, want := range []string{"*main.ErrPaymentDeclined", "declined", "charge failed for order <int>", "*errors.errorString: charge failed for order <int>"} {
		if got := events[i].Event.Fingerprint[1]; got != want {
			t.Errorf("record %d: kind %q, want %q", i, got, want)
		}
	}
}

// TestFingerprintWithoutFrames: without a stack, the place is the span name
// or the message, parametrised.
func TestFingerprintWithoutFrames(t *testing.T) {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, id := range []string{"ord-0-2", "ord-1-2"} {
		lr := records.AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.Body().SetStr("charge failed")
		lr.Attributes().PutStr("error", "charge "+id+": payment declined")
	}
	events := LogsToEvents(ld, testSettings())
	a, b := events[0].Event.Fingerprint, events[1].Event.Fingerprint
	if want := []string{"unknown_service", "charge failed", "charge ord-<int>-<int>: payment declined"}; !reflect.DeepEqual(a, want) || !reflect.DeepEqual(b, want) {
		t.Errorf("fingerprints %v and %v, want both %v", a, b, want)
	}
}

func TestNormalizeMessage(t *testing.T) {
	tests := map[string]string{
		"charge failed for order 1001":                              "charge failed for order <int>",
		"charge ord-0-2: payment declined":                          "charge ord-<int>-<int>: payment declined",
		"user42 not found":                                          "user<int> not found",
		`open "/data/a.txt": no such file`:                          "open <str>: no such file",
		"can't parse 'x y' or `z`":                                  "can't parse <str> or <str>",
		`escaped "a \"b\" c" end`:                                   "escaped <str> end",
		"unterminated \"quote":                                      "unterminated \"quote",
		"request 3f2c1a90-1b2c-4d5e-8f90-0a1b2c3d4e5f failed":       "request <uuid> failed",
		"trace 4bf92f3577b34da6a3ce929d0e0e4736 at 0x1d":            "trace <hex> at <hex>",
		"deadbeef and decade are words":                             "deadbeef and decade are words",
		"took 1.5s (250ms), 10.0.0.1:8080":                          "took <int>.<int>s (<int>ms), <int>.<int>.<int>.<int>:<int>",
		"  café 12 €  ":                                             "café <int> €",
		"":                                                          "",
		"payment declined: insufficient_funds":                      "payment declined: insufficient_funds",
		"GET /orders/{id}":                                          "GET /orders/{id}",
		strings.Repeat("a", maxGroupingText) + "1":                  strings.Repeat("a", maxNameLen),
		"x " + strings.Repeat("9", 3*maxGroupingText) + " trailing": "x <int>",
	}
	for in, want := range tests {
		if got := normalizeMessage(in); got != want {
			t.Errorf("normalizeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
