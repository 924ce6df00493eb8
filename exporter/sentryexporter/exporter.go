package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/internal/exporthealth"
)

// sdkName names the exporter in events' sdk field and the auth header's
// sentry_client, so Sentry shows where events came from.
const sdkName = "vigil.sentryexporter"

// deliveredMemory is how many delivered event IDs the exporter remembers,
// so that retrying a partly sent batch does not send its events twice.
const deliveredMemory = 8192

// sentryExporter routes events to one sender per DSN.
type sentryExporter struct {
	settings  Settings
	logger    *zap.Logger
	byService map[string]*sender
	fallback  *sender   // nil: events of unlisted services are dropped
	senders   []*sender // one per distinct DSN
	cfg       *Config
	telemetry component.TelemetrySettings
	client    *http.Client // set by start
	delivered *idSet
	health    exporthealth.Reporter
}

func newExporter(c *Config, set exporter.Settings) (*sentryExporter, error) {
	version := set.BuildInfo.Version
	if version == "" {
		version = "dev"
	}
	clientName := sdkName + "/" + version
	e := &sentryExporter{
		settings: Settings{
			Tags:        c.Tags,
			InApp:       InAppRules{Include: c.InAppInclude, Exclude: c.InAppExclude},
			Environment: c.Environment,
			SDK:         sentry.SdkInfo{Name: sdkName, Version: version},
		},
		logger:    set.Logger,
		byService: map[string]*sender{},
		cfg:       c,
		telemetry: set.TelemetrySettings,
		delivered: newIDSet(deliveredMemory),
	}
	// One sender per distinct DSN; the rate limits of a DSN are shared
	// by every sender of the process that posts to it (see acquireLimits).
	byDSN := map[string]*sender{}
	get := func(raw string) (*sender, error) {
		if s, ok := byDSN[raw]; ok {
			return s, nil
		}
		dsn, err := parseDSN(raw)
		if err != nil {
			return nil, err
		}
		s := newSender(dsn, nil, clientName) // the client comes at start
		byDSN[raw] = s
		e.senders = append(e.senders, s)
		return s, nil
	}
	if c.DSN != "" {
		s, err := get(string(c.DSN))
		if err != nil {
			return nil, fmt.Errorf("dsn: %w", err)
		}
		e.fallback = s
	}
	for service, raw := range c.DSNByService {
		s, err := get(string(raw))
		if err != nil {
			e.releaseSenders()
			return nil, fmt.Errorf("dsn_by_service[%s]: %w", service, err)
		}
		e.byService[service] = s
	}
	if e.fallback == nil && len(e.byService) == 0 {
		set.Logger.Info("No Sentry DSN configured: the sentry exporter drops error events")
	}
	return e, nil
}

func (e *sentryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	return e.health.Observe(e.send(ctx, TracesToEvents(td, e.settings)))
}

func (e *sentryExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	return e.health.Observe(e.send(ctx, LogsToEvents(ld, e.settings)))
}

// route picks the sender of a service's project.
func (e *sentryExporter) route(service string) *sender {
	if s, ok := e.byService[service]; ok {
		return s
	}
	return e.fallback
}

// send posts every event and returns what exporterhelper should do: nil,
// a retryable error (throttled or not) when any event may still get
// through, or a permanent error when none can. Events already delivered by
// an earlier attempt of the same batch are skipped.
func (e *sentryExporter) send(ctx context.Context, events []ServiceEvent) error {
	var (
		retryable, permanent error
		failed               int
	)
	for _, se := range events {
		s := e.route(se.Service)
		if s == nil {
			e.logger.Debug("No Sentry DSN for service; error event dropped", zap.String("service", se.Service))
			continue
		}
		id := string(se.Event.EventID)
		if e.delivered.has(id) {
			continue
		}
		err := s.send(ctx, se.Event)
		if err == nil {
			e.delivered.add(id)
			continue
		}
		failed++
		if consumererror.IsPermanent(err) {
			e.logger.Warn("Sentry rejected an event", zap.String("event_id", id), zap.Error(err))
			permanent = errors.Join(permanent, err)
			continue
		}
		if retryable == nil {
			retryable = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	switch {
	case retryable != nil:
		return fmt.Errorf("%d of %d Sentry events not sent: %w", failed, len(events), retryable)
	case permanent != nil:
		return consumererror.NewPermanent(permanent)
	}
	return nil
}

// start builds the HTTP client (confighttp: TLS, proxy, headers, the
// collector's HTTP client telemetry) that every DSN's sender uses, and
// remembers the host, to report the exporter degraded while Sentry cannot
// be reached.
func (e *sentryExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.telemetry)
	if err != nil {
		return err
	}
	e.health.Start(host, e.logger)
	e.client = client
	for _, s := range e.senders {
		s.client = client
	}
	return nil
}

func (e *sentryExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.releaseSenders()
	return nil
}

// releaseSenders gives back the senders' shared rate limits.
func (e *sentryExporter) releaseSenders() {
	for _, s := range e.senders {
		s.release()
	}
}

// idSet is a bounded set of recent event IDs (oldest forgotten first).
type idSet struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	order []string
	next  int
}

func newIDSet(size int) *idSet {
	return &idSet{ids: make(map[string]struct{}, size), order: make([]string, size)}
}

func (s *idSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	if old := s.order[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.order[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.order)
}
