package events

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

// canary is a valid routing key that is easy to spot. Its first ten
// characters are what the test looks for, so a partial leak is caught too.
const (
	canary       RoutingKey = "LEAKCANARY0123456789abcdefghijkl"
	canaryPrefix            = "LEAKCANARY"
)

// assertNoKey fails if s contains the canary or its prefix.
func assertNoKey(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, canaryPrefix) {
		t.Errorf("%s leaks the routing key: %q", what, s)
	}
}

// everyRendering prints v every way a caller might.
func everyRendering(v any) map[string]string {
	return map[string]string{
		"%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v), "%#v": fmt.Sprintf("%#v", v),
		"%s": fmt.Sprintf("%s", v), "%q": fmt.Sprintf("%q", v), "%x": fmt.Sprintf("%x", v),
	}
}

// logEverything logs v and err through zap in the usual ways and returns
// everything the observer saw, fields included.
func logEverything(t *testing.T, ev Event, err error) string {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	// A JSON encoder too, since observer keeps fields unencoded.
	var sb strings.Builder
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&sb), zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, jsonCore))
	log.Error("send failed",
		zap.Error(err),
		zap.Any("event", ev),
		zap.Object("event_obj", ev),
		zap.Stringer("event_str", ev),
		zap.Stringer("key", ev.RoutingKey),
		zap.Any("key_any", ev.RoutingKey),
		zap.String("reason", string(ReasonOf(err))),
	)
	out := sb.String()
	for _, entry := range logs.All() {
		out += entry.Message
		for k, v := range entry.ContextMap() {
			out += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	return out
}

func TestRoutingKeyNeverLeaks(t *testing.T) {
	if err := ValidateRoutingKey(canary); err != nil {
		t.Fatalf("the canary must be a valid key: %v", err)
	}
	echo := "routing key " + string(canary) + " is disabled"
	paths := []struct {
		name string
		// send produces an error through one path.
		send func(t *testing.T) (Event, error)
	}{
		{name: "builder, key too long", send: func(t *testing.T) (Event, error) {
			b, _ := NewBuilder(BuilderSettings{})
			ev, err := b.Build(canary+"x", Alert{Action: ActionTrigger, Fingerprint: "f", Summary: "s"})
			return ev, err
		}},
		{name: "builder, bad character", send: func(t *testing.T) (Event, error) {
			b, _ := NewBuilder(BuilderSettings{})
			ev, err := b.Build(canary[:31]+"-", Alert{Action: ActionTrigger, Fingerprint: "f", Summary: "s"})
			return ev, err
		}},
		{name: "400 from the strict fake", send: func(t *testing.T) (Event, error) {
			ev := trigger(canary, "f")
			ev.Payload.Severity = "sev1"
			return sendTo(t, nil, ev)
		}},
		{name: "400 echoing the key", send: func(t *testing.T) (Event, error) {
			return sendTo(t, &fakepagerduty.Reply{Status: 400, Message: echo, Errors: []string{echo}}, trigger(canary, "f"))
		}},
		{name: "429 echoing the key", send: func(t *testing.T) (Event, error) {
			return sendTo(t, &fakepagerduty.Reply{Status: 429, RetryAfter: "3", Message: echo}, trigger(canary, "f"))
		}},
		{name: "500 echoing the key", send: func(t *testing.T) (Event, error) {
			return sendTo(t, &fakepagerduty.Reply{Status: 500, Message: echo}, trigger(canary, "f"))
		}},
		{name: "404 echoing the key", send: func(t *testing.T) (Event, error) {
			return sendTo(t, &fakepagerduty.Reply{Status: 404, Errors: []string{echo}}, trigger(canary, "f"))
		}},
		{name: "proxy echoing the body as text", send: func(t *testing.T) (Event, error) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write(body)
			}))
			t.Cleanup(srv.Close)
			c := newTestClient(t, ClientSettings{Endpoint: srv.URL})
			ev := trigger(canary, "f")
			_, err := c.Send(context.Background(), ev)
			return ev, err
		}},
		{name: "connection refused", send: func(t *testing.T) (Event, error) {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			c := newTestClient(t, ClientSettings{Endpoint: srv.URL})
			ev := trigger(canary, "f")
			_, err := c.Send(context.Background(), ev)
			return ev, err
		}},
		{name: "key pasted into the endpoint URL", send: func(t *testing.T) (Event, error) {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			c := newTestClient(t, ClientSettings{Endpoint: srv.URL + "/" + string(canary)})
			ev := trigger(canary, "f")
			_, err := c.Send(context.Background(), ev)
			return ev, err
		}},
		{name: "context cancelled", send: func(t *testing.T) (Event, error) {
			fake := fakepagerduty.New(t)
			c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			ev := trigger(canary, "f")
			_, err := c.Send(ctx, ev)
			return ev, err
		}},
		{name: "too large", send: func(t *testing.T) (Event, error) {
			fake := fakepagerduty.New(t)
			c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
			ev := trigger(canary, "f")
			ev.ClientURL = strings.Repeat(string(canary), MaxEventBytes/len(canary)+1)
			_, err := c.Send(context.Background(), ev)
			return trigger(canary, "f"), err
		}},
		{name: "limiter wait cancelled", send: func(t *testing.T) (Event, error) {
			l, _ := NewLimiter(LimiterSettings{Events: 1, Window: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			_ = l.Wait(ctx, canary)
			return trigger(canary, "f"), l.Wait(ctx, canary)
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			ev, err := p.send(t)
			if err == nil {
				t.Fatal("path produced no error")
			}
			for verb, s := range everyRendering(err) {
				assertNoKey(t, "error "+verb, s)
			}
			for verb, s := range everyRendering(ev) {
				assertNoKey(t, "event "+verb, s)
			}
			assertNoKey(t, "logs", logEverything(t, ev, err))
		})
	}
}

// sendTo sends ev to a fake, answering with reply when given.
func sendTo(t *testing.T, reply *fakepagerduty.Reply, ev Event) (Event, error) {
	t.Helper()
	fake := fakepagerduty.New(t)
	if reply != nil {
		fake.RespondNext(1, *reply)
	}
	c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
	_, err := c.Send(context.Background(), ev)
	return ev, err
}

func TestRoutingKeyReachesTheWire(t *testing.T) {
	// Redaction must not reach the request body.
	fake := fakepagerduty.New(t)
	c := newTestClient(t, ClientSettings{Endpoint: fake.EnqueueURL()})
	if _, err := c.Send(context.Background(), trigger(canary, "f")); err != nil {
		t.Fatal(err)
	}
	evs := fake.Events()
	if len(evs) != 1 || evs[0].RoutingKey != string(canary) {
		t.Fatalf("fake received %+v, want the real key", evs)
	}
}
