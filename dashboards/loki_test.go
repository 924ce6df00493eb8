package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/labelname"
	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// Fixture log fields: a zap error line whose message says nothing of the
// cause, which is in its error field and stack trace, as the zaplog
// receiver and the loki exporter deliver them (attributes error and
// exception.stacktrace, structured metadata error and exception_stacktrace).
const (
	fixtureErrorField = "upstream: context deadline exceeded"
	fixtureStacktrace = "main.(*svc).handle\n\t/src/checkout/main.go:101\nmain.chargeCard\n\t/src/checkout/pay.go:42"
)

// pushLines writes lines the way the loki exporter does: the stream labels
// the dashboards select on, trace_id and the log attributes as structured
// metadata.
func pushLines(t *testing.T, base string, now time.Time) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	line := func(at time.Time, text string, metadata ...string) []any {
		md := map[string]string{"trace_id": fixtureTraceID}
		for i := 0; i+1 < len(metadata); i += 2 {
			md[metadata[i]] = metadata[i+1]
		}
		return []any{strconv.FormatInt(at.UnixNano(), 10), text, md}
	}
	body, err := json.Marshal(map[string][]stream{"streams": {
		{Stream: map[string]string{"service_name": "checkout", "level": "error", "deployment_environment": "test"},
			Values: [][]any{
				line(now.Add(-2*time.Minute), "payment declined: card expired"),
				line(now.Add(-90*time.Second), "request failed",
					labelname.Sanitize("error"), fixtureErrorField,
					labelname.Sanitize(zaplogreceiver.AttrExceptionStacktrace), fixtureStacktrace),
			}},
		{Stream: map[string]string{"service_name": "checkout", "level": "info", "deployment_environment": "test"},
			Values: [][]any{line(now.Add(-time.Minute), "request completed")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/loki/api/v1/push", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %s %s", resp.Status, msg)
	}
}

type lokiResult struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

func lokiGet(base, path string, params url.Values) (int, []byte, error) {
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// TestLogQLRunsOnLoki runs every LogQL query of the dashboards on the real
// Loki, over lines shaped like the loki exporter's: with every variable on
// "All", and with a service and level chosen and a search for words only
// the message, only the error field or only the second line of the stack
// trace holds; each must be accepted and find lines. A search for words
// no line holds must find none, so the search really filters.
func TestLogQLRunsOnLoki(t *testing.T) {
	base := lokitest.Start(t, false).URL
	now := time.Now()
	pushLines(t, base, now)

	chosen := func(name, format string) string {
		switch name {
		case "service":
			return "checkout"
		case "level":
			return "error"
		case "search":
			return "declined"
		}
		return lokiValue(name, format)
	}
	searching := func(search string) func(string, string) string {
		return func(name, format string) string {
			if name == "search" {
				return search
			}
			return chosen(name, format)
		}
	}
	queries := queriesOfType(t, LokiType)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range queries {
		if m := lokiVariableQuery.FindStringSubmatch(q.text); m != nil {
			// The ingester makes lines queryable at once, but label
			// values can lag a moment.
			err := vigiltest.Eventually(ctx, func() error {
				code, body, err := lokiGet(base, "/loki/api/v1/label/"+m[1]+"/values", url.Values{
					"start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
					"end":   {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)},
				})
				if err != nil || code != http.StatusOK {
					return fmt.Errorf("%d %s %v", code, body, err)
				}
				if !strings.Contains(string(body), `"error"`) && !strings.Contains(string(body), `"checkout"`) {
					return fmt.Errorf("values %s", body)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
			}
			continue
		}
		for _, variant := range []struct {
			name  string
			value func(string, string) string
			none  bool // the query must find nothing
		}{
			{"all", lokiValue, false},
			{"chosen", chosen, false},
			{"search in the error field", searching("DEADLINE"), false},
			{"search in the stack trace", searching("chargeCard"), false},
			{"search matching nothing", searching("no line holds this"), true},
		} {
			expr := substitute(q.text, variant.value)
			err := vigiltest.Eventually(ctx, func() error {
				code, body, err := lokiGet(base, "/loki/api/v1/query_range", url.Values{
					"query": {expr},
					"start": {strconv.FormatInt(now.Add(-time.Hour).UnixNano(), 10)},
					"end":   {strconv.FormatInt(now.Add(time.Minute).UnixNano(), 10)},
					"step":  {"60"},
				})
				if err != nil {
					return err
				}
				if code != http.StatusOK {
					return fmt.Errorf("HTTP %d: %s", code, body)
				}
				var r lokiResult
				if err := json.Unmarshal(body, &r); err != nil {
					return err
				}
				if r.Status != "success" || (len(r.Data.Result) == 0) != variant.none {
					return fmt.Errorf("status %q, %d results", r.Status, len(r.Data.Result))
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s (%s variables): %v\n  query: %s", q.where, variant.name, err, expr)
			}
		}
	}
}
