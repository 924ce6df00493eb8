package webhookexporter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/exporter/webhookexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/exporthealth"
	"github.com/vigil-otel/vigil/internal/testutil/fakewebhook"
)

// statusHost records the component status the exporter reports, as the
// collector's host passes it to the health check.
type statusHost struct {
	mu     sync.Mutex
	events []componentstatus.Status
}

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
}

// TestOutageIsVisible: while the webhook receiver answers 503 the exporter
// is StatusRecoverableError on the health check and the log says so once
// at warn level (exporterhelper logs each retry at info only), without the
// URL's token; once a message gets through it is StatusOK again and the
// log says so once at info level.
func TestOutageIsVisible(t *testing.T) {
	fake := fakewebhook.New(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = fake.URL + "/hooks/SECRET"
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 10 * time.Millisecond
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	host := &statusHost{}
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	fake.RespondNext(http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	require.NoError(t, exp.ConsumeLogs(context.Background(), notification("chat", page)))
	require.Len(t, fake.Accepted(), 1)
	require.NoError(t, fake.Err())

	host.mu.Lock()
	assert.Equal(t, fmt.Sprint([]componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}), fmt.Sprint(host.events))
	host.mu.Unlock()
	var warns, recovered int
	for _, e := range logs.All() {
		if e.Level >= zapcore.WarnLevel {
			warns++
			assert.Equal(t, exporthealth.FailingMessage, e.Message)
			assert.Contains(t, fmt.Sprint(e.ContextMap()["error"]), "503")
		}
		if e.Message == exporthealth.RecoveredMessage {
			recovered++
			assert.Equal(t, zapcore.InfoLevel, e.Level)
		}
		for k, v := range e.ContextMap() {
			assert.False(t, strings.Contains(fmt.Sprint(v), "SECRET"), "the URL's token in the log's %s: %v", k, v)
		}
	}
	assert.Equal(t, 1, warns, "warnings for one outage of 3 failed attempts")
	assert.Equal(t, 1, recovered, "recovery lines")
}
