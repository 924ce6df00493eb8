package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-otel/vigil/internal/testutil/browsertest"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
	"github.com/vigil-otel/vigil/internal/testutil/pagingtest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestStatusPageInChromium loads the status page in headless Chromium
// while the checkout availability SLO burns: the page shows the burning
// SLO and its firing alert; a silence created with the page's form (filled
// and submitted in the browser) shows up, and is expired with its button.
// Screenshots of a laptop's and a phone's view are kept as test artifacts
// (go test -artifacts; scripts/test.sh keeps them under
// _build/test-output/_artifacts), and their paths logged.
func TestStatusPageInChromium(t *testing.T) {
	fake := fakepagerduty.New(t)
	inst := vigiltest.Start(t, vigiltest.Options{
		Args: []string{"--set=connectors::slo::evaluation_interval=1s"},
		Env:  pagingtest.PagerDutyEnv(fake),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Burn until the API lists the page.
	spans := pagingtest.NewSpanSender(t, inst.OTLPGRPCEndpoint())
	require.NoError(t, vigiltest.Eventually(ctx, func() error {
		spans.Send(ctx, t, 20, true)
		return firing(inst, "availability")
	}))
	pagingtest.WaitFor(t, fake, 60*time.Second, "the page", pagingtest.Has("trigger", ""))

	b := browsertest.Start(t, 1280, 900)
	require.NoError(t, b.Navigate(ctx, inst.ConsoleURL()+"/"))
	dom, err := b.DOM()
	require.NoError(t, err)
	burning := regexp.MustCompile(`<div class="card burning" data-slo="checkout/availability">[\s\S]*?page firing`)
	assert.Regexp(t, burning, dom, "the burning SLO, marked as such")
	assert.Contains(t, dom, `data-alert="SLOBurnRate-checkout-availability-page"`, "the firing alert")
	assert.Contains(t, dom, `<polyline points="`, "the budget chart")
	// A budget of a few minutes' data says so, as the page's summary does:
	// the overspent figure is those minutes' error ratio, not a month's.
	seen := regexp.MustCompile(`data-slo="checkout/availability">[\s\S]*?budget left <b class="neg">-[0-9.]+%</b></span>\s*<span class="muted data-seen"[^>]*>over the \d+m of data seen of its 30d window</span>`)
	assert.Regexp(t, seen, dom, "the budget worded with the data seen")

	// "silence…" on the page fills the form with what identifies the
	// problem, not its tier, so the silence would mute the ticket too.
	require.NoError(t, b.Submit(ctx, `document.querySelector('[data-alert="SLOBurnRate-checkout-availability-page"] .links a[href^="/?silence="]').click()`))
	prefilled, err := b.Eval(`document.querySelector('form.silence-form').matchers.value`)
	require.NoError(t, err)
	assert.JSONEq(t, `"service_name=\"checkout\", slo=\"availability\", source=\"slo\""`, string(prefilled))

	// A silence, created with the page's own form in the browser.
	require.NoError(t, b.Submit(ctx, `(() => {
		const f = document.querySelector('form.silence-form');
		f.matchers.value = 'service_name="checkout", slo="latency"';
		f.duration.value = '3h';
		f.created_by.value = 'oncall';
		f.comment.value = 'created from the status page';
		f.requestSubmit();
	})()`))
	dom, err = b.DOM()
	require.NoError(t, err)
	assert.Contains(t, dom, "Silence created")
	row := regexp.MustCompile(`<tr data-silence="([0-9a-f-]{36})"[^>]*>[\s\S]*?slo="latency"[\s\S]*?created from the status page`)
	m := row.FindStringSubmatch(dom)
	require.NotNil(t, m, "the silence is listed on the page:\n%s", dom)
	id := m[1]
	// No latency alert fires: the silence matches none, and says so.
	assert.Regexp(t, regexp.MustCompile(`<tr data-silence="`+id+`"[^>]*>[\s\S]*?<td class="matched"><span class="none"[^>]*>0: none firing</span></td>`), dom)

	shot := filepath.Join(t.ArtifactDir(), "status-page.png")
	require.NoError(t, b.Screenshot(shot))
	t.Logf("status page screenshot (laptop): %s", shot)

	// A phone: the page fits its width.
	require.NoError(t, b.SetViewport(390, 844, true))
	require.NoError(t, b.Navigate(ctx, inst.ConsoleURL()+"/"))
	fits, err := b.Eval(`document.documentElement.scrollWidth <= window.innerWidth`)
	require.NoError(t, err)
	assert.JSONEq(t, "true", string(fits), "no sideways scrolling on a phone")
	phone := filepath.Join(t.ArtifactDir(), "status-page-phone.png")
	require.NoError(t, b.Screenshot(phone))
	t.Logf("status page screenshot (phone): %s", phone)

	// Expire it with its button.
	require.NoError(t, b.Submit(ctx, `document.querySelector('tr[data-silence="`+id+`"] form button').click()`))
	dom, err = b.DOM()
	require.NoError(t, err)
	assert.Contains(t, dom, "Silence expired.")
	assert.Regexp(t, regexp.MustCompile(`<tr data-silence="`+id+`"[^>]*>\s*<td><span class="badge ">expired</span>`), dom)
}

// firing returns nil once the console's API lists the page of the SLO.
func firing(inst *vigiltest.Instance, sloName string) error {
	resp, err := http.Get(inst.ConsoleURL() + "/api/v2/alerts?filter=" + "slo%3D%22" + sloName + "%22")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var alerts []struct{ Labels map[string]string }
	if err := json.Unmarshal(body, &alerts); err != nil {
		return err
	}
	for _, a := range alerts {
		if a.Labels["severity"] == "page" {
			return nil
		}
	}
	return errNotYet(strings.TrimSpace(string(body)))
}

type errNotYet string

func (e errNotYet) Error() string { return "not firing yet: " + string(e) }
