package dashboards

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
	"github.com/vigil-otel/vigil/slo"
)

// readRepoFile reads a file of the repository by its path from the root.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vigiltest.RepoRoot(), filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dashboardVariableNamed returns a committed dashboard's variable.
func dashboardVariableNamed(t *testing.T, file, name string) dashboardVariable {
	t.Helper()
	d := committedDashboards(t)[file]
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, raw := range list {
		v := dashboardVariable(raw.(map[string]any))
		if v.str("name") == name {
			return v
		}
	}
	t.Fatalf("%s has no variable %s", file, name)
	return nil
}

// TestSpanKindDefaultsToServer: the service overview counts server spans
// when it opens, whether Grafana takes the saved selection or falls back
// (to "All" when the variable has it, else to the first option): counting
// client spans too counts every call twice, once by its caller. The value
// is the span_kind the RED metrics carry for server spans
// (TestDashboardMetricsAreExported queries the binary's with it).
func TestSpanKindDefaultsToServer(t *testing.T) {
	v := dashboardVariableNamed(t, "service-overview.json", "span_kind")
	for _, honour := range []bool{true, false} {
		if got := customDefault(v, honour); !slices.Equal(got, []string{"SPAN_KIND_SERVER"}) {
			t.Errorf("span_kind opens on %v (saved selection taken: %v), want [SPAN_KIND_SERVER]", got, honour)
		}
	}
	if !slices.Equal(v.options(), spanKinds) {
		t.Errorf("span_kind options %v, want %v", v.options(), spanKinds)
	}

	// On the synthetic telemetry, checkout serves 5 requests per second
	// and makes 5 client calls: its request rate is 5.
	sim := newSimulator()
	var checked bool
	simulatePanels(t, func(where string, p map[string]any, targets []*simTarget) {
		if where != `service-overview.json: "Request rate"` {
			return
		}
		checked = true
		expr := targets[0].expr
		if !strings.Contains(expr, `span_kind=~"SPAN_KIND_SERVER"`) {
			t.Errorf("%s: %s does not select server spans", where, expr)
		}
		got, err := sim.value(strings.ReplaceAll(expr, "[1m]", "[5m]"), labelServiceName, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if got < 4.9 || got > 5.1 {
			t.Errorf("%s: checkout's request rate is %.2f, want 5 (its server spans; its client calls are the payments service's requests)", where, got)
		}
	})
	if !checked {
		t.Error(`no "Request rate" panel on the service overview`)
	}
}

// value runs an instant query and returns the value of the series whose
// label has the value.
func (s *simulator) value(expr, label, value string) (float64, error) {
	ctx := context.Background()
	q, err := s.engine.NewInstantQuery(ctx, s.store, nil, expr, simEnd)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	vec, err := q.Exec(ctx).Vector()
	if err != nil {
		return 0, err
	}
	for _, smp := range vec {
		if smp.Metric.Get(label) == value {
			return smp.F, nil
		}
	}
	return 0, fmt.Errorf("%s: no series with %s=%q", expr, label, value)
}

// TestAnomaliesShowSeriesWarmingUp: a series whose detector is still
// learning scores 0, which reads as "normal"; the anomalies dashboard says
// how many series are in that state, from the connector's own telemetry.
func TestAnomaliesShowSeriesWarmingUp(t *testing.T) {
	found := false
	for _, q := range queriesOfType(t, PrometheusType) {
		found = found || (q.file == "anomalies.json" && strings.Contains(q.text, otelAnomalySeriesWarmingUp))
	}
	if !found {
		t.Errorf("no anomalies.json panel queries %s", otelAnomalySeriesWarmingUp)
	}
	if doc := readRepoFile(t, "connector/anomalyconnector/documentation.md"); !strings.Contains(doc, "### "+otelAnomalySeriesWarmingUp) ||
		!strings.Contains(doc, "### "+otelAnomalyActiveSeries) {
		t.Errorf("the anomaly connector does not document %s and %s", otelAnomalySeriesWarmingUp, otelAnomalyActiveSeries)
	}
}

// TestRemoteWriteFailureIsVisible: prometheus_remote_write with its
// write-ahead log (Vigil's configurations) counts points as sent once they
// are in the log, so a remote write that keeps failing never appears in
// otelcol_exporter_send_failed_metric_points; the exporter panel shows its
// log's backlog, which grows instead.
func TestRemoteWriteFailureIsVisible(t *testing.T) {
	found := false
	for _, q := range queriesOfType(t, PrometheusType) {
		found = found || (q.where == "vigil.json: Sent and failed metric points (D)" && strings.Contains(q.text, otelRemoteWriteWALLag))
	}
	if !found {
		t.Errorf(`vigil.json "Sent and failed metric points" does not show %s`, otelRemoteWriteWALLag)
	}
	for _, cfg := range []string{"collector/config/full.yaml", "collector/config/remote-write.yaml"} {
		if !strings.Contains(readRepoFile(t, cfg), "wal:") {
			t.Errorf("%s: prometheus_remote_write has no wal: the backlog is not its failure signal there", cfg)
		}
	}
}

// TestWindowExamplesMatchSLOWindows keeps the dashboards' examples of
// scaled windows ("a 28-day one on 56m and 4m40s") true to slo's table.
func TestWindowExamplesMatchSLOWindows(t *testing.T) {
	var text strings.Builder
	for _, d := range committedDashboards(t) {
		for _, p := range allPanels(d) {
			desc, _ := p["description"].(string)
			text.WriteString(desc + "\n")
		}
	}
	for _, days := range []int{30, 28, 7} {
		page := slo.AlertWindows(time.Duration(days) * 24 * time.Hour)[0]
		want := fmt.Sprintf("%d-day %s on %s and %s", days, map[bool]string{true: "SLO pages", false: "one"}[days == 30],
			slo.FormatDuration(page.Long), slo.FormatDuration(page.Short))
		if !strings.Contains(text.String(), want) {
			t.Errorf("no panel description says %q (slo.AlertWindows)", want)
		}
	}
}
