package paging

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestAlertmanagerExporterThroughBinary sends alert events into the binary,
// whose alertmanager exporter posts them to a real Alertmanager running
// alerts/alertmanager.example.yml: the page reaches the PagerDuty fake
// through Alertmanager's own routing (so the labels match the example's
// matchers), and the resolved event ends the alert in Alertmanager at once.
func TestAlertmanagerExporterThroughBinary(t *testing.T) {
	fake := fakepagerduty.New(t)
	dir := t.TempDir()
	amPort := vigiltest.FreePort(t)
	pagingtest.StartServer(t, "alertmanager", amPort, pagingtest.AlertmanagerBin,
		"--config.file="+pagingtest.ExampleAlertmanagerConfig(t, dir, fake.EnqueueURL()),
		"--storage.path="+filepath.Join(dir, "am-data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", amPort),
		"--cluster.listen-address=",
	)
	cfg := vigiltest.WriteFile(t, dir, "vigil.yaml", fmt.Sprintf(`
extensions:
  health_check:
    endpoint: ${env:VIGIL_HEALTH_ENDPOINT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:VIGIL_OTLP_GRPC_ENDPOINT}
exporters:
  alertmanager:
    endpoint: http://127.0.0.1:%d
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [alertmanager]
`, amPort))
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{"--config", cfg}})
	sender := pagingtest.NewAlertSender(t, inst.OTLPGRPCEndpoint())
	sender.Send(t, "am-e2e", "firing")

	// The example's group_wait is 10s.
	pagingtest.WaitFor(t, fake, 45*time.Second, "the page via Alertmanager", pagingtest.Has("trigger", ""))
	ev := fake.Triggers()[0]
	if ev.Payload.Severity != "critical" || ev.Payload.Component != "checkout" || ev.Payload.Group != "availability" || ev.Payload.Class != "slo" {
		t.Errorf("page payload %+v: want critical, component checkout, group availability, class slo", ev.Payload)
	}

	sender.Send(t, "am-e2e", "resolved")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/v2/alerts?active=true&silenced=true&inhibited=true", amPort)
	err := vigiltest.Eventually(ctx, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var active []struct {
			Labels map[string]string `json:"labels"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&active); err != nil {
			return err
		}
		if len(active) != 0 {
			return fmt.Errorf("%d alerts still active: %v", len(active), active)
		}
		return nil
	})
	if err != nil {
		t.Errorf("the resolved event did not end the alert in Alertmanager: %v", err)
	}
}
