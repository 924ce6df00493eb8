package latency

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
	"github.com/vigil-otel/vigil/slo"
	"github.com/vigil-otel/vigil/slo/rules"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	// vigilTarget is the target for the time to page through the
	// binary.
	vigilTarget = 30 * time.Second
	// alertmanagerWait bounds the Prometheus path: with default settings
	// (1m scrapes and rule evaluations, two scrapes needed for increase(),
	// the example's 10s group_wait) a page takes minutes.
	alertmanagerWait = 6 * time.Minute
)

// TestTimeToPage is the latency harness of the issue, and the Alertmanager
// path with real servers. One error burst (every request failing, 50
// spans/s, on the documented example's checkout/availability SLO) goes
// into the binary running its embedded default configuration. Two paths
// watch it:
//
//   - Vigil: slo connector → alertrouter connector → pagerduty exporter → PagerDuty fake A;
//   - Prometheus: Prometheus (default settings) scrapes the binary's
//     vigil_slo_events_total, evaluates the `vigil slo rules` output of the
//     same spec and sends to Alertmanager, configured with
//     alerts/alertmanager.example.yml pointed at PagerDuty fake B.
//
// Both fakes check every request strictly. The harness prints the time from
// the start of the burst to the page at each fake.
func TestTimeToPage(t *testing.T) {
	for _, bin := range []string{pagingtest.PrometheusBin, pagingtest.AlertmanagerBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s: %v (install the Debian packages prometheus and prometheus-alertmanager; the test command does)", bin, err)
		}
	}
	vigilFake := fakepagerduty.New(t)
	amFake := fakepagerduty.New(t)
	inst := vigiltest.Start(t, vigiltest.Options{Env: pagingtest.PagerDutyEnv(vigilFake)})

	dir := t.TempDir()
	// Alertmanager first, so Prometheus's first alert does not wait for
	// its resend delay.
	amPort := vigiltest.FreePort(t)
	amConfig := pagingtest.ExampleAlertmanagerConfig(t, dir, amFake.EnqueueURL())
	pagingtest.StartServer(t, "alertmanager", amPort, pagingtest.AlertmanagerBin,
		"--config.file="+amConfig,
		"--storage.path="+filepath.Join(dir, "am-data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", amPort),
		"--cluster.listen-address=",
	)
	promPort := vigiltest.FreePort(t)
	promConfig := prometheusConfig(t, dir, amPort, inst.Ports.Prometheus)
	pagingtest.StartServer(t, "prometheus", promPort, pagingtest.PrometheusBin,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort),
	)

	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	burstStart := time.Now()
	burst := make(chan struct{})
	go func() {
		defer close(burst)
		spans.Run(ctx, 50, alertmanagerWait+time.Minute, true)
	}()
	defer func() {
		cancel()
		<-burst
	}()

	var (
		wg              sync.WaitGroup
		vigilAt, amAt   time.Duration
		vigilErr, amErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		vigilAt, vigilErr = timeToPage(vigilFake, burstStart, alertmanagerWait)
	}()
	go func() {
		defer wg.Done()
		amAt, amErr = timeToPage(amFake, burstStart, alertmanagerWait)
	}()
	wg.Wait()

	report := fmt.Sprintf("time to page, error burst at 50 spans/s on checkout/availability (99.9%%/30d):\n"+
		"  vigil (slo → alertrouter → pagerduty):                   %s\n"+
		"  prometheus + alertmanager (default settings, example):   %s\n",
		figure(vigilAt, vigilErr), figure(amAt, amErr))
	fmt.Print(report)
	t.Log(report)

	if vigilErr != nil {
		t.Errorf("vigil: %v", vigilErr)
	} else if vigilAt > vigilTarget {
		t.Errorf("vigil paged after %v, target ≤ %v", vigilAt, vigilTarget)
	}
	if amErr != nil {
		t.Errorf("prometheus + alertmanager: %v", amErr)
	}
	for name, fake := range map[string]*fakepagerduty.Server{"vigil": vigilFake, "alertmanager": amFake} {
		for _, r := range fake.Requests() {
			if r.Status != http.StatusAccepted {
				t.Errorf("%s: the PagerDuty fake answered %d: %v", name, r.Status, r.Errors)
			}
		}
	}
	for _, ev := range amFake.Triggers() {
		if ev.Payload.Severity != "critical" || ev.Payload.Component != "checkout" || ev.Payload.Group != "availability" {
			t.Errorf("alertmanager page: severity %q component %q group %q, want critical checkout availability",
				ev.Payload.Severity, ev.Payload.Component, ev.Payload.Group)
		}
	}
}

// timeToPage waits for the first critical trigger at fake and returns how
// long after start it arrived.
func timeToPage(fake *fakepagerduty.Server, start time.Time, wait time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(wait))
	defer cancel()
	var at time.Time
	err := fake.WaitFor(ctx, func(evs []fakepagerduty.Event) bool {
		for _, ev := range evs {
			if ev.EventAction == "trigger" && ev.Payload != nil && ev.Payload.Severity == "critical" {
				at = ev.ReceivedAt
				return true
			}
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("no page within %v: %w", wait, err)
	}
	return at.Sub(start), nil
}

func figure(d time.Duration, err error) string {
	if err != nil {
		return "no page (" + err.Error() + ")"
	}
	return d.Round(100 * time.Millisecond).String()
}

// prometheusConfig loads the rules `vigil slo rules` renders for the
// documented example and scrapes the binary's Prometheus exporter, all
// intervals at Prometheus's defaults.
func prometheusConfig(t *testing.T, dir string, amPort, targetPort int) string {
	t.Helper()
	specs, err := slo.LoadFiles(filepath.Join(vigiltest.RepoRoot(), "slo", "examples", "checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rules.Render(specs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := vigiltest.WriteFile(t, dir, "slo-rules.yml", string(out))
	return vigiltest.WriteFile(t, dir, "prometheus.yml", fmt.Sprintf(`
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:%d']
scrape_configs:
  - job_name: vigil
    static_configs:
      - targets: ['127.0.0.1:%d']
`, strconv.Quote(rulesPath), amPort, targetPort))
}
