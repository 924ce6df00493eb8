package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// BenchmarkRemoteWriteDrain measures how fast the remote write exporter,
// with full.yaml's settings (write-ahead log, wal::buffer_size 1,
// max_batch_request_parallelism 1), delivers a backlog of b.N requests of
// 100 series each (one per OTLP metrics request it was given): each
// delivered request costs a round trip to the endpoint, then an fsync,
// TruncateFront and a reopen of the log before the next is read. The
// endpoint answers after rtt (0: loopback only). The log is written by one
// exporter while the endpoint is unreachable, then drained by another, as
// after an outage and a restart; with load, new requests are written
// meanwhile, as they keep coming during a real drain (req/s counts the
// deliveries until b.N, backlog or new).
//
//	go test -run '^$' -bench RemoteWriteDrain -benchtime 300x ./collector/
func BenchmarkRemoteWriteDrain(b *testing.B) {
	for _, c := range []struct {
		rtt  time.Duration
		load bool
	}{{0, false}, {20 * time.Millisecond, false}, {50 * time.Millisecond, false}, {0, true}, {20 * time.Millisecond, true}, {50 * time.Millisecond, true}} {
		name := "rtt=" + c.rtt.String()
		if c.load {
			name += "/load=16req/s"
		}
		rtt := c.rtt
		b.Run(name, func(b *testing.B) {
			var delivered atomic.Int64
			sink := vigiltest.NewServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				time.Sleep(rtt)
				delivered.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			dir := b.TempDir()
			down := "http://127.0.0.1:" + strconv.Itoa(vigiltest.FreePort(b)) + "/api/v1/write"
			writer := shippedRemoteWrite(b, down, dir)
			start := time.Now().Add(-time.Hour)
			for i := range b.N {
				if err := writer.ConsumeMetrics(context.Background(), benchRequest(start.Add(time.Duration(i)*250*time.Millisecond), i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := writer.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			began := time.Now()
			reader := shippedRemoteWrite(b, sink.URL+"/api/v1/write", dir)
			stop := make(chan struct{})
			loaded := make(chan struct{})
			go func() {
				// With load: new requests keep coming, 16 a second, as
				// from the reliability test's four producers.
				defer close(loaded)
				if !c.load {
					return
				}
				tick := time.NewTicker(time.Second / 16)
				defer tick.Stop()
				for i := b.N; ; i++ {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if err := reader.ConsumeMetrics(context.Background(), benchRequest(start.Add(time.Duration(i)*250*time.Millisecond), i)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			for delivered.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(began)
			close(stop)
			<-loaded
			b.StopTimer()
			if err := reader.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
		})
	}
}

// shippedRemoteWrite starts the prometheus_remote_write exporter of
// full.yaml with its endpoint and log directory replaced.
func shippedRemoteWrite(b *testing.B, endpoint, dir string) exporter.Metrics {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("config", "full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var file struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		b.Fatal(err)
	}
	settings := file.Exporters["prometheus_remote_write"]
	if settings == nil {
		b.Fatal("full.yaml has no prometheus_remote_write exporter")
	}
	settings["endpoint"] = endpoint
	settings["wal"].(map[string]any)["directory"] = dir
	f := prometheusremotewriteexporter.NewFactory()
	cfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(settings).Unmarshal(cfg); err != nil {
		b.Fatal(err)
	}
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	return exp
}

// benchRequest is one SDK's export: a gauge of 100 series at ts.
func benchRequest(ts time.Time, v int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "bench")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("bench_gauge")
	dps := g.SetEmptyGauge().DataPoints()
	for s := range 100 {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(float64(v))
		dp.Attributes().PutStr("series", fmt.Sprint(s))
	}
	return md
}
