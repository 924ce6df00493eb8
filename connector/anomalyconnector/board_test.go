package anomalyconnector

import (
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/statusboard"
)

// TestPublishesFlags: the console sees the series the detector flags,
// with the value and the band, while it is anomalous, and nothing after
// the connector shuts down.
func TestPublishesFlags(t *testing.T) {
	set := defaultSettings()
	h := newHarness(t, func(c *Config) {
		c.ResendInterval = 24 * time.Hour
		c.Detector.WarmupPoints = 30
	}, set, nil)
	d := newCallsDriver(h)
	d.normal(200)
	if flagged, watched := statusboard.Default.Anomalies(); len(flagged) != 0 || watched == 0 {
		t.Fatalf("healthy traffic: %d flagged of %d watched; want none flagged of some", len(flagged), watched)
	}
	for range 5 {
		d.step(600, 6) // traffic drops to a tenth
	}
	flagged, _ := statusboard.Default.Anomalies()
	var rate *statusboard.Anomaly
	for i := range flagged {
		if flagged[i].Metric == MetricRequestRate {
			rate = &flagged[i]
		}
	}
	if rate == nil {
		t.Fatalf("request_rate not flagged: %+v", flagged)
	}
	if rate.Service != "checkout" || rate.Operation != "POST /pay" || rate.Since.IsZero() {
		t.Errorf("flag = %+v", *rate)
	}
	if !(rate.Value < rate.Lower) || rate.Reason == "" {
		t.Errorf("value %v, band [%v, %v], reason %q: want a value below the band", rate.Value, rate.Lower, rate.Upper, rate.Reason)
	}
	h.shutdown()
	if flagged, watched := statusboard.Default.Anomalies(); len(flagged) != 0 || watched != 0 {
		t.Errorf("after shutdown: %d flagged of %d watched, want nothing", len(flagged), watched)
	}
}
