package console

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-otel/vigil/internal/testutil/amtooltest"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// amtool runs amtool at go.mod's Alertmanager version (amtooltest) against the instance's console; a machine
// without it fails with the install command.
func amtool(t *testing.T, inst *vigiltest.Instance, args ...string) string {
	t.Helper()
	path := amtooltest.Path(t)
	args = append([]string{"--alertmanager.url=" + inst.ConsoleURL()}, args...)
	// stdout only: amtool warns on stderr that its version and the
	// server's (Vigil's) differ.
	cmd := exec.Command(path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "amtool %s:\n%s%s", strings.Join(args, " "), out, stderr.String())
	return string(out)
}

// amAlert is what `amtool alert query -o json` prints of an alert.
type amAlert struct {
	Labels map[string]string
	Status struct {
		State      string
		SilencedBy []string
	}
}

func queryAlerts(t *testing.T, inst *vigiltest.Instance, args ...string) []amAlert {
	t.Helper()
	var out []amAlert
	raw := amtool(t, inst, append([]string{"alert", "query", "-o", "json"}, args...)...)
	require.NoError(t, json.Unmarshal([]byte(raw), &out), raw)
	return out
}

// pageOf returns the checkout availability page among alerts, if there.
func pageOf(alerts []amAlert) (amAlert, bool) {
	for _, a := range alerts {
		if a.Labels["slo"] == "availability" && a.Labels["service_name"] == "checkout" && a.Labels["severity"] == "page" {
			return a, true
		}
	}
	return amAlert{}, false
}

// TestAmtool: on-call silences a known problem with amtool before it
// pages. The silence mutes the page at the strict PagerDuty fake, is still
// there and still mutes after a restart, and once expired with amtool
// lets the page through; `amtool alert query` lists the firing SLO alert
// all along (as silenced, then as active).
func TestAmtool(t *testing.T) {
	fake := fakepagerduty.New(t)
	opts := vigiltest.Options{
		Args: []string{"--set=connectors::slo::evaluation_interval=1s", "--set=connectors::slo::checkpoint_interval=1s"},
		Env:  pagingtest.PagerDutyEnv(fake),
	}
	inst := vigiltest.Start(t, opts)

	out := amtool(t, inst, "silence", "add", "--author=oncall", "--comment=payments migration, known errors", "--duration=2h",
		"slo=availability", "service_name=checkout")
	id := strings.TrimSpace(out)
	require.Regexp(t, `^[0-9a-f-]{36}$`, id, "amtool silence add prints the new silence's ID")

	// Burn the checkout availability SLO until the console lists its page.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	deadline := time.Now().Add(90 * time.Second)
	var page amAlert
	for {
		spans.Send(ctx, t, 20, true)
		var ok bool
		if page, ok = pageOf(queryAlerts(t, inst, "--silenced")); ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "no SLO page listed by amtool within 90s of the burn")
		time.Sleep(200 * time.Millisecond)
	}
	assert.Equal(t, "suppressed", page.Status.State)
	assert.Equal(t, []string{id}, page.Status.SilencedBy)
	_, listed := pageOf(queryAlerts(t, inst))
	assert.False(t, listed, "plain amtool alert query lists active alerts only")

	// Past the group wait and several flushes: no page.
	time.Sleep(10 * time.Second)
	require.Empty(t, fake.Triggers(), "the silence mutes the page")

	// Crash and restart: the silence is state, written to the storage
	// extension before amtool got its ID.
	inst.Kill()
	// The same storage, fresh ports: a port the killed process freed may
	// be taken by another process before the restart binds it.
	opts.StorageDir = inst.StorageDir
	inst = vigiltest.Start(t, opts)
	spans = pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	spans.Send(ctx, t, 20, true)
	assert.Contains(t, amtool(t, inst, "silence", "query", "-q"), id, "the silence survives the restart")
	// The router's engine learns of the still-firing, never-notified page
	// when the slo connector re-sends it (alert_resend_interval, 1m).
	require.Eventually(t, func() bool {
		_, ok := pageOf(queryAlerts(t, inst, "--silenced"))
		return ok
	}, 90*time.Second, 500*time.Millisecond, "the page is listed again after the restart")
	time.Sleep(10 * time.Second)
	require.Empty(t, fake.Triggers(), "the silence still mutes the page after the restart")

	// Expire: the page goes out, and amtool lists it as active.
	amtool(t, inst, "silence", "expire", id)
	spans.Send(ctx, t, 20, true)
	pagingtest.WaitFor(t, fake, 90*time.Second, "the page after the silence expired", func(evs []fakepagerduty.Event) bool {
		for _, ev := range evs {
			if ev.EventAction == "trigger" && ev.Payload.CustomDetails["slo"] == "availability" {
				return true
			}
		}
		return false
	})
	page, listed = pageOf(queryAlerts(t, inst))
	require.True(t, listed, "amtool alert query lists the firing page")
	assert.Equal(t, "active", page.Status.State)
	simple := amtool(t, inst, "alert", "query", "slo=availability")
	assert.Contains(t, simple, "SLOBurnRate", "the simple output names the alert")
	assert.Contains(t, amtool(t, inst, "silence", "query", "--expired", "-q"), id)
	for _, r := range fake.Requests() {
		assert.Equal(t, 202, r.Status, "the fake refused a request: %v", r.Errors)
	}
}
