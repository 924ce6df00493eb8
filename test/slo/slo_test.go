package slo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-otel/vigil/conventions"
	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestEndToEnd runs the built binary on its embedded default (the
// compiled-in example specs), sends an error burst of checkout server
// spans with the OpenTelemetry Go SDK, and reads the SLO metrics from the
// Prometheus exporter and the page from the alert events, written by a
// file exporter put on the logs/alerts pipeline.
func TestEndToEnd(t *testing.T) {
	alertsFile := filepath.Join(t.TempDir(), "alerts.json")
	inst := vigiltest.Start(t, vigiltest.Options{Args: []string{
		"--set=connectors::slo::evaluation_interval=1s",
		"--set=exporters::file/alerts::path=" + alertsFile,
		"--set=service::pipelines::logs/alerts::exporters=[file/alerts,alertrouter]",
	}})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(inst.OTLPGRPCEndpoint()), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
	)
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	tracer := tp.Tracer("e2e")
	const good, bad = 150, 50
	// Every request took 20ms, as the spans say: a measured duration
	// would be how long this goroutine waited for a CPU, which on a loaded
	// machine can pass the latency SLO's 300ms.
	const took = 20 * time.Millisecond
	for i := range good + bad {
		end := time.Now()
		_, span := tracer.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(end.Add(-took)))
		if i < bad {
			span.SetStatus(codes.Error, "payment backend down")
		}
		span.End(trace.WithTimestamp(end))
	}
	// A client span of checkout is no event of its server-side SLOs.
	_, client := tracer.Start(ctx, "GET /inventory", trace.WithSpanKind(trace.SpanKindClient))
	client.SetStatus(codes.Error, "down")
	client.End()
	require.NoError(t, tp.ForceFlush(ctx))

	sel := map[string]string{"slo": "availability", conventions.LabelServiceName: "checkout"}
	with := func(extra ...string) map[string]string {
		out := map[string]string{}
		for k, v := range sel {
			out[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			out[extra[i]] = extra[i+1]
		}
		return out
	}
	err = vigiltest.Eventually(ctx, func() error {
		fams, err := vigiltest.Scrape(inst.PrometheusURL())
		if err != nil {
			return err
		}
		if v := vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, with("outcome", "bad")); v != bad {
			return fmt.Errorf("bad events %v", v)
		}
		if v := vigiltest.Sum(fams, conventions.MetricSLOAlertFiring, with("severity", "page")); v != 1 {
			return fmt.Errorf("page firing %v", v)
		}
		return nil
	})
	require.NoError(t, err)

	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	require.NoError(t, err)
	require.Contains(t, fams, conventions.MetricSLOEventsTotal)
	assert.Equal(t, float64(good), vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, with("outcome", "good")))
	assert.Equal(t, float64(bad), vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, with("outcome", "bad")))
	assert.InDelta(t, 0.999, vigiltest.Sum(fams, conventions.MetricSLOObjective, sel), 1e-9)
	// 50 bad of 200: a burn rate of 0.25/0.001 = 250 over every window.
	for _, w := range []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"} {
		assert.InDelta(t, 250, vigiltest.Sum(fams, conventions.MetricSLOBurnRate, with("window", w)), 1e-6, "window %s", w)
	}
	assert.InDelta(t, -249, vigiltest.Sum(fams, conventions.MetricSLOErrorBudgetRemaining, sel), 1e-6)
	// That budget comes from the seconds since the spans' minute bucket
	// began, not the 30d period, and the metric says so under its name.
	require.Contains(t, fams, conventions.MetricSLOErrorBudgetData)
	data := vigiltest.Sum(fams, conventions.MetricSLOErrorBudgetData, sel)
	assert.True(t, data >= 0 && data < 600, "budget data %gs", data)
	assert.Equal(t, 1.0, vigiltest.Sum(fams, conventions.MetricSLOAlertFiring, with("severity", "page")))
	assert.Equal(t, 0.0, vigiltest.Sum(fams, conventions.MetricSLOAlertFiring, with("severity", "ticket")), "the page inhibits the ticket")
	// The latency SLO saw the same 200 server spans, all fast.
	assert.Equal(t, float64(good+bad), vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, map[string]string{"slo": "latency", conventions.LabelServiceName: "checkout", "outcome": "good"}))

	var firing map[string]string
	var body string
	err = vigiltest.Eventually(ctx, func() error {
		evs, err := readAlertEvents(alertsFile)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.attrs[conventions.AttrAlertState] == conventions.StateFiring && ev.attrs[conventions.AttrSLOName] == "availability" {
				firing, body = ev.attrs, ev.body
				return nil
			}
		}
		return fmt.Errorf("no firing alert among %d events", len(evs))
	})
	require.NoError(t, err)
	assert.Equal(t, "SLOBurnRate-checkout-availability-page", firing[conventions.AttrAlertName])
	assert.Equal(t, "page", firing[conventions.AttrAlertSeverity])
	assert.Equal(t, "slo", firing[conventions.AttrAlertSource])
	assert.Equal(t, "checkout", firing[conventions.AttrServiceName])
	assert.Equal(t, "1h", firing[conventions.AttrSLOWindowLong])
	assert.Equal(t, "5m", firing[conventions.AttrSLOWindowShort])
	// The SDK may export the burst in more than one request, so the
	// evaluation that fired may have seen part of it: all it proves is a
	// burn rate over the page threshold.
	burn, err := strconv.ParseFloat(firing[conventions.AttrSLOBurnRateLong], 64)
	require.NoError(t, err)
	assert.Greater(t, burn, 14.4)
	assert.Equal(t, "0.999", firing[conventions.AttrSLOObjective])
	assert.Regexp(t, `^checkout/availability: page: error budget burning at [0-9.]+x over 1h and [0-9.]+x over 5m \(threshold 14.4x\)`, body)
	assert.Regexp(t, `^[0-9a-f]{32}(,[0-9a-f]{32}){4}$`, firing[conventions.AttrAlertTraceIDs], "five failing traces to open")
	// The fingerprint is what a reader derives from the event without it.
	lr := plog.NewLogRecord()
	lr.Body().SetStr(body)
	for k, v := range firing {
		if k != conventions.AttrAlertFingerprint {
			lr.Attributes().PutStr(k, v)
		}
	}
	a, err := alertevent.Decode(lr, pcommon.NewResource(), time.Now())
	require.NoError(t, err)
	assert.Equal(t, a.Fingerprint, firing[conventions.AttrAlertFingerprint])

	// A restart on the same storage directory keeps the counts and the
	// alert's state: the page still fires and is not announced again.
	_, err = inst.Stop(syscall.SIGTERM, 30*time.Second)
	require.NoError(t, err)
	restartedAlerts := filepath.Join(t.TempDir(), "alerts.json")
	restarted := vigiltest.Start(t, vigiltest.Options{StorageDir: inst.StorageDir, Args: []string{
		"--set=connectors::slo::evaluation_interval=1s",
		"--set=exporters::file/alerts::path=" + restartedAlerts,
		"--set=service::pipelines::logs/alerts::exporters=[file/alerts,alertrouter]",
	}})
	err = vigiltest.Eventually(ctx, func() error {
		fams, err := vigiltest.Scrape(restarted.PrometheusURL())
		if err != nil {
			return err
		}
		if v := vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, with("outcome", "bad")); v != bad {
			return fmt.Errorf("bad events after restart %v", v)
		}
		if v := vigiltest.Sum(fams, conventions.MetricSLOAlertFiring, with("severity", "page")); v != 1 {
			return fmt.Errorf("page firing after restart %v", v)
		}
		return nil
	})
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // three more evaluations
	evs, err := readAlertEvents(restartedAlerts)
	if err == nil {
		for _, ev := range evs {
			assert.NotEqual(t, conventions.StateFiring, ev.attrs[conventions.AttrAlertState], "the restart announced %s again", ev.attrs[conventions.AttrAlertName])
		}
	}
}

type alertEvent struct {
	body  string
	attrs map[string]string
}

// readAlertEvents reads the file exporter's output: one OTLP/JSON logs
// request per line.
func readAlertEvents(path string) ([]alertEvent, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no alert file yet")
	}
	if err != nil {
		return nil, err
	}
	var out []alertEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	var um plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			return nil, err
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					attrs := map[string]string{}
					lr.Attributes().Range(func(k string, v pcommon.Value) bool {
						attrs[k] = v.AsString()
						return true
					})
					out = append(out, alertEvent{body: lr.Body().Str(), attrs: attrs})
				}
			}
		}
	}
	return out, sc.Err()
}

// TestEndToEndReloadOnSIGHUP: SIGHUP reloads the specs (the collector
// rebuilds its pipelines and the connector restores its checkpoint); the
// counts of unchanged SLOs are kept and a new spec file is picked up.
func TestEndToEndReloadOnSIGHUP(t *testing.T) {
	specDir := t.TempDir()
	checkout, err := os.ReadFile(filepath.Join(vigiltest.RepoRoot(), "slo", "examples", "checkout.yaml"))
	require.NoError(t, err)
	vigiltest.WriteFile(t, specDir, "checkout.yaml", string(checkout))
	inst := vigiltest.Start(t, vigiltest.Options{
		Env:  map[string]string{"VIGIL_SLO_DIR": specDir},
		Args: []string{"--set=connectors::slo::evaluation_interval=1s"},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(inst.OTLPGRPCEndpoint()), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	for range 30 {
		_, span := tp.Tracer("e2e").Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer))
		span.End()
	}
	require.NoError(t, tp.ForceFlush(ctx))

	good := map[string]string{"slo": "availability", conventions.LabelServiceName: "checkout", "outcome": "good"}
	waitFor := func(what string, cond func(map[string]*dto.MetricFamily) bool) {
		t.Helper()
		require.NoError(t, vigiltest.Eventually(ctx, func() error {
			fams, err := vigiltest.Scrape(inst.PrometheusURL())
			if err != nil {
				return err
			}
			if !cond(fams) {
				return errors.New(what)
			}
			return nil
		}))
	}
	waitFor("30 good events", func(f map[string]*dto.MetricFamily) bool {
		return vigiltest.Sum(f, conventions.MetricSLOEventsTotal, good) == 30
	})

	vigiltest.WriteFile(t, specDir, "cart.yaml", `version: vigil/v1
service: cart
slos:
  - name: availability
    objective: 99.5
    window: 28d
    sli: {spans: {match: {span_kind: server}, bad: {status: error}}}
`)
	require.NoError(t, syscall.Kill(inst.Pid(), syscall.SIGHUP))
	waitFor("cart SLO after SIGHUP", func(f map[string]*dto.MetricFamily) bool {
		return vigiltest.Sum(f, conventions.MetricSLOObjective, map[string]string{"slo": "availability", conventions.LabelServiceName: "cart"}) == 0.995
	})
	fams, err := vigiltest.Scrape(inst.PrometheusURL())
	require.NoError(t, err)
	assert.Equal(t, 30.0, vigiltest.Sum(fams, conventions.MetricSLOEventsTotal, good), "the reload kept checkout's counts")
}
