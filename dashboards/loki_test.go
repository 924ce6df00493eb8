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

	"github.com/vigil-otel/vigil/internal/testutil/lokitest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// pushLines writes lines the way the loki exporter does: the stream labels
// the dashboards select on, trace_id as structured metadata.
func pushLines(t *testing.T, base string, now time.Time) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	line := func(at time.Time, text string) []any {
		return []any{strconv.FormatInt(at.UnixNano(), 10), text, map[string]string{"trace_id": fixtureTraceID}}
	}
	body, err := json.Marshal(map[string][]stream{"streams": {
		{Stream: map[string]string{"service_name": "checkout", "level": "error", "deployment_environment": "test"},
			Values: [][]any{line(now.Add(-2*time.Minute), "payment declined: card expired")}},
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
// Loki, over lines shaped like the loki exporter's, twice: with every
// variable on "All" and with a service, level and search chosen; each must
// be accepted and find the lines it should.
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
		}{{"all", lokiValue}, {"chosen", chosen}} {
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
				if r.Status != "success" || len(r.Data.Result) == 0 {
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
