package anomaly

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

const e2eService = "anomaly-e2e"

// postSpans sends n server spans of one operation, every third failing,
// through the OTLP/HTTP receiver.
func postSpans(t *testing.T, inst *vigiltest.Instance, n int) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", e2eService)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	end := time.Now()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetName("GET /e2e")
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(pcommon.TraceID([16]byte{1, byte(i), byte(i >> 8), 2}))
		s.SetSpanID(pcommon.SpanID([8]byte{3, byte(i), byte(i >> 8), 4}))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Duration(5+i%40) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		if i%3 == 0 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+inst.OTLPHTTPEndpoint()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP: %s", resp.Status)
	}
}

// TestEndToEndThroughTheBinary runs the embedded default configuration:
// spans in through OTLP, RED metrics from the slo connector, anomaly gauges out
// on the prometheus exporter; then a restart restores the detectors from
// file_storage.
func TestEndToEndThroughTheBinary(t *testing.T) {
	args := []string{
		"--set=connectors::slo::red::flush_interval=500ms",
		"--set=connectors::anomaly::interval=1s",
	}
	inst := vigiltest.Start(t, vigiltest.Options{Args: args})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	want := []string{conventions.MetricAnomalyScore, conventions.MetricAnomalyExpected, conventions.MetricAnomalyLower, conventions.MetricAnomalyUpper}
	metrics := []string{"request_rate", "error_ratio", "latency_p95", "latency_p99"}
	err := vigiltest.Eventually(ctx, func() error {
		postSpans(t, inst, 60)
		families, err := vigiltest.Scrape(inst.PrometheusURL())
		if err != nil {
			return err
		}
		for _, name := range want {
			for _, metric := range metrics {
				mf, ok := families[name]
				if !ok {
					return fmt.Errorf("%s not served", name)
				}
				found := false
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, lp := range m.GetLabel() {
						labels[lp.GetName()] = lp.GetValue()
					}
					if labels[conventions.LabelMetric] == metric && labels[conventions.LabelServiceName] == e2eService && labels[conventions.LabelSpanName] == "GET /e2e" {
						found = true
					}
				}
				if !found {
					return fmt.Errorf("%s{metric=%q,service_name=%q,span_name=\"GET /e2e\"} not served", name, metric, e2eService)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf(":8889: %v", err)
	}
	// Its own telemetry counts the watched series and the points observed.
	err = vigiltest.Eventually(ctx, func() error {
		families, err := vigiltest.Scrape(inst.TelemetryURL())
		if err != nil {
			return err
		}
		if got := vigiltest.Sum(families, "otelcol_anomaly_active_series", nil); got != 4 {
			return fmt.Errorf("otelcol_anomaly_active_series = %v, want 4", got)
		}
		if got := vigiltest.Sum(families, "otelcol_anomaly_points_observed", nil); got < 4 {
			return fmt.Errorf("otelcol_anomaly_points_observed = %v, want >= 4", got)
		}
		return nil
	})
	if err != nil {
		t.Fatalf(":8888: %v", err)
	}
	if _, err := inst.Stop(syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}

	// Same storage: the checkpoint written at shutdown is restored.
	again := vigiltest.Start(t, vigiltest.Options{Args: args, StorageDir: inst.StorageDir})
	err = vigiltest.Eventually(ctx, func() error {
		if !strings.Contains(again.Log(), "Anomaly state restored") || !strings.Contains(again.Log(), `"series": 4`) {
			return fmt.Errorf("no restore of 4 series in the log")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, again.Log())
	}
	for _, line := range strings.Split(again.Log(), "\n") {
		if strings.Contains(line, "Anomaly state restored") {
			t.Log(line)
		}
	}
}
