package alerts

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInhibitRule(t *testing.T) {
	regionRule := InhibitRule{
		SourceMatchers: mustParse(t, `alertname="RegionDown"`),
		TargetMatchers: mustParse(t, `alertname!="RegionDown"`),
		Equal:          []string{"region"},
	}
	overlapping := InhibitRule{
		SourceMatchers: mustParse(t, `severity=~"page|ticket"`),
		TargetMatchers: mustParse(t, `severity=~"page|ticket"`),
	}
	regionDownEU := alertOf("RegionDown", "region", "eu")
	tests := []struct {
		name           string
		rule           InhibitRule
		source, target Alert
		want           bool
	}{
		{"page inhibits the ticket of its slo and service", DefaultInhibitRule(), pageCheckout, ticketCheckout, true},
		{"not the ticket of another service", DefaultInhibitRule(), pageCheckout, ticketSearch, false},
		{"a ticket does not inhibit a page", DefaultInhibitRule(), ticketCheckout, pageCheckout, false},
		{"a resolved page inhibits nothing", DefaultInhibitRule(), resolved(pageCheckout), ticketCheckout, false},
		{"equal labels must match", regionRule, regionDownEU, euAlert, true},
		{"different equal label", regionRule, regionDownEU, usAlert, false},
		{"labels missing on both sides are equal", DefaultInhibitRule(),
			alertOf("P", "severity", "page", "vigil_severity", "page"), alertOf("T", "severity", "ticket", "vigil_severity", "ticket"), true},
		{"an alert never inhibits itself", overlapping, pageCheckout, pageCheckout, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.rule.Inhibits(tt.source, tt.target))
		})
	}
}
