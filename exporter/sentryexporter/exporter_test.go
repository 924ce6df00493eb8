package sentryexporter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-otel/vigil/exporter/sentryexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/fakesentry"
)

// testConfig sends synchronously (no queue) with fast retries, so a test
// sees the outcome of ConsumeTraces directly.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 50 * time.Millisecond
	cfg.BackOffConfig.MaxElapsedTime = 10 * time.Second
	return cfg
}

// tracesFor makes one error span per service, each with its own span ID.
func tracesFor(services ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		newResource(rs.Resource().Attributes(), s)
		span := errorSpan(rs.ScopeSpans().AppendEmpty().Spans(), "op "+s, "E", "failed", zapText)
		span.SetSpanID(pcommon.SpanID{byte(i + 1), 1, 2, 3, 4, 5, 6, 7})
	}
	return td
}

func startTraces(t *testing.T, cfg *Config) func(context.Context, ptrace.Traces) error {
	t.Helper()
	exp, err := NewFactory().CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return exp.ConsumeTraces
}

func TestRouting(t *testing.T) {
	fake := fakesentry.New(t,
		fakesentry.Project{ID: "1", Key: "defaultkey"},
		fakesentry.Project{ID: "2", Key: "checkoutkey"})
	tests := []struct {
		name     string
		dsn      string
		services []string
		want     map[string]string // service tag → project
	}{
		{"per-service DSN, default for the rest", fake.DSN("1"), []string{"checkout", "search"}, map[string]string{"checkout": "2", "search": "1"}},
		{"no default: unlisted services dropped", "", []string{"checkout", "search"}, map[string]string{"checkout": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Events())
			cfg := testConfig()
			cfg.DSN = configopaque.String(tt.dsn)
			cfg.DSNByService = map[string]configopaque.String{"checkout": configopaque.String(fake.DSN("2"))}
			consume := startTraces(t, cfg)
			if err := consume(context.Background(), tracesFor(tt.services...)); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, ev := range fake.Events()[before:] {
				got[ev.Tags["service.name"]] = ev.Project
			}
			if len(got) != len(tt.want) {
				t.Fatalf("routed %v, want %v", got, tt.want)
			}
			for s, p := range tt.want {
				if got[s] != p {
					t.Errorf("%s went to project %q, want %q", s, got[s], p)
				}
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		script       []fakesentry.Reply
		services     []string
		wantErr      bool
		wantEvents   int
		wantRequests int
		minDelay     time.Duration
	}{
		{
			name:         "429 with Retry-After is retried after the delay",
			script:       []fakesentry.Reply{{Status: 429, RetryAfter: "1"}},
			services:     []string{"a"},
			wantEvents:   1,
			wantRequests: 2,
			minDelay:     time.Second,
		},
		{
			name:         "429 with X-Sentry-Rate-Limits",
			script:       []fakesentry.Reply{{Status: 429, RateLimits: "1:error:key"}},
			services:     []string{"a"},
			wantEvents:   1,
			wantRequests: 2,
			minDelay:     time.Second,
		},
		{
			name:         "5xx retried with back-off",
			script:       []fakesentry.Reply{{Status: 502, Times: 2}},
			services:     []string{"a"},
			wantEvents:   1,
			wantRequests: 3,
		},
		{
			name:         "partial failure: the retry sends only what was not delivered",
			script:       []fakesentry.Reply{{}, {Status: 500}},
			services:     []string{"a", "b"},
			wantEvents:   2,
			wantRequests: 3,
		},
		{
			name:         "400 is permanent: no retry",
			script:       []fakesentry.Reply{{Status: 400}},
			services:     []string{"a"},
			wantErr:      true,
			wantEvents:   0,
			wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakesentry.New(t, fakesentry.Project{ID: "7", Key: secretKey})
			fake.Script(tt.script...)
			cfg := testConfig()
			cfg.DSN = configopaque.String(fake.DSN("7"))
			consume := startTraces(t, cfg)
			start := time.Now()
			err := consume(context.Background(), tracesFor(tt.services...))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !consumererror.IsPermanent(err) {
					t.Errorf("error not permanent: %v", err)
				}
				if strings.Contains(err.Error(), secretKey) {
					t.Errorf("error leaks the key: %v", err)
				}
			}
			if n := len(fake.Events()); n != tt.wantEvents {
				t.Errorf("%d events accepted, want %d", n, tt.wantEvents)
			}
			if n := len(fake.Requests()); n != tt.wantRequests {
				t.Errorf("%d requests, want %d: %+v", n, tt.wantRequests, fake.Requests())
			}
			if d := time.Since(start); d < tt.minDelay {
				t.Errorf("done after %v, before the %v Sentry asked for", d, tt.minDelay)
			}
		})
	}
}

func TestLogsExporter(t *testing.T) {
	fake := fakesentry.New(t, fakesentry.Project{ID: "3", Key: secretKey})
	cfg := testConfig()
	cfg.DSN = configopaque.String(fake.DSN("3"))
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
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	newResource(rl.Resource().Attributes(), "payments")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, sev := range []plog.SeverityNumber{plog.SeverityNumberInfo, plog.SeverityNumberError, plog.SeverityNumberFatal} {
		lr := records.AppendEmpty()
		lr.SetSeverityNumber(sev)
		lr.Body().SetStr("record " + sev.String())
		lr.Attributes().PutStr("exception.stacktrace", zapText)
	}
	if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	events := fake.Events()
	if len(events) != 2 || events[0].Level != "error" || events[1].Level != "fatal" {
		t.Fatalf("events = %+v", events)
	}
	if f := events[0].Exceptions[0].Frames(); len(f) != 4 || f[3].Function != "(*Client).Charge" {
		t.Errorf("frames = %+v", f)
	}
}

// TestDisabledWithoutDSN: with no DSN at all the exporter accepts and drops
// events, so one configuration serves with and without Sentry.
func TestDisabledWithoutDSN(t *testing.T) {
	cfg := testConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config without DSN rejected: %v", err)
	}
	consume := startTraces(t, cfg)
	if err := consume(context.Background(), tracesFor("a", "b")); err != nil {
		t.Fatalf("disabled exporter failed: %v", err)
	}
}

// TestHTTPClientFromConfig: the exporter's HTTP client is confighttp's,
// so its settings (here headers and the per-request timeout) apply to
// every DSN's requests.
func TestHTTPClientFromConfig(t *testing.T) {
	var (
		mu     sync.Mutex
		header http.Header
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		header = r.Header.Clone()
		mu.Unlock()
		if r.Header.Get("X-Slow") != "" {
			time.Sleep(time.Second)
		}
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DSN = configopaque.String("http://" + secretKey + "@" + u.Host + "/9")
	cfg.ClientConfig.Headers.Set("X-Proxy-Tenant", "shop")
	if err := startTraces(t, cfg)(context.Background(), tracesFor("checkout")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := header.Get("X-Proxy-Tenant")
	mu.Unlock()
	if got != "shop" {
		t.Errorf("X-Proxy-Tenant = %q, want the configured header on the request", got)
	}

	slow := testConfig()
	slow.DSN = cfg.DSN
	slow.ClientConfig.Headers.Set("X-Slow", "1")
	slow.ClientConfig.Timeout = 50 * time.Millisecond
	slow.BackOffConfig.Enabled = false
	err = startTraces(t, slow)(context.Background(), tracesFor("checkout"))
	if err == nil || consumererror.IsPermanent(err) {
		t.Errorf("a request beyond the client's timeout = %v, want a retryable error", err)
	}
}

// TestRateLimitsSharedAcrossExporters: a rate limit Sentry announces to one
// exporter holds for every exporter of the process posting to the same DSN
// (the traces and the logs pipeline of one configuration), for the
// categories it names: error (the events' category) or, with no category
// or a bare Retry-After, all. The shared state goes when both shut down.
func TestRateLimitsSharedAcrossExporters(t *testing.T) {
	tests := []struct {
		name        string
		reply       fakesentry.Reply
		logsBlocked bool
	}{
		{"429 with X-Sentry-Rate-Limits for errors", fakesentry.Reply{Status: 429, RateLimits: "60:error:key"}, true},
		{"429 with Retry-After only: every category", fakesentry.Reply{Status: 429, RetryAfter: "60"}, true},
		{"200 announcing an error limit", fakesentry.Reply{RateLimits: "60:default;error;security:organization"}, true},
		{"200 announcing a limit of all categories", fakesentry.Reply{RateLimits: "60::organization"}, true},
		{"200 announcing a transaction limit: errors still go", fakesentry.Reply{RateLimits: "60:transaction:key"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakesentry.New(t, fakesentry.Project{ID: "5", Key: secretKey})
			fake.Script(tt.reply)
			cfg := testConfig()
			cfg.BackOffConfig.Enabled = false // see each outcome at once
			cfg.DSN = configopaque.String(fake.DSN("5"))
			set := exportertest.NewNopSettings(metadata.Type)
			traces, err := NewFactory().CreateTraces(context.Background(), set, cfg)
			if err != nil {
				t.Fatal(err)
			}
			logs, err := NewFactory().CreateLogs(context.Background(), set, cfg)
			if err != nil {
				t.Fatal(err)
			}
			host := componenttest.NewNopHost()
			if err := traces.Start(context.Background(), host); err != nil {
				t.Fatal(err)
			}
			if err := logs.Start(context.Background(), host); err != nil {
				t.Fatal(err)
			}

			_ = traces.ConsumeTraces(context.Background(), tracesFor("checkout"))
			if n := len(fake.Requests()); n != 1 {
				t.Fatalf("%d requests after the traces, want 1", n)
			}
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			newResource(rl.Resource().Attributes(), "checkout")
			lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.Body().SetStr("charge failed")
			err = logs.ConsumeLogs(context.Background(), ld)
			posted := len(fake.Requests()) > 1
			if posted == tt.logsBlocked {
				t.Errorf("logs exporter posted = %v, want %v (err %v)", posted, !tt.logsBlocked, err)
			}
			if tt.logsBlocked {
				if err == nil {
					t.Error("logs exporter err = nil, want a throttle of about 60s")
				} else if d, ok := throttleDelay(err); !ok || d < 50*time.Second || consumererror.IsPermanent(err) {
					t.Errorf("logs exporter err = %v, want a throttle of about 60s", err)
				}
			} else if err != nil {
				t.Errorf("logs exporter err = %v", err)
			}

			key := fake.URL + "/api/5/envelope/ " + secretKey
			sharedLimits.mu.Lock()
			_, held := sharedLimits.byDSN[key]
			sharedLimits.mu.Unlock()
			if !held {
				t.Fatalf("no shared rate limits under %q", key)
			}
			for _, c := range []component.Component{traces, logs} {
				if err := c.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			sharedLimits.mu.Lock()
			_, held = sharedLimits.byDSN[key]
			sharedLimits.mu.Unlock()
			if held {
				t.Error("shared rate limits kept after every exporter shut down")
			}
		})
	}
}
