package alerts

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFingerprint(t *testing.T) {
	// The golden value pins the algorithm: connectors compute fingerprints
	// themselves and PagerDuty incidents are keyed by them, so a change
	// here must be deliberate.
	labels := map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "checkout", "severity": "page", "slo": "checkout-availability", "source": "slo"}
	const golden = "cea8e49af0d375a8" // computed independently with Python's hashlib
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"golden", labels, golden},
		{"empty labels are ignored", map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "checkout", "severity": "page", "slo": "checkout-availability", "source": "slo", "team": ""}, golden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Fingerprint(tt.labels))
		})
	}
	distinct := []map[string]string{
		{"a": "bc"}, {"ab": "c"}, {"a": "b"}, {"a": "b", "c": "d"}, {"a": "b\xffc"}, {},
	}
	seen := map[string]int{}
	for i, l := range distinct {
		fp := Fingerprint(l)
		if j, dup := seen[fp]; dup {
			t.Errorf("labels %v and %v share fingerprint %s", distinct[j], l, fp)
		}
		seen[fp] = i
	}
}
