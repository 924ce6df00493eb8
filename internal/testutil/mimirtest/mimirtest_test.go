package mimirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const group = `name: vigil-test
interval: 1s
rules:
- record: vigil_test:value:sum
  expr: sum(vigil_test_value)
- alert: VigilTestHigh
  expr: vigil_test:value:sum > 40
  labels: {severity: page}
`

func TestRulerAndRemoteWrite(t *testing.T) {
	s := Start(t)

	// The ruler API stores the group and lists it back.
	if err := s.SetRuleGroup("vigil", []byte(group)); err != nil {
		t.Fatal(err)
	}
	stored, err := s.RuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vigil:", "name: vigil-test", "record: vigil_test:value:sum", "alert: VigilTestHigh"} {
		if !strings.Contains(string(stored), want) {
			t.Errorf("rule groups lack %q:\n%s", want, stored)
		}
	}

	// Remote write is accepted and queryable.
	now := time.Now()
	if err := push(s.PushURL(), "vigil_test_value", 42, now); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() error {
		v, err := instant(s, "vigil_test_value")
		if err == nil && v != "42" {
			err = fmt.Errorf("vigil_test_value = %s, want 42", v)
		}
		return err
	})

	// The ruler loads the group and evaluates it over the pushed sample:
	// its recording rule's result is written back and queryable.
	waitFor(t, 60*time.Second, func() error {
		v, err := instant(s, "vigil_test:value:sum")
		if err == nil && v != "42" {
			err = fmt.Errorf("vigil_test:value:sum = %s, want 42", v)
		}
		return err
	})

	if err := s.DeleteNamespace("vigil"); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.RuleGroups(); err == nil && strings.Contains(string(stored), "vigil-test") {
		t.Errorf("rule group still stored after DeleteNamespace:\n%s", stored)
	}
}

// push sends one sample by Prometheus remote write 1.0.
func push(pushURL, name string, value float64, ts time.Time) error {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "mimirtest"}},
		Samples: []prompb.Sample{{Value: value, Timestamp: ts.UnixMilli()}},
	}}}
	raw, err := req.Marshal()
	if err != nil {
		return err
	}
	httpReq, err := http.NewRequest(http.MethodPost, pushURL, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("push: %d %s", resp.StatusCode, body.String())
	}
	return nil
}

// instant returns the value of the single series query selects now.
func instant(s *Server, query string) (string, error) {
	body, err := s.Get("/api/v1/query", url.Values{"query": {query}})
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("%v in %s", err, body)
	}
	if len(out.Data.Result) != 1 {
		return "", fmt.Errorf("%s: %d series, want 1: %s", query, len(out.Data.Result), body)
	}
	v, _ := out.Data.Result[0].Value[1].(string)
	return v, nil
}

func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
