package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestFullConfigPagesWithEveryBackendDown starts the shipped full.yaml with
// every storage backend unreachable (ClickHouse, Loki, Prometheus remote
// write and Sentry on loopback ports nobody listens on), burns the
// checkout SLO and checks that the page reaches PagerDuty (the strict
// fake), while the health check answers 200 and names the exporters that
// cannot deliver.
func TestFullConfigPagesWithEveryBackendDown(t *testing.T) {
	fake := fakepagerduty.New(t)
	down := func() string { return "127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(t)) }
	dir := t.TempDir()
	env := pagingtest.PagerDutyEnv(fake)
	for k, v := range map[string]string{
		"CLICKHOUSE_ENDPOINT":         "tcp://" + down(),
		"LOKI_ENDPOINT":               "http://" + down(),
		"PROMETHEUS_REMOTE_WRITE_URL": "http://" + down() + "/api/v1/write",
		"SENTRY_DSN":                  "http://0123456789abcdef0123456789abcdef@" + down() + "/1",
		"VIGIL_ZAPLOG_INCLUDE":        filepath.Join(dir, "*.log"),
		"VIGIL_PPROF_ENDPOINT":        down(),
	} {
		env[k] = v
	}
	inst := vigiltest.Start(t, vigiltest.Options{
		Args: []string{
			"--config", filepath.Join(vigiltest.RepoRoot(), "collector", "config", "full.yaml"),
			"--set=connectors::slo::evaluation_interval=1s",
		},
		Env: env,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	bad := 0
	deadline := time.Now().Add(90 * time.Second)
	for len(pagingtest.Pages(fake.Triggers())) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no page within 90s of the burst's start with every backend down; %d bad spans sent", bad)
		}
		spans.Send(ctx, t, 5, true)
		bad += 5
		time.Sleep(100 * time.Millisecond)
	}
	page := pagingtest.Pages(fake.Triggers())[0]
	t.Logf("paged after %d failing spans with every backend down: %s", bad, page.Payload.Summary)

	// The exporters that cannot deliver say so on the health check, which
	// keeps answering 200: a storage outage is no reason to restart.
	degraded := []string{"exporter:clickhouse", "exporter:loki"}
	err := vigiltest.Eventually(ctx, func() error {
		code, body, err := health(inst)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("health answered %d: %s", code, body)
		}
		for _, id := range degraded {
			if !strings.Contains(body, id) || !strings.Contains(body, "StatusRecoverableError") {
				return fmt.Errorf("health does not report %s as degraded: %s", id, body)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if inst.Exited() {
		t.Fatalf("the process exited:\n%s", tail(inst.Log(), 40))
	}
}

// health fetches the health check's verbose answer.
func health(inst *vigiltest.Instance) (int, string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/?verbose", inst.Ports.Health))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var pretty any
	if json.Unmarshal(b, &pretty) == nil {
		if p, err := json.Marshal(pretty); err == nil {
			b = p
		}
	}
	return resp.StatusCode, string(b), nil
}
