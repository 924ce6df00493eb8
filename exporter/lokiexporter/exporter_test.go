package lokiexporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/basicauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/exporter/lokiexporter/internal/metadata"
)

// The exporter's own metrics, as metadata.yaml declares them.
const (
	metricRecordsRejected = "otelcol_loki_log_records_rejected"
	metricPushesRetried   = "otelcol_loki_pushes_retried"
	metricLinesTruncated  = "otelcol_loki_lines_truncated"
)

// testHTTPWithoutKeepAlive is the generated TestMain's goleak setup
// (metadata.yaml tests::goleak::setup): the tests' own requests through
// http.DefaultClient (health checks, scrapes, Loki queries) keep no idle
// keep-alive connection, whose parked goroutines goleak would report.
// The exporter's own client (confighttp) is not affected.
func testHTTPWithoutKeepAlive() {
	http.DefaultClient.Transport = &http.Transport{DisableKeepAlives: true}
}

// pushed is one request the fake Loki received.
type pushed struct {
	at     time.Time
	header http.Header
	req    push.PushRequest
}

// fakeLoki is Loki's push endpoint: it checks the request the way Loki's
// distributor does (method, path, content type, snappy framing, protobuf)
// and answers with the scripted responses, then 204.
type fakeLoki struct {
	t         *testing.T
	mu        sync.Mutex
	got       []pushed
	responses []func(w http.ResponseWriter)
}

func (f *fakeLoki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" {
		http.Error(w, "unexpected content encoding "+ce, http.StatusBadRequest)
		return
	}
	compressed, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "proto: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, pushed{at: time.Now(), header: r.Header.Clone(), req: req})
	var respond func(http.ResponseWriter)
	if len(f.responses) > 0 {
		respond, f.responses = f.responses[0], f.responses[1:]
	}
	f.mu.Unlock()
	if respond != nil {
		respond(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeLoki) requests() []pushed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pushed(nil), f.got...)
}

func status(code int, body string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hostWithExtensions is a component.Host offering extensions (auth).
type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

// startExporter starts the loki exporter against srv with no queue (so
// ConsumeLogs returns the outcome) and the given mutation of its config.
func startExporter(t *testing.T, url string, host component.Host, mutate func(*Config)) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	return startExporterWithLogger(t, url, host, zap.NewNop(), mutate)
}

func startExporterWithLogger(t *testing.T, url string, host component.Host, logger *zap.Logger, mutate func(*Config)) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = url
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tel := componenttest.NewTelemetry()
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = logger
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if host == nil {
		host = componenttest.NewNopHost()
	}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		_ = tel.Shutdown(context.Background())
	})
	return exp, tel
}

// basicAuth starts a basicauth extension and returns a host offering it and
// a config mutation that makes the exporter use it.
func basicAuth(t *testing.T, user, password string) (component.Host, func(*Config)) {
	t.Helper()
	authID := component.MustNewIDWithName("basicauth", "loki")
	authFactory := basicauthextension.NewFactory()
	authCfg := authFactory.CreateDefaultConfig().(*basicauthextension.Config)
	authCfg.ClientAuth = &basicauthextension.ClientAuthSettings{Username: user, Password: configopaque.String(password)}
	auth, err := authFactory.Create(context.Background(), extensiontest.NewNopSettings(authFactory.Type()), authCfg)
	if err != nil {
		t.Fatal(err)
	}
	host := hostWithExtensions{authID: auth}
	if err := auth.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Shutdown(context.Background()) })
	return host, func(c *Config) { c.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: authID}) }
}

func TestExporterPushesSnappyProtobuf(t *testing.T) {
	fake := &fakeLoki{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	const password = "s3cret-pass"
	host, withAuth := basicAuth(t, "vigil", password)
	exp, _ := startExporter(t, srv.URL, host, func(c *Config) {
		c.TenantID = "team-a"
		withAuth(c)
	})
	a := map[string]any{"service.name": "checkout"}
	ld := newLogs(t,
		record{resource: a, body: "second", sevNum: plog.SeverityNumberInfo, ts: t0.Add(time.Second)},
		record{resource: a, body: "boom", sevNum: plog.SeverityNumberError, ts: t0},
		record{resource: a, body: "first", sevNum: plog.SeverityNumberInfo, ts: t0},
	)
	if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	got := fake.requests()
	if len(got) != 1 {
		t.Fatalf("Loki got %d requests, want the batch in 1", len(got))
	}
	h := got[0].header
	if h.Get("X-Scope-OrgID") != "team-a" {
		t.Errorf("X-Scope-OrgID = %q", h.Get("X-Scope-OrgID"))
	}
	if user, pass, ok := (&http.Request{Header: h}).BasicAuth(); !ok || user != "vigil" || pass != password {
		t.Errorf("basic auth = %q/%q/%v", user, pass, ok)
	}
	want := []push.Stream{
		{Labels: `{level="error", service_name="checkout"}`, Entries: []push.Entry{{Timestamp: t0, Line: "boom"}}},
		{Labels: `{level="info", service_name="checkout"}`, Entries: []push.Entry{{Timestamp: t0, Line: "first"}, {Timestamp: t0.Add(time.Second), Line: "second"}}},
	}
	streams := got[0].req.Streams
	for i := range streams {
		for j := range streams[i].Entries {
			streams[i].Entries[j].Timestamp = streams[i].Entries[j].Timestamp.UTC()
		}
	}
	if !reflect.DeepEqual(streams, want) {
		t.Errorf("streams\n got %+v\nwant %+v", streams, want)
	}
}

func TestExporterClassifiesResponses(t *testing.T) {
	tests := []struct {
		name          string
		response      func(http.ResponseWriter)
		wantErr       string // substring; "" means success
		wantPermanent bool
		wantRejected  string // reason counted in otelcol_loki_log_records_rejected
		wantRetried   string // reason counted in otelcol_loki_pushes_retried
	}{
		{name: "204", response: status(http.StatusNoContent, "")},
		{name: "200", response: status(http.StatusOK, "")},
		{name: "429 with Retry-After", response: status(429, "ingestion rate limit exceeded for user fake", "Retry-After", "7"),
			wantErr: "Throttle (7s), error: push to Loki failed with HTTP 429: ingestion rate limit exceeded", wantRetried: "rate_limited"},
		{name: "429 without Retry-After", response: status(429, "slow down"), wantErr: "HTTP 429: slow down", wantRetried: "rate_limited"},
		{name: "503 with Retry-After", response: status(503, "ingester unavailable", "Retry-After", "2"), wantErr: "Throttle (2s)", wantRetried: "server_error"},
		{name: "500", response: status(500, "rpc error"), wantErr: "HTTP 500: rpc error", wantRetried: "server_error"},
		{name: "400 too old", response: status(400, "2 errors like: entry for stream '{service_name=\"a\"}' has timestamp too old: 2020-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-11-14T00:00:00Z"),
			wantErr: "HTTP 400 (greater_than_max_sample_age)", wantPermanent: true, wantRejected: "greater_than_max_sample_age"},
		{name: "400 line too long", response: status(400, "max entry size '256000' bytes exceeded for stream"),
			wantErr: "line_too_long", wantPermanent: true, wantRejected: "line_too_long"},
		{name: "400 other", response: status(400, "something odd"), wantErr: "(bad_request): something odd", wantPermanent: true, wantRejected: "bad_request"},
		{name: "401", response: status(401, "no org id"), wantErr: "missing_tenant", wantPermanent: true, wantRejected: "missing_tenant"},
		{name: "403", response: status(403, ""), wantErr: "(forbidden)", wantPermanent: true, wantRejected: "forbidden"},
		{name: "413", response: status(413, ""), wantErr: "(request_body_too_large)", wantPermanent: true, wantRejected: "request_body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLoki{t: t, responses: []func(http.ResponseWriter){tt.response}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			exp, tel := startExporter(t, srv.URL, nil, nil)
			ld := newLogs(t, record{body: "a", ts: t0}, record{body: "b", ts: t0})
			err := exp.ConsumeLogs(context.Background(), ld)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ConsumeLogs() = %v, want nil", err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ConsumeLogs() = %v, want it to contain %q", err, tt.wantErr)
				}
				if consumererror.IsPermanent(err) != tt.wantPermanent {
					t.Errorf("IsPermanent = %v, want %v", consumererror.IsPermanent(err), tt.wantPermanent)
				}
			}
			checkCounter(t, tel, metricRecordsRejected, tt.wantRejected, 2)
			checkCounter(t, tel, metricPushesRetried, tt.wantRetried, 1)
		})
	}
}

// checkCounter asserts that counter name has exactly one data point, with
// reason=wantReason and value want, or no data when wantReason is "".
func checkCounter(t *testing.T, tel *componenttest.Telemetry, name, wantReason string, want int64) {
	t.Helper()
	m, err := tel.GetMetric(name)
	if wantReason == "" {
		if err == nil {
			t.Errorf("%s recorded %+v, want nothing", name, m.Data)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok || len(sum.DataPoints) != 1 {
		t.Fatalf("%s = %+v, want one int64 sum point", name, m.Data)
	}
	dp := sum.DataPoints[0]
	if r, _ := dp.Attributes.Value(attribute.Key(attrReason)); r.AsString() != wantReason || dp.Value != want {
		t.Errorf("%s = %d{reason=%q}, want %d{reason=%q}", name, dp.Value, r.AsString(), want, wantReason)
	}
}

func TestExporterRetriesThroughExporterhelper(t *testing.T) {
	tests := []struct {
		name      string
		responses []func(http.ResponseWriter)
		wantCalls int
		minGap    time.Duration // between the first and the last attempt
		wantErr   bool
	}{
		{name: "503 then success", responses: []func(http.ResponseWriter){status(503, "unavailable")}, wantCalls: 2},
		{name: "429 honours Retry-After", responses: []func(http.ResponseWriter){status(429, "limit", "Retry-After", "1")}, wantCalls: 2, minGap: time.Second},
		{name: "400 is not retried", responses: []func(http.ResponseWriter){status(400, "error parsing labels")}, wantCalls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLoki{t: t, responses: tt.responses}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			exp, _ := startExporter(t, srv.URL, nil, func(c *Config) {
				c.BackOffConfig.Enabled = true
				c.BackOffConfig.InitialInterval = 10 * time.Millisecond
				c.BackOffConfig.MaxInterval = 20 * time.Millisecond
				c.BackOffConfig.MaxElapsedTime = 10 * time.Second
			})
			err := exp.ConsumeLogs(context.Background(), newLogs(t, record{body: "x", ts: t0}))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ConsumeLogs() = %v, want error %v", err, tt.wantErr)
			}
			got := fake.requests()
			if len(got) != tt.wantCalls {
				t.Fatalf("Loki got %d requests, want %d", len(got), tt.wantCalls)
			}
			if gap := got[len(got)-1].at.Sub(got[0].at); gap < tt.minGap {
				t.Errorf("retried after %v, want at least %v", gap, tt.minGap)
			}
			if !reflect.DeepEqual(got[0].req, got[len(got)-1].req) {
				t.Error("the retry sent a different request")
			}
		})
	}
}

func TestExporterNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	exp, tel := startExporter(t, url, nil, nil)
	err := exp.ConsumeLogs(context.Background(), newLogs(t, record{body: "x", ts: t0}))
	if err == nil || consumererror.IsPermanent(err) {
		t.Fatalf("ConsumeLogs() = %v, want a retryable error", err)
	}
	checkCounter(t, tel, metricPushesRetried, "network", 1)
}

func TestClassifyRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := classify(503, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, "busy", now)
	if err == nil || !strings.HasPrefix(err.Error(), "Throttle (1m30s)") {
		t.Errorf("classify = %v, want a 1m30s throttle", err)
	}
	err = classify(429, http.Header{"Retry-After": {"soon"}}, "busy", now)
	var se *serverError
	if !errors.As(err, &se) || strings.HasPrefix(err.Error(), "Throttle") {
		t.Errorf("an unparsable Retry-After must give a plain retryable error, got %v", err)
	}
}

func TestExporterEmptyBatchSendsNothing(t *testing.T) {
	fake := &fakeLoki{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	exp, _ := startExporter(t, srv.URL, nil, nil)
	if err := exp.ConsumeLogs(context.Background(), plog.NewLogs()); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.requests()); n != 0 {
		t.Errorf("Loki got %d requests for no logs", n)
	}
}

func TestExporterTruncationIsCountedOnDelivery(t *testing.T) {
	fake := &fakeLoki{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	exp, tel := startExporter(t, srv.URL, nil, func(c *Config) { c.MaxLineSize = 16; c.TruncationMarker = "[cut]" })
	if err := exp.ConsumeLogs(context.Background(), newLogs(t, record{body: strings.Repeat("z", 100), ts: t0}, record{body: "short", ts: t0})); err != nil {
		t.Fatal(err)
	}
	lines := []string{}
	for _, e := range fake.requests()[0].req.Streams[0].Entries {
		lines = append(lines, e.Line)
	}
	if want := []string{strings.Repeat("z", 11) + "[cut]", "short"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	m, err := tel.GetMetric(metricLinesTruncated)
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Data.(metricdata.Sum[int64]).DataPoints[0].Value; v != 1 {
		t.Errorf("%s = %d, want 1", metricLinesTruncated, v)
	}
}

// TestNoSecretInErrorsOrLogs proves the password of the auth extension
// reaches neither the errors the exporter returns nor its logs, for a
// rejected push, a retryable failure and a network failure.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const password = "s3cret-pass"
	fake := &fakeLoki{t: t, responses: []func(http.ResponseWriter){
		status(400, "error parsing labels"),
		status(503, "unavailable", "Retry-After", "1"),
	}}
	srv := httptest.NewServer(fake)
	core, logs := observer.New(zapcore.DebugLevel)
	host, withAuth := basicAuth(t, "vigil", password)
	exp, _ := startExporterWithLogger(t, srv.URL, host, zap.New(core), withAuth)
	var errs []error
	for range 2 {
		errs = append(errs, exp.ConsumeLogs(context.Background(), newLogs(t, record{body: "x", ts: t0})))
	}
	srv.Close()
	errs = append(errs, exp.ConsumeLogs(context.Background(), newLogs(t, record{body: "x", ts: t0})))
	if len(fake.requests()) != 2 {
		t.Fatalf("Loki got %d requests, want 2", len(fake.requests()))
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("push %d succeeded, want an error", i)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("error %d leaks the password: %v", i, err)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("the rejected push was not logged")
	}
	for _, e := range logs.All() {
		text := e.Message
		for k, v := range e.ContextMap() {
			text += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(text, password) {
			t.Errorf("log leaks the password: %s", text)
		}
	}
}

// TestExporterBearerTokenAuth checks the other auth extension the
// distribution ships: the token reaches Loki (or its gateway) as
// Authorization: Bearer.
func TestExporterBearerTokenAuth(t *testing.T) {
	fake := &fakeLoki{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	authID := component.MustNewIDWithName("bearertokenauth", "loki")
	f := bearertokenauthextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	cfg.BearerToken = "tok-123"
	auth, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := hostWithExtensions{authID: auth}
	if err := auth.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = auth.Shutdown(context.Background()) }()
	exp, _ := startExporter(t, srv.URL, host, func(c *Config) {
		c.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: authID})
	})
	if err := exp.ConsumeLogs(context.Background(), newLogs(t, record{body: "x", ts: t0})); err != nil {
		t.Fatal(err)
	}
	got := fake.requests()
	if len(got) != 1 {
		t.Fatalf("Loki got %d requests, want 1", len(got))
	}
	if a := got[0].header.Get("Authorization"); a != "Bearer tok-123" {
		t.Errorf("Authorization = %q, want Bearer tok-123", a)
	}
}

// TestContribHintsWarned: a pipeline moved from contrib's loki exporter
// still sets its label hints; each is warned about once, naming the key
// that sets the same here, and the logs still go out.
func TestContribHintsWarned(t *testing.T) {
	fake := &fakeLoki{t: t}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	core, logs := observer.New(zapcore.WarnLevel)
	exp, _ := startExporterWithLogger(t, srv.URL, nil, zap.New(core), nil)
	hinted := record{
		resource: map[string]any{"service.name": "checkout", "loki.resource.labels": "service.name"},
		attrs:    map[string]any{"loki.format": "json"},
		body:     "x", ts: t0,
	}
	for range 3 {
		if err := exp.ConsumeLogs(context.Background(), newLogs(t, hinted, record{body: "y", ts: t0})); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.requests()); n != 3 {
		t.Fatalf("Loki got %d pushes, want 3", n)
	}
	want := map[string]string{"loki.resource.labels": "labels::resource_attributes", "loki.format": "line_format"}
	if logs.Len() != len(want) {
		t.Fatalf("%d warnings, want one per hint (%d): %v", logs.Len(), len(want), logs.All())
	}
	for _, e := range logs.All() {
		attr, _ := e.ContextMap()["attribute"].(string)
		if want[attr] == "" || e.ContextMap()["instead"] != want[attr] {
			t.Errorf("warning %q %v", e.Message, e.ContextMap())
		}
	}
}
