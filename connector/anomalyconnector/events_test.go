package anomalyconnector

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/conventions"
)

// A jump out of a calm spell can be flagged inside the band; its alert must
// not claim the point left the band, and says the level it left instead.
func TestFiringEventSaysWhatThePointLeft(t *testing.T) {
	c, err := newCore(defaultSettings(), createDefaultConfig().(*Config))
	if err != nil {
		t.Fatal(err)
	}
	s := &series{id: identity{metric: MetricRequestRate, service: "checkout", operation: "POST /pay"}}
	for _, tt := range []struct {
		name       string
		r          anomaly.Result
		actual     float64
		wantBody   string
		wantRecent bool
	}{
		{"outside the band", anomaly.Result{Score: 0.9, Expected: 100, Lower: 60, Upper: 140, Recent: 98, Reason: anomaly.ReasonAboveBand},
			300, "checkout POST /pay request_rate is anomalous: 300, expected 100 (band 60 to 140), above_band", false},
		{"a jump from a calm spell", anomaly.Result{Score: 0.8, Expected: 100, Lower: 20, Upper: 180, Recent: 41, Reason: anomaly.ReasonAboveRecent},
			120, "checkout POST /pay request_rate is anomalous: 120 after a recent level of 41, expected 100 (band 20 to 180), above_recent", true},
		{"a drop from a calm spell", anomaly.Result{Score: 0.8, Expected: 100, Lower: 20, Upper: 180, Recent: 150, Reason: anomaly.ReasonBelowRecent},
			90, "after a recent level of 150", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := newOutput(time.Unix(1e9, 0), time.Unix(1e9, 0))
			c.event(out, s, conventions.StateFiring, tt.actual, tt.r, false)
			lr := out.records.At(out.records.Len() - 1)
			if body := lr.Body().Str(); !strings.Contains(body, tt.wantBody) {
				t.Errorf("summary %q, want it to contain %q", body, tt.wantBody)
			}
			recent, ok := lr.Attributes().Get(conventions.AttrAnomalyRecent)
			if ok != tt.wantRecent || (ok && recent.Double() != tt.r.Recent) {
				t.Errorf("%s = %v (present %v), want present %v with %v", conventions.AttrAnomalyRecent, recent.AsRaw(), ok, tt.wantRecent, tt.r.Recent)
			}
			if reason, _ := lr.Attributes().Get(AttrAnomalyReason); reason.Str() != string(tt.r.Reason) {
				t.Errorf("%s = %q, want %q", AttrAnomalyReason, reason.Str(), tt.r.Reason)
			}
		})
	}
}
