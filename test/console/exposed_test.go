package console

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/internal/testutil/fakewebhook"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestConsoleBehindBearerToken: with the collector's bearertokenauth
// extension on the console, a request without the token is refused, and
// amtool with the token (its --http.config.file) gets through.
func TestConsoleBehindBearerToken(t *testing.T) {
	const token = "console-test-token-0123456789"
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{
		"--set=extensions::bearertokenauth::token=" + token,
		"--set=service::extensions=[health_check,file_storage,otlp_guard,bearertokenauth]",
		"--set=connectors::alertrouter::console::auth::authenticator=bearertokenauth",
	}})
	for _, path := range []string{"/api/v2/status", "/"} {
		resp, err := http.Get(inst.ConsoleURL() + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
	req, err := http.NewRequest(http.MethodGet, inst.ConsoleURL()+"/api/v2/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cfg := filepath.Join(t.TempDir(), "http.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("authorization:\n  credentials: "+token+"\n"), 0o600))
	out := amtool(t, inst, "--http.config.file="+cfg, "silence", "add", "--author=oncall", "--comment=behind auth", "--duration=1h", "service_name=checkout")
	assert.Regexp(t, `^[0-9a-f-]{36}\s*$`, out)
}

// TestWebhookThroughBinary: the embedded default with a webhook receiver
// pipeline beside PagerDuty's sends the page of a burning SLO to the
// strict webhook receiver as Alertmanager's payload.
func TestWebhookThroughBinary(t *testing.T) {
	hook := fakewebhook.New(t)
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{
		"--set=connectors::slo::evaluation_interval=1s",
		"--set=exporters::webhook::endpoint=" + hook.URL + "/hooks/chat",
		"--set=exporters::webhook::external_url=" + inst0URL,
		"--set=exporters::webhook::sending_queue::storage=file_storage",
		"--set=connectors::alertrouter::receivers::default=[logs/pagerduty,logs/webhook]",
		"--set=service::pipelines::logs/webhook::receivers=[alertrouter]",
		"--set=service::pipelines::logs/webhook::exporters=[webhook]",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	var got []fakewebhook.Payload
	for len(got) == 0 {
		require.NoError(t, ctx.Err(), "no webhook payload within 2 minutes of the burn")
		spans.Send(ctx, t, 20, true)
		wait, stop := context.WithTimeout(ctx, 500*time.Millisecond)
		got, _ = hook.WaitFor(wait, func(p []fakewebhook.Payload) bool { return len(p) > 0 })
		stop()
	}
	require.NoError(t, hook.Err(), "every payload passes the strict receiver")
	p := got[0]
	assert.Equal(t, "default", *p.Receiver)
	assert.Equal(t, "firing", *p.Status)
	assert.Equal(t, inst0URL, *p.ExternalURL)
	require.Len(t, p.Alerts, 1)
	assert.Equal(t, "checkout", p.Alerts[0].Labels["service_name"])
	assert.NotEmpty(t, p.GroupLabels)
}

// inst0URL is the console address the webhook payload links to.
const inst0URL = "https://vigil.example"
