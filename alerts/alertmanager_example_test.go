package alerts

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/amtooltest"
)

const exampleConfig = "alertmanager.example.yml"

// amtool is Alertmanager's own checker; a machine without it fails the test
// rather than skipping it, so CI cannot pass without checking the example.
func amtool(t *testing.T, args ...string) string {
	t.Helper()
	path := amtooltest.Path(t)
	out, err := exec.Command(path, args...).CombinedOutput()
	require.NoError(t, err, "amtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func TestAlertmanagerExampleIsValid(t *testing.T) {
	out := amtool(t, "check-config", exampleConfig)
	assert.Contains(t, out, "SUCCESS")
}

func TestAlertmanagerExampleRoutes(t *testing.T) {
	tests := []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=SLOBurnRate-checkout-availability-page", "severity=page", "vigil_severity=page", "slo=availability", "service_name=checkout"}, "pagerduty"},
		{[]string{"alertname=SLOBurnRate-checkout-availability-ticket", "severity=ticket", "vigil_severity=ticket", "slo=availability", "service_name=checkout"}, "tickets"},
		// The spec's own severity passes through; the tier decides.
		{[]string{"alertname=SLOBurnRate-checkout-availability-page", "severity=critical", "vigil_severity=page", "slo=availability", "service_name=checkout"}, "pagerduty"},
		{[]string{"alertname=SLOBurnRate-checkout-availability-ticket", "severity=page", "vigil_severity=ticket", "slo=availability", "service_name=checkout"}, "tickets"},
		{[]string{"alertname=Watchdog"}, "tickets"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.labels, ","), func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + exampleConfig}, tt.labels...)
			var receivers []string
			for _, line := range strings.Split(amtool(t, args...), "\n") {
				if line != "" && !strings.HasPrefix(line, "Warning:") {
					receivers = append(receivers, strings.TrimSpace(line))
				}
			}
			assert.Equal(t, []string{tt.want}, receivers)
		})
	}
}

// TestAlertmanagerExampleInhibition reads the example's inhibit rule with
// this package's matchers, which share Alertmanager's syntax, and checks it
// does what Vigil's default rule does.
func TestAlertmanagerExampleInhibition(t *testing.T) {
	data, err := os.ReadFile(exampleConfig)
	require.NoError(t, err)
	var am struct {
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
			Equal          []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
		Receivers []struct {
			Name             string           `yaml:"name"`
			PagerDutyConfigs []map[string]any `yaml:"pagerduty_configs"`
		} `yaml:"receivers"`
	}
	require.NoError(t, yaml.Unmarshal(data, &am))
	require.Len(t, am.InhibitRules, 1)
	rule := InhibitRule{
		SourceMatchers: mustParse(t, am.InhibitRules[0].SourceMatchers...),
		TargetMatchers: mustParse(t, am.InhibitRules[0].TargetMatchers...),
		Equal:          am.InhibitRules[0].Equal,
	}
	assert.True(t, rule.Inhibits(pageCheckout, ticketCheckout), "a page inhibits the ticket of its slo and service")
	assert.False(t, rule.Inhibits(pageCheckout, ticketSearch), "not the ticket of another service")
	assert.False(t, rule.Inhibits(ticketCheckout, pageCheckout), "a ticket never inhibits a page")
	// A spec that sets its own severity: only the tier says page or ticket.
	pageCritical := alertOf("Page", "severity", "critical", "vigil_severity", "page", "slo", "availability", "service_name", "checkout")
	ticketCritical := alertOf("Ticket", "severity", "critical", "vigil_severity", "ticket", "slo", "availability", "service_name", "checkout")
	assert.True(t, rule.Inhibits(pageCritical, ticketCritical), "a page inhibits its ticket whatever severity the spec sets")
	assert.False(t, rule.Inhibits(ticketCritical, pageCritical), "a ticket with the spec's severity never inhibits a page")

	found := false
	for _, r := range am.Receivers {
		if r.Name != "pagerduty" {
			continue
		}
		found = true
		require.Len(t, r.PagerDutyConfigs, 1)
		assert.Equal(t, "https://events.pagerduty.com/v2/enqueue", r.PagerDutyConfigs[0]["url"])
		assert.Len(t, r.PagerDutyConfigs[0]["routing_key"], 32, "PagerDuty integration keys are 32 characters")
	}
	assert.True(t, found, "the example has a receiver named pagerduty")
}
