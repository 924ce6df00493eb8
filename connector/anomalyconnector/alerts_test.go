package anomalyconnector

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

// callsDriver feeds one operation's calls counter, one cumulative point
// per interval, and closes each interval.
type callsDriver struct {
	h               *harness
	service, op     string
	total, errTotal int64
	interval        int
	rng             *rand.Rand
}

func newCallsDriver(h *harness) *callsDriver {
	return &callsDriver{h: h, service: "checkout", op: "POST /pay", rng: rand.New(rand.NewPCG(1, 2))}
}

// step adds calls (of which errs failed) in the next interval and flushes.
func (d *callsDriver) step(calls, errs int64) {
	d.h.flushAt(d.feedNext(calls, errs))
}

// feedNext adds calls (of which errs failed) in the next interval and
// returns the interval's end, where it is to be flushed.
func (d *callsDriver) feedNext(calls, errs int64) time.Time {
	d.interval++
	d.total += calls - errs
	d.errTotal += errs
	at := t0.Add(time.Duration(d.interval) * d.h.cfg.Interval)
	d.h.feed(at.Add(-time.Second), spanMetrics([]callsPoint{
		{service: d.service, op: d.op, start: t0, ts: at.Add(-time.Second), value: d.total},
		{service: d.service, op: d.op, status: "STATUS_CODE_ERROR", start: t0, ts: at.Add(-time.Second), value: d.errTotal},
	}, nil))
	return at
}

// normal is ~100 requests/s with Poisson-like noise and 1% errors.
func (d *callsDriver) normal(n int) {
	for range n {
		calls := 6000 + int64(d.rng.NormFloat64()*80)
		d.step(calls, calls/100)
	}
}

func byState(evs []alertEvent, metric string) (firing, resolved []alertEvent) {
	for _, e := range evs {
		if e.attrs[conventions.AttrAnomalyMetric] != metric {
			continue
		}
		switch e.attrs[conventions.AttrAlertState] {
		case conventions.StateFiring:
			firing = append(firing, e)
		case conventions.StateResolved:
			resolved = append(resolved, e)
		}
	}
	return firing, resolved
}

func TestInjectedAnomalyFiresOnceAndResolves(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.ResendInterval = 24 * time.Hour // count onsets only; re-sends have their own test
		c.Detector.WarmupPoints = 30
	}, defaultSettings(), nil)
	defer h.shutdown()
	d := newCallsDriver(h)
	d.normal(200)
	if evs := events(h.logs); len(evs) != 0 {
		t.Fatalf("healthy traffic raised %d alert events: %v", len(evs), evs[0].body)
	}
	for range 5 {
		d.step(600, 6) // traffic drops to a tenth
	}
	d.normal(150)

	firing, resolved := byState(events(h.logs), MetricRequestRate)
	if len(firing) != 1 || len(resolved) != 1 {
		t.Fatalf("request_rate: %d firing and %d resolved events, want 1 and 1; all: %v", len(firing), len(resolved), events(h.logs))
	}
	if others := len(events(h.logs)) - 2; others != 0 {
		t.Errorf("%d alert events for other series, want 0: %v", others, events(h.logs))
	}
	f := firing[0]
	wantLabels := map[string]string{
		alerts.LabelAlertName:     AlertName,
		alerts.LabelSeverity:      conventions.SeverityTicket,
		alerts.LabelVigilSeverity: conventions.SeverityTicket,
		alerts.LabelSource:        conventions.SourceAnomaly,
		alerts.LabelService:       "checkout",
		alerts.LabelMetric:        MetricRequestRate,
		LabelSpanName:             "POST /pay",
	}
	// The tier equal to severity adds no identity: the fingerprint is the
	// one alerts had before vigil_severity (alerts.FromEvent).
	identity := maps.Clone(wantLabels)
	delete(identity, alerts.LabelVigilSeverity)
	for k, want := range map[string]any{
		conventions.AttrAlertName:        AlertName,
		conventions.AttrAlertSeverity:    conventions.SeverityTicket,
		conventions.AttrAlertSource:      conventions.SourceAnomaly,
		conventions.AttrServiceName:      "checkout",
		conventions.AttrAnomalyMetric:    MetricRequestRate,
		conventions.AttrSpanName:         "POST /pay",
		conventions.AttrAlertFingerprint: alerts.Fingerprint(identity),
	} {
		if f.attrs[k] != want {
			t.Errorf("firing %s = %v, want %v", k, f.attrs[k], want)
		}
	}
	actual, _ := f.attrs[conventions.AttrAnomalyActual].(float64)
	expected, _ := f.attrs[conventions.AttrAnomalyExpected].(float64)
	lower, _ := f.attrs[conventions.AttrAnomalyLower].(float64)
	upper, _ := f.attrs[conventions.AttrAnomalyUpper].(float64)
	score, _ := f.attrs[conventions.AttrAnomalyScore].(float64)
	if math.Abs(actual-594.0/60) > 0.5 {
		t.Errorf("anomaly.actual = %v, want the dropped rate ~9.9/s", actual)
	}
	if !(expected > 90 && expected < 110 && lower < expected && expected < upper && actual < lower) {
		t.Errorf("expected %v, band [%v, %v], actual %v: want ~100/s with the actual below the band", expected, lower, upper, actual)
	}
	if score < 0.5 || score > 1 {
		t.Errorf("anomaly.score = %v, want in [0.5, 1]", score)
	}
	if f.attrs[AttrAnomalyReason] == nil || !strings.Contains(f.body, "checkout POST /pay request_rate is anomalous") {
		t.Errorf("firing event lacks a reason or summary: %q %v", f.body, f.attrs[AttrAnomalyReason])
	}
	// The alert engine reads the event as the same alert: same labels, and
	// the fingerprint it would compute itself.
	lr := plog.NewLogRecord()
	lr.Body().SetStr(f.body)
	for k, v := range f.attrs {
		lr.Attributes().PutStr(k, fmt.Sprint(v))
	}
	a, err := alertevent.Decode(lr, pcommon.NewResource(), t0)
	if err != nil {
		t.Fatalf("alertevent.Decode: %v", err)
	}
	if !maps.Equal(a.Labels, wantLabels) || !a.Firing() {
		t.Errorf("alert engine labels %v (firing %v), want %v", a.Labels, a.Firing(), wantLabels)
	}
	// The labels routing and silences match on are conventions'
	// AnomalyAlertLabels, the examples' vocabulary.
	if got, want := slices.Sorted(maps.Keys(a.Labels)), slices.Sorted(slices.Values(conventions.AnomalyAlertLabels)); !slices.Equal(got, want) {
		t.Errorf("alert label names %v, want conventions.AnomalyAlertLabels %v", got, want)
	}
	lr.Attributes().Remove(conventions.AttrAlertFingerprint)
	if b, _ := alertevent.Decode(lr, pcommon.NewResource(), t0); b.Fingerprint != f.attrs[conventions.AttrAlertFingerprint] {
		t.Errorf("reader-derived fingerprint %s != event's %v", b.Fingerprint, f.attrs[conventions.AttrAlertFingerprint])
	}
	r := resolved[0]
	if r.attrs[conventions.AttrAlertFingerprint] != f.attrs[conventions.AttrAlertFingerprint] {
		t.Errorf("resolved fingerprint %v differs from firing %v", r.attrs[conventions.AttrAlertFingerprint], f.attrs[conventions.AttrAlertFingerprint])
	}
	// The alert started at the onset, its firing event; the resolve,
	// stamped with its end, says so too.
	if f.startOf() != rfc3339(f.ts) || r.startOf() != f.startOf() || !r.ts.After(f.ts) {
		t.Errorf("onset at %v with alert.starts_at %q, resolved at %v with %q: want the onset's start on both", f.ts, f.startOf(), r.ts, r.startOf())
	}

	// The score gauge carried the anomaly too.
	if len(h.metrics.AllMetrics()) != 355 {
		t.Errorf("%d metric batches, want one per interval (355)", len(h.metrics.AllMetrics()))
	}
}

func TestWarmupEmitsNoAlerts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Detector.WarmupPoints = 50 }, defaultSettings(), nil)
	defer h.shutdown()
	d := newCallsDriver(h)
	d.normal(20)
	for range 10 {
		d.step(60000, 30000) // 10x traffic, half of it failing: would alert after warm-up
	}
	d.normal(10)
	if evs := events(h.logs); len(evs) != 0 {
		t.Fatalf("warm-up raised %d alert events, first: %s", len(evs), evs[0].body)
	}
	g := gaugePoints(h.metrics)
	if _, ok := g[conventions.MetricAnomalyScore][MetricRequestRate+"|checkout|POST /pay"]; !ok {
		t.Errorf("no score gauge during warm-up: %v", g)
	}
}

func TestFiringAlertIsResent(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.ResendInterval = 3 * time.Minute
		c.Detector.WarmupPoints = 30
		c.Detector.ClearPoints = 1000 // stays firing for the whole test
	}, defaultSettings(), nil)
	defer h.shutdown()
	d := newCallsDriver(h)
	d.normal(100)
	for range 10 {
		d.step(600, 6)
	}
	firing, resolved := byState(events(h.logs), MetricRequestRate)
	// Onset at the first dropped interval, then every third interval.
	if len(firing) != 4 || len(resolved) != 0 {
		t.Fatalf("%d firing, %d resolved events over 10 anomalous intervals with resend every 3, want 4 and 0", len(firing), len(resolved))
	}
	for _, f := range firing[1:] {
		if f.attrs[conventions.AttrAlertFingerprint] != firing[0].attrs[conventions.AttrAlertFingerprint] {
			t.Errorf("re-sent event has another fingerprint")
		}
		// Stamped with its own interval, it says when the alert started:
		// at the onset.
		if f.startOf() != rfc3339(firing[0].ts) || !f.ts.After(firing[0].ts) {
			t.Errorf("re-send at %v has alert.starts_at %q, want the onset's %v", f.ts, f.startOf(), firing[0].ts)
		}
	}
	if firing[0].startOf() != rfc3339(firing[0].ts) {
		t.Errorf("onset at %v has alert.starts_at %q", firing[0].ts, firing[0].startOf())
	}
}

func TestSeverityIsConfigurable(t *testing.T) {
	for _, severity := range []string{conventions.SeverityTicket, conventions.SeverityPage} {
		t.Run(severity, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Severity = severity
				c.Detector.WarmupPoints = 30
			}, defaultSettings(), nil)
			defer h.shutdown()
			d := newCallsDriver(h)
			d.normal(100)
			d.step(600, 6)
			firing, _ := byState(events(h.logs), MetricRequestRate)
			if len(firing) != 1 {
				t.Fatalf("%d firing events, want 1", len(firing))
			}
			if got := firing[0].attrs[conventions.AttrAlertSeverity]; got != severity {
				t.Errorf("alert.severity = %v, want %v", got, severity)
			}
		})
	}
}
