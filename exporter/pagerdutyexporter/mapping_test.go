package pagerdutyexporter

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

func TestEventAlert(t *testing.T) {
	start := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	cfg := createDefaultConfig().(*Config)
	cfg.TraceSearchURLTemplate = "https://grafana.example/explore?trace={{ index .TraceIDs 0 }}"
	links, err := newLinkTemplates(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &pdExporter{links: links}
	lr := plog.NewLogRecord()
	lr.Body().SetStr("checkout p99 latency far above its band")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(start))
	for k, v := range map[string]string{
		"alert.name": "AnomalyDetected", "alert.state": "firing", "alert.severity": "ticket",
		"alert.source": "anomaly", "service.name": "checkout", "anomaly.metric": "http.server.duration.p99",
		"anomaly.score": "0.97", "anomaly.lower": "0.1", "anomaly.upper": "0.3", "anomaly.actual": "1.8",
		"alert.trace_ids": "4bf92f3577b34da6a3ce929d0e0e4736",
	} {
		lr.Attributes().PutStr(k, v)
	}
	anomaly, err := alertevent.Decode(lr, pcommon.NewResource(), start)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		action alerts.Action
		want   events.Alert
	}{
		{
			name:   "anomaly trigger: metric as group, band as details, trace link",
			action: alerts.ActionTrigger,
			want: events.Alert{
				Action: events.ActionTrigger, Fingerprint: anomaly.Fingerprint, Name: "AnomalyDetected",
				Summary: "checkout p99 latency far above its band", Service: "checkout", Severity: "ticket",
				Component: "checkout", Group: "http.server.duration.p99", Class: "anomaly", Time: start,
				Details: map[string]any{
					"alertname": "AnomalyDetected", "severity": "ticket", "vigil_severity": "ticket", "source": "anomaly", "service_name": "checkout",
					"metric": "http.server.duration.p99", "anomaly.score": 0.97, "anomaly.lower": 0.1,
					"anomaly.upper": 0.3, "anomaly.actual": 1.8,
					"alert.trace_ids": []string{"4bf92f3577b34da6a3ce929d0e0e4736"},
				},
				Links: []events.Link{{Href: "https://grafana.example/explore?trace=4bf92f3577b34da6a3ce929d0e0e4736", Text: linkTextTraceSearch}},
			},
		},
		{
			name:   "resolve carries identity only",
			action: alerts.ActionResolve,
			want: events.Alert{
				Action: events.ActionResolve, Fingerprint: anomaly.Fingerprint, Name: "AnomalyDetected",
				Summary: "checkout p99 latency far above its band", Service: "checkout", Severity: "ticket",
				Component: "checkout", Group: "http.server.duration.p99", Class: "anomaly", Time: start,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.eventAlert(tt.action, anomaly)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eventAlert =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// BenchmarkPushLog measures the exporter's own work for one request of 100
// notifications (decode, build; no HTTP): the log path, which builds
// nothing, and the event builder on its own.
func BenchmarkPushLog(b *testing.B) {
	tel, err := newTelemetry(nopTelemetry())
	if err != nil {
		b.Fatal(err)
	}
	e := &pdExporter{tel: tel, logger: zap.NewNop(), order: newOrderGuard(), now: time.Now}
	var notes []alerts.Notification
	for i := range 100 {
		notes = append(notes, note(fmt.Sprintf("fp-%03d", i), "page", "firing"))
	}
	ld := logsOf(notes)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.push(b.Context(), ld); err != nil {
			b.Fatal(err)
		}
	}
}
