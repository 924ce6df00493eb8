// Package exporthealth reports whether an exporter's backend takes what it
// sends, as component status and in the log, so that the health check (in
// its component status mode, which Vigil turns on) shows an exporter whose
// backend is down as degraded while the process keeps running and
// queueing, and an operator reading the log at warn level sees it too.
//
// It exists because exporterhelper (collector v0.159) reports no status
// from failed exports and logs each retry at info level ("Exporting
// failed. Will retry the request after interval."): without it a
// ClickHouse or PagerDuty outage is visible only in failure counters, and
// not at all in a log kept at warn level.
package exporthealth // import "github.com/vigil-otel/vigil/internal/exporthealth"

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// The lines a failure streak writes: one when it starts, one when it
// ends, whatever the number of failed attempts in between. The logger an
// exporter gets names it (otelcol.component.id), so the line says which
// exporter fails; the error says what.
const (
	FailingMessage   = "Exporting is failing; the data waits (in the sending queue, if the exporter has one) and is retried until the backend takes it"
	RecoveredMessage = "Exporting works again"
)

// Reporter turns export outcomes into status changes and log lines. The
// zero value is ready to use; reports go nowhere until Start.
type Reporter struct {
	mu       sync.Mutex
	host     component.Host
	logger   *zap.Logger
	failing  bool
	since    time.Time
	failures int
}

// Start remembers the host to report to (the one the exporter's start
// got) and the exporter's logger. A host that takes no status reports
// ignores them; a nil logger logs nothing.
func (r *Reporter) Start(host component.Host, logger *zap.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.host = host
	r.logger = logger
}

// Observe reports the outcome of one export and returns err unchanged, so
// a push function can end with `return r.Observe(err)`. A retryable
// failure makes the exporter StatusRecoverableError (its data waits in the
// queue) and logs a warning; the next success makes it StatusOK again and
// logs that it recovered. A permanent failure is the data's fault, not the
// backend's, and changes nothing. Only changes are reported and logged.
func (r *Reporter) Observe(err error) error {
	if err != nil && consumererror.IsPermanent(err) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.host == nil {
		return err
	}
	if err != nil {
		r.failures++
	}
	if (err != nil) == r.failing {
		return err
	}
	r.failing = err != nil
	if err != nil {
		r.since, r.failures = time.Now(), 1
		componentstatus.ReportStatus(r.host, componentstatus.NewRecoverableErrorEvent(err))
		if r.logger != nil {
			r.logger.Warn(FailingMessage, zap.Error(err))
		}
	} else {
		componentstatus.ReportStatus(r.host, componentstatus.NewEvent(componentstatus.StatusOK))
		if r.logger != nil {
			r.logger.Info(RecoveredMessage,
				zap.Duration("failing_for", time.Since(r.since).Round(time.Millisecond)),
				zap.Int("failed_attempts", r.failures))
		}
	}
	return err
}
