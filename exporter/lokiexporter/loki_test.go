package lokiexporter

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestLokiStoresWhatItIsGiven sends, through the default sending queue and
// its batcher, one request holding records Loki or the batcher used to
// lose with the whole request: a 5 MiB body (the batcher dropped it and
// every record after it, answering success), a record with many large
// attributes, one with a hundred thousand small ones, labels with invalid UTF-8 and with U+FFFD (Loki refused the
// whole push, "invalid UTF-8 rune"), and a request whose resource alone is
// larger than a batch. A real Loki must store every record, the large
// ones cut with the marker, and the records cut before queueing are
// counted.
func TestLokiStoresWhatItIsGiven(t *testing.T) {
	loki := lokitest.Start(t, false)
	exp, tel := startExporter(t, loki.URL, nil, func(c *Config) {
		c.QueueConfig = configoptional.Some(defaultQueueConfig())
		c.Labels.Attributes = []string{"svc"}
	})
	now := time.Now().Truncate(time.Millisecond)
	wide := map[string]any{"svc": "plain"}
	for i := range 12 {
		wide[fmt.Sprintf("big%02d", i)] = strings.Repeat("w", 400_000)
	}
	small := map[string]any{"svc": "plain"}
	for i := range 110_000 {
		small[fmt.Sprintf("request.body.items.%06d.name", i)] = "abcdefghij"
	}
	first := newLogs(t,
		record{attrs: map[string]any{"svc": "plain"}, body: "first", ts: now},
		record{attrs: map[string]any{"svc": "plain"}, body: "big " + strings.Repeat("b", 5<<20), ts: now.Add(time.Millisecond)},
		record{attrs: map[string]any{"svc": "plain"}, body: "after the big one", ts: now.Add(2 * time.Millisecond)},
		record{attrs: map[string]any{"svc": "bad\xffbytes"}, body: "invalid UTF-8 label", ts: now.Add(3 * time.Millisecond)},
		record{attrs: map[string]any{"svc": "x\uFFFDy"}, body: "U+FFFD label", ts: now.Add(4 * time.Millisecond)},
		record{attrs: wide, body: "wide", ts: now.Add(5 * time.Millisecond)},
		record{attrs: small, body: "many small attributes", ts: now.Add(7 * time.Millisecond)},
		record{attrs: map[string]any{"svc": "plain"}, body: "last", ts: now.Add(8 * time.Millisecond)},
	)
	second := newLogs(t, record{
		resource: map[string]any{"host.name": strings.Repeat("r", 5<<20)},
		attrs:    map[string]any{"svc": "plain"}, body: "big resource", ts: now.Add(6 * time.Millisecond),
	})
	if err := exp.ConsumeLogs(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if err := exp.ConsumeLogs(context.Background(), second); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		"first": "plain", "big": "plain", "after the big one": "plain", "invalid UTF-8 label": "bad?bytes",
		"U+FFFD label": "x?y", "wide": "plain", "big resource": "plain", "many small attributes": "plain", "last": "plain",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got map[string]string
	err := vigiltest.Eventually(ctx, func() error {
		entries, err := loki.QueryRange("", `{svc=~".+"}`, now.Add(-time.Minute), now.Add(time.Minute))
		if err != nil {
			return err
		}
		got = map[string]string{}
		for _, e := range entries {
			line := e.Line
			if strings.HasPrefix(line, "big bbb") {
				if len(line) > lokiMaxLineSize || !strings.HasSuffix(line, defaultTruncationMarker) {
					t.Errorf("the 5 MiB line came back %d bytes long, ending %q", len(line), line[len(line)-20:])
				}
				line = "big"
			}
			got[line] = e.Stream["svc"]
		}
		if len(got) != len(want) {
			return fmt.Errorf("Loki holds %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for line, svc := range want {
		if got[line] != svc {
			t.Errorf("%q stored with svc=%q, want %q", line, got[line], svc)
		}
	}
	m, err := tel.GetMetric("otelcol_loki_log_records_cut")
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 4 {
		t.Errorf("otelcol_loki_log_records_cut = %d, want 4 (the big body, the wide record, the many small attributes, the big resource's)", v)
	}
}

// TestLokiPartialRejection pushes to a real Loki entries it takes only
// part of: one too far behind the newest of its stream (refused by Loki's
// ingester), one older than reject_old_samples_max_age (refused by its
// distributor), each beside one it stores. Only the refused entries are
// counted as rejected, the pushes are no errors, and Loki holds the
// others; a push of only too-old entries is refused whole, as before.
func TestLokiPartialRejection(t *testing.T) {
	loki := lokitest.Start(t, false)
	exp, tel := startExporter(t, loki.URL, nil, func(c *Config) { c.Labels.Attributes = []string{"svc"} })
	now := time.Now().Truncate(time.Millisecond)
	weeksAgo := now.Add(-14 * 24 * time.Hour)
	push := func(recs ...record) error {
		t.Helper()
		return exp.ConsumeLogs(context.Background(), newLogs(t, recs...))
	}
	svc := func(s string) map[string]any { return map[string]any{"svc": s} }

	if err := push(record{attrs: svc("a"), body: "fresh", ts: now}); err != nil {
		t.Fatal(err)
	}
	if err := push(
		record{attrs: svc("a"), body: "behind", ts: now.Add(-2 * time.Hour)},
		record{attrs: svc("a"), body: "fresh after behind", ts: now.Add(time.Millisecond)},
	); err != nil {
		t.Fatalf("a push Loki took but for one entry too far behind: %v", err)
	}
	if err := push(
		record{attrs: svc("b"), body: "too old", ts: weeksAgo},
		record{attrs: svc("b"), body: "fresh after too old", ts: now},
	); err != nil {
		t.Fatalf("a push Loki took but for one entry too old: %v", err)
	}
	if got, want := rejectedByReason(t, tel), map[string]int64{"too_far_behind": 1, "greater_than_max_sample_age": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", metricRecordsRejected, got, want)
	}
	err := push(
		record{attrs: svc("c"), body: "too old 1", ts: weeksAgo},
		record{attrs: svc("c"), body: "too old 2", ts: weeksAgo.Add(time.Second)},
	)
	if !consumererror.IsPermanent(err) {
		t.Fatalf("a push of only too-old entries: %v, want a permanent error", err)
	}
	if got, want := rejectedByReason(t, tel), map[string]int64{"too_far_behind": 1, "greater_than_max_sample_age": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", metricRecordsRejected, got, want)
	}

	want := []string{"fresh", "fresh after behind", "fresh after too old"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = vigiltest.Eventually(ctx, func() error {
		entries, err := loki.QueryRange("", `{svc=~".+"}`, weeksAgo.Add(-time.Hour), now.Add(time.Minute))
		if err != nil {
			return err
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Line)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("Loki holds %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
