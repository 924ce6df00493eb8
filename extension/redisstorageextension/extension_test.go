package redisstorageextension

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/extension/redisstorageextension/internal/metadatatest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

func newTestStorage(t *testing.T, addr, instance string) *redisStorage {
	t.Helper()
	return newTestStorageWith(t, addr, instance, extensiontest.NewNopSettings(NewFactory().Type()))
}

func newTestStorageWith(t *testing.T, addr, instance string, set extension.Settings) *redisStorage {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = addr
	cfg.Ownership = OwnershipConfig{LeaseTTL: time.Second, RenewInterval: 100 * time.Millisecond, HandoverQuiet: 300 * time.Millisecond, Instance: instance}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ext, err := createExtension(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := ext.(*redisStorage)
	if err := s.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClient(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := newTestStorage(t, srv.Addr, "a")
	defer func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	c, err := s.GetClient(ctx, component.KindConnector, component.MustNewID("slo"), "")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k"); v != nil || err != nil {
		t.Fatalf("Get of a missing key = %q, %v; want nil, nil", v, err)
	}
	if err := c.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	// The key is the component's, the same on every evaluator.
	if got, err := srv.Do("GET", "vigil:connector/slo:k"); got != "v1" || err != nil {
		t.Fatalf("raw GET = %q, %v", got, err)
	}
	get, missing := storage.GetOperation("k"), storage.GetOperation("nope")
	if err := c.Batch(ctx, storage.SetOperation("k2", []byte("v2")), get, missing, storage.DeleteOperation("k2")); err != nil {
		t.Fatal(err)
	}
	if string(get.Value) != "v1" || missing.Value != nil {
		t.Fatalf("batch gets = %q, %q", get.Value, missing.Value)
	}
	if v, _ := c.Get(ctx, "k2"); v != nil {
		t.Fatalf("k2 = %q after the batch deleted it", v)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get(ctx, "k"); v != nil {
		t.Fatalf("k = %q after Delete", v)
	}
}

// recorder is a Handler that records what it is told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Acquired(_ context.Context, service string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "acquired "+service)
	return nil
}

func (r *recorder) Released(_ context.Context, service string, handover bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if handover {
		r.events = append(r.events, "handed over "+service)
	} else {
		r.events = append(r.events, "lost "+service)
	}
}

func (r *recorder) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// feed observes service on s every 50ms until stop or done is closed.
func feed(s *redisStorage, service string, stop, done <-chan struct{}, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			s.Observe(service)
			select {
			case <-stop:
				return
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOwnershipMoves: one owner at a time while the data moves (a handover
// once the old owner's data stopped), and after the owner stops renewing
// (a crash), a takeover once its lease lapsed.
func TestOwnershipMoves(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := newTestStorage(t, srv.Addr, "a"), newTestStorage(t, srv.Addr, "b")
	ra, rb := &recorder{}, &recorder{}
	defer a.Register(ra)()
	defer b.Register(rb)()
	var wg sync.WaitGroup
	// Feeders still running when the test ends (a failure) stop then.
	done := make(chan struct{})
	t.Cleanup(func() { close(done); wg.Wait() })

	stopA := make(chan struct{})
	feed(a, "checkout", stopA, done, &wg)
	waitFor(t, "a owns checkout", func() bool { return a.Owns("checkout") })

	// b gets the data too (the gateways disagree for a moment): a keeps
	// the service while its own data still arrives.
	stopB := make(chan struct{})
	feed(b, "checkout", stopB, done, &wg)
	time.Sleep(time.Second)
	if !a.Owns("checkout") || b.Owns("checkout") {
		t.Fatalf("while both receive data: a owns %v, b owns %v; want a only", a.Owns("checkout"), b.Owns("checkout"))
	}
	// The data moved to b: a hands over, b takes the service.
	close(stopA)
	waitFor(t, "b owns checkout", func() bool { return b.Owns("checkout") })
	if a.Owns("checkout") {
		t.Fatal("a and b both own checkout")
	}
	if got := ra.last(); len(got) != 2 || got[1] != "handed over checkout" {
		t.Fatalf("a's handler saw %v", got)
	}

	// b stops renewing without releasing (as if SIGKILLed): a, which
	// receives the data now, takes over once the lease lapsed.
	b.cancel()
	<-b.done
	stopA2 := make(chan struct{})
	feed(a, "checkout", stopA2, done, &wg)
	start := time.Now()
	waitFor(t, "a owns checkout again", func() bool { return a.Owns("checkout") })
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("a took the service over %v after b stopped, before b's lease (1s) lapsed", waited)
	}
	// b, revived, finds its lease taken and drops the service.
	b.coordinator.start()
	waitFor(t, "b drops checkout", func() bool { return !b.Owns("checkout") })
	waitFor(t, "b's handler told", func() bool {
		got := rb.last()
		return len(got) > 0 && got[len(got)-1] == "lost checkout"
	})
	close(stopB)
	close(stopA2)
	if err := a.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := srv.Do("GET", "vigil:lease:checkout"); err != redistest.ErrNil {
		t.Errorf("a's lease is still in Redis after its shutdown: %v", err)
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestTelemetry: the extension counts what its leases do. a claims a
// service, b asks for it while a owns it (held), a hands it over once its
// data stops; b then finds its lease overwritten by a third instance and
// drops the service (a loss).
func TestTelemetry(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ta, tb := componenttest.NewTelemetry(), componenttest.NewTelemetry()
	t.Cleanup(func() { _ = ta.Shutdown(context.Background()); _ = tb.Shutdown(context.Background()) })
	a := newTestStorageWith(t, srv.Addr, "a", metadatatest.NewSettings(ta))
	b := newTestStorageWith(t, srv.Addr, "b", metadatatest.NewSettings(tb))
	defer a.Register(&recorder{})()
	defer b.Register(&recorder{})()
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); wg.Wait() })

	// Every series is there before anything happened.
	metadatatest.AssertEqualRedisStorageOwnedServices(t, ta, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualRedisStorageLeaseLosses(t, ta, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())

	stopA := make(chan struct{})
	feed(a, "checkout", stopA, done, &wg)
	waitFor(t, "a owns checkout", func() bool { return a.Owns("checkout") })
	metadatatest.AssertEqualRedisStorageOwnedServices(t, ta, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	stopB := make(chan struct{})
	feed(b, "checkout", stopB, done, &wg)
	waitFor(t, "b asked for checkout", func() bool { return b.stats.claimsHeld.Load() > 0 })
	close(stopA)
	waitFor(t, "b owns checkout", func() bool { return b.Owns("checkout") })
	metadatatest.AssertEqualRedisStorageHandovers(t, ta, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualRedisStorageOwnedServices(t, ta, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualRedisStorageOwnedServices(t, tb, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())

	claims := func(tt *componenttest.Telemetry) map[string]int64 {
		m, err := tt.GetMetric("otelcol_redis_storage_lease_claims")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			v, _ := dp.Attributes.Value("outcome")
			out[v.AsString()] = dp.Value
		}
		return out
	}
	if got := claims(ta); got["acquired"] != 1 || got["failed"] != 0 {
		t.Errorf("a's claims = %v; want 1 acquired, none failed", got)
	}
	if got := claims(tb); got["acquired"] != 1 || got["held"] < 1 {
		t.Errorf("b's claims = %v; want 1 acquired after at least 1 held", got)
	}
	renewals, err := ta.GetMetric("otelcol_redis_storage_lease_renewals")
	if err != nil {
		t.Fatal(err)
	}
	for _, dp := range renewals.Data.(metricdata.Sum[int64]).DataPoints {
		if v, _ := dp.Attributes.Value("outcome"); v.AsString() == "renewed" && dp.Value < 1 {
			t.Errorf("a renewed its lease %d times while it owned checkout for over a second", dp.Value)
		}
	}

	// Another instance took b's lease (b was cut off): b loses it.
	if _, err := srv.Do("SET", "vigil:lease:checkout", "c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b drops checkout", func() bool { return !b.Owns("checkout") })
	metadatatest.AssertEqualRedisStorageLeaseLosses(t, tb, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualRedisStorageOwnedServices(t, tb, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	close(stopB)
	for _, s := range []*redisStorage{a, b} {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

// TestUpdate: concurrent read-modify-writes of one key through Update,
// from two extensions (two evaluators), lose none of each other's writes.
func TestUpdate(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	var clients []storage.Client
	for _, name := range []string{"a", "b"} {
		s := newTestStorage(t, srv.Addr, name)
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		c, err := s.GetClient(ctx, component.KindConnector, component.MustNewID("alertrouter"), "nflog")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	type updater interface {
		Update(context.Context, string, func([]byte) ([]byte, error)) error
	}
	const perWriter = 25
	var wg sync.WaitGroup
	for w := range 4 {
		u := clients[w%2].(updater)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				err := u.Update(ctx, "counter", func(cur []byte) ([]byte, error) {
					n := 0
					if cur != nil {
						n, _ = strconv.Atoi(string(cur))
					}
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := clients[0].Get(ctx, "counter")
	if err != nil || string(got) != strconv.Itoa(4*perWriter) {
		t.Fatalf("counter = %q, %v after %d concurrent increments", got, err, 4*perWriter)
	}
	wantErr := errors.New("refused")
	if err := clients[0].(updater).Update(ctx, "counter", func([]byte) ([]byte, error) { return nil, wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("an update's own error = %v, want it returned", err)
	}
}

// TestRedisLinesInTheLog: while Redis cannot be reached, go-redis's own
// lines ("redis: connection pool: failed to dial ...") are warn lines of
// the extension's logger, not raw lines on stderr past zap.
func TestRedisLinesInTheLog(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	set := extensiontest.NewNopSettings(NewFactory().Type())
	set.Logger = zap.New(core)
	s := newTestStorageWith(t, fmt.Sprintf("127.0.0.1:%d", vigiltest.FreePort(t)), "a", set)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	c, err := s.GetClient(context.Background(), component.KindConnector, component.MustNewID("slo"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "k"); err == nil {
		t.Fatal("Get with Redis down succeeded")
	}
	var dials int
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "redis: connection pool: failed to dial") {
			dials++
			if e.Level != zapcore.WarnLevel {
				t.Errorf("%q logged at %s, want warn", e.Message, e.Level)
			}
		}
	}
	if dials == 0 {
		t.Errorf("no failed dial in the extension's log: %v", logs.All())
	}
}
