package alertmanagerexporter

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/exporter/alertmanagerexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

var eventTime = time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)

func alertLogs(state string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	lr := records.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(eventTime))
	lr.Body().SetStr("checkout availability: budget burning 14.9x")
	for k, v := range map[string]string{
		"alert.name": "SLOBurnRate-checkout-availability-page", "alert.state": state,
		"alert.severity": "page", "alert.source": "slo", "alert.fingerprint": "3da51f0b61ceafb2",
		"slo.name": "availability", "slo.burn_rate.long": "14.9", "http.route": "/cart",
		"alert.dashboard_url": "https://grafana.example/d/slo",
	} {
		lr.Attributes().PutStr(k, v)
	}
	other := records.AppendEmpty()
	other.Body().SetStr("GET /cart 200")
	return ld
}

func TestToAlerts(t *testing.T) {
	now := eventTime.Add(time.Minute)
	wantLabels := map[string]string{
		"alertname": "SLOBurnRate-checkout-availability-page", "severity": "page", "vigil_severity": "page", "source": "slo",
		"service_name": "checkout", "slo": "availability", "http_route": "/cart",
	}
	tests := []struct {
		state              string
		wantStart, wantEnd time.Time
	}{
		{"firing", eventTime, time.Time{}},
		// The event's time, not the reader's now: every reader of alert
		// events reads the timestamp alike.
		{"resolved", time.Time{}, eventTime},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			got, errs := ToAlerts(alertLogs(tt.state), now)
			if len(errs) != 0 || len(got) != 1 {
				t.Fatalf("ToAlerts = %v, %v; want one alert (the non-alert record skipped)", got, errs)
			}
			a := got[0]
			if !reflect.DeepEqual(map[string]string(a.Labels), wantLabels) {
				t.Errorf("labels = %v, want %v", a.Labels, wantLabels)
			}
			// The same labels as the alert router reads.
			rl := alertLogs(tt.state).ResourceLogs().At(0)
			routerAlert, err := alertevent.Decode(rl.ScopeLogs().At(0).LogRecords().At(0), rl.Resource(), now)
			if err != nil || !reflect.DeepEqual(routerAlert.Labels, map[string]string(a.Labels)) {
				t.Errorf("labels differ from the codec's: %v vs %v (%v)", routerAlert.Labels, a.Labels, err)
			}
			if !time.Time(a.StartsAt).Equal(tt.wantStart) || !time.Time(a.EndsAt).Equal(tt.wantEnd) {
				t.Errorf("startsAt %v endsAt %v, want %v %v", a.StartsAt, a.EndsAt, tt.wantStart, tt.wantEnd)
			}
			if a.Annotations["slo_burn_rate_long"] != "14.9" || a.Annotations["summary"] == "" {
				t.Errorf("annotations = %v", a.Annotations)
			}
			if err := a.Validate(strfmt.Default); err != nil {
				t.Errorf("the alert breaks Alertmanager's API: %v", err)
			}
			if a.GeneratorURL != "https://grafana.example/d/slo" {
				t.Errorf("generatorURL = %q", a.GeneratorURL)
			}
		})
	}
}

// TestToAlertsMalformedStart: an alert event whose alert.starts_at is no
// RFC 3339 time is reported and still posted, starting at its time.
func TestToAlertsMalformedStart(t *testing.T) {
	ld := alertLogs("firing")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().PutStr("alert.starts_at", "yesterday")
	got, errs := ToAlerts(ld, eventTime.Add(time.Minute))
	if len(got) != 1 || len(errs) != 1 || !errors.Is(errs[0], alertevent.ErrBadStart) {
		t.Fatalf("ToAlerts = %v, %v; want the alert and one ErrBadStart", got, errs)
	}
	if !time.Time(got[0].StartsAt).Equal(eventTime) {
		t.Errorf("startsAt %v, want the event's time %v", got[0].StartsAt, eventTime)
	}
}

// fakeAM records POSTs to /api/v2/alerts and answers with scripted statuses.
type fakeAM struct {
	mu       sync.Mutex
	statuses []int
	bodies   []models.PostableAlerts
	requests int
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if r.Method != http.MethodPost || r.URL.Path != AlertsPath || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request line", http.StatusNotFound)
		return
	}
	if len(f.statuses) > 0 {
		code := f.statuses[0]
		f.statuses = f.statuses[1:]
		http.Error(w, "scripted", code)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body models.PostableAlerts
	err := json.Unmarshal(raw, &body)
	if err == nil {
		err = body.Validate(strfmt.Default) // as Alertmanager's API checks it
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.bodies = append(f.bodies, body)
	w.WriteHeader(http.StatusOK)
}

func TestExport(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		wantErr      bool
		wantRequests int
		wantPosts    int
	}{
		{"accepted", nil, false, 1, 1},
		{"500 retried", []int{500, 503}, false, 3, 1},
		{"400 permanent", []int{400}, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			am := &fakeAM{statuses: tt.statuses}
			srv := httptest.NewServer(am)
			defer srv.Close()
			cfg := createDefaultConfig().(*Config)
			cfg.ClientConfig.Endpoint = srv.URL
			cfg.QueueConfig.Get().WaitForResult = true
			cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
			cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
			exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := exp.Shutdown(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			err = exp.ConsumeLogs(context.Background(), alertLogs("firing"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ConsumeLogs error = %v, want error %v", err, tt.wantErr)
			}
			am.mu.Lock()
			defer am.mu.Unlock()
			if am.requests != tt.wantRequests || len(am.bodies) != tt.wantPosts {
				t.Errorf("requests %d, accepted posts %d; want %d, %d", am.requests, len(am.bodies), tt.wantRequests, tt.wantPosts)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []component.ID{component.NewID(metadata.Type), component.NewIDWithName(metadata.Type, "full")} {
		cfg := createDefaultConfig()
		sub, err := cm.Sub(id.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Unmarshal(cfg); err != nil {
			t.Fatal(err)
		}
		if err := confmap.Validate(cfg); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	bad := createDefaultConfig().(*Config)
	bad.ClientConfig.Endpoint = "alertmanager:9093"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("Validate(%q) = %v, want an endpoint error", bad.ClientConfig.Endpoint, err)
	}
	if err := componenttest.CheckConfigStruct(createDefaultConfig()); err != nil {
		t.Error(err)
	}
}
