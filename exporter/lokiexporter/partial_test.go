package lokiexporter

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// Loki's answers to pushes it took only part of, as Loki 3.7 writes them
// (checked against the real Loki: see TestLokiPartialRejection).
const (
	tooFarBehind1of2 = "entry with timestamp 2026-12-07 17:34:12.056215684 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2026-12-07T17:34:12Z, oldest acceptable timestamp is: 2026-12-07T18:34:12Z',\n" +
		"user 'fake', total ignored: 1 out of 2 for stream: {svc=\"a\"}\n"
	tooOld1 = "entry for stream '{svc=\"b\"}' has timestamp too old: 2026-11-23T19:34:12Z, oldest acceptable timestamp is: 2026-11-30T19:34:12Z\n"
	tooOld3 = "2 errors like: entry for stream '{svc=\"c\"}' has timestamp too old: 2026-11-23T19:34:12Z, oldest acceptable timestamp is: 2026-11-30T19:34:12Z; " +
		"1 errors like: entry for stream '{svc=\"c\"}' has timestamp too old: 2026-11-23T19:34:14Z, oldest acceptable timestamp is: 2026-11-30T19:34:12Z\n"
	tooOldAndTooLong = "1 errors like: entry for stream '{svc=\"c\"}' has timestamp too old: 2026-11-23T19:34:12Z, oldest acceptable timestamp is: 2026-11-30T19:34:12Z; " +
		"1 errors like: Max entry size '256000' bytes exceeded for stream '{svc=\"c\"}' while adding an entry with length '300000' bytes\n"
	badLabelsAndTooOld = "1 errors like: Error parsing labels '{svc=' with error: 1:6: parse error: unexpected end of input; " +
		"1 errors like: entry for stream '{svc=\"c\"}' has timestamp too old: 2026-11-23T19:34:12Z, oldest acceptable timestamp is: 2026-11-30T19:34:12Z\n"
)

// TestPartialRejection: when Loki answers that it ignored some entries of a
// push and says how many, only those are counted as rejected (by Loki's
// reason), the push is not an error (Loki stored the rest, and
// exporterhelper must not count it all as failed), and one warning says
// so. When Loki gives no count for every problem, or ignored them all, the
// whole batch counts as rejected, as before.
func TestPartialRejection(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		entries int
		want    map[string]int64 // otelcol_loki_log_records_rejected by reason
		partial bool
	}{
		{"ingester: 1 of 2 too far behind", tooFarBehind1of2, 2, map[string]int64{"too_far_behind": 1}, true},
		{"distributor: 1 too old", tooOld1, 2, map[string]int64{"greater_than_max_sample_age": 1}, true},
		{"distributor: 3 too old, grouped", tooOld3, 4, map[string]int64{"greater_than_max_sample_age": 3}, true},
		{"distributor: two reasons", tooOldAndTooLong, 3, map[string]int64{"greater_than_max_sample_age": 1, "line_too_long": 1}, true},
		// The whole batch, under the one reason rejectReason picks.
		{"a stream's labels: no count", badLabelsAndTooOld, 3, map[string]int64{"greater_than_max_sample_age": 3}, false},
		{"every entry ignored", tooOld3, 3, map[string]int64{"greater_than_max_sample_age": 3}, false},
		{"no count at all", "something odd", 3, map[string]int64{"bad_request": 3}, false},
		{"a body past the bound", tooOld1 + strings.Repeat("x", maxRejectionBody), 2, map[string]int64{"greater_than_max_sample_age": 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := vigiltest.NewServer(t, &fakeLoki{t: t, responses: []func(http.ResponseWriter){status(http.StatusBadRequest, tt.body)}})
			core, logs := observer.New(zapcore.DebugLevel)
			exp, tel := startExporterWithLogger(t, srv.URL, nil, zap.New(core), nil)
			var recs []record
			for i := range tt.entries {
				recs = append(recs, record{body: "line", ts: t0.Add(time.Duration(i))})
			}
			err := exp.ConsumeLogs(context.Background(), newLogs(t, recs...))
			if tt.partial && err != nil {
				t.Fatalf("ConsumeLogs() = %v, want nil: Loki stored the rest", err)
			}
			if !tt.partial && !consumererror.IsPermanent(err) {
				t.Fatalf("ConsumeLogs() = %v, want a permanent error", err)
			}
			if got := rejectedByReason(t, tel); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %v, want %v", metricRecordsRejected, got, tt.want)
			}
			var warned bool
			for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
				if e.Message == "Loki ignored part of a push; the rest is stored" {
					warned = true
					var n int64
					for _, v := range tt.want {
						n += v
					}
					if got := e.ContextMap()["ignored"]; got != n {
						t.Errorf("warning's ignored = %v, want %d", got, n)
					}
				}
			}
			if warned != tt.partial {
				t.Errorf("partial-push warning logged: %v, want %v (%v)", warned, tt.partial, logs.All())
			}
		})
	}
}

// rejectedByReason reads otelcol_loki_log_records_rejected, by reason.
func rejectedByReason(t *testing.T, tel *componenttest.Telemetry) map[string]int64 {
	t.Helper()
	m, err := tel.GetMetric(metricRecordsRejected)
	if err != nil {
		return map[string]int64{}
	}
	out := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value(attrReason)
		out[r.AsString()] = dp.Value
	}
	return out
}
