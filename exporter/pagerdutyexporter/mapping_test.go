package pagerdutyexporter

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/pagerdutyexporter/internal/events"
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
	anomaly, err := alerts.FromEvent("checkout p99 latency far above its band", map[string]string{
		"alert.name": "AnomalyDetected", "alert.state": "firing", "alert.severity": "ticket",
		"alert.source": "anomaly", "service.name": "checkout", "anomaly.metric": "http.server.duration.p99",
		"anomaly.score": "0.97", "anomaly.lower": "0.1", "anomaly.upper": "0.3", "anomaly.actual": "1.8",
		"alert.trace_ids": "4bf92f3577b34da6a3ce929d0e0e4736",
	}, start)
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
					"alertname": "AnomalyDetected", "severity": "ticket", "source": "anomaly", "service": "checkout",
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
			got := e.eventAlert(alerts.Notification{Action: tt.action, Alert: anomaly})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eventAlert =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

// BenchmarkConsumeLogs measures ingesting one batch of 100 alert events
// (the engine work of a busy evaluation), without sending.
func BenchmarkConsumeLogs(b *testing.B) {
	e := &pdExporter{engine: alerts.NewEngine(nil, nil), now: time.Now}
	tel, err := newTelemetry(nopTelemetry())
	if err != nil {
		b.Fatal(err)
	}
	e.tel = tel
	var evs []event
	for i := range 100 {
		ev := sloEvent("", "page", "firing")
		ev.attrs["alert.name"] = "SLOBurnRate-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		evs = append(evs, ev)
	}
	ld := logsOf(evs...)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.consumeLogs(b.Context(), ld); err != nil {
			b.Fatal(err)
		}
	}
}
